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

/// Checks what `model` exports as ARPA: every log10 probability finite and ≤ 0, every back-off
/// finite, and the file imports again; returns the file.
fn export_imports_again(model: &Model, what: &str) -> String {
    let arpa = model.to_arpa();
    let mut order = 0;
    for line in arpa.lines() {
        if let Some(k) = line
            .strip_prefix('\\')
            .and_then(|l| l.strip_suffix("-grams:"))
        {
            order = k.parse().unwrap();
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if order == 0 || fields.len() < 2 {
            continue;
        }
        let p: f32 = fields[0].parse().unwrap();
        assert!(p.is_finite() && p <= 0.0, "{what}: probability in {line:?}");
        assert!(
            fields[1].split(' ').all(|w| !w.is_empty()),
            "{what}: {line:?}"
        );
        if let Some(b) = fields.get(2) {
            assert!(b.parse::<f32>().unwrap().is_finite(), "{what}: {line:?}");
        }
    }
    if let Err(e) = Model::from_arpa(&arpa) {
        panic!("{what}: the export does not import again: {e}");
    }
    arpa
}

/// A small ARPA file: the export of a model trained on the first lines of tiny.txt.
fn small_arpa() -> String {
    let text: String = include_str!("fixtures/corpus/tiny.txt")
        .lines()
        .take(12)
        .map(|l| format!("{l}\n"))
        .collect();
    let mut t = ultra_efficient_llm::Trainer::new(ultra_efficient_llm::TrainOptions {
        max_pattern_length: 3,
        ..Default::default()
    })
    .unwrap();
    t.feed(&text);
    t.finish().unwrap().to_arpa()
}

/// One random edit of an ARPA file's text: a number made infinite, huge or positive, a field
/// dropped, doubled or split, a word made a number, a line dropped or doubled.
fn mutate_arpa(text: &str, rng: &mut Lcg) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = rng.next() as usize % lines.len();
    let mut fields: Vec<String> = lines[at].split('\t').map(str::to_owned).collect();
    let f = rng.next() as usize % fields.len();
    const NUMBERS: [&str; 10] = [
        "inf", "-inf", "NaN", "1e30", "0.5", "1e-7", "-1e-40", "-99", "-1e38", "0",
    ];
    match rng.next() % 8 {
        0 => fields[f] = NUMBERS[rng.next() as usize % NUMBERS.len()].to_owned(),
        1 => {
            fields.remove(f);
        }
        2 => fields.insert(f, fields[f].clone()),
        3 => fields[f] = fields[f].replacen(' ', "  ", 1).replace('e', " e"),
        4 => fields[f] = format!("{} -1.5", fields[f]),
        5 => {
            lines.remove(at);
            return lines.join("\n");
        }
        6 => {
            let l = lines[at].clone();
            lines.insert(at, l);
            return lines.join("\n");
        }
        _ => {
            let w = NUMBERS[rng.next() as usize % NUMBERS.len()];
            fields[f] = fields[f]
                .split(' ')
                .map(|x| if rng.next() % 2 == 0 { w } else { x })
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    lines[at] = fields.join("\t");
    lines.join("\n")
}

#[test]
fn every_export_is_a_file_that_imports_again() {
    // The golden model, and KenLM's own file imported.
    let golden = Model::from_bytes(GOLDEN).unwrap();
    export_imports_again(&golden, "golden");
    let kenlm = Model::from_arpa(include_str!("fixtures/kenlm/tiny.o3.arpa")).unwrap();
    let kenlm_arpa = export_imports_again(&kenlm, "kenlm");
    // An ARPA file without <unk> (its probability 0) exports -99, not -inf.
    let no_unk: String = kenlm_arpa
        .lines()
        .filter(|l| !l.contains("<unk>"))
        .map(|l| l.replace("ngram 1=1697", "ngram 1=1696") + "\n")
        .collect();
    let m = Model::from_arpa(&no_unk).unwrap();
    let again = export_imports_again(&m, "no <unk>");
    assert!(again.contains("-99\t<unk>"), "{}", &again[..200]);
}

#[test]
fn mutated_arpa_files_either_fail_or_export_a_file_that_imports() {
    let base = small_arpa();
    let mut rng = Lcg(11);
    let mut loaded = 0;
    for round in 0..600 {
        let mut text = base.clone();
        for _ in 0..1 + round % 3 {
            text = mutate_arpa(&text, &mut rng);
        }
        if let Ok(m) = Model::from_arpa(&text) {
            loaded += 1;
            export_imports_again(&m, &format!("round {round}"));
        }
    }
    assert!(loaded > 30 && loaded < 600, "{loaded} of 600 loaded");
}

#[test]
fn damaged_models_either_fail_or_export_a_file_that_imports() {
    let mut rng = Lcg(5);
    let body_len = GOLDEN.len() - HEADER_LEN;
    let mut loaded = 0;
    for round in 0..300 {
        let mut b = GOLDEN.to_vec();
        for _ in 0..1 + round % 3 {
            let at = HEADER_LEN + (rng.next() as usize % body_len);
            b[at] = rng.next() as u8;
        }
        reseal(&mut b);
        if let Ok(m) = Model::from_bytes(&b) {
            loaded += 1;
            export_imports_again(&m, &format!("round {round}"));
        }
    }
    assert!(loaded > 10, "{loaded} of 300 loaded");
}

#[test]
fn imported_probabilities_above_one_are_refused() {
    let base = small_arpa();
    let line = base.lines().position(|l| l.contains("\tis\t")).unwrap();
    let with = |p: &str| {
        base.lines()
            .enumerate()
            .map(|(i, l)| {
                if i == line {
                    format!("{p}\t{}\n", l.split_once('\t').unwrap().1)
                } else {
                    format!("{l}\n")
                }
            })
            .collect::<String>()
    };
    match Model::from_arpa(&with("0.5")) {
        Err(e @ Error::Arpa { .. }) => {
            assert_eq!(e.code(), "INVALID_ARPA");
            let msg = e.to_string();
            assert!(msg.contains(&format!("line {}", line + 1)), "{msg}");
            assert!(msg.contains("above 0"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    // What an earlier export could write from rounding is read as 0.
    let m = Model::from_arpa(&with("1.3e-8")).unwrap();
    assert!(!m.to_arpa().contains("1.3e-8"));
}

#[test]
fn vocabulary_words_with_whitespace_are_refused() {
    let at = GOLDEN
        .windows(5)
        .position(|w| w == b"\nthe\n")
        .expect("the golden vocabulary holds `the`");
    for blank in [b' ', b'\t', b'\r'] {
        let mut b = GOLDEN.to_vec();
        b[at + 2] = blank;
        reseal(&mut b);
        match Model::from_bytes(&b) {
            Err(e) => assert_eq!(e.code(), "CORRUPTED", "{e}"),
            Ok(_) => panic!("a word with {blank:?} in it loaded"),
        }
    }
}
