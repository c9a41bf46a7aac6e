//! The tables for people: a header, then per corpus file its training, generation and
//! dev-split tables, and last the targets; one function per table.

use super::bench::{Document, Settings};
use super::curve::{Curve, METHODS, SIZES};
use super::measure::{Corpus, Run};
use super::report::{self, fixed, percent, round_thousands, thousands, Table};
use super::targets::{Targets, TARGET_FILE};

/// The whole report.
pub fn render(doc: &Document) -> String {
    let mut o = header(doc);
    for c in &doc.corpora {
        o.push_str(&format!(
            "\n== {} ({} bytes, {} sentences, {} tokens with </s>) ==\n\n",
            c.file,
            thousands(c.bytes),
            thousands(c.sentences),
            thousands(c.tokens)
        ));
        o.push_str(&training_table(c));
        o.push_str(&generation_table(&doc.settings, c));
        o.push_str(&dev_table(&doc.settings, c));
        if let Some(curve) = &c.curve {
            o.push_str(&curve_table(curve));
        }
    }
    o.push_str(&targets_table(doc.targets.as_ref()));
    o
}

/// The settings and the machine.
fn header(doc: &Document) -> String {
    let s = &doc.settings;
    let m = &doc.machine;
    let mut o = format!(
        "uellm-bench: {} build, {} run{} (medians), {} requests x {} tokens per configuration, \
         seeds 0 to {}\n",
        if m.debug_build { "DEBUG" } else { "release" },
        s.runs,
        if s.runs == 1 { "" } else { "s" },
        thousands(s.requests),
        s.tokens_per_request,
        thousands(s.requests.max(s.shaped_requests) - 1)
    );
    o.push_str(&format!(
        "machine: {} CPUs (nproc), {}, {} {}\n",
        m.nproc,
        m.cpu.as_deref().unwrap_or("CPU model unknown"),
        m.os,
        m.arch
    ));
    if s.like_wasm {
        o.push_str("--like-wasm: one thread, no huge pages (as WebAssembly runs in a browser)\n");
    }
    o
}

/// Training, the model file and loading, with the n-grams per order.
fn training_table(c: &Corpus) -> String {
    let md = &c.median;
    let mut o = format!(
        "training at order {}, no pruning (read, count, smooth, index)\n",
        c.order
    );
    let mut t = Table::new(&["measure", "median", "runs"])
        .right(&[1])
        .indent(2);
    let mut timed = |what: &str, median: String, f: fn(&Run) -> f64, decimals| {
        t.row(vec![what.into(), median, runs_of(&c.runs, f, decimals)]);
    };
    timed(
        "wall time",
        format!("{} s", fixed(md.train_seconds, 3)),
        |r| r.train_seconds,
        3,
    );
    timed(
        "throughput",
        format!("{} MB/s", fixed(md.train_mb_per_second, 2)),
        |r| r.train_mb_per_second,
        2,
    );
    timed(
        "wall time, model file only (no index)",
        format!("{} s", fixed(md.train_file_seconds, 3)),
        |r| r.train_file_seconds,
        3,
    );
    for (what, value) in [
        (
            "model file",
            format!("{} bytes", thousands(c.model_file_bytes)),
        ),
        ("bytes per n-gram", fixed(c.bytes_per_ngram, 3)),
        ("memory", format!("{} bytes", thousands(c.memory_bytes))),
    ] {
        t.row(vec![what.into(), value, String::new()]);
    }
    let m = &c.memory_parts;
    let per = |b: u64| fixed(b as f64 / c.patterns.max(1) as f64, 2);
    for (what, bytes) in [
        ("  index", m.index),
        ("  model file (kept for saving)", m.file),
        ("  vocabulary", m.vocab),
        ("  activation cache (after the shaped requests)", m.cache),
        ("  all, bytes per n-gram", m.total),
    ] {
        t.row(vec![
            what.into(),
            format!("{} bytes/n-gram", per(bytes)),
            format!("{} bytes", thousands(bytes)),
        ]);
    }
    t.row(vec![
        "load (Model::from_bytes)".into(),
        format!("{} ms", fixed(md.load_ms, 1)),
        runs_of(&c.runs, |r| r.load_ms, 1),
    ]);
    t.row(vec![
        "load, index image (Model::from_image)".into(),
        format!("{} ms", fixed(md.load_image_ms, 1)),
        runs_of(&c.runs, |r| r.load_image_ms, 1),
    ]);
    o.push_str(&t.render());
    o.push_str(&format!(
        "  n-grams: {} · total {}\n",
        report::ngrams(&c.ngrams),
        thousands(c.patterns)
    ));
    if !c.discount_fallback.is_empty() {
        let orders: Vec<String> = c.discount_fallback.iter().map(u8::to_string).collect();
        o.push_str(&format!(
            "  discount fallback at order {}\n",
            orders.join(", ")
        ));
    }
    o
}

/// Generation with the exact sampler (ids only, and text) and the shaped one.
fn generation_table(s: &Settings, c: &Corpus) -> String {
    let md = &c.median;
    let shaped_count = if s.shaped_requests == s.requests {
        String::new()
    } else {
        format!(
            " ({} for the shaped configuration)",
            thousands(s.shaped_requests)
        )
    };
    let mut o = format!(
        "\ngeneration, one thread, {} x {}-token requests{shaped_count}, no stop at sentence end\n",
        thousands(s.requests),
        s.tokens_per_request,
    );
    let mut t = Table::new(&[
        "configuration",
        "tokens/s",
        "µs/request",
        "cache hits",
        "tokens/s per run",
    ])
    .right(&[1, 2, 3])
    .indent(2);
    t.row(vec![
        "exact sampler, ids (generate_ids)".into(),
        round_thousands(md.sampler_tokens_per_second),
        "-".into(),
        "n/a".into(),
        runs_of_rate(&c.runs, |r| r.sampler_tokens_per_second),
    ]);
    t.row(vec![
        "exact sampler, text (generate)".into(),
        round_thousands(md.text_tokens_per_second),
        fixed(md.text_us_per_request, 1),
        "n/a".into(),
        runs_of_rate(&c.runs, |r| r.text_tokens_per_second),
    ]);
    t.row(vec![
        format!(
            "temperature {} top-k {}, text (generate)",
            s.shaped_temperature, s.shaped_top_k
        ),
        round_thousands(md.shaped_tokens_per_second),
        fixed(md.shaped_us_per_request, 1),
        percent(md.shaped_cache_hit_rate),
        runs_of_rate(&c.runs, |r| r.shaped_tokens_per_second),
    ]);
    o.push_str(&t.render());
    o.push_str("  (µs/request: median time of one request)\n");
    o.push_str(&format!(
        "prediction and scoring\n  predict, k = 10: {} µs median; with a one-letter prefix: {} µs \
         (runs {} / {})\n  score (per-token, KenLM query's output), streamed: {} tokens/s \
         (runs {}); as owned results: {} tokens/s (runs {})\n",
        fixed(md.predict_us, 1),
        fixed(md.predict_prefix_us, 1),
        runs_of(&c.runs, |r| r.predict_us, 1),
        runs_of(&c.runs, |r| r.predict_prefix_us, 1),
        round_thousands(md.score_tokens_per_second),
        runs_of_rate(&c.runs, |r| r.score_tokens_per_second),
        round_thousands(md.score_owned_tokens_per_second),
        runs_of_rate(&c.runs, |r| r.score_owned_tokens_per_second),
    ));
    o
}

/// Dev-split perplexity next to KenLM's.
fn dev_table(s: &Settings, c: &Corpus) -> String {
    let mut o = String::new();
    if let Some(d0) = c.dev_split.first() {
        o.push_str(&format!(
            "\ndev-split perplexity (every {}th non-empty line: {} dev, {} fit sentences), \
             KenLM from ../shared/reference/README.md\n",
            s.dev_every,
            thousands(d0.dev_sentences),
            thousands(d0.fit_sentences)
        ));
    }
    let mut t = Table::new(&[
        "order",
        "ppl",
        "KenLM",
        "diff",
        "ppl excl. OOV",
        "KenLM",
        "diff",
        "OOV",
        "KenLM",
        "tokens",
        "KenLM",
    ])
    .right(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    .indent(2);
    for d in &c.dev_split {
        let k = d.kenlm.as_ref();
        let diff = d.diff_percent.as_ref();
        let p = &d.measured;
        t.row(vec![
            d.order.to_string(),
            fixed(p.perplexity, 3),
            k.map_or("-".into(), |k| fixed(k.perplexity, 3)),
            diff.map_or("-".into(), |x| signed(x.perplexity)),
            fixed(p.perplexity_excluding_oov, 3),
            k.map_or("-".into(), |k| fixed(k.perplexity_excluding_oov, 3)),
            diff.map_or("-".into(), |x| signed(x.perplexity_excluding_oov)),
            thousands(p.oov),
            k.map_or("-".into(), |k| thousands(k.oov)),
            thousands(p.tokens),
            k.map_or("-".into(), |k| thousands(k.tokens)),
        ]);
    }
    o.push_str(&t.render());
    o
}

/// The size/quality curve: per size, each method's dev perplexity (and file size), and the
/// winner.
fn curve_table(c: &Curve) -> String {
    let mut o = format!(
        "\nsize/quality: dev-split perplexity of order-{} models pruned to a model file size \
         (unpruned: {} bytes, perplexity {})\n",
        c.order,
        thousands(c.full_bytes),
        fixed(c.full_perplexity, 3)
    );
    let mut head = vec!["file ≤"];
    head.extend(METHODS);
    head.push("best");
    let mut t = Table::new(&head).right(&[0, 1, 2, 3, 4]).indent(2);
    for size in SIZES {
        let mut row = vec![format!("{} MB", size as f64 / 1e6)];
        for m in METHODS {
            row.push(c.point(m, size).map_or("-".into(), |p| {
                format!("{} ({} KB)", fixed(p.perplexity, 2), p.file_bytes / 1000)
            }));
        }
        row.push(c.winner(size).map_or("-".into(), |p| p.method.to_string()));
        t.row(row);
    }
    o.push_str(&t.render());
    o.push_str("  (the settings of each model are in the JSON)\n");
    o
}

/// The targets, or a line saying why they were not checked.
fn targets_table(targets: Option<&Targets>) -> String {
    let Some(tg) = targets else {
        return format!(
            "\ntargets: not checked ({TARGET_FILE} is not among the benchmarked files)\n"
        );
    };
    let mut o = format!("\ntargets (from the issue), measured on {}\n", tg.file);
    let mut t = Table::new(&["target", "goal", "measured", "status"])
        .right(&[2])
        .indent(2);
    for r in &tg.rows {
        let measured = match r.unit {
            "tokens/s" => format!("{} tokens/s", round_thousands(r.measured)),
            "ms" => format!("{} ms", fixed(r.measured, 1)),
            "s" => format!("{} s", fixed(r.measured, 3)),
            unit => format!("{} {unit}", fixed(r.measured, 3)),
        };
        t.row(vec![
            r.what.into(),
            r.goal.clone(),
            measured,
            if r.met { "met" } else { "NOT MET" }.into(),
        ]);
    }
    o.push_str(&t.render());
    o
}

/// Each run's value of `f`, with `decimals` decimals.
fn runs_of(runs: &[Run], f: fn(&Run) -> f64, decimals: usize) -> String {
    runs.iter()
        .map(|r| fixed(f(r), decimals))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Each run's rate `f`, rounded, with thousands separators.
fn runs_of_rate(runs: &[Run], f: fn(&Run) -> f64) -> String {
    runs.iter()
        .map(|r| round_thousands(f(r)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// A relative difference in percent with its sign; `0.000%` when it rounds to zero.
fn signed(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x.abs() < 0.0005 {
        "0.000%".into()
    } else {
        format!("{x:+.3}%")
    }
}

/// The table of `--scale`.
#[cfg(target_os = "linux")]
pub fn scale(s: &super::scale::Scale) -> String {
    let l = &s.load;
    let per = |b: u64| fixed(b as f64 / l.patterns.max(1) as f64, 2);
    let mb = |b: u64| fixed(b as f64 / 1e6, 1);
    let mut o = format!(
        "== --scale: order 5 on {} ({} bytes of sampled text) ==\n",
        s.text_path,
        thousands(s.text_bytes)
    );
    o.push_str(&format!(
        "  n-grams             {}\n  model file          {} MB ({} bytes/n-gram)\n",
        thousands(l.patterns),
        mb(l.file_bytes),
        per(l.file_bytes)
    ));
    o.push_str(&format!(
        "  training            {} s, peak {} MB (as uellm train: to the file, no index)\n",
        fixed(s.train.seconds, 1),
        mb(s.train.peak_bytes)
    ));
    if let Some(b) = &s.bounded {
        o.push_str(&format!(
            "  training, --memory  {} s, peak {} MB within --memory {} MB ({}x the time in memory; \
             {})\n",
            fixed(b.seconds, 1),
            mb(b.peak_bytes),
            mb(b.memory),
            fixed(b.seconds / s.train.seconds.max(1e-9), 2),
            if b.same_model {
                "the same model file"
            } else {
                "A DIFFERENT MODEL FILE"
            }
        ));
    }
    o.push_str(&format!(
        "  load                {} ms (Model::from_vec, the file already read)\n",
        fixed(l.load_ms, 0)
    ));
    o.push_str(&format!(
        "  loaded model        {} MB ({} bytes/n-gram; index {} bytes/n-gram)\n",
        mb(l.memory_bytes),
        per(l.memory_bytes),
        per(l.index_bytes)
    ));
    o.push_str(&format!(
        "  load peak memory    {} MB ({}x the loaded model; the process's peak resident memory)\n",
        mb(l.peak_bytes),
        fixed(l.peak_bytes as f64 / l.memory_bytes.max(1) as f64, 2)
    ));
    let i = &s.load_image;
    o.push_str(&format!(
        "  index image         {} MB; load in place {} ms (Model::from_image_vec), peak {} MB ({}x the loaded model)\n",
        mb(i.file_bytes),
        fixed(i.load_ms, 0),
        mb(i.peak_bytes),
        fixed(i.peak_bytes as f64 / i.memory_bytes.max(1) as f64, 2)
    ));
    if let Some(rate) = i.score_tokens_per_second {
        o.push_str(&format!(
            "  score               {} tokens/s (streamed per-token scores of the first 20 MB of \
             the text)\n",
            round_thousands(rate)
        ));
    }
    o
}
