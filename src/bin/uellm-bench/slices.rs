//! `--generation-slices MODEL`: generation timed in slices that another program asks for, so
//! that a harness (the browser benchmark, `bench/browser/run.mjs`) can alternate native and
//! other measurements of the same requests within a fraction of a second.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use ultra_efficient_llm::GenerateOptions;

use super::files;
use super::measure::generate_text;
use super::CliError;

/// The most requests one `--generation-slices` line may ask for.
const MAX_SLICE_REQUESTS: u64 = 1_000_000;

/// One slice of `--generation-slices`, as answered on stdout.
#[derive(Debug, Serialize)]
struct Slice {
    requests: u64,
    tokens_per_request: u64,
    seed0: u64,
    /// Requests per group: `us_per_request` is the median of the groups' mean times.
    group: u64,
    /// Tokens generated (all requests).
    tokens: u64,
    seconds: f64,
    /// Median time of one request: of the requests, or of the means of groups of `group`
    /// requests (as a harness with a coarse clock measures).
    us_per_request: f64,
}

/// `--generation-slices`: loads `model`, then answers each `REQUESTS TOKENS SEED0 [GROUP]` line
/// of `input` with one JSON [`Slice`] line on `output`, until the input ends.
///
/// # Errors
/// The model's load error; `INVALID_OPTION` for a malformed line (nothing is answered to it).
pub fn generation_slices(
    model: &Path,
    input: impl io::BufRead,
    output: &mut impl Write,
) -> Result<(), CliError> {
    let model = files::load_model(model)?;
    for line in input.lines() {
        let line = line.map_err(|e| CliError::io("stdin", &e))?;
        if line.trim().is_empty() {
            continue;
        }
        let (requests, tokens, seed0, group) = parse_slice(&line)?;
        let opts = GenerateOptions {
            max_tokens: tokens as usize,
            stop_at_sentence_end: false,
            ..GenerateOptions::default()
        };
        let run = generate_text(&model, &opts, seed0..seed0.saturating_add(requests))?;
        let slice = Slice {
            requests,
            tokens_per_request: tokens,
            seed0,
            tokens: run.tokens,
            seconds: run.seconds,
            group,
            us_per_request: run.median_us(group as usize),
        };
        // io::Error::from keeps a broken pipe's kind (the reader went away: exit 0).
        serde_json::to_writer(&mut *output, &slice).map_err(io::Error::from)?;
        writeln!(output)?;
        output.flush()?;
    }
    Ok(())
}

/// A line `REQUESTS TOKENS SEED0 [GROUP]` (GROUP 1 when missing), checked.
fn parse_slice(line: &str) -> Result<(u64, u64, u64, u64), CliError> {
    let nums: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| slice_error(line))?;
    let (requests, tokens, seed0, group) = match nums[..] {
        [r, t, s] => (r, t, s, 1),
        [r, t, s, g] => (r, t, s, g),
        _ => return Err(slice_error(line)),
    };
    // REQUESTS sizes the per-request timings: bounded, so a typo cannot abort allocating.
    if !(1..=MAX_SLICE_REQUESTS).contains(&requests)
        || !(1..=1_000_000).contains(&tokens)
        || group == 0
    {
        return Err(slice_error(line));
    }
    Ok((requests, tokens, seed0, group))
}

/// A stdin line of `--generation-slices` that is not `REQUESTS TOKENS SEED0 [GROUP]`.
fn slice_error(line: &str) -> CliError {
    CliError::from(ultra_efficient_llm::Error::InvalidOption {
        name: "generation_slices",
        reason: format!(
            "expected lines `REQUESTS TOKENS SEED0 [GROUP]` on stdin (1 ≤ REQUESTS ≤ \
             {MAX_SLICE_REQUESTS}, 1 ≤ TOKENS ≤ 1000000, GROUP ≥ 1), got {line:?}"
        ),
    })
}
