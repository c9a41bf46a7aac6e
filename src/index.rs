//! The generation and scoring index: every context next to its successors in one `u32` array.
//!
//! Generation is bound by dependent memory misses, so the layout is the lever. A *context* (a
//! pattern that some longer pattern extends) is a block at an offset of one array:
//!
//! ```text
//! [n | depth << 27, backoff, gamma] [cum; n] [word; n] [next; n] [u; n]
//! ```
//!
//! * `cum` — cumulative interpolation weights `u(h·w)` of the successors, fixed point in units of
//!   2^-32 (the remainder up to 2^32 is the back-off weight `gamma(h)`), so one uniform `u32`
//!   draw and a binary search pick a successor or decide to back off;
//! * `word` — successor word ids, sorted, for look-ups by word (scoring, prompts);
//! * `next` — offset of the context to continue from after that successor (the longest suffix
//!   of `h·w` that is itself a context), so stepping needs no hashing;
//! * `u` — `u(h·w)` as `f32`, for exact probabilities; `gamma` is `f32` bits, `backoff` the offset
//!   of the context `h` without its first word (`u32::MAX` at the root).
//!
//! With interpolated Kneser-Ney, `p(w | h) = u(h·w) + gamma(h) · p(w | h')`, so drawing from the
//! successors of `h` with weights `u`, and otherwise from `h'`, samples the model's distribution
//! exactly. Small contexts (most of them) fit in one or two cache lines.

use std::mem::MaybeUninit;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::mem::{self, touch_at};
use crate::progress::{cost, Meter, Tick};
use crate::trie::Trie;
use crate::varint::Reader;
use crate::vocab::{BOS, EOS, RESERVED, UNK};
use crate::weights::{CountsRef, Weights};

/// Header words of a context block.
pub(crate) const HEADER: usize = 3;
/// The header's first word holds the successor count below this bit and the depth above it.
const DEPTH_SHIFT: u32 = 27;

/// `backoff` of the root.
pub(crate) const NONE: u32 = u32::MAX;
/// Offset of the root context.
pub(crate) const ROOT: u32 = 0;

/// What filling context blocks reads; shared by the threads that fill.
struct Fill<'a> {
    trie: &'a Trie,
    suffix: &'a [u32],
    w: &'a Weights<'a>,
    offset: &'a [u32],
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
    fn next(&self, mut node: usize) -> u32 {
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
    fn all(&self, total: usize, meter: &Meter) -> Result<(Vec<u32>, (f64, u32))> {
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
fn offsets(trie: &Trie, meter: &Meter) -> Result<(Vec<u32>, usize, u64)> {
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

/// The index (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Index {
    pub data: Vec<u32>,
    /// Context reached after `<s>` (the root if `<s>` starts nothing).
    pub bos: u32,
    pub vocab_len: u32,
    pub uniform_root: bool,
    /// Most likely generable unigram, used when a draw must avoid `</s>` and fails to.
    pub fallback_word: u32,
    pub patterns: u64,
    pub contexts: u64,
    pub order: usize,
}

/// Read-only view of one context block.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub n: usize,
    pub backoff: u32,
    pub gamma: f32,
    pub depth: u32,
    pub cum: &'a [u32],
    pub words: &'a [u32],
    pub next: &'a [u32],
    pub u: &'a [u32],
}

impl Index {
    /// The number of contexts of `trie` and the length of its index in `u32`s, without
    /// building it: every pattern but the root is the successor of exactly one context.
    pub fn size(trie: &Trie) -> (u64, usize) {
        let ctx_nodes = trie.level_start[trie.order()] as usize;
        let contexts = (0..ctx_nodes)
            .filter(|&n| !trie.children(n).is_empty())
            .count();
        (contexts as u64, HEADER * contexts + 4 * (trie.nodes() - 1))
    }

    /// Builds the index from the trie, its suffix links and its weights, adding its work
    /// ([`cost::index`]) to `meter` as it goes.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the model is too large for 32-bit offsets.
    pub fn build(trie: &Trie, suffix: &[u32], w: &Weights, meter: &Meter) -> Result<Index> {
        let order = trie.order();
        let (offset, total, contexts) = offsets(trie, meter)?;
        debug_assert_eq!(Index::size(trie), (contexts, total));
        let fill = Fill {
            trie,
            suffix,
            w,
            offset: &offset,
        };
        let (data, best) = fill.all(total, meter)?;
        let bos = if trie.vocab_len() > BOS as usize {
            fill.next(1 + BOS as usize)
        } else {
            ROOT
        };
        let fallback_word = if best.1 == UNK {
            RESERVED.min(trie.vocab_len() as u32 - 1)
        } else {
            best.1
        };
        Ok(Index {
            data,
            bos,
            vocab_len: trie.vocab_len() as u32,
            uniform_root: match w {
                Weights::Counts { .. } => true,
                Weights::Table { uniform_root, .. } => *uniform_root,
            },
            fallback_word,
            patterns: (trie.nodes() - 1) as u64,
            contexts,
            order,
        })
    }

    /// The context block at `off`.
    #[inline(always)]
    pub fn ctx(&self, off: u32) -> Ctx<'_> {
        let o = off as usize;
        let d = &self.data;
        let n = (d[o] & ((1 << DEPTH_SHIFT) - 1)) as usize;
        let body = &d[o + HEADER..o + HEADER + 4 * n];
        Ctx {
            n,
            backoff: d[o + 1],
            gamma: f32::from_bits(d[o + 2]),
            depth: d[o] >> DEPTH_SHIFT,
            cum: &body[..n],
            words: &body[n..2 * n],
            next: &body[2 * n..3 * n],
            u: &body[3 * n..],
        }
    }

    /// The number of successors of the context at `off` (its header only).
    #[inline(always)]
    pub fn successors(&self, off: u32) -> usize {
        (self.data[off as usize] & ((1 << DEPTH_SHIFT) - 1)) as usize
    }

    /// Starts loading the header of the context at `off` into the cache.
    #[inline(always)]
    pub fn prefetch(&self, off: u32) {
        touch_at(&self.data, off as usize);
    }

    /// Shortens `state` by backing off until it holds at most `window` words.
    #[inline]
    pub fn truncate(&self, mut state: u32, window: usize) -> u32 {
        while (self.data[state as usize] >> DEPTH_SHIFT) as usize > window {
            state = self.data[state as usize + 1];
        }
        state
    }

    /// Probability of `word` after the context `state`, and the state after it, with KenLM's
    /// query semantics (interpolated weights summed down to the root).
    pub fn prob(&self, state: u32, word: u32) -> (f64, u32) {
        let mut p = 0.0f64;
        let mut weight = 1.0f64;
        let mut s = state;
        let mut next = None;
        loop {
            let c = self.ctx(s);
            if let Ok(i) = c.words.binary_search(&word) {
                p += weight * f32::from_bits(c.u[i]) as f64;
                next.get_or_insert(c.next[i]);
            }
            if c.backoff == NONE {
                if self.uniform_root {
                    p += weight * c.gamma as f64 / (self.vocab_len - 1) as f64;
                }
                break;
            }
            weight *= c.gamma as f64;
            s = c.backoff;
        }
        (p, next.unwrap_or(ROOT))
    }

    /// The state after `word` in context `state` (no probability).
    pub fn advance(&self, state: u32, word: u32) -> u32 {
        let mut s = state;
        loop {
            let c = self.ctx(s);
            if let Ok(i) = c.words.binary_search(&word) {
                return c.next[i];
            }
            if c.backoff == NONE {
                return ROOT;
            }
            s = c.backoff;
        }
    }

    /// Where generation continues after `word` was drawn at the backed-off context `found`
    /// (whose successor `next` it was) while the request's context was `start`: the longest
    /// context between them that also has `word` as a successor wins, as in scoring.
    #[inline]
    pub fn refine_next(&self, start: u32, found: u32, word: u32, next: u32) -> u32 {
        let mut s = start;
        while s != found {
            let c = self.ctx(s);
            if let Ok(i) = c.words.binary_search(&word) {
                return c.next[i];
            }
            s = c.backoff;
        }
        next
    }

    /// Bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.data.len() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (Trie, Vec<u32>) {
        // Vocabulary <unk> <s> </s> a b; patterns: all unigrams, (<s> a) (a b) (b </s>).
        let t = Trie {
            level_start: vec![0, 1, 6, 9],
            word: vec![0, 0, 1, 2, 3, 4, 3, 4, 2],
            child_start: vec![1, 6, 6, 7, 7, 8, 9],
        };
        t.validate().unwrap();
        let s = t.suffix_links().unwrap();
        (t, s)
    }

    #[test]
    fn probabilities_sum_to_one_and_states_follow_patterns() {
        let (t, s) = tiny();
        // Unigrams: </s> .3 a .3 b .3, gamma(root) .1 uniform over 4 words (all but <s>).
        let mut u = vec![0.0; t.nodes()];
        u[3] = 0.3;
        u[4] = 0.3;
        u[5] = 0.3;
        u[6] = 0.5; // <s> a
        u[7] = 0.6; // a b
        u[8] = 0.7; // b </s>
        let mut gamma = vec![1.0; 6];
        gamma[0] = 0.1;
        gamma[2] = 0.5;
        gamma[4] = 0.4;
        gamma[5] = 0.3;
        let w = Weights::Table {
            u,
            gamma,
            uniform_root: true,
        };
        let idx = Index::build(&t, &s, &w, &Meter::none()).unwrap();
        for state in [ROOT, idx.bos] {
            let total: f64 = (0..5)
                .filter(|&w| w != BOS)
                .map(|w| idx.prob(state, w).0)
                .sum();
            assert!((total - 1.0).abs() < 1e-6, "state {state}: {total}");
        }
        let (p, after_a) = idx.prob(idx.bos, 3);
        assert!((p - (0.5 + 0.5 * (0.3 + 0.1 / 4.0))).abs() < 1e-6);
        assert_eq!(idx.ctx(after_a).depth, 1);
        assert_eq!(idx.advance(after_a, 4), idx.advance(ROOT, 4));
        assert_eq!(idx.truncate(after_a, 0), ROOT);
        assert_eq!(idx.fallback_word, 3);
    }
}
