//! No input bytes may panic the loader or make it allocate beyond what the input justifies:
//! damaged copies of the golden model (with a recomputed checksum, so the decoder itself is
//! exercised), truncations and foreign bytes all give typed errors or a valid model.
#![cfg(not(target_arch = "wasm32"))]

use ultra_efficient_llm::format::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use ultra_efficient_llm::{Error, GenerateOptions, Model};

const GOLDEN: &[u8] = include_bytes!("fixtures/tiny-o3.uelm");

/// A small deterministic generator (no dev-dependency needed for a fixed-seed fuzz loop).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn reseal(bytes: &mut [u8]) {
    let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
    bytes[20..24].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn damaged_bodies_never_panic() {
    let mut rng = Lcg(1);
    let body_len = GOLDEN.len() - HEADER_LEN;
    let mut loaded = 0;
    for round in 0..400 {
        let mut b = GOLDEN.to_vec();
        for _ in 0..1 + round % 4 {
            let at = HEADER_LEN + (rng.next() as usize % body_len);
            // Early bytes hold the lengths and sizes: damage them more often.
            let at = if round % 3 == 0 {
                HEADER_LEN + (at - HEADER_LEN) % 64
            } else {
                at
            };
            b[at] = rng.next() as u8;
        }
        reseal(&mut b);
        if let Ok(m) = Model::from_bytes(&b) {
            loaded += 1;
            // Whatever loads must also work.
            let _ = m.generate(
                "It is",
                &GenerateOptions {
                    seed: Some(1),
                    max_tokens: 5,
                    ..Default::default()
                },
            );
            let _ = m.perplexity("It is a truth.");
        }
    }
    assert!(loaded < 400, "some damage must be detected");
}

#[test]
fn every_truncation_is_a_typed_error() {
    for len in (0..GOLDEN.len()).step_by(97).chain([GOLDEN.len() - 1]) {
        match Model::from_bytes(&GOLDEN[..len]) {
            Err(Error::Truncated { .. } | Error::NotAModel(_)) => {}
            other => panic!("length {len}: {other:?}"),
        }
    }
}

#[test]
fn foreign_and_future_bytes_are_typed_errors() {
    assert!(matches!(
        Model::from_bytes(b"\x89PNG\r\n\x1a\n...."),
        Err(Error::NotAModel(_))
    ));
    let mut future = GOLDEN.to_vec();
    future[8..10].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
    let e = Model::from_bytes(&future).unwrap_err();
    assert_eq!(e.code(), "UNSUPPORTED_VERSION");
    assert!(e.to_string().contains("newer"), "{e}");
    // A header that claims an enormous body must not allocate it.
    let mut huge = MAGIC.to_vec();
    huge.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    huge.extend_from_slice(&0u16.to_le_bytes());
    huge.extend_from_slice(&u64::MAX.to_le_bytes());
    huge.extend_from_slice(&[0; 4]);
    assert!(matches!(
        Model::from_bytes(&huge),
        Err(Error::Truncated { .. })
    ));
    let mut rng = Lcg(7);
    for n in 0..200 {
        let mut junk: Vec<u8> = MAGIC.to_vec();
        junk.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        junk.extend_from_slice(&[0, 0]);
        let body: Vec<u8> = (0..n * 3).map(|_| rng.next() as u8).collect();
        junk.extend_from_slice(&(body.len() as u64).to_le_bytes());
        junk.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        junk.extend_from_slice(&body);
        assert!(Model::from_bytes(&junk).is_err());
    }
}
