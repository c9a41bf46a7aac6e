//! Building the index: each context's block sized, placed and written, level by level, from the
//! trie, its suffix links and its values; written on two threads natively (the blocks split
//! where the data is half full), on one in WebAssembly.

use std::ops::Range;

use super::bits::{self, width, Writer};
use super::block::{Ctx, Layout, Place, Shape, SMALL};
use super::{NONE, ROOT};
use crate::error::{Error, Result};
use crate::mem;
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::varint::Reader;
use crate::weights::{CountsRef, Weights};

/// Where the blocks go: per context-capable node, the byte offset of its block (NONE for a node
/// without successors); the index's length in bytes; the number of contexts; the layout; and
/// the end of each depth's blocks.
pub(super) struct Placement {
    pub offset: Vec<u32>,
    pub total: usize,
    pub contexts: u64,
    pub layout: Layout,
    pub level_end: Vec<u32>,
}

/// The counts of one context's successors, read in node order from wherever they are.
enum CountSource<'a> {
    Decoded(&'a [u32]),
    Encoded(Reader<'a>),
    None,
}

impl CountSource<'_> {
    /// The counts of the nodes `kids` into `out`.
    #[inline(always)]
    fn read(&mut self, kids: Range<usize>, out: &mut Vec<u32>) -> Result<()> {
        out.clear();
        match self {
            CountSource::Decoded(a) => out.extend_from_slice(&a[kids]),
            CountSource::Encoded(r) => {
                for _ in kids {
                    out.push(r.varint()?);
                }
            }
            CountSource::None => {}
        }
        Ok(())
    }
}

/// The layout of an index of `trie` with the values `w` (its offset width still 0).
fn layout(trie: &Trie, w: &Weights) -> Layout {
    let word_bits = width(trie.vocab_len().saturating_sub(1) as u64);
    match w {
        Weights::Counts {
            pruned, discounts, ..
        } => Layout {
            word_bits,
            ptr_bits: 0,
            discounts: Some(discounts.iter().map(|d| [0.0, d[0], d[1], d[2]]).collect()),
            pruned: !pruned.is_empty(),
        },
        Weights::Table { .. } => Layout {
            word_bits,
            ptr_bits: 0,
            discounts: None,
            pruned: false,
        },
    }
}

/// A fresh reader of the counts from node 1 on (none for weights from a table).
fn counts_from<'a>(w: &Weights<'a>, skip: usize) -> Result<CountSource<'a>> {
    Ok(match w {
        Weights::Counts {
            a: CountsRef::Decoded(a),
            ..
        } => CountSource::Decoded(a),
        Weights::Counts {
            a: CountsRef::Encoded(bytes),
            ..
        } => CountSource::Encoded(Reader::skipping(bytes, skip)?),
        Weights::Table { .. } => CountSource::None,
    })
}

/// The removed mass of `node` (0 when nothing was pruned).
#[inline(always)]
fn pruned_of(w: &Weights, node: usize) -> u32 {
    match w {
        Weights::Counts { pruned, .. } => pruned.get(node).copied().unwrap_or(0),
        Weights::Table { .. } => 0,
    }
}

/// The [`Shape`] of `node`'s block, whose successors have the counts `counts`.
#[inline(always)]
fn shape(node: usize, n: usize, counts: &[u32], pruned: u32) -> Shape {
    let max = counts.iter().copied().max().unwrap_or(0);
    Shape {
        root: node == 0,
        n,
        count_bits: width(max as u64),
        single_count: counts.first().copied().unwrap_or(0),
        pruned,
    }
}

/// Sizes and places every block, adding [`cost::OFFSET`] per context-capable node to `meter`.
///
/// # Errors
/// [`Error::Corrupted`] on a malformed count stream; [`Error::TooLarge`] for an index of 4 GiB
/// or more, which 32-bit offsets cannot address.
pub(super) fn place(trie: &Trie, w: &Weights, meter: &Meter) -> Result<Placement> {
    let ctx_nodes = trie.level_start[trie.order()] as usize;
    let mut lay = layout(trie, w);
    let too_large = || Error::TooLarge {
        what: "a model whose index reaches 4 GiB",
        limit: "2^32 - 1 index bytes",
    };
    // First the bits of each block without its offsets (kept where its offset will go), and
    // the sums that fix the offset width.
    let mut offset: Vec<u32> = mem::with_capacity(ctx_nodes);
    let (mut base_sum, mut pointers, mut contexts) = (0u64, 0u64, 0u64);
    let mut counts = counts_from(w, 0)?;
    let mut scratch = Vec::new();
    mem::try_for_chunks(0..ctx_nodes, |nodes| {
        meter.add(cost::OFFSET * nodes.len() as u64);
        for node in nodes {
            let kids = trie.children(node);
            let n = kids.len();
            if n == 0 {
                offset.push(NONE);
                continue;
            }
            counts.read(kids, &mut scratch)?;
            let base = lay.block_bits(&shape(node, n, &scratch, pruned_of(w, node)));
            offset.push(u32::try_from(base).map_err(|_| too_large())?);
            base_sum += base;
            pointers += Layout::pointers(node == 0, n);
            contexts += 1;
        }
        Ok::<(), Error>(())
    })?;
    // The narrowest offsets that address the whole index: each block takes at most 7 bits of
    // padding to its byte boundary.
    let bytes_with = |p: u64| (base_sum + pointers * p + 7 * contexts).div_ceil(8);
    lay.ptr_bits = (1..=32u32)
        .find(|&p| bytes_with(p as u64) < 1u64 << p && bytes_with(p as u64) < NONE as u64)
        .ok_or_else(too_large)?;
    let p = lay.ptr_bits as u64;
    // Then each block's offset, in node order, and where each depth ends.
    let mut total = 0u64;
    let mut level_end = Vec::with_capacity(trie.order());
    for depth in 0..trie.order() {
        let level = if depth == 0 { 0..1 } else { trie.level(depth) };
        for node in level {
            let base = offset[node];
            if base == NONE {
                continue;
            }
            let n = trie.children(node).len();
            offset[node] = total as u32;
            total += (base as u64 + Layout::pointers(node == 0, n) * p).div_ceil(8);
        }
        level_end.push(total as u32);
    }
    debug_assert!(total <= bytes_with(p));
    Ok(Placement {
        offset,
        total: total as usize,
        contexts,
        layout: lay,
        level_end,
    })
}

/// What writing blocks reads; shared by the threads that write.
pub(super) struct Fill<'a> {
    pub trie: &'a Trie,
    pub suffix: &'a [u32],
    pub w: &'a Weights<'a>,
    pub offset: &'a [u32],
    pub layout: &'a Layout,
}

/// Buffers one writing thread reuses from block to block.
#[derive(Default)]
struct Scratch {
    counts: Vec<u32>,
    /// Per context of the level, its back-off context.
    backoff: Vec<u32>,
    /// Per child of the level, the context of its suffix.
    hop: Vec<u32>,
    block: Writer,
}

impl Fill<'_> {
    /// The context to continue from after the pattern `node`: the longest suffix of it (itself
    /// included) that has successors, or the root. Following suffix links here, rather than
    /// from a table made beforehand, saves loading a 4-byte-per-pattern array and its pass.
    #[inline(always)]
    pub(super) fn next(&self, mut node: usize) -> u32 {
        loop {
            let own = self.offset.get(node).copied().unwrap_or(NONE);
            if own != NONE {
                return own;
            }
            if node == 0 {
                return ROOT;
            }
            node = self.suffix[node] as usize;
        }
    }

    /// The context to continue from after the successor `c`, whose suffix's context (or NONE)
    /// is `hop`: the pattern itself if it is a context, else its suffix's context, else (rarely)
    /// further down the suffix chain.
    #[inline(always)]
    fn successor_next(&self, c: usize, hop: u32) -> u32 {
        let own = self.offset.get(c).copied().unwrap_or(NONE);
        if own != NONE {
            own
        } else if hop != NONE {
            hop
        } else {
            self.next(self.suffix[c] as usize)
        }
    }

    /// `offset[suffix[n]]` for each `n` of `nodes` (NONE where the suffix has no successors or
    /// lies beyond the contexts), into `out`.
    ///
    /// These loads land anywhere in `offset`. Gathered in a loop of their own, with nothing
    /// depending on them, the CPU keeps dozens in flight at once; inside the fill loop each
    /// stalled it. This is what makes up for the missing prefetch instruction in WebAssembly.
    #[inline(always)]
    fn gather(&self, nodes: Range<usize>, out: &mut Vec<u32>) {
        out.clear();
        let (offset, suffix) = (self.offset, self.suffix);
        out.extend(
            suffix[nodes]
                .iter()
                .map(|&s| offset.get(s as usize).copied().unwrap_or(NONE)),
        );
    }

    /// Writes the blocks of the contexts among `nodes` (in pieces of [`mem::CHUNK`] nodes, one
    /// call each) into `out`, adding [`cost::FILL`] per child to `tick`.
    ///
    /// # Errors
    /// [`Error::Corrupted`] on a malformed count stream.
    fn chunks(
        &self,
        nodes: Range<usize>,
        out: &mut Blocks<'_>,
        counts: &mut CountSource<'_>,
        tick: &impl Tick,
    ) -> Result<()> {
        let mut scratch = Scratch::default();
        mem::try_for_chunks(nodes, |chunk| {
            tick.add(cost::FILL * self.trie.descendants(chunk.clone()).len() as u64);
            self.range(chunk, out, counts, &mut scratch)
        })
    }

    /// Writes the blocks of the contexts among `nodes`, level by level.
    fn range(
        &self,
        nodes: Range<usize>,
        out: &mut Blocks<'_>,
        counts: &mut CountSource<'_>,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let trie = self.trie;
        for depth in 0..trie.order() {
            let level = if depth == 0 { 0..1 } else { trie.level(depth) };
            let level = level.start.max(nodes.start)..level.end.min(nodes.end);
            if level.is_empty() {
                continue;
            }
            // Per context of the level, its back-off context; per child, the context of its
            // suffix (see `gather`).
            self.gather(level.clone(), &mut scratch.backoff);
            let kids_of_level = trie.descendants(level.clone());
            self.gather(kids_of_level.clone(), &mut scratch.hop);
            for node in level.clone() {
                let off = self.offset[node];
                if off == NONE {
                    continue;
                }
                let kids = trie.children(node);
                counts.read(kids.clone(), &mut scratch.counts)?;
                let backoff = match node {
                    0 => NONE,
                    _ => match scratch.backoff[node - level.start] {
                        // A suffix without successors of its own (possible in an ARPA file):
                        // back off to its longest suffix that has some.
                        NONE => self.next(self.suffix[node] as usize),
                        b => b,
                    },
                };
                let hops =
                    &scratch.hop[kids.start - kids_of_level.start..kids.end - kids_of_level.start];
                self.write(
                    node,
                    depth as u32,
                    backoff,
                    hops,
                    &scratch.counts,
                    &mut scratch.block,
                );
                out.put(off, scratch.block.bytes())?;
            }
        }
        Ok(())
    }

    /// Writes the block of the context `node` (at `depth`, backing off to `backoff`) into `b`, from its successors' counts (`counts`, empty for table weights)
    /// and the contexts of their suffixes (`hops`).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn write(
        &self,
        node: usize,
        depth: u32,
        backoff: u32,
        hops: &[u32],
        counts: &[u32],
        b: &mut Writer,
    ) {
        let (lay, trie) = (self.layout, self.trie);
        let kids = trie.children(node);
        let n = kids.len();
        let root = node == 0;
        let pruned = pruned_of(self.w, node);
        let sh = shape(node, n, counts, pruned);
        let bytes = (lay.block_bits(&sh) as usize).div_ceil(8);
        b.start(bytes);
        b.put(u64::from(n > 1), 1);
        if n > 1 {
            b.gamma(n as u64 - 1);
            if lay.discounts.is_some() {
                b.put(sh.count_bits as u64, 6);
            }
        }
        let table = match self.w {
            Weights::Table { u, gamma, .. } => Some((u, gamma)),
            Weights::Counts { .. } => None,
        };
        match table {
            None if lay.pruned => b.gamma(pruned as u64 + 1),
            None => {}
            Some((_, gamma)) => b.put((gamma[node] as f32).to_bits() as u64, 32),
        }
        if n > SMALL {
            if let Some(d) = &lay.discounts {
                // S and gamma with the operations of a small block's `Ctx::mass`.
                let d = d[depth as usize];
                let removed = pruned as f64;
                let (mut s, mut dsum) = (removed, removed);
                for &x in counts {
                    s += x as f64;
                    dsum += d[x.min(3) as usize];
                }
                let gamma = if s <= 0.0 { 1.0 } else { (dsum / s) as f32 };
                b.put64(s as u64);
                b.put(gamma.to_bits() as u64, 32);
            }
            // The group sums, byte-aligned, are filled in last, once the successors they sum
            // are written.
            b.put(0, ((8 - b.bits() % 8) % 8) as u32);
            for _ in 0..super::block::groups(n) {
                b.put64(0);
            }
        }
        if !root {
            b.put(backoff as u64, lay.ptr_bits);
        }
        let value = |i: usize| -> u64 {
            match table {
                None => counts[i] as u64,
                Some((u, _)) => (u[kids.start + i].max(0.0) as f32).to_bits() as u64,
            }
        };
        let word = |i: usize| trie.word[kids.start + i] as u64;
        let next = |i: usize| self.successor_next(kids.start + i, hops[i]) as u64;
        if n == 1 {
            b.put(word(0), lay.word_bits);
            b.put(next(0), lay.ptr_bits);
            match table {
                None => b.gamma(value(0) + 1),
                Some(_) => b.put(value(0), 32),
            }
        } else {
            let vb = if table.is_some() { 32 } else { sh.count_bits };
            (0..n).for_each(|i| b.put(word(i), lay.word_bits));
            (0..n).for_each(|i| b.put(value(i), vb));
            (0..n).for_each(|i| b.put(next(i), lay.ptr_bits));
        }
        debug_assert!(b.bits().div_ceil(8) as usize == bytes);
        if n > SMALL {
            let c = Ctx::parse(b.bytes_padded(), lay, Place::unbounded(root, depth));
            let (sums, at) = (c.group_sums(), c.sums_at());
            for (g, s) in sums.into_iter().enumerate() {
                b.put64_at(at + 64 * g as u64, s.to_bits());
            }
        }
    }
}

impl<'a> Fill<'a> {
    /// The whole index, `total` bytes and its padding, the blocks written in two halves at once
    /// where the machine allows ([`mem::join`]), adding [`cost::FILL`]s to `meter`.
    ///
    /// # Errors
    /// [`Error::Corrupted`] on a malformed count stream, or one that does not end with the
    /// last count.
    pub(super) fn all(&self, total: usize, meter: &Meter) -> Result<Vec<u8>> {
        let ctx_nodes = self.offset.len();
        let mut data: Vec<u8> = mem::zeroed(total + bits::PAD);
        let mid = self.middle(total);
        let cut = self.offset.get(mid).map_or(total, |&o| o as usize);
        let (lo, hi) = data[..total].split_at_mut(cut);
        let (mut lo, mut hi) = (Blocks::new(lo, 0), Blocks::new(hi, cut));
        let (mut lo_counts, mut hi_counts) = self.count_readers(mid)?;
        let hi_start = match &hi_counts {
            CountSource::Encoded(r) => Some(r.position()),
            _ => None,
        };
        let tally = meter.tally();
        let (lo_done, hi_done) = mem::join(
            || self.chunks(0..mid, &mut lo, &mut lo_counts, meter),
            || self.chunks(mid..ctx_nodes, &mut hi, &mut hi_counts, &tally),
        );
        meter.poll();
        lo_done?;
        hi_done?;
        // Every count was read, and no more: the first half stopped where the second began,
        // and the last reader is at the end of the stream.
        if let (CountSource::Encoded(l), Some(start)) = (&lo_counts, hi_start) {
            if l.position() != start {
                return Err(Error::corrupted("a value stream ends early"));
            }
        }
        let last = if mid < ctx_nodes {
            &hi_counts
        } else {
            &lo_counts
        };
        if let CountSource::Encoded(r) = last {
            r.finish("counts")?;
        }
        if !(lo.is_full() && hi.is_full()) {
            return Err(Error::internal("the index was not filled"));
        }
        Ok(data)
    }

    /// The first context node of the second half. Contexts fill disjoint, consecutive blocks:
    /// split them where the data is half full, so that both halves take about as long. No
    /// split (all contexts) on one thread or for a small model.
    fn middle(&self, total: usize) -> usize {
        let (offset, ctx_nodes) = (self.offset, self.offset.len());
        let half = total as u32 / 2;
        if !mem::native_extras() || ctx_nodes < mem::PARALLEL_MIN {
            ctx_nodes
        } else {
            (ctx_nodes / 2..ctx_nodes)
                .find(|&n| offset[n] != NONE && offset[n] >= half)
                .unwrap_or(ctx_nodes)
        }
    }

    /// The counts' readers of the two halves: the second starts at the count of the first child
    /// of the context node `mid` (none if that half is empty).
    ///
    /// # Errors
    /// [`Error::Corrupted`] when the stream ends before that count.
    fn count_readers(&self, mid: usize) -> Result<(CountSource<'a>, CountSource<'a>)> {
        let skip = self
            .trie
            .child_start
            .get(mid)
            .map_or(0, |&c| c as usize - 1);
        let hi = if mid < self.offset.len() {
            counts_from(self.w, skip)?
        } else {
            CountSource::None
        };
        Ok((counts_from(self.w, 0)?, hi))
    }
}

/// A stretch of the index being filled, block after block, front to back.
struct Blocks<'a> {
    out: &'a mut [u8],
    /// Index offset of `out[0]`.
    base: usize,
    /// `out[..filled]` are written.
    filled: usize,
}

impl<'a> Blocks<'a> {
    fn new(out: &'a mut [u8], base: usize) -> Self {
        Blocks {
            out,
            base,
            filled: 0,
        }
    }

    /// Writes the block `bytes` at index offset `at`. Blocks come in offset order, back to back,
    /// so `at` must be where the last one ended.
    ///
    /// # Errors
    /// [`Error::Internal`] when `at` is not, or the block does not fit.
    #[inline(always)]
    fn put(&mut self, at: u32, bytes: &[u8]) -> Result<()> {
        let start = self.filled;
        if at as usize != self.base + start || self.out.len() - start < bytes.len() {
            return Err(Error::internal("index blocks out of order"));
        }
        self.out[start..start + bytes.len()].copy_from_slice(bytes);
        self.filled += bytes.len();
        Ok(())
    }

    /// True when every byte of the stretch is written.
    fn is_full(&self) -> bool {
        self.filled == self.out.len()
    }
}
