//! The smoothing is checked against KenLM: the same corpus, tokenization and order must give the
//! same ARPA probabilities and back-offs (to 1e-4) and the same perplexity.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;

use ultra_efficient_llm::{Model, TrainOptions, Trainer};

const TINY: &str = include_str!("fixtures/corpus/tiny.txt");
const KENLM_O3: &str = include_str!("fixtures/kenlm/tiny.o3.arpa");

/// n-gram text -> (log10 prob, log10 back-off).
fn parse_arpa(text: &str) -> (Vec<usize>, HashMap<String, (f64, f64)>) {
    let mut counts = Vec::new();
    let mut grams = HashMap::new();
    let mut order = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("ngram ") {
            counts.push(rest.split_once('=').unwrap().1.parse().unwrap());
        } else if line.starts_with('\\') && line.ends_with("-grams:") {
            order = line[1..line.len() - 7].parse().unwrap();
        } else if order > 0 && !line.is_empty() && !line.starts_with('\\') {
            let f: Vec<&str> = line.split('\t').collect();
            let bo = f.get(2).map_or(0.0, |b| b.parse().unwrap());
            assert_eq!(f[1].split(' ').count(), order, "{line}");
            grams.insert(f[1].to_owned(), (f[0].parse().unwrap(), bo));
        }
    }
    (counts, grams)
}

fn train(text: &str, order: usize) -> Model {
    let mut t = Trainer::new(TrainOptions {
        max_pattern_length: order,
        ..Default::default()
    })
    .unwrap();
    t.feed(text);
    t.finish().unwrap()
}

#[test]
fn order3_matches_kenlm_arpa_to_1e4() {
    let model = train(TINY, 3);
    let (want_counts, want) = parse_arpa(KENLM_O3);
    let (got_counts, got) = parse_arpa(&model.to_arpa());
    assert_eq!(got_counts, want_counts);
    assert_eq!(
        model.info().ngrams,
        want_counts.iter().map(|&c| c as u64).collect::<Vec<_>>()
    );
    let mut worst = (0.0f64, String::new());
    for (gram, &(p, b)) in &want {
        let &(gp, gb) = got
            .get(gram)
            .unwrap_or_else(|| panic!("missing n-gram `{gram}`"));
        let d = (gp - p).abs().max((gb - b).abs());
        if d > worst.0 {
            worst = (d, gram.clone());
        }
    }
    assert!(
        worst.0 < 1e-4,
        "largest difference {} at `{}`",
        worst.0,
        worst.1
    );
}

#[test]
fn perplexity_matches_kenlm_query() {
    let model = train(TINY, 3);
    let p = model.perplexity(TINY);
    assert_eq!(p.tokens, 11_405);
    assert_eq!(p.oov, 0);
    assert!((p.perplexity - 9.6721).abs() < 1e-3, "{}", p.perplexity);
    let p5 = train(TINY, 5).perplexity(TINY);
    assert!((p5.perplexity - 7.0728).abs() < 1e-3, "{}", p5.perplexity);
}

#[test]
fn kenlm_arpa_imports_scores_and_generates() {
    let model = Model::from_arpa(KENLM_O3).unwrap();
    let p = model.perplexity(TINY);
    assert!((p.perplexity - 9.6721).abs() < 1e-3, "{}", p.perplexity);
    let g = model
        .generate(
            "It is",
            &ultra_efficient_llm::GenerateOptions {
                seed: Some(1),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(g.stats.tokens > 0);
}

#[test]
fn exported_arpa_imports_back_with_the_same_scores() {
    let model = train(TINY, 4);
    let back = Model::from_arpa(&model.to_arpa()).unwrap();
    let (a, b) = (model.perplexity(TINY), back.perplexity(TINY));
    assert!(
        (a.log10_prob - b.log10_prob).abs() < 1e-3 * a.tokens as f64 * 1e-3,
        "{} vs {}",
        a.log10_prob,
        b.log10_prob
    );
    let back2 = Model::from_bytes(&back.to_bytes()).unwrap();
    assert_eq!(back2.perplexity(TINY), b);
}

/// `Model::score` gives KenLM `query -v word`'s per-token output for the same text
/// (`fixtures/kenlm/tiny.o3.per-token.tsv`, from `tiny.o3.score-input.txt`): the same tokens,
/// matched n-gram lengths, unknown words and log10 probabilities (to 1e-5), with the model
/// trained on tiny.txt at order 3 and with KenLM's own ARPA file imported.
#[test]
fn per_token_scores_match_kenlm_query() {
    let input = include_str!("fixtures/kenlm/tiny.o3.score-input.txt");
    let want: Vec<(usize, String, u32, f64, bool)> =
        include_str!("fixtures/kenlm/tiny.o3.per-token.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (
                    f[0].parse().unwrap(),
                    f[1].to_owned(),
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f.get(4) == Some(&"oov"),
                )
            })
            .collect();
    for model in [train(TINY, 3), Model::from_arpa(KENLM_O3).unwrap()] {
        let scores = model.score(input);
        let got: Vec<(usize, &ultra_efficient_llm::TokenScore)> = scores
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.tokens.iter().map(move |t| (i + 1, t)))
            .collect();
        assert_eq!(got.len(), want.len());
        for ((sentence, t), (ws, wt, wlen, wlp, woov)) in got.iter().zip(&want) {
            let at = format!("sentence {sentence}, {wt:?}");
            assert_eq!((sentence, &t.token), (ws, wt), "{at}");
            assert_eq!(t.ngram_length, *wlen, "{at}");
            assert_eq!(t.oov, *woov, "{at}");
            assert!(
                (t.log10_prob - wlp).abs() < 1e-5,
                "{at}: {} vs {wlp}",
                t.log10_prob
            );
        }
        // A sentence's total is the sum of its tokens' (KenLM's full_scores).
        for s in &scores {
            let sum: f64 = s.tokens.iter().map(|t| t.log10_prob).sum();
            assert!((s.log10_prob - sum).abs() < 1e-9);
        }
    }
}
