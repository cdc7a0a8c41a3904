//! Project chores (under construction).
fn main() {
    println!("xtask: under construction");
}
