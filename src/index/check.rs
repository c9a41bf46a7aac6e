//! An index from its raw parts (an index image's), checked so that no bytes, however made,
//! can make a query panic, read out of bounds or loop: every block is parsed and its fields
//! bounded, every offset must be a block's start, and a context's back-off must be shallower
//! than the context (so every back-off chain ends at the root).

use serde::{Deserialize, Serialize};

use super::bits::{self, get, width, PAD};
use super::block::{Ctx, Layout};
use super::{Index, ROOT};
use crate::config::MAX_ORDER;
use crate::error::{Error, Result};

/// Everything of an [`Index`] but its blocks, as an index image stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Meta {
    pub layout: Layout,
    pub level_end: Vec<u32>,
    pub bos: u32,
    pub vocab_len: u32,
    pub uniform_root: bool,
    pub fallback_word: u32,
    pub patterns: u64,
    pub contexts: u64,
    pub order: u32,
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::corrupted(format!("index image: {what}"))
}

impl Index {
    /// The index's figures and layout, for an index image.
    pub(crate) fn meta(&self) -> Meta {
        Meta {
            layout: self.layout.clone(),
            level_end: self.level_end.clone(),
            bos: self.bos,
            vocab_len: self.vocab_len,
            uniform_root: self.uniform_root,
            fallback_word: self.fallback_word,
            patterns: self.patterns,
            contexts: self.contexts,
            order: self.order as u32,
        }
    }

    /// The index of `meta` and the blocks `data[at..]` (their padding included), checked (see
    /// the module docs). What `data` holds before `at` is kept as it is ([`Index::prefix`]): an
    /// index image loaded in place keeps its model file there.
    ///
    /// # Errors
    /// [`Error::Corrupted`] when anything does not hold.
    pub(crate) fn from_raw(meta: Meta, data: Vec<u8>, at: usize) -> Result<Index> {
        check_meta(&meta, data.get(at..).unwrap_or_default())?;
        let Meta {
            layout,
            level_end,
            bos,
            vocab_len,
            uniform_root,
            fallback_word,
            patterns,
            contexts,
            order,
        } = meta;
        let index = Index {
            data,
            at,
            layout,
            level_end,
            bos,
            vocab_len,
            uniform_root,
            fallback_word,
            patterns,
            contexts,
            order: order as usize,
        };
        let starts = index.check_blocks()?;
        index.check_offsets(&starts)?;
        Ok(index)
    }

    /// Parses every block, front to back: each within the data, its successors' count and
    /// words in range and sorted, the root's successors every word; the blocks and the depths'
    /// ends must tile the data. Returns the set of block starts.
    fn check_blocks(&self) -> Result<Starts> {
        let total = self.blocks().len() - PAD;
        let mut starts = Starts::new(total);
        let (mut contexts, mut patterns) = (0u64, 0u64);
        let end = self.walk(total, |off, depth| {
            let (end, n) = self.check_block(off as u32, depth as u32, total)?;
            starts.insert(off);
            contexts += 1;
            patterns += n as u64;
            Ok(end)
        })?;
        let tiled = end == total
            && self
                .level_end
                .iter()
                .all(|&e| e as usize == total || starts.has(e as usize));
        if !tiled {
            return Err(bad("the blocks do not tile the index"));
        }
        if (contexts, patterns) != (self.contexts, self.patterns) {
            return Err(bad("the blocks do not match the figures"));
        }
        Ok(starts)
    }

    /// Calls `f(offset, depth)` for each block from the first, `f` returning where the block
    /// ends, until the end of the `total` bytes; returns where the last block ended.
    ///
    /// # Errors
    /// [`Error::Corrupted`] for a depth's end inside a block or a block outside the depths, and
    /// `f`'s errors.
    fn walk(
        &self,
        total: usize,
        mut f: impl FnMut(usize, usize) -> Result<usize>,
    ) -> Result<usize> {
        let (mut off, mut depth) = (0usize, 0usize);
        while off < total {
            while depth < self.order && self.level_end[depth] as usize <= off {
                if self.level_end[depth] as usize != off {
                    return Err(bad("a depth ends inside a block"));
                }
                depth += 1;
            }
            if depth >= self.order || (off == 0) != (depth == 0) {
                return Err(bad(format!("a block at {off} lies outside the depths")));
            }
            off = f(off, depth)?;
        }
        Ok(off)
    }

    /// Checks the block at `off` (at `depth`), within `total` bytes; returns where it ends and
    /// its number of successors.
    fn check_block(&self, off: u32, depth: u32, total: usize) -> Result<(usize, usize)> {
        let (d, lay, v) = (self.blocks(), &self.layout, self.vocab_len as u64);
        let counts = lay.discounts.is_some();
        let at = |what: &str| bad(format!("{what} of the block at {off}"));
        // The header fields that size the block, bounded before anything is computed from them.
        let mut pos = off as u64 * 8;
        let multi = get(d, pos, 1) == 1;
        pos += 1;
        let n = if multi {
            bits::gamma(d, &mut pos).saturating_add(1)
        } else {
            1
        };
        if n > v || (multi && n < 2) {
            return Err(at("successor count"));
        }
        if multi && counts {
            if get(d, pos, 6) > 32 {
                return Err(at("count width"));
            }
            pos += 6;
        }
        if off != ROOT {
            pos += lay.ptr_bits as u64;
        }
        if counts && lay.pruned && bits::gamma(d, &mut pos) > 1 << 32 {
            return Err(at("removed mass"));
        }
        if pos > total as u64 * 8 {
            return Err(at("header"));
        }
        let c = Ctx::parse(d, lay, off, off == ROOT, depth);
        let end = c.end_bits().ok_or_else(|| at("count"))?;
        if end > total as u64 * 8 {
            return Err(at("length"));
        }
        let mut last = None;
        for i in 0..c.n {
            let w = c.word(i);
            let bad_word = w >= self.vocab_len
                || last.is_some_and(|l| l >= w)
                || (off == ROOT && w != i as u32);
            if bad_word {
                return Err(at("words"));
            }
            last = Some(w);
        }
        if off == ROOT && c.n != self.vocab_len as usize {
            return Err(at("words"));
        }
        Ok((end.div_ceil(8) as usize, c.n))
    }

    /// Every offset is a block's start: each successor's next context is at most one word
    /// longer than the context, each back-off strictly shorter.
    fn check_offsets(&self, starts: &Starts) -> Result<()> {
        let total = self.blocks().len() - PAD;
        let ok = |o: u32| (o as usize) < total && starts.has(o as usize);
        // The first offset past the blocks of each depth: a pointer's depth is below d + 1
        // exactly when it is below `limit[d + 1]`.
        let ends = &self.level_end;
        self.walk(total, |off, depth| {
            let c = Ctx::parse(
                self.blocks(),
                &self.layout,
                off as u32,
                off == 0,
                depth as u32,
            );
            if off != 0 && !(ok(c.backoff) && c.backoff < ends[depth - 1]) {
                return Err(bad(format!("back-off of the block at {off}")));
            }
            let limit = ends.get(depth + 1).copied().unwrap_or(u32::MAX);
            for i in 0..c.n {
                let next = c.next(i);
                if !ok(next) || next >= limit {
                    return Err(bad(format!("next context of the block at {off}")));
                }
            }
            Ok(c.end_bits().unwrap_or(u64::MAX).div_ceil(8) as usize)
        })?;
        if !ok(self.bos) {
            return Err(bad("the context after <s>"));
        }
        Ok(())
    }
}

/// The figures and layout of `meta` for the blocks `data`.
fn check_meta(meta: &Meta, data: &[u8]) -> Result<()> {
    let (lay, order) = (&meta.layout, meta.order as usize);
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

/// A set of byte offsets of the index: one bit each.
struct Starts(Vec<u64>);

impl Starts {
    fn new(total: usize) -> Starts {
        Starts(vec![0; total / 64 + 1])
    }

    fn insert(&mut self, off: usize) {
        self.0[off / 64] |= 1 << (off % 64);
    }

    fn has(&self, off: usize) -> bool {
        self.0
            .get(off / 64)
            .is_some_and(|w| w >> (off % 64) & 1 == 1)
    }
}
