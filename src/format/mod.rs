//! The model file: a fixed header, then a postcard body laid out for fast loading.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "UELMODEL"
//!      8     2  format version (u16 LE), FORMAT_VERSION
//!     10     2  flags (u16 LE), 0
//!     12     8  body length (u64 LE)
//!     20     4  CRC-32 of the body (u32 LE)
//!     24     …  body (postcard)
//! ```
//!
//! postcard is not self-describing, so the magic and version come first and are checked before
//! a byte of the body is interpreted; the checksum catches damage before decoding. The body holds
//! the trie breadth-first as a few byte streams rather than millions of small values, all LEB128
//! varints, most of one byte:
//! * per context-capable node, its number of children;
//! * per bigram `a b`, the word `b`; per longer pattern `h w`, the rank of `h' w` among the
//!   children of `h'`, the suffix of `h` (`h' w` always exists). Both as deltas from the previous
//!   sibling. A rank is a smaller number than a word id, and decoding it yields the word and the
//!   suffix link at once, so loading needs no search (version 1 stored words and searched);
//! * per pattern, its adjusted Kneser-Ney count.
//!
//! Probabilities are recomputed on load, so the file is lossless and about 3 bytes per pattern.
//! Every length read from the file is checked against the bytes that remain before anything is
//! allocated for it.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::mem;
use crate::parts::{Counts, Parts, TrainingStats, Values};
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::varint::put;
use crate::vocab::Vocab;

mod decode;
pub(crate) use decode::{decode_body, summary};

/// First bytes of every model file.
pub const MAGIC: &[u8; 8] = b"UELMODEL";
/// Format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 2;
/// First bytes of every count shard (`crate::shard`), named here so that a model's reader can
/// tell one apart.
pub const SHARD_MAGIC: &[u8; 8] = b"UELMCNTS";
/// Bytes before the body.
pub const HEADER_LEN: usize = 24;

const KIND_COUNTS: u8 = 0;
const KIND_PROBS: u8 = 1;

#[derive(Serialize, Deserialize)]
struct Body<'a> {
    order: u8,
    /// Words in id order, joined by `\n` (tokens never contain whitespace).
    vocab: &'a str,
    /// Patterns per order, 1-grams first.
    level_sizes: Vec<u64>,
    kind: u8,
    discounts: Vec<[f64; 3]>,
    #[serde(borrow, with = "serde_bytes")]
    child_counts: &'a [u8],
    #[serde(borrow, with = "serde_bytes")]
    words: &'a [u8],
    #[serde(borrow, with = "serde_bytes")]
    values: &'a [u8],
    #[serde(borrow, with = "serde_bytes")]
    pruned: &'a [u8],
    training: Option<TrainingStats>,
}

/// Header plus `body`.
pub(crate) fn with_header(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// Checks the header and checksum; returns the body.
pub(crate) fn check_header(bytes: &[u8]) -> Result<&[u8]> {
    let body = check_frame(bytes)?;
    let crc = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if crc32fast::hash(body) != crc {
        return Err(Error::corrupted("checksum mismatch"));
    }
    Ok(body)
}

/// Checks the header (magic, version, flags, length) but not the checksum; returns the body.
pub(crate) fn check_frame(bytes: &[u8]) -> Result<&[u8]> {
    check_prefix(&bytes[..bytes.len().min(HEADER_LEN)], bytes.len() as u64)?;
    Ok(&bytes[HEADER_LEN..])
}

/// Checks a model file's header (magic, format version, flags, body length) from its first
/// [`HEADER_LEN`] bytes (fewer if the file is shorter) and the file's length, without the body:
/// for callers that hold the file elsewhere (the WebAssembly bindings' `Model.checkHeader`, which
/// copies only the header into wasm memory). The checksum and the body are checked on load.
///
/// ```
/// use ultra_efficient_llm::format::{check_prefix, HEADER_LEN};
/// use ultra_efficient_llm::{Error, TrainOptions, Trainer};
/// let mut t = Trainer::new(TrainOptions::default())?;
/// t.feed("the cat sat.\n");
/// let bytes = t.finish()?.to_bytes();
/// check_prefix(&bytes[..HEADER_LEN], bytes.len() as u64)?;
/// assert!(matches!(check_prefix(b"hello", 5), Err(Error::NotAModel(_))));
/// # Ok::<(), ultra_efficient_llm::Error>(())
/// ```
///
/// # Errors
/// [`Error::NotAModel`], [`Error::UnsupportedVersion`], [`Error::Truncated`] (the file is shorter
/// than its header says) or [`Error::Corrupted`].
pub fn check_prefix(bytes: &[u8], file_len: u64) -> Result<()> {
    let n = bytes.len().min(MAGIC.len());
    if bytes[..n] != MAGIC[..n] || bytes.is_empty() {
        let hint = if bytes.starts_with(b"\\data\\") || bytes.starts_with(b"\n\\data\\") {
            "this looks like an ARPA file; import it with the ARPA importer instead"
        } else if bytes.is_empty() {
            "the input is empty"
        } else if bytes.starts_with(SHARD_MAGIC) {
            "this is a count shard; train a model from it (uellm train --from-counts)"
        } else {
            "the first bytes are not \"UELMODEL\""
        };
        return Err(Error::NotAModel(format!("not a model file: {hint}")));
    }
    if file_len < HEADER_LEN as u64 || bytes.len() < HEADER_LEN {
        return Err(Error::Truncated {
            expected: HEADER_LEN as u64,
            found: file_len,
        });
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        let hint = if version > FORMAT_VERSION {
            "it was written by a newer ultra-efficient-llm: upgrade to load it"
        } else {
            "it was written by an older ultra-efficient-llm: load it there and export it as ARPA, then import that, or retrain"
        };
        return Err(Error::UnsupportedVersion {
            found: version,
            expected: FORMAT_VERSION,
            hint,
        });
    }
    let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
    if flags != 0 {
        return Err(Error::corrupted(format!(
            "unknown header flags {flags:#06x}"
        )));
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[12..20]);
    let len = u64::from_le_bytes(len8);
    let have = file_len - HEADER_LEN as u64;
    if len > have {
        return Err(Error::Truncated {
            expected: (HEADER_LEN as u64).saturating_add(len),
            found: file_len,
        });
    }
    if len < have {
        return Err(Error::corrupted(format!(
            "{} unexpected bytes after the model",
            have - len
        )));
    }
    Ok(())
}

/// Serializes the parts into a body; `suffix` are the trie's suffix links. Adds the `ENCODE_*`
/// [`cost`]s to `meter` as it goes.
///
/// # Errors
/// [`Error::Corrupted`] for counts that were never decoded (parts of a model loaded from a
/// file, which keeps that file instead).
pub(crate) fn encode_body(parts: &Parts, suffix: &[u32], meter: &Meter) -> Result<Vec<u8>> {
    let t = &parts.trie;
    let order = t.order();
    let vocab = joined_words(&parts.vocab);
    let child_counts = encode_child_counts(t, meter);
    let words = encode_words(t, suffix, meter);
    let values = encode_values(&parts.values, meter)?;
    let body = Body {
        order: order as u8,
        vocab: &vocab,
        level_sizes: (1..=order).map(|k| t.level(k).len() as u64).collect(),
        kind: values.kind,
        discounts: values.discounts,
        child_counts: &child_counts,
        words: &words,
        values: &values.values,
        pruned: &values.pruned,
        training: parts.training.clone(),
    };
    // Serializing plain data into a Vec cannot fail.
    Ok(postcard::to_allocvec(&body).unwrap_or_default())
}

/// The vocabulary's words in id order, joined by `\n` ([`Body::vocab`]).
fn joined_words(vocab: &Vocab) -> String {
    let mut s = String::new();
    for (i, w) in vocab.words().enumerate() {
        if i > 0 {
            s.push('\n');
        }
        s.push_str(w);
    }
    s
}

/// The child-count stream: per context-capable node (all but the root and the last order), its
/// number of children.
fn encode_child_counts(t: &Trie, meter: &Meter) -> Vec<u8> {
    let ctx_end = t.level_start[t.order()] as usize;
    let mut child_counts = Vec::new();
    // In pieces, as in decoding (see `decode_trie`).
    mem::for_chunks(1..ctx_end, |nodes| {
        meter.add(cost::ENCODE_CHILD * nodes.len() as u64);
        for node in nodes {
            put(&mut child_counts, t.children(node).len() as u64);
        }
    });
    child_counts
}

/// The word stream. Bigrams: their words. Deeper patterns: their rank among the children of
/// their parent's suffix (see the module docs). Both as deltas from the previous sibling.
fn encode_words(t: &Trie, suffix: &[u32], meter: &Meter) -> Vec<u8> {
    let ctx_end = t.level_start[t.order()] as usize;
    let mut words = Vec::new();
    let bigram_parents = t.level(1);
    mem::for_chunks(t.level_start[1] as usize..ctx_end, |parents| {
        meter.add(cost::ENCODE_WORD * t.descendants(parents.clone()).len() as u64);
        for parent in parents {
            let base = if bigram_parents.contains(&parent) {
                None
            } else {
                Some(t.child_start[suffix[parent] as usize])
            };
            let mut prev: Option<u32> = None;
            for c in t.children(parent) {
                let x = match base {
                    None => t.word[c],
                    Some(b) => suffix[c] - b,
                };
                put(
                    &mut words,
                    match prev {
                        None => x as u64,
                        Some(p) => (x - p - 1) as u64,
                    },
                );
                prev = Some(x);
            }
        }
    });
    words
}

/// The value streams of a body and the kind that says how to read them.
struct EncodedValues {
    kind: u8,
    discounts: Vec<[f64; 3]>,
    values: Vec<u8>,
    pruned: Vec<u8>,
}

/// Adjusted counts (and pruned masses) as varints, or log probabilities and back-offs as
/// little-endian `f32`s.
///
/// # Errors
/// [`Error::Corrupted`] for counts that were never decoded.
fn encode_values(values: &Values, meter: &Meter) -> Result<EncodedValues> {
    let mut out = Vec::new();
    Ok(match values {
        Values::Counts {
            a,
            pruned,
            discounts,
        } => {
            let Counts::Decoded(a) = a else {
                return Err(Error::internal("encoding counts never decoded"));
            };
            mem::for_chunks(1..a.len(), |piece| {
                meter.add(cost::ENCODE_VALUE * piece.len() as u64);
                for &x in &a[piece] {
                    put(&mut out, x as u64);
                }
            });
            let mut pruned_bytes = Vec::new();
            for &x in pruned {
                put(&mut pruned_bytes, x as u64);
            }
            EncodedValues {
                kind: KIND_COUNTS,
                discounts: discounts.clone(),
                values: out,
                pruned: pruned_bytes,
            }
        }
        Values::Probs {
            log_prob,
            log_backoff,
        } => {
            meter.add(cost::ENCODE_VALUE * (log_prob.len() as u64).saturating_sub(1));
            for x in &log_prob[1..] {
                out.extend_from_slice(&x.to_le_bytes());
            }
            for x in &log_backoff[1..] {
                out.extend_from_slice(&x.to_le_bytes());
            }
            EncodedValues {
                kind: KIND_PROBS,
                discounts: Vec::new(),
                values: out,
                pruned: Vec::new(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_errors_are_typed() {
        assert!(matches!(check_header(b""), Err(Error::NotAModel(_))));
        assert!(matches!(
            check_header(b"hello world, not a model"),
            Err(Error::NotAModel(_))
        ));
        assert!(
            matches!(check_header(b"\\data\\\nngram 1=3"), Err(Error::NotAModel(m)) if m.contains("ARPA"))
        );
        assert!(matches!(
            check_header(b"UELMO"),
            Err(Error::Truncated { .. })
        ));
        let good = with_header(b"body");
        assert_eq!(check_header(&good).unwrap(), b"body");
        let mut v = good.clone();
        v[8] = 9;
        assert!(matches!(
            check_header(&v),
            Err(Error::UnsupportedVersion { found: 9, .. })
        ));
        assert!(matches!(
            check_header(&good[..good.len() - 1]),
            Err(Error::Truncated { .. })
        ));
        let mut v = good.clone();
        v.push(0);
        assert!(matches!(check_header(&v), Err(Error::Corrupted(_))));
        let mut v = good;
        *v.last_mut().unwrap() ^= 1;
        assert!(matches!(check_header(&v), Err(Error::Corrupted(m)) if m.contains("checksum")));
        // The header alone does not read the body: a damaged body passes check_frame.
        assert_eq!(check_frame(&v).unwrap(), b"bodx");
    }

    #[test]
    fn the_header_is_checked_from_a_prefix_and_a_length() {
        let good = with_header(b"body");
        assert!(check_prefix(&good[..HEADER_LEN], good.len() as u64).is_ok());
        // Every length but the right one is an error, and a prefix shorter than the header
        // never reads past itself.
        for len in [0, 5, HEADER_LEN as u64, good.len() as u64 - 1] {
            assert!(check_prefix(&good[..HEADER_LEN], len).is_err(), "{len}");
        }
        assert!(matches!(
            check_prefix(&good[..HEADER_LEN], good.len() as u64 + 1),
            Err(Error::Corrupted(_))
        ));
        for cut in 0..HEADER_LEN {
            assert!(
                check_prefix(&good[..cut], good.len() as u64).is_err(),
                "{cut}"
            );
        }
        assert!(matches!(
            check_prefix(b"\\data\\\nngram", 1000),
            Err(Error::NotAModel(m)) if m.contains("ARPA")
        ));
    }
}
