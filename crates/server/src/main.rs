//! solo-server: the C10k demo server (under construction).
fn main() {
    println!("solo-server: under construction");
}
