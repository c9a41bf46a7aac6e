//! An index from its raw parts (an index image's). Its figures and layout are checked here;
//! its blocks need no check: every read of a block keeps the offsets and words it gives within
//! bounds (see `block::Place`), so that no bytes, however made, can make a query panic, read out
//! of bounds or loop. Bytes that were not made by [`Index::build`] give a useless model, never a
//! crash (the image's checksum is what tells damaged bytes from good ones).

use super::bits::{width, PAD};
use super::Index;
use crate::config::MAX_ORDER;
use crate::error::{Error, Result};

fn bad(what: impl std::fmt::Display) -> Error {
    Error::corrupted(format!("index image: {what}"))
}

impl Index {
    /// This index's figures and layout (as an index image's meta gives them) with the blocks
    /// `data[at..]` (their padding included), the figures and layout checked against them (see
    /// the module docs). What `data` holds before `at` is kept as it is ([`Index::prefix`]): an
    /// index image loaded in place keeps its model file there.
    ///
    /// # Errors
    /// [`Error::Corrupted`] when anything does not hold.
    pub(crate) fn with_blocks(mut self, data: Vec<u8>, at: usize) -> Result<Index> {
        check_meta(&self, data.get(at..).unwrap_or_default())?;
        self.data = data;
        self.at = at;
        Ok(self)
    }
}

/// The figures and layout of `meta` (an index without its blocks) for the blocks `data`.
fn check_meta(meta: &Index, data: &[u8]) -> Result<()> {
    let (lay, order) = (&meta.layout, meta.order);
    let total = data
        .len()
        .checked_sub(PAD)
        .ok_or_else(|| bad("too short"))?;
    if !(1..=MAX_ORDER).contains(&order) || meta.level_end.len() != order {
        return Err(bad("order"));
    }
    if meta.vocab_len < 3 || lay.word_bits != width(meta.vocab_len as u64 - 1) {
        return Err(bad("vocabulary size"));
    }
    if !(1..=32).contains(&lay.ptr_bits) || total as u64 >= 1u64 << lay.ptr_bits {
        return Err(bad("offset width"));
    }
    if let Some(d) = &lay.discounts {
        let in_range =
            |t: &[f64; 4]| t[0] == 0.0 && (1..4).all(|j| (0.0..=j as f64).contains(&t[j]));
        if d.len() != order || !d.iter().all(in_range) {
            return Err(bad("discounts"));
        }
    } else if lay.pruned {
        return Err(bad("layout"));
    }
    let ends = &meta.level_end;
    if ends[0] == 0 || ends.windows(2).any(|w| w[0] > w[1]) || ends[order - 1] as usize != total {
        return Err(bad("depths"));
    }
    if meta.fallback_word >= meta.vocab_len || data[total..].iter().any(|&b| b != 0) {
        return Err(bad("figures"));
    }
    Ok(())
}
