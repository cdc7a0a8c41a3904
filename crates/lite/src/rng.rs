//! A tiny thread-local random number generator for fair scheduling decisions.
//!
//! [`race`](crate::future::race) needs one random bit per poll. A dependency on a random
//! number crate is not worth it: this is wyrand (Wang Yi's generator, 64-bit state, passes
//! BigCrush for this use), seeded once per thread from std's [`RandomState`], which draws
//! its keys from the OS.

use std::cell::Cell;
use std::hash::{BuildHasher, Hasher, RandomState};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    // Hashing a constant with freshly keyed SipHash yields a value derived from random keys.
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    hasher.finish()
}

/// One step of wyrand.
fn step(state: u64) -> (u64, u64) {
    let s = state.wrapping_add(0xa076_1d64_78bd_642f);
    let t = u128::from(s) * u128::from(s ^ 0xe703_7ed1_a0b4_28db);
    (s, (t as u64) ^ ((t >> 64) as u64))
}

/// The generator a fair merge draws from: this thread's shared generator, or a private one
/// started from a caller's seed (`race_with_seed`), which makes the choices reproducible.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Rng {
    /// The private generator's state; `None` means this thread's generator.
    seeded: Option<u64>,
}

impl Rng {
    /// A generator that draws from this thread's generator.
    pub(crate) const fn thread() -> Rng {
        Rng { seeded: None }
    }

    /// A private generator started from `seed`.
    pub(crate) const fn with_seed(seed: u64) -> Rng {
        Rng { seeded: Some(seed) }
    }

    /// A uniformly random `bool`.
    pub(crate) fn bool(&mut self) -> bool {
        match &mut self.seeded {
            None => bool(),
            Some(state) => {
                let (s, out) = step(*state);
                *state = s;
                out >> 63 == 1
            }
        }
    }
}

/// A uniformly random `bool` from this thread's generator.
pub(crate) fn bool() -> bool {
    let draw = |cell: &Cell<u64>| {
        let (s, out) = step(cell.get());
        cell.set(s);
        out >> 63 == 1
    };
    // During thread-local destruction fall back to a one-off freshly seeded draw.
    STATE
        .try_with(draw)
        .unwrap_or_else(|_| draw(&Cell::new(seed())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bool_is_roughly_balanced() {
        let trues = (0..100_000).filter(|_| bool()).count();
        assert!((45_000..55_000).contains(&trues), "{trues} trues of 100000");
    }

    #[test]
    fn seeded_generators_repeat_themselves() {
        let draw = |seed| {
            let mut rng = Rng::with_seed(seed);
            (0..64).map(|_| rng.bool()).collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
        let trues = draw(7).into_iter().filter(|&b| b).count();
        assert!((16..48).contains(&trues), "{trues} trues of 64");
    }

    #[test]
    fn threads_get_different_seeds() {
        let a = std::thread::spawn(|| (0..64).map(|_| bool()).collect::<Vec<_>>());
        let b = std::thread::spawn(|| (0..64).map(|_| bool()).collect::<Vec<_>>());
        assert_ne!(a.join().unwrap(), b.join().unwrap());
    }
}
