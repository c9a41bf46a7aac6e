//! Fixtures the core's unit tests share.
#![cfg(test)]

use crate::{Model, TrainOptions, Trainer};

/// The tiny English corpus of the test fixtures.
pub const TINY: &str = include_str!("../tests/fixtures/corpus/tiny.txt");

/// A model trained on [`TINY`] at order 3.
pub fn tiny_o3() -> Model {
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    t.feed(TINY);
    t.finish().unwrap()
}
