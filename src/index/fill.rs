//! Filling the index: each context's block written in place, level by level, from the trie, its
//! suffix links and its weights; on two threads natively (the blocks split where the data is
//! half full), on one in WebAssembly.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::{DEPTH_SHIFT, HEADER, NONE, ROOT};
use crate::error::{Error, Result};
use crate::mem;
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::varint::Reader;
use crate::vocab::{BOS, EOS, UNK};
use crate::weights::{CountsRef, Weights};

/// What filling context blocks reads; shared by the threads that fill.
pub(super) struct Fill<'a> {
    pub trie: &'a Trie,
    pub suffix: &'a [u32],
    pub w: &'a Weights<'a>,
    pub offset: &'a [u32],
}

impl Fill<'_> {
    /// [`Fill::range`] in pieces of [`mem::CHUNK`] nodes, one call each
    /// ([`mem::try_for_chunks`]), adding [`cost::FILL`] per child to `tick`; also returns the
    /// number of words written.
    fn chunks(
        &self,
        nodes: Range<usize>,
        out: &mut Blocks<'_>,
        counts: &mut Option<Reader<'_>>,
        tick: &impl Tick,
    ) -> Result<(f64, u32)> {
        let mut best = (f64::MIN, UNK);
        let mut cols = Columns::default();
        mem::try_for_chunks(nodes, |chunk| {
            tick.add(cost::FILL * self.trie.descendants(chunk.clone()).len() as u64);
            let b = self.range(chunk, out, counts, &mut cols)?;
            // The first of equal weights wins, as in one pass.
            if b.0 > best.0 {
                best = b;
            }
            Ok::<(), Error>(())
        })?;
        Ok(best)
    }

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

    /// Writes the blocks of the contexts among `nodes` into `out`, every word of each; returns
    /// the most likely generable unigram if the root is among them. `counts` reads the
    /// children's counts when they are still encoded; `cols` is reused scratch.
    ///
    /// # Errors
    /// [`Error::Corrupted`] on a malformed count stream.
    fn range(
        &self,
        nodes: Range<usize>,
        out: &mut Blocks<'_>,
        counts: &mut Option<Reader<'_>>,
        cols: &mut Columns,
    ) -> Result<(f64, u32)> {
        let trie = self.trie;
        let mut best = (f64::MIN, UNK);
        let mut scratch = Scratch::default();
        for depth in 0..trie.order() {
            let level = if depth == 0 { 0..1 } else { trie.level(depth) };
            let level = level.start.max(nodes.start)..level.end.min(nodes.end);
            if level.is_empty() {
                continue;
            }
            self.level(depth, level, out, counts, cols, &mut scratch, &mut best)?;
        }
        Ok(best)
    }

    /// [`Fill::range`] for the nodes `level`, all at `depth`: gathers their back-off contexts
    /// and their children's suffix contexts, then writes the block of each context among them,
    /// updating `best`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn level(
        &self,
        depth: usize,
        level: Range<usize>,
        out: &mut Blocks<'_>,
        counts: &mut Option<Reader<'_>>,
        cols: &mut Columns,
        scratch: &mut Scratch,
        best: &mut (f64, u32),
    ) -> Result<()> {
        let (trie, offset) = (self.trie, self.offset);
        let Scratch {
            u,
            weights,
            backoff,
            hop,
        } = scratch;
        // Per context of the level, its back-off context; per child, the context of its suffix
        // (see `gather`).
        self.gather(level.clone(), backoff);
        let kids_of_level = trie.descendants(level.clone());
        self.gather(kids_of_level.clone(), hop);
        for node in level.clone() {
            let off = offset[node];
            if off == NONE {
                continue;
            }
            let kids = trie.children(node);
            let hops = &hop[kids.start - kids_of_level.start..kids.end - kids_of_level.start];
            let at = Context {
                node,
                depth,
                off,
                backoff: if node == 0 {
                    NONE
                } else {
                    backoff[node - level.start]
                },
                kids,
            };
            let cum = Cum::new(node == 0, best);
            if at.kids.len() == 1 {
                // Contexts with one successor are common (en-train at order 5: 1.8 M
                // contexts for 2.8 M successors): no buffers, one block of 7 words.
                self.single(&at, hops[0], out, counts, cum)?;
            } else {
                self.block(&at, hops, out, counts, cols, u, weights, cum)?;
            }
        }
        Ok(())
    }

    /// Writes the block of the context `at`, which has one successor, whose suffix's context is
    /// `hop`.
    #[inline(always)]
    fn single(
        &self,
        at: &Context,
        hop: u32,
        out: &mut Blocks<'_>,
        counts: &mut Option<Reader<'_>>,
        mut cum: Cum<'_>,
    ) -> Result<()> {
        let c = at.kids.start;
        let (u, gamma) = self.w.single(at.node, at.depth, c, counts)?;
        let u = u.max(0.0);
        let (cum, word) = cum.step(self.trie.word[c], u);
        let next = self.successor_next(c, hop);
        let block = [
            1 | (at.depth as u32) << DEPTH_SHIFT,
            at.backoff,
            (gamma as f32).to_bits(),
            cum,
            word,
            next,
            (u as f32).to_bits(),
        ];
        out.put(at.off, &block, &Columns::default())
    }

    /// Writes the block of the context `at`, whose successors' suffixes have the contexts
    /// `hops`, through the columns `cols`; `u` and `weights` are scratch.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn block(
        &self,
        at: &Context,
        hops: &[u32],
        out: &mut Blocks<'_>,
        counts: &mut Option<Reader<'_>>,
        cols: &mut Columns,
        u: &mut Vec<f64>,
        weights: &mut Vec<u32>,
        mut cum: Cum<'_>,
    ) -> Result<()> {
        let n = at.kids.len();
        let gamma = self
            .w
            .context(at.node, at.depth, at.kids.clone(), u, counts, weights)?;
        debug_assert_eq!(u.len(), n);
        cols.clear();
        for (i, c) in at.kids.clone().enumerate() {
            let u = u[i].max(0.0);
            let (cum, word) = cum.step(self.trie.word[c], u);
            cols.cum.push(cum);
            cols.word.push(word);
            cols.next.push(self.successor_next(c, hops[i]));
            cols.u.push((u as f32).to_bits());
        }
        let head = [
            n as u32 | (at.depth as u32) << DEPTH_SHIFT,
            at.backoff,
            (gamma as f32).to_bits(),
        ];
        out.put(at.off, &head, cols)
    }
}

/// The context whose block is being written.
struct Context {
    /// Its node in the trie.
    node: usize,
    depth: usize,
    /// Its offset in the index.
    off: u32,
    /// The offset of its back-off context (NONE at the root).
    backoff: u32,
    /// Its successors' nodes.
    kids: Range<usize>,
}

impl<'a> Fill<'a> {
    /// The whole index, `total` words, and the most likely generable unigram: the contexts'
    /// blocks filled in two halves at once where the machine allows ([`mem::join`]), adding
    /// [`cost::FILL`]s to `meter`.
    ///
    /// # Errors
    /// [`Error::Corrupted`] on a malformed count stream, or one that does not end with the
    /// last count.
    pub(super) fn all(&self, total: usize, meter: &Meter) -> Result<(Vec<u32>, (f64, u32))> {
        let ctx_nodes = self.offset.len();
        // Not zeroed: every word is written below (a warm WebAssembly instance would otherwise
        // clear the reused memory first, 5% of a load).
        let mut data: Vec<u32> = mem::with_capacity(total);
        let mid = self.middle(total);
        let cut = self.offset.get(mid).map_or(total, |&o| o as usize);
        let (lo, hi) = data.spare_capacity_mut()[..total].split_at_mut(cut);
        let (mut lo, mut hi) = (Blocks::new(lo, 0), Blocks::new(hi, cut));
        let (mut lo_counts, mut hi_counts) = self.count_readers(mid)?;
        let hi_start = hi_counts.as_ref().map(Reader::position);
        let tally = meter.tally();
        let (lo_best, hi_best) = mem::join(
            || self.chunks(0..mid, &mut lo, &mut lo_counts, meter),
            || self.chunks(mid..ctx_nodes, &mut hi, &mut hi_counts, &tally),
        );
        meter.poll();
        let (best, _) = (lo_best?, hi_best?);
        // Every count was read, and no more: the first half stopped where the second began,
        // and the last reader is at the end of the stream.
        if let (Some(l), Some(start)) = (&lo_counts, hi_start) {
            if l.position() != start {
                return Err(Error::corrupted("a value stream ends early"));
            }
        }
        if let Some(last) = hi_counts.as_ref().or(lo_counts.as_ref()) {
            last.finish("counts")?;
        }
        if !(lo.is_full() && hi.is_full()) {
            return Err(Error::internal("the index was not filled"));
        }
        // SAFETY: `lo` and `hi` split the first `total` words of the capacity, and both are full:
        // every one of their words was written (`Blocks::filled`).
        unsafe { data.set_len(total) };
        Ok((data, best))
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

    /// With encoded counts, one reader per half: the second starts at the count of the first
    /// child of the context node `mid` (none if that half is empty).
    ///
    /// # Errors
    /// [`Error::Corrupted`] when the stream ends before that count.
    fn count_readers(&self, mid: usize) -> Result<(Option<Reader<'a>>, Option<Reader<'a>>)> {
        Ok(match self.w {
            Weights::Counts {
                a: CountsRef::Encoded(bytes),
                ..
            } => {
                let skip = self
                    .trie
                    .child_start
                    .get(mid)
                    .map_or(0, |&c| c as usize - 1);
                let hi = if mid < self.offset.len() {
                    Some(Reader::skipping(bytes, skip)?)
                } else {
                    None
                };
                (Some(Reader::new(bytes)), hi)
            }
            _ => (None, None),
        })
    }
}

/// Per context-capable node, the offset of its block in the index (NONE for a node without
/// successors), the index's length in words and the number of contexts; adds [`cost::OFFSET`]s
/// to `meter`.
///
/// # Errors
/// [`Error::TooLarge`] for a context of too many successors, or an index too large for 32-bit
/// offsets.
pub(super) fn offsets(trie: &Trie, meter: &Meter) -> Result<(Vec<u32>, usize, u64)> {
    let ctx_nodes = trie.level_start[trie.order()] as usize;
    let mut offset: Vec<u32> = mem::with_capacity(ctx_nodes);
    let mut total: u64 = 0;
    let mut contexts = 0u64;
    mem::try_for_chunks(0..ctx_nodes, |nodes| {
        meter.add(cost::OFFSET * nodes.len() as u64);
        for node in nodes {
            let n = trie.children(node).len();
            if n >= 1 << DEPTH_SHIFT {
                return Err(Error::TooLarge {
                    what: "a context with over 134 million successors",
                    limit: "134,217,727 successors a context",
                });
            }
            if n > 0 {
                offset.push(total as u32);
                total += (HEADER + 4 * n) as u64;
                contexts += 1;
            } else {
                offset.push(NONE);
            }
            if total >= NONE as u64 {
                return Err(Error::TooLarge {
                    what: "a model whose index exceeds 16 GiB",
                    limit: "2^32 - 1 index words",
                });
            }
        }
        Ok(())
    })?;
    Ok((offset, total as usize, contexts))
}

/// Buffers [`Fill::level`] reuses from level to level.
#[derive(Default)]
struct Scratch {
    /// The successors' weights `u`.
    u: Vec<f64>,
    /// [`Weights::context`]'s own scratch.
    weights: Vec<u32>,
    /// Per context of the level, its back-off context.
    backoff: Vec<u32>,
    /// Per child of the level, the context of its suffix.
    hop: Vec<u32>,
}

/// The running sum of one context's successor weights, as the draw reads it, and the most
/// likely generable unigram seen so far.
struct Cum<'b> {
    acc: f64,
    /// The context is the root, whose successors are the unigrams.
    root: bool,
    best: &'b mut (f64, u32),
}

impl<'b> Cum<'b> {
    #[inline(always)]
    fn new(root: bool, best: &'b mut (f64, u32)) -> Self {
        Cum {
            acc: 0.0,
            root,
            best,
        }
    }

    /// The cumulative weight after the successor `word` of weight `u`, in units of 2^-32, and
    /// the word. `<s>` and `<unk>` are never drawn: they add nothing.
    #[inline(always)]
    fn step(&mut self, word: u32, u: f64) -> (u32, u32) {
        if word != BOS && word != UNK {
            self.acc += u;
            if self.root && word != EOS && u > self.best.0 {
                *self.best = (u, word);
            }
        }
        (
            (self.acc * 4_294_967_296.0).min(4_294_967_295.0) as u32,
            word,
        )
    }
}

/// A block's successor columns, as [`Blocks::put`] lays them out after its header.
#[derive(Default)]
struct Columns {
    cum: Vec<u32>,
    word: Vec<u32>,
    next: Vec<u32>,
    u: Vec<u32>,
}

impl Columns {
    fn clear(&mut self) {
        self.cum.clear();
        self.word.clear();
        self.next.clear();
        self.u.clear();
    }
}

/// A stretch of the index being filled, block after block, front to back: the only writer of
/// the index's words, and what says how many of them are initialized.
struct Blocks<'a> {
    out: &'a mut [MaybeUninit<u32>],
    /// Index offset of `out[0]`.
    base: usize,
    /// `out[..filled]` are initialized: [`Blocks::put`] writes every word it counts.
    filled: usize,
}

impl<'a> Blocks<'a> {
    fn new(out: &'a mut [MaybeUninit<u32>], base: usize) -> Self {
        Blocks {
            out,
            base,
            filled: 0,
        }
    }

    /// Writes the block at index offset `at`: `head`, then each column of `cols` in turn.
    /// Blocks come in offset order, back to back, so `at` must be where the last one ended.
    ///
    /// # Errors
    /// [`Error::Internal`] when `at` is not, or the block does not fit.
    #[inline(always)]
    fn put(&mut self, at: u32, head: &[u32], cols: &Columns) -> Result<()> {
        let start = self.filled;
        let n = cols.cum.len();
        let len = head.len() + 4 * n;
        // Each check keeps `filled` true: every word counted below is written.
        if at as usize != self.base + start || self.out.len() - start < len {
            return Err(Error::internal("index blocks out of order"));
        }
        if cols.word.len() != n || cols.next.len() != n || cols.u.len() != n {
            return Err(Error::internal("index block columns of unequal length"));
        }
        let (block_head, rest) = self.out[start..start + len].split_at_mut(head.len());
        for (slot, &x) in block_head.iter_mut().zip(head) {
            slot.write(x);
        }
        if n > 0 {
            let columns = [&cols.cum, &cols.word, &cols.next, &cols.u];
            for (slots, column) in rest.chunks_exact_mut(n).zip(columns) {
                for (slot, &x) in slots.iter_mut().zip(column.iter()) {
                    slot.write(x);
                }
            }
        }
        self.filled += len;
        Ok(())
    }

    /// True when every word of the stretch is written.
    fn is_full(&self) -> bool {
        self.filled == self.out.len()
    }
}
