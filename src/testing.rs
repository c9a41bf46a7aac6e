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

/// Three kinds of model: [`tiny_o3`]; one of order 4 pruned by count, whose contexts carry
/// removed masses; and one imported from KenLM's ARPA file, which holds weights, not counts.
pub fn tiny_models() -> Vec<Model> {
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: 4,
        min_frequency: 2,
        max_patterns: 0,
    })
    .unwrap();
    t.feed(TINY);
    let arpa = include_str!("../tests/fixtures/kenlm/tiny.o3.arpa");
    vec![
        tiny_o3(),
        t.finish().unwrap(),
        Model::from_arpa(arpa).unwrap(),
    ]
}
