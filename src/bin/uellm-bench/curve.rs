//! The size/quality curve: dev-split perplexity (the split of [`super::dev`]) of order-5 models
//! pruned to model files of at most [`SIZES`] bytes, by each pruning method, and which method
//! wins at each size.
//!
//! For each size and method, the largest model whose file fits:
//! * `min_frequency`: the smallest `--min-frequency` whose file fits (KenLM's count pruning,
//!   `lmplz --prune`);
//! * `max_patterns`: the largest `--max-patterns` whose file fits (by bisection);
//! * `entropy`: relative-entropy pruning to the size (`--target-size`);
//! * `entropy + min_frequency 2`: the singletons dropped first, then relative-entropy pruning.
//!
//! A model of every method keeps every unigram, so sizes below the unigrams' own are out of
//! reach; `min_frequency` and its hybrid stop growing at the `min_frequency 2` model's size.

use std::fmt::Write as _;

use serde::Serialize;
use ultra_efficient_llm::{EntropyPruning, Model, TrainOptions, Trainer};

use super::dev::split;
use super::CliError;

/// The model file sizes of the curve, in bytes.
pub const SIZES: [u64; 4] = [500_000, 1_000_000, 2_000_000, 4_000_000];
/// The order of the curve's models.
pub const ORDER: usize = 5;
/// The methods, in the order of the table.
pub const METHODS: [&str; 4] = [
    "min_frequency",
    "max_patterns",
    "entropy",
    "entropy + min_frequency 2",
];

/// One model of the curve.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    pub method: &'static str,
    /// The size it had to fit.
    pub target_bytes: u64,
    pub file_bytes: u64,
    pub patterns: u64,
    pub perplexity: f64,
    /// The option that made it (e.g. `min_frequency 3`).
    pub setting: String,
}

/// The curve of one corpus file.
#[derive(Debug, Serialize)]
pub struct Curve {
    pub order: usize,
    /// The unpruned model's file size and dev perplexity.
    pub full_bytes: u64,
    pub full_perplexity: f64,
    /// Per method and size, the model (none when no model of that method fits).
    pub points: Vec<Point>,
}

impl Curve {
    /// The model of `method` at `size`.
    pub fn point(&self, method: &str, size: u64) -> Option<&Point> {
        self.points
            .iter()
            .find(|p| p.method == method && p.target_bytes == size)
    }

    /// The method with the lowest perplexity at `size`.
    pub fn winner(&self, size: u64) -> Option<&Point> {
        self.points
            .iter()
            .filter(|p| p.target_bytes == size)
            .min_by(|a, b| a.perplexity.total_cmp(&b.perplexity))
    }
}

/// A model trained on the fit split: its file size, patterns and dev perplexity.
struct Trained {
    bytes: u64,
    patterns: u64,
    perplexity: f64,
}

/// The curve of `text` (a corpus file's text).
pub fn curve(text: &str, say: &dyn Fn(String)) -> Result<Curve, CliError> {
    let (fit, dev, _, _) = split(text);
    let train = |min_frequency: u32, max_patterns: u64, e: Option<EntropyPruning>| {
        let mut t = Trainer::new(TrainOptions {
            max_pattern_length: ORDER,
            min_frequency,
            max_patterns,
        })?;
        t.set_entropy_pruning(e)?;
        t.feed(&fit);
        let f = t.finish_file()?;
        let model = Model::from_bytes(&f.bytes)?;
        Ok::<_, CliError>(Trained {
            bytes: f.bytes.len() as u64,
            patterns: f.info.patterns,
            perplexity: model.perplexity(&dev).perplexity,
        })
    };
    let full = train(1, 0, None)?;
    let mut points = Vec::new();
    let point = |method: &'static str, size: u64, t: &Trained, setting: String| Point {
        method,
        target_bytes: size,
        file_bytes: t.bytes,
        patterns: t.patterns,
        perplexity: t.perplexity,
        setting,
    };

    say("curve: min_frequency".into());
    let smallest = SIZES[0];
    let mut by_count = vec![(1u32, full)];
    let mut f = 2;
    while by_count.last().is_some_and(|(_, t)| t.bytes > smallest) && f <= 1000 {
        by_count.push((f, train(f, 0, None)?));
        f = if f < 8 { f + 1 } else { f * 3 / 2 };
    }
    for size in SIZES {
        if let Some((f, t)) = by_count.iter().find(|(_, t)| t.bytes <= size) {
            points.push(point(METHODS[0], size, t, format!("min_frequency {f}")));
        }
    }

    say("curve: max_patterns".into());
    let full = &by_count[0].1;
    for size in SIZES {
        if full.bytes <= size {
            points.push(point(METHODS[1], size, full, "max_patterns 0".into()));
            continue;
        }
        // The largest cap that fits: the file grows with the cap.
        let (mut lo, mut hi) = (1u64, full.patterns);
        let mut best = None;
        while lo <= hi {
            let mid = lo + (hi - lo) / 2;
            let t = train(1, mid, None)?;
            if t.bytes <= size {
                lo = mid + 1;
                best = Some((mid, t));
            } else {
                hi = mid - 1;
            }
        }
        if let Some((n, t)) = best {
            points.push(point(METHODS[1], size, &t, format!("max_patterns {n}")));
        }
    }

    say("curve: entropy".into());
    for size in SIZES {
        for (method, min_frequency) in [(METHODS[2], 1), (METHODS[3], 2)] {
            let t = train(min_frequency, 0, Some(EntropyPruning::FileBytes(size)))?;
            if t.bytes <= size {
                points.push(point(method, size, &t, format!("target_size {size}")));
            }
        }
    }
    Ok(Curve {
        order: ORDER,
        full_bytes: full.bytes,
        full_perplexity: full.perplexity,
        points,
    })
}

/// The curves as an SVG plot: dev perplexity against file size, one line per method, one panel
/// per corpus file.
pub fn svg(curves: &[(&str, &Curve)]) -> String {
    const W: f64 = 420.0;
    const H: f64 = 300.0;
    const PAD: f64 = 50.0;
    const COLORS: [&str; 4] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];
    let width = W * curves.len() as f64;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" \
         font-family=\"sans-serif\" font-size=\"11\">",
        H + 70.0
    );
    let _ = writeln!(o, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    for (panel, (name, c)) in curves.iter().enumerate() {
        let x0 = panel as f64 * W;
        let ppl: Vec<f64> = c.points.iter().map(|p| p.perplexity).collect();
        let (lo, hi) = ppl
            .iter()
            .fold((f64::INFINITY, 0.0f64), |(l, h), &p| (l.min(p), h.max(p)));
        let (lo, hi) = (lo.min(c.full_perplexity) * 0.98, hi * 1.02);
        // x: file size on a log scale from the smallest size to the largest.
        let (s0, s1) = ((SIZES[0] as f64 / 2.0).ln(), (SIZES[3] as f64 * 1.2).ln());
        let x = |b: u64| x0 + PAD + ((b as f64).ln() - s0) / (s1 - s0) * (W - 2.0 * PAD);
        let y = |p: f64| 20.0 + (hi - p) / (hi - lo) * (H - 40.0);
        let _ = writeln!(
            o,
            "<text x=\"{}\" y=\"14\" text-anchor=\"middle\" font-weight=\"bold\">{name}, \
             order {}: dev perplexity by model file size</text>",
            x0 + W / 2.0,
            c.order
        );
        let _ = writeln!(
            o,
            "<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"black\"/>\
             <line x1=\"{0}\" y1=\"20\" x2=\"{0}\" y2=\"{2}\" stroke=\"black\"/>",
            x0 + PAD,
            x0 + W - PAD,
            H - 20.0
        );
        for size in SIZES {
            let _ = writeln!(
                o,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{} MB</text>",
                x(size),
                H - 5.0,
                size as f64 / 1e6
            );
        }
        for i in 0..=4 {
            let p = lo + (hi - lo) * i as f64 / 4.0;
            let _ = writeln!(
                o,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{p:.0}</text>",
                x0 + PAD - 4.0,
                y(p) + 4.0
            );
        }
        for (m, method) in METHODS.iter().enumerate() {
            let pts: Vec<String> = c
                .points
                .iter()
                .filter(|p| p.method == *method)
                .map(|p| format!("{:.1},{:.1}", x(p.file_bytes), y(p.perplexity)))
                .collect();
            let _ = writeln!(
                o,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>",
                pts.join(" "),
                COLORS[m]
            );
            for pt in &pts {
                let (px, py) = pt.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    o,
                    "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{}\"/>",
                    COLORS[m]
                );
            }
            let _ = writeln!(
                o,
                "<text x=\"{}\" y=\"{}\" fill=\"{}\">{method}</text>",
                x0 + PAD,
                H + 15.0 + 12.0 * m as f64,
                COLORS[m]
            );
        }
    }
    o.push_str("</svg>\n");
    o
}
