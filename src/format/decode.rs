//! Decoding a model file's body: every stream checked against the bytes that remain before
//! anything is allocated for it, the trie rebuilt with its suffix links, the values kept for the
//! index build.

use std::ops::Range;

use super::{Body, KIND_COUNTS, KIND_PROBS};
use crate::config::MAX_ORDER;
use crate::error::{Error, Result};
use crate::mem;
use crate::parts::{Counts, Parts, TrainingStats, Values};
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::varint::Reader;
use crate::vocab::Vocab;

/// Decodes and validates a body: the parts and the trie's suffix links. The adjusted counts
/// stay encoded ([`Counts::InFile`], at `at + ` their place in `bytes`): the index build
/// decodes and checks them.
///
/// Once the body's figures are known, sets `meter`'s total to the whole load's work (this
/// decoding, then the index: see [`cost::load`]), then adds the `DECODE_*` [`cost`]s, and
/// `crc_units` for the checksum already checked.
pub(crate) fn decode_body(
    bytes: &[u8],
    at: usize,
    crc_units: u64,
    meter: &Meter,
) -> Result<(Parts, Vec<u32>)> {
    let (b, rest): (Body<'_>, _) = postcard::take_from_bytes(bytes)
        .map_err(|e| Error::corrupted(format!("undecodable body ({e})")))?;
    if !rest.is_empty() {
        return Err(Error::corrupted("bytes left over after the body"));
    }
    let Sizes { order, v, total } = Sizes::of(&b)?;
    let level_start = level_starts(&b.level_sizes);
    let ctx_end = level_start[order] as usize;
    meter.set_total(
        crc_units
            + cost::load(
                total as u64,
                ctx_end as u64,
                v,
                !b.pruned.is_empty(),
                b.kind == KIND_PROBS,
            ),
    );
    meter.add(crc_units);

    // The structure and the values are separate streams: decode them side by side.
    let tally = meter.tally();
    let (trie, (values, vocab)) = mem::join(
        || decode_trie(&b, level_start, total, v, order, meter),
        || {
            let vocab = Vocab::from_words(b.vocab.split('\n'));
            tally.add(cost::VOCAB * v);
            let values_at = at + (b.values.as_ptr() as usize - bytes.as_ptr() as usize);
            (
                decode_values(&b, values_at, total, ctx_end, order, &tally),
                vocab,
            )
        },
    );
    meter.poll();
    let ((trie, suffix), values) = (trie?, values?);
    let vocab = vocab.filter(|x| x.len() as u64 == v).ok_or_else(|| {
        Error::corrupted("bad vocabulary (a word repeated, empty or holding whitespace, the reserved words out of place), or one that does not match the unigrams")
    })?;
    Ok((
        Parts {
            vocab,
            trie,
            values,
            training: b.training,
        },
        suffix,
    ))
}

/// A body's figures, checked against its size before anything is allocated for them.
struct Sizes {
    order: usize,
    /// Unigrams: the vocabulary's size.
    v: u64,
    /// Patterns, the root included.
    total: usize,
}

impl Sizes {
    /// The figures of `b`.
    ///
    /// # Errors
    /// [`Error::Corrupted`] for an order out of range or figures the streams cannot hold;
    /// [`Error::TooLarge`] for more patterns than 32-bit node ids can number.
    fn of(b: &Body<'_>) -> Result<Sizes> {
        let order = b.order as usize;
        if !(1..=MAX_ORDER).contains(&order) || b.level_sizes.len() != order {
            return Err(Error::corrupted(format!("bad order {order}")));
        }
        // Each word takes at least one byte and a separator.
        let v = b.level_sizes[0];
        if v > b.vocab.len() as u64 / 2 + 1 {
            return Err(Error::corrupted("vocabulary and unigram count differ"));
        }
        // Every pattern beyond the unigrams takes at least one byte of `words`: this bounds
        // every allocation of the decoding by the input's size.
        let deeper: u64 = b.level_sizes[1..]
            .iter()
            .try_fold(0u64, |acc, &x| acc.checked_add(x))
            .unwrap_or(u64::MAX);
        if deeper > b.words.len() as u64 {
            return Err(Error::corrupted("pattern counts exceed the data"));
        }
        let total = 1 + v + deeper;
        if total >= u32::MAX as u64 {
            return Err(Error::TooLarge {
                what: "a model file of over 4 billion patterns",
                limit: "2^32 - 2 patterns",
            });
        }
        Ok(Sizes {
            order,
            v,
            total: total as usize,
        })
    }
}

/// [`Trie::level_start`] from the patterns per order (checked by [`Sizes::of`] to fit `u32`).
fn level_starts(level_sizes: &[u64]) -> Vec<u32> {
    let mut level_start = vec![0u32, 1];
    let mut acc = 1u64;
    for &s in level_sizes {
        acc += s;
        level_start.push(acc as u32);
    }
    level_start
}

/// The pattern tree from the child-count and word streams.
fn decode_trie(
    b: &Body<'_>,
    level_start: Vec<u32>,
    total: usize,
    v: u64,
    order: usize,
    meter: &Meter,
) -> Result<(Trie, Vec<u32>)> {
    let child_start = decode_child_starts(b, &level_start, total, v, order, meter)?;
    let ctx_end = level_start[order] as usize;
    let mut word = mem::zeroed_u32(total);
    let mut suffix = mem::zeroed_u32(total);
    for (i, w) in word[1..=v as usize].iter_mut().enumerate() {
        *w = i as u32;
    }
    let mut r = Reader::new(b.words);
    let bigram_parents = level_start[1] as usize..(level_start[2] as usize).min(ctx_end);
    let deeper_parents = bigram_parents.end..ctx_end;
    decode_bigrams(
        &mut r,
        bigram_parents,
        &child_start,
        v,
        &mut word,
        &mut suffix,
        meter,
    )?;
    decode_deeper(
        &mut r,
        deeper_parents,
        &child_start,
        &mut word,
        &mut suffix,
        meter,
    )?;
    r.finish("words")?;
    let trie = Trie {
        level_start,
        word,
        child_start,
    };
    debug_assert!(trie.validate().is_ok());
    Ok((trie, suffix))
}

/// [`Trie::child_start`] from the child-count stream, checking that each order's children are
/// the next order's patterns.
fn decode_child_starts(
    b: &Body<'_>,
    level_start: &[u32],
    total: usize,
    v: u64,
    order: usize,
    meter: &Meter,
) -> Result<Vec<u32>> {
    let ctx_end = level_start[order] as usize;
    let mut child_start = mem::with_capacity(ctx_end + 1);
    child_start.push(1u32);
    let mut running = 1 + v;
    child_start.push(running as u32);
    let mut r = Reader::new(b.child_counts);
    // The long loops here and below run in pieces (`mem::for_chunks`): in a browser, a loop
    // that runs once per load would otherwise run in baseline code from start to end.
    for k in 1..order {
        let level = level_start[k] as usize..level_start[k + 1] as usize;
        mem::try_for_chunks(level, |piece| {
            meter.add(cost::DECODE_CHILD * piece.len() as u64);
            for _ in piece {
                running += r.varint()? as u64;
                if running > total as u64 {
                    return Err(Error::corrupted("child counts exceed the pattern count"));
                }
                child_start.push(running as u32);
            }
            Ok(())
        })?;
        if running != level_start[k + 2] as u64 {
            return Err(Error::corrupted(format!(
                "child counts of order {k} do not add up"
            )));
        }
    }
    r.finish("child counts")?;
    Ok(child_start)
}

/// The words of the bigrams, children of the unigram nodes `parents`, read from `r`; each
/// bigram's suffix link is the unigram of its word.
fn decode_bigrams(
    r: &mut Reader<'_>,
    parents: Range<usize>,
    child_start: &[u32],
    v: u64,
    word: &mut [u32],
    suffix: &mut [u32],
    meter: &Meter,
) -> Result<()> {
    // Deltas restart at each parent: the first value is stored as is (prev + 1 = 0).
    mem::try_for_chunks(parents, |parents| {
        let kids = child_start[parents.start] as usize..child_start[parents.end] as usize;
        meter.add(cost::DECODE_WORD * kids.len() as u64);
        for parent in parents {
            let mut prev = u64::MAX;
            let kids = child_start[parent] as usize..child_start[parent + 1] as usize;
            for c in kids {
                let w = prev.wrapping_add(1) + r.varint()? as u64;
                if w >= v {
                    return Err(Error::corrupted("word id out of range"));
                }
                word[c] = w as u32;
                // The suffix of a bigram `a b` is the unigram `b`.
                suffix[c] = 1 + w as u32;
                prev = w;
            }
        }
        Ok(())
    })
}

/// The suffix links and words of the patterns of order 3 and more, children of `parents`, read
/// from `r`.
///
/// Deeper patterns `h w` are stored as the rank of `h' w` among the children of `h'`, the
/// suffix of `h`: that rank gives both the word and the suffix link at once.
fn decode_deeper(
    r: &mut Reader<'_>,
    parents: Range<usize>,
    child_start: &[u32],
    word: &mut [u32],
    suffix: &mut [u32],
    meter: &Meter,
) -> Result<()> {
    mem::try_for_chunks(parents, |parents| {
        let children = child_start[parents.start] as usize..child_start[parents.end] as usize;
        meter.add(cost::DECODE_WORD * children.len() as u64);
        for parent in parents {
            let g = suffix[parent] as usize;
            let hay = child_start[g] as u64..child_start[g + 1] as u64;
            let mut prev = u64::MAX;
            let kids = child_start[parent] as usize..child_start[parent + 1] as usize;
            for c in kids {
                let rank = prev.wrapping_add(1) + r.varint()? as u64;
                let at = hay.start + rank;
                if at >= hay.end {
                    return Err(Error::corrupted("a pattern's suffix is out of range"));
                }
                suffix[c] = at as u32;
                prev = rank;
            }
        }
        // The words, in a loop of their own: these loads land anywhere in `word`, and with
        // nothing depending on them the CPU keeps many in flight (see `index::Fill::gather`).
        // Each suffix is of a lower order than its pattern, so its word is already known.
        for c in children {
            word[c] = word[suffix[c] as usize];
        }
        Ok(())
    })
}

/// The per-pattern values; adjusted counts stay encoded (`values_at`: where they are in the file).
fn decode_values(
    b: &Body<'_>,
    values_at: usize,
    total: usize,
    ctx_end: usize,
    order: usize,
    tick: &impl Tick,
) -> Result<Values> {
    Ok(match b.kind {
        KIND_COUNTS => {
            if b.discounts.len() != order {
                return Err(Error::corrupted("discounts missing"));
            }
            // One varint of at least one byte per pattern: a cheap bound now; the index build
            // reads them all and checks the stream ends with the last.
            if (b.values.len() as u64) < total as u64 - 1 {
                return Err(Error::corrupted("a value stream ends early"));
            }
            let a = Counts::InFile(values_at..values_at + b.values.len());
            let mut pruned = Vec::new();
            if !b.pruned.is_empty() {
                let mut r = Reader::new(b.pruned);
                if ctx_end > b.pruned.len() {
                    return Err(Error::corrupted("pruned masses missing"));
                }
                pruned.reserve(ctx_end);
                mem::try_for_chunks(0..ctx_end, |piece| {
                    tick.add(cost::PRUNED * piece.len() as u64);
                    for _ in piece {
                        pruned.push(r.varint()?);
                    }
                    Ok::<(), Error>(())
                })?;
                r.finish("pruned masses")?;
            }
            Values::Counts {
                a,
                pruned,
                discounts: b.discounts.clone(),
            }
        }
        KIND_PROBS => {
            if b.values.len() != 4 * ((total - 1) + (ctx_end - 1)) {
                return Err(Error::corrupted("probability table has the wrong size"));
            }
            let f = |i: usize| {
                let mut x = [0u8; 4];
                x.copy_from_slice(&b.values[4 * i..4 * i + 4]);
                f32::from_le_bytes(x)
            };
            let log_prob = std::iter::once(0.0).chain((0..total - 1).map(f)).collect();
            let log_backoff = std::iter::once(0.0)
                .chain((total - 1..total - 1 + ctx_end - 1).map(f))
                .collect();
            // The other half: the weights made from them (`model::weights`).
            tick.add(cost::PROBS / 2 * total as u64);
            Values::Probs {
                log_prob,
                log_backoff,
            }
        }
        k => return Err(Error::corrupted(format!("unknown value kind {k}"))),
    })
}

/// What a model file says of its model without decoding its streams ([`summary`]).
pub(crate) struct Summary {
    pub vocab: Vocab,
    /// Patterns per order, 1-grams first.
    pub ngrams: Vec<u64>,
    /// The file holds probabilities (an ARPA import), not counts.
    pub probs: bool,
    pub training: Option<TrainingStats>,
}

/// The [`Summary`] of the model file `bytes`, its header and checksum checked: what a model
/// loaded from elsewhere (an index image) takes from the file it keeps.
///
/// # Errors
/// As [`check_header`](super::check_header), and [`Error::Corrupted`] for a body that does not
/// decode or a bad vocabulary.
pub(crate) fn summary(bytes: &[u8]) -> Result<Summary> {
    let body = super::check_header(bytes)?;
    let (b, rest): (Body<'_>, _) = postcard::take_from_bytes(body)
        .map_err(|e| Error::corrupted(format!("undecodable body ({e})")))?;
    if !rest.is_empty() {
        return Err(Error::corrupted("bytes left over after the body"));
    }
    let Sizes { v, .. } = Sizes::of(&b)?;
    let vocab = Vocab::from_words(b.vocab.split('\n'))
        .filter(|x| x.len() as u64 == v)
        .ok_or_else(|| Error::corrupted("bad vocabulary"))?;
    Ok(Summary {
        vocab,
        ngrams: b.level_sizes.clone(),
        probs: b.kind == KIND_PROBS,
        training: b.training,
    })
}
