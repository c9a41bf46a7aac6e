//! Golden files pin the model format and seeded generation: a format or sampler change that
//! alters bytes or text must be deliberate (bump `FORMAT_VERSION`, regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test golden`, and say why in the commit).
#![cfg(not(target_arch = "wasm32"))]

use std::path::PathBuf;

use ultra_efficient_llm::{GenerateOptions, Model, TrainOptions, Trainer};

const TINY: &str = include_str!("fixtures/corpus/tiny.txt");
const PROMPT: &str = "It is a truth";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn check_or_update(name: &str, got: &[u8]) {
    let path = fixture(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        want == got,
        "{name} differs from the golden file ({} vs {} bytes)",
        got.len(),
        want.len()
    );
}

fn tiny_o3() -> Model {
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    t.feed(TINY);
    t.finish().unwrap()
}

/// The options of the pinned generations (shared with the browser tests of `bindings/wasm`).
fn exact() -> GenerateOptions {
    GenerateOptions {
        seed: Some(42),
        max_tokens: 40,
        ..Default::default()
    }
}

fn shaped() -> GenerateOptions {
    GenerateOptions {
        temperature: 0.8,
        top_k: 40,
        top_p: 0.95,
        ..exact()
    }
}

#[test]
fn training_gives_the_golden_model_file() {
    check_or_update("tiny-o3.uelm", &tiny_o3().to_bytes());
}

#[test]
fn golden_model_loads_and_reserializes_identically() {
    let bytes = std::fs::read(fixture("tiny-o3.uelm")).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    assert_eq!(model.to_bytes(), bytes);
    assert_eq!(model.info().ngrams, vec![1697, 6806, 9801]);
}

#[test]
fn seeded_generation_from_the_golden_model_is_pinned() {
    let bytes = std::fs::read(fixture("tiny-o3.uelm")).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let a = model.generate(PROMPT, &exact()).unwrap();
    check_or_update("tiny-o3.seed42.txt", a.text.as_bytes());
    let b = model.generate(PROMPT, &shaped()).unwrap();
    check_or_update("tiny-o3.seed42.shaped.txt", b.text.as_bytes());
    // A freshly trained model generates the same as the loaded one.
    assert_eq!(tiny_o3().generate(PROMPT, &exact()).unwrap().text, a.text);
}
