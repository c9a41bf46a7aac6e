//! One context's block: its layout, its size, and reading it.
//!
//! A block starts at a byte offset (the context's state) and packs its fields to the bits they
//! need; `W`, `P` and `C` are the index's word-id, offset and (per block) count widths:
//!
//! ```text
//! single (one successor, 88% of the contexts of en-train at order 5):
//!   0 | [pruned: γ] | [gamma:32] | backoff:P                   | word:W next:P value
//! multi:
//!   1 | γ(n-1) | [C:6] | [pruned: γ] | [gamma:32] | [big] | backoff:P | word:W ×n | value ×n | next:P ×n
//! big (multi with over SMALL successors): [S:64 gamma:32] pad to a byte, sums:64 × groups
//! ```
//!
//! * a trained model's blocks keep the adjusted counts `a` (value: γ(a+1) in a single, C bits in
//!   a multi) and, when pruning removed some, the removed mass `pruned` (γ(P+1)); the weights are
//!   computed from them exactly as the trainer's smoothing does: `S = P + Σa`,
//!   `u(h·w) = (a - D(a)) / S`, `gamma(h) = (P + Σ D(a)) / S`, with `D` the discounts of the
//!   context's depth. A small block sums `S` and `gamma` over its few counts; a big one stores them.
//! * an ARPA model's blocks keep `u` and `gamma` as `f32` (value: 32 bits, and `gamma:32`).
//! * a big block stores, after every [`GROUP`] successors and after the last, the running sum
//!   of the weights that the sampler's draw is compared with, byte-aligned (one load each): a
//!   draw backs off after one comparison with the last, or scans one group after a binary
//!   search.
//! * the root (offset 0) has no `backoff` field.
//! * nothing of width `P` comes before the sums, so a block's size grows by exactly its number
//!   of offsets per bit of `P` (how [`fill`](super::fill) finds the narrowest `P`).
//!
//! `γ(v)` is the Elias-gamma code of `v` ([`bits::gamma`]): 1 bit for v = 1, 3 for 2 and 3, 5
//! for 4 to 7.

use super::bits::{self, gamma_len, get, get64, MAX_FIELD};
use super::{Index, NONE, ROOT};
use crate::vocab::{BOS, UNK};

// `drawable` relies on `<unk>` and `<s>` being the two smallest word ids.
const _: () = assert!(UNK < BOS && BOS + 1 == crate::vocab::EOS);

// The layout of a block is the format of index images (`crate::image`): a change to it or to
// these constants must change `IMAGE_VERSION`.

/// Multi blocks of more successors than this store `S`, `gamma` and the group sums.
pub(crate) const SMALL: usize = 16;
/// Successors per stored sum of a big block.
pub(crate) const GROUP: usize = 8;
/// Bits of the per-block count width field.
const CW_BITS: u32 = 6;
/// Fixed point of the sampler's draws: weights are compared in units of 2^-32.
const ONE: f64 = 4_294_967_296.0;

/// What the index's blocks hold, and the widths of their fields.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Layout {
    /// Bits of a word id.
    pub word_bits: u32,
    /// Bits of a block offset.
    pub ptr_bits: u32,
    /// The values: adjusted counts with these discounts per depth (`D(a)` by `a.min(3)`, 0 for
    /// a = 0), or `None` for stored `f32` weights.
    pub discounts: Option<Vec<[f64; 4]>>,
    /// Blocks of counts carry the removed mass.
    pub pruned: bool,
}

/// What sizing or writing one block needs to know of it besides its layout.
pub(crate) struct Shape {
    pub root: bool,
    pub n: usize,
    /// Bits of each count (multi blocks of counts).
    pub count_bits: u32,
    /// The single successor's count (single blocks of counts).
    pub single_count: u32,
    pub pruned: u32,
}

impl Layout {
    /// The size of a block, in bits.
    pub(crate) fn block_bits(&self, s: &Shape) -> u64 {
        let (w, p) = (self.word_bits as u64, self.ptr_bits as u64);
        let counts = self.discounts.is_some();
        let n = s.n as u64;
        let mut bits = 1;
        let mut value = 32;
        if s.n > 1 {
            bits += gamma_len(n - 1) as u64;
            if counts {
                bits += CW_BITS as u64;
                value = s.count_bits as u64;
            }
        }
        if counts && self.pruned {
            bits += gamma_len(s.pruned as u64 + 1) as u64;
        }
        if !counts {
            bits += 32;
        }
        if s.n > SMALL {
            bits += if counts { 96 } else { 0 };
            bits = bits.next_multiple_of(8) + 64 * groups(s.n) as u64;
        }
        if !s.root {
            bits += p;
        }
        if s.n == 1 {
            if counts {
                value = gamma_len(s.single_count as u64 + 1) as u64;
            }
            return bits + w + p + value;
        }
        bits + n * (w + value + p)
    }

    /// Offset bits that a block of `n` successors holds (what its size grows by per offset bit).
    pub(crate) fn pointers(root: bool, n: usize) -> u64 {
        n as u64 + u64::from(!root)
    }
}

/// The number of successors of the block at `off` in `d`, its header's first field only (as
/// [`Ctx::parse`] reads it, bounded by the vocabulary's size `words`).
#[inline(always)]
pub(crate) fn successors(d: &[u8], off: u32, words: u32) -> usize {
    let mut pos = off as u64 * 8;
    if get(d, pos, 1) == 0 {
        return 1;
    }
    pos += 1;
    bits::gamma(d, &mut pos).min(words as u64) as usize + 1
}

/// Groups of [`GROUP`] successors of a big block (the last may be short).
#[inline]
pub(crate) fn groups(n: usize) -> usize {
    n.div_ceil(GROUP)
}

/// What a context's successors' weights are computed with ([`Ctx::mass`]), and its back-off
/// weight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mass {
    w: Weigher,
    /// The back-off weight.
    pub gamma: f32,
}

/// `S` and the discounts of a context of counts, or nothing for stored weights.
#[derive(Clone, Copy, Debug)]
struct Weigher {
    s: f64,
    d: [f64; 4],
    counts: bool,
}

/// The [`Weigher`] of stored `f32` weights.
const STORED: Weigher = Weigher {
    s: 1.0,
    d: [0.0; 4],
    counts: false,
};

impl Weigher {
    /// The weight `u` of a successor whose stored value is `x`: `(a - D(a)) / S`, at least 0
    /// (all 0 when `S` is), or the stored `f32`.
    #[inline(always)]
    fn weight(&self, x: u32) -> f64 {
        if !self.counts {
            return f32::from_bits(x) as f64;
        }
        if self.s <= 0.0 {
            return 0.0;
        }
        ((x as f64 - self.d[x.min(3) as usize]) / self.s).max(0.0)
    }
}

/// Read-only view of one context block.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    data: &'a [u8],
    lay: &'a Layout,
    /// The largest word id a successor may have.
    max_word: u32,
    pub n: usize,
    pub depth: u32,
    /// The block of the context without its first word (`NONE` at the root).
    pub backoff: u32,
    pruned: u32,
    /// Stored `gamma` bits (ARPA weights, or a big block of counts).
    gamma_bits: u32,
    /// Stored `S` (a big block of counts).
    s: u64,
    /// Bit positions of the group sums, the words, values and offsets.
    sums: u64,
    words: u64,
    vals: u64,
    /// Bits of each value; 0 for the γ-coded count of a single block.
    val_bits: u32,
    nexts: u64,
}

impl Index {
    /// The context block at `off`.
    #[inline(always)]
    pub(crate) fn ctx(&self, off: u32) -> Ctx<'_> {
        let depth = self.depth_of(off);
        let place = Place {
            off,
            root: off == ROOT,
            depth,
            backoff_from: self.level_end[0],
            backoff_below: match depth {
                0 => 0,
                d => self.level_end[d as usize - 1],
            },
            words: self.vocab_len,
        };
        Ctx::parse(self.blocks(), &self.layout, place)
    }
}

/// Where a block is read, and the bounds its fields are read within. Every offset and word a
/// block gives is kept within them, whatever its bytes (an index image's could be any): a
/// back-off always leads to a shallower context (or the root), so every back-off chain ends at
/// the root; successor counts and words stay below the vocabulary's size, so nothing indexed by
/// a word or sized by a count can overflow. A block the index built is always within them.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    pub off: u32,
    /// The root's block (it has no back-off).
    pub root: bool,
    pub depth: u32,
    /// A back-off must lie in `backoff_from..backoff_below` (the blocks of depth 1 to
    /// `depth - 1`), or it is the root.
    pub backoff_from: u32,
    pub backoff_below: u32,
    /// The vocabulary's size.
    pub words: u32,
}

impl Place {
    /// A block read where no bounds matter (one being written).
    pub(crate) fn unbounded(root: bool, depth: u32) -> Place {
        Place {
            off: 0,
            root,
            depth,
            backoff_from: 0,
            backoff_below: u32::MAX,
            words: u32::MAX,
        }
    }
}

/// A block's header fields, read in order: the block's first [`MAX_FIELD`] bits are loaded once,
/// and the fields within them (all of most blocks' headers) are taken from that word; the rest
/// are read from the data.
struct Head<'a> {
    d: &'a [u8],
    /// Bit position of the block.
    base: u64,
    first: u64,
    /// Bits of the header read so far.
    at: u64,
}

impl<'a> Head<'a> {
    #[inline(always)]
    fn new(d: &'a [u8], base: u64) -> Self {
        Head {
            d,
            base,
            first: get(d, base, MAX_FIELD),
            at: 0,
        }
    }

    /// The next `w`-bit field (`w` ≤ [`MAX_FIELD`]).
    #[inline(always)]
    fn take(&mut self, w: u32) -> u64 {
        let v = if self.at + w as u64 <= MAX_FIELD as u64 {
            (self.first >> self.at) & ((1u64 << w) - 1)
        } else {
            get(self.d, self.base + self.at, w)
        };
        self.at += w as u64;
        v
    }

    /// The next Elias-gamma code's value (see [`bits::gamma`]).
    #[inline(always)]
    fn gamma(&mut self) -> u64 {
        if self.at < MAX_FIELD as u64 {
            // Bits past the first MAX_FIELD are zeros: a code that reaches them is read below.
            let x = self.first >> self.at;
            let z = x.trailing_zeros() as u64;
            if self.at + 2 * z < MAX_FIELD as u64 {
                self.at += 2 * z + 1;
                return (1 << z) | ((x >> (z + 1)) & ((1u64 << z) - 1));
            }
        }
        let mut pos = self.base + self.at;
        let v = bits::gamma(self.d, &mut pos);
        self.at = pos - self.base;
        v
    }

    #[inline(always)]
    fn skip(&mut self, bits: u64) {
        self.at += bits;
    }

    /// The bit position after the fields read.
    #[inline(always)]
    fn pos(&self) -> u64 {
        self.base + self.at
    }
}

impl<'a> Ctx<'a> {
    /// The block at `place` in `d` (see [`Place`]).
    #[inline(always)]
    pub(crate) fn parse(d: &'a [u8], lay: &'a Layout, place: Place) -> Ctx<'a> {
        let Place {
            off, root, depth, ..
        } = place;
        let counts = lay.discounts.is_some();
        let mut h = Head::new(d, off as u64 * 8);
        let (n, count_bits) = if h.take(1) == 1 {
            let n = h.gamma().min(place.words as u64) as usize + 1;
            let cw = if counts {
                (h.take(CW_BITS) as u32).min(32)
            } else {
                32
            };
            (n, cw)
        } else {
            (1, 0)
        };
        let pruned = if counts && lay.pruned {
            (h.gamma() - 1) as u32
        } else {
            0
        };
        let mut gamma_bits = 0;
        if !counts {
            gamma_bits = h.take(32) as u32;
        }
        let mut s = 0;
        if n > SMALL && counts {
            s = get64(d, h.pos());
            gamma_bits = get(d, h.pos() + 64, 32) as u32;
            h.skip(96);
        }
        let mut sums = h.pos();
        if n > SMALL {
            sums = sums.next_multiple_of(8);
            h.skip(sums - h.pos() + 64 * groups(n) as u64);
        }
        let backoff = if root {
            NONE
        } else {
            let raw = h.take(lay.ptr_bits) as u32;
            if (place.backoff_from..place.backoff_below).contains(&raw) {
                raw
            } else {
                ROOT
            }
        };
        let pos = h.pos();
        let (w, p) = (lay.word_bits as u64, lay.ptr_bits as u64);
        let (vals, val_bits, nexts) = if n == 1 {
            // word, next, then the value, whose γ code has no fixed width.
            (pos + w + p, if counts { 0 } else { 32 }, pos + w)
        } else {
            let vals = pos + n as u64 * w;
            (vals, count_bits, vals + n as u64 * count_bits as u64)
        };
        Ctx {
            data: d,
            lay,
            max_word: place.words.saturating_sub(1),
            n,
            depth,
            backoff,
            pruned,
            gamma_bits,
            s,
            sums,
            words: pos,
            vals,
            val_bits,
            nexts,
        }
    }
}

impl Ctx<'_> {
    /// The word of successor `i`.
    #[inline(always)]
    pub fn word(&self, i: usize) -> u32 {
        let w = self.lay.word_bits;
        (get(self.data, self.words + i as u64 * w as u64, w) as u32).min(self.max_word)
    }

    /// The block to continue from after successor `i`.
    #[inline(always)]
    pub fn next(&self, i: usize) -> u32 {
        let p = self.lay.ptr_bits;
        get(self.data, self.nexts + i as u64 * p as u64, p) as u32
    }

    /// The stored value of successor `i`: its adjusted count, or its `f32` weight's bits.
    #[inline(always)]
    fn value(&self, i: usize) -> u32 {
        if self.val_bits == 0 {
            let mut pos = self.vals;
            (bits::gamma(self.data, &mut pos) - 1) as u32
        } else {
            get(
                self.data,
                self.vals + i as u64 * self.val_bits as u64,
                self.val_bits,
            ) as u32
        }
    }

    /// The successor whose word is `word`, if there is one.
    #[inline]
    pub fn find(&self, word: u32) -> Option<usize> {
        // A block of every word (the root of a model whose words are all unigrams) holds word
        // `w` at place `w`, its words being sorted.
        if self.n as u64 == self.max_word as u64 + 1 {
            return ((word as usize) < self.n).then_some(word as usize);
        }
        if self.n <= SMALL {
            // Words are sorted: a miss ends at the first greater word.
            for i in 0..self.n {
                let w = self.word(i);
                if w >= word {
                    return (w == word).then_some(i);
                }
            }
            return None;
        }
        let (mut lo, mut hi) = (0, self.n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.word(mid).cmp(&word) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// What the successors' weights are computed with, for a block that needs no pass over its
    /// values for it: a big block of counts (`S`, stored, and the discounts of the context's
    /// depth), or stored weights as they are (any block). A small block of counts sums its `S`
    /// with what else its caller needs ([`Ctx::mass`], [`Ctx::weigh_small`],
    /// [`Ctx::draw_single`]). No `gamma`: a draw needs none.
    #[inline(always)]
    fn weigher(&self) -> Weigher {
        debug_assert!(self.n > SMALL || self.lay.discounts.is_none());
        match &self.lay.discounts {
            None => STORED,
            Some(table) => Weigher {
                s: self.s as f64,
                d: table[self.depth as usize],
                counts: true,
            },
        }
    }

    /// The weights of the context's successors and its back-off weight `gamma`, as the
    /// trainer's smoothing computes them (see the module docs), or as stored.
    #[inline(always)]
    pub fn mass(&self) -> Mass {
        match &self.lay.discounts {
            Some(table) if self.n <= SMALL => {
                // `S` and the discounts' sum in one pass over the counts.
                let d = table[self.depth as usize];
                let (mut s, mut dsum) = (self.pruned as f64, self.pruned as f64);
                for i in 0..self.n {
                    let x = self.value(i);
                    s += x as f64;
                    dsum += d[x.min(3) as usize];
                }
                let gamma = if s <= 0.0 { 1.0 } else { (dsum / s) as f32 };
                Mass {
                    w: Weigher { s, d, counts: true },
                    gamma,
                }
            }
            _ => Mass {
                w: self.weigher(),
                gamma: f32::from_bits(self.gamma_bits),
            },
        }
    }

    /// The interpolation weight `u` of successor `i` in full precision, given the context's
    /// [`Mass`]: what the sampler adds up.
    #[inline(always)]
    pub fn weight(&self, i: usize, m: Mass) -> f64 {
        m.w.weight(self.value(i))
    }

    /// The interpolation weight `u` of successor `i` as the model states it (`f32`).
    #[inline(always)]
    pub fn u(&self, i: usize, m: Mass) -> f32 {
        self.weight(i, m) as f32
    }

    /// Successor `i` can be drawn: `<s>` and `<unk>` never are, and, being the smallest word
    /// ids, they can only be the first two successors.
    #[inline(always)]
    fn drawable(&self, i: usize) -> bool {
        i >= 2 || self.word(i) > BOS
    }

    /// The running sum of the drawable successors' weights from `acc` at successor `from`, up to
    /// the first successor at which it exceeds the draw `r` (in units of 2^-32), which is
    /// returned; `None` when the sum up to `to` never does.
    #[inline(always)]
    fn scan(
        &self,
        w: Weigher,
        mut acc: f64,
        range: std::ops::Range<usize>,
        t: f64,
    ) -> Option<usize> {
        for i in range {
            if self.drawable(i) {
                acc += w.weight(self.value(i));
            }
            if acc >= t {
                return Some(i);
            }
        }
        None
    }

    /// The successor the uniform draw `r` picks, or `None` for a back-off: the first successor
    /// at which the running sum of weights exceeds `r` (in units of 2^-32).
    #[inline(always)]
    pub fn draw(&self, r: u32) -> Option<usize> {
        let t = threshold(r);
        if self.n == 1 {
            return self.draw_single(t);
        }
        if self.n <= SMALL {
            let w = match &self.lay.discounts {
                Some(table) => self.weigh_small(table[self.depth as usize], r)?,
                None => self.weigher(),
            };
            return self.scan(w, 0.0, 0..self.n, t);
        }
        // The first group whose end sum reaches the threshold holds the pick; none does when
        // the last (the sum of all the weights) is below it.
        let last = groups(self.n) - 1;
        if self.sum(last) < t {
            return None;
        }
        let (mut lo, mut hi) = (0, last);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.sum(mid) >= t {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        let acc = if lo == 0 { 0.0 } else { self.sum(lo - 1) };
        let from = lo * GROUP;
        let to = (from + GROUP).min(self.n);
        self.scan(self.weigher(), acc, from..to, t)
    }

    /// [`Ctx::draw`] of a single block against the threshold `t`: its one value decoded once.
    #[inline(always)]
    fn draw_single(&self, t: f64) -> Option<usize> {
        if !self.drawable(0) {
            return None;
        }
        let x = self.value(0);
        let w = match &self.lay.discounts {
            None => STORED,
            Some(table) => Weigher {
                s: self.pruned as f64 + x as f64,
                d: table[self.depth as usize],
                counts: true,
            },
        };
        (w.weight(x) >= t).then_some(0)
    }

    /// The [`Weigher`] of a small block of counts with the discounts `d`, or `None` when the
    /// draw `r` certainly backs off from it, told without a division per successor (in the
    /// same pass over the counts that sums `S`): the sum of the weights is about
    /// `Σ (a - D(a)) / S`, within a millionth of a unit of 2^-32 of the running sum the scan
    /// would make, so when that is half a unit or more below the draw's threshold, the scan
    /// would end without a pick. Most contexts a draw visits are backed off from; only the one
    /// that picks needs the scan.
    #[inline(always)]
    fn weigh_small(&self, d: [f64; 4], r: u32) -> Option<Weigher> {
        let (mut s, mut num) = (self.pruned as f64, 0.0);
        for i in 0..self.n {
            let x = self.value(i);
            s += x as f64;
            if self.drawable(i) {
                num += x as f64 - d[x.min(3) as usize];
            }
        }
        if s > 0.0 && num / s * ONE < r as f64 + 0.5 {
            return None;
        }
        Some(Weigher { s, d, counts: true })
    }

    /// The stored running sum of weights after group `g` of a big block (byte-aligned: one
    /// load).
    #[inline(always)]
    fn sum(&self, g: usize) -> f64 {
        let at = (self.sums >> 3) as usize + 8 * g;
        f64::from_bits(match self.data.get(at..at + 8) {
            Some(b) => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
            None => 0,
        })
    }

    /// The running sums to store after each group of a big block (how a writer computes them,
    /// with the draw's own arithmetic).
    pub(crate) fn group_sums(&self) -> Vec<f64> {
        let w = self.weigher();
        let mut acc = 0.0;
        let mut out = Vec::new();
        for i in 0..self.n {
            if self.drawable(i) {
                acc += w.weight(self.value(i));
            }
            if (i + 1) % GROUP == 0 || i + 1 == self.n {
                out.push(acc);
            }
        }
        out
    }

    /// Bit position of the group sums (for the writer, which fills them in last).
    pub(crate) fn sums_at(&self) -> u64 {
        self.sums
    }
}

/// The least weight sum at which the draw `r` picks: [`fixed`]`(acc) > r` exactly when
/// `acc >= threshold(r)`, as scaling by 2^32 is exact in `f64` (`acc * 2^32 >= r + 1` is
/// `acc >= (r + 1) * 2^-32`), and no sum is at or above infinity, as none exceeds the largest
/// draw (sums saturate there). One comparison per successor instead of a conversion.
#[inline(always)]
fn threshold(r: u32) -> f64 {
    if r == u32::MAX {
        f64::INFINITY
    } else {
        (r as f64 + 1.0) / ONE
    }
}

/// A weight sum as the draw compares it: in units of 2^-32, saturated.
#[cfg(test)]
fn fixed(acc: f64) -> u32 {
    (acc * ONE).min(ONE - 1.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::BOS;
    use crate::Model;

    /// Every context of `index`: each is the successor's next of its own pattern's prefix.
    fn contexts(index: &Index) -> Vec<u32> {
        let mut seen = std::collections::HashSet::from([ROOT]);
        let mut queue = vec![ROOT];
        while let Some(off) = queue.pop() {
            let c = index.ctx(off);
            for i in 0..c.n {
                if seen.insert(c.next(i)) {
                    queue.push(c.next(i));
                }
            }
        }
        let mut all: Vec<u32> = seen.into_iter().collect();
        all.sort_unstable();
        all
    }

    fn models() -> Vec<Model> {
        crate::testing::tiny_models()
    }

    /// A draw picks the first successor at which the running sum of the drawable successors'
    /// weights, in units of 2^-32, exceeds it, whatever the block's kind (single, small, big
    /// with its stored group sums), at every boundary of the sums.
    #[test]
    fn draws_pick_where_the_running_sum_first_exceeds_the_draw() {
        for model in models() {
            let index = &model.index;
            let all = contexts(index);
            assert_eq!(all.len() as u64, index.contexts);
            let mut big = 0;
            for off in all {
                let c = index.ctx(off);
                big += usize::from(c.n > SMALL);
                let m = c.mass();
                let mut acc = 0.0;
                let cum: Vec<u32> = (0..c.n)
                    .map(|i| {
                        if c.word(i) != BOS && c.word(i) != UNK {
                            acc += c.weight(i, m);
                        }
                        fixed(acc)
                    })
                    .collect();
                let mut draws = vec![0, 1, u32::MAX - 1, u32::MAX];
                for &x in &cum {
                    draws.extend([x.wrapping_sub(1), x, x.wrapping_add(1)]);
                }
                for r in draws {
                    let want = cum.iter().position(|&x| x > r);
                    assert_eq!(c.draw(r), want, "context {off}, draw {r}");
                }
            }
            assert!(big > 1, "big blocks are tested");
        }
    }

    /// The threshold compares as the fixed-point conversion does, at and around every boundary
    /// (for the sums a built index has: never NaN).
    #[test]
    fn thresholds_agree_with_fixed_point_sums() {
        let rs = [
            0u32,
            1,
            2,
            1 << 20,
            (1 << 31) - 1,
            1 << 31,
            u32::MAX - 2,
            u32::MAX - 1,
            u32::MAX,
        ];
        for &r in &rs {
            let t = threshold(r);
            for &x in &rs {
                let base = x as f64 / ONE;
                for acc in [
                    base,
                    f64::from_bits(base.to_bits() + 1),
                    f64::from_bits(base.to_bits().saturating_sub(1)),
                    1.0,
                    2.0,
                    0.0,
                    -0.5,
                ] {
                    assert_eq!(fixed(acc) > r, acc >= t, "r {r}, acc {acc:e}");
                }
            }
        }
    }

    /// Words are found where they are, and only there.
    #[test]
    fn successors_are_found_by_word() {
        for model in models() {
            let index = &model.index;
            for off in contexts(index) {
                let c = index.ctx(off);
                let words: Vec<u32> = (0..c.n).map(|i| c.word(i)).collect();
                assert!(words.windows(2).all(|w| w[0] < w[1]), "sorted words");
                for (i, &w) in words.iter().enumerate() {
                    assert_eq!(c.find(w), Some(i));
                }
                for w in 0..index.vocab_len {
                    assert_eq!(c.find(w), words.binary_search(&w).ok());
                }
            }
        }
    }
}
