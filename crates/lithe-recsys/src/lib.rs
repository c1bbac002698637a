//! Two-tower retrieval: train a user tower and an item tower on interactions with an
//! in-batch sampled softmax, compute every item's vector once, index them (HNSW), and
//! answer a user with one pass of the user tower and one index lookup.
//!
//! Start at [`model::TwoTowerModel::fit`]; the towers and their hand-written
//! gradients are in [`tower`].

pub mod data;
pub mod dense;
pub mod features;
pub mod index;
pub mod model;
pub mod params;
pub mod tower;

pub use data::Interactions;
pub use index::{IndexParams, ItemIndex};
pub use model::{Answer, EvalReport, FitReport, Rec, TwoTowerModel, evaluate};
pub use params::TwoTowerParams;

/// A small seedable generator (SplitMix64): every random choice is a function of the
/// seed, never of the thread count.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}
