//! Progress of the long calls (a training's build, a model load) as a fraction of their work.
//!
//! Each pass of such a call adds the work it has done to a [`Meter`] once per piece of its loop
//! (the pieces of [`crate::mem::for_chunks`], tens of thousands of items each), never per item,
//! in units of [`cost`]: about a nanosecond each, so that the fraction follows the time the call
//! takes rather than a count of passes. The meter knows the work of the whole call (exactly, or
//! as an upper bound that tightens as the call learns more: a training does not know how many
//! patterns it will find before it has counted them), so the fraction never runs ahead of the
//! work and never goes back. It calls its callback when the fraction has moved by 1/[`STEPS`]
//! since the last report: a few hundred times per call at most, whatever its size.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};

/// A call reports at most about this many fractions between its 0 and its 1.
pub(crate) const STEPS: u64 = 200;

/// The highest fraction reported before the call has finished: only [`Meter::finish`] reports 1,
/// so a callback can take 1 to mean done even if the cost model undercounts some pass.
const BEFORE_END: f64 = 0.999;

/// The cost of one item of each pass, in units of about a nanosecond: measured natively under
/// WebAssembly's conditions (`uellm-bench --like-wasm`: one thread, no huge pages) on en-train at
/// order 5, where a pass's time divided by its items gave these figures (rounded). Only their
/// ratios matter.
pub(crate) mod cost {
    /// Training, per token: renumbering the words by frequency.
    pub const RENUMBER: u64 = 14;
    /// Per token: counting the words.
    pub const TALLY: u64 = 4;
    /// Per token: listing the occurrences of each word.
    pub const SPREAD: u64 = 8;
    /// Per occurrence of a pattern: extending it by the next word.
    pub const EXTEND: u64 = 9;
    /// Per occurrence of a pattern one word longer: sorting and numbering it.
    pub const GROUP: u64 = 18;
    /// Per pattern of three or more words: finding its suffix link.
    pub const SUFFIX: u64 = 20;
    /// Per pattern, for each of the two passes of the adjusted counts.
    pub const ADJUST: u64 = 3;
    /// Per pattern: the counts of counts of the discounts.
    pub const DISCOUNT: u64 = 4;
    /// Per pattern of two or more words, for each of the two pruning passes.
    pub const PRUNE: u64 = 4;
    /// Per pruning candidate, when `max_patterns` ranks them.
    pub const RANK: u64 = 40;
    /// Per pattern, when pruning dropped some: compacting the trie.
    pub const COMPACT: u64 = 12;
    /// Writing the model file, per context: its number of children.
    pub const ENCODE_CHILD: u64 = 4;
    /// Per pattern of two or more words: its word or rank.
    pub const ENCODE_WORD: u64 = 11;
    /// Per pattern: its adjusted count.
    pub const ENCODE_VALUE: u64 = 3;
    /// Per pattern: the body's serialization, the header and its checksum.
    pub const FRAME: u64 = 5;
    /// Loading, per byte of the body: its checksum.
    pub const CRC: u64 = 1;
    /// Per context: its number of children.
    pub const DECODE_CHILD: u64 = 3;
    /// Per pattern of two or more words: its word and suffix link.
    pub const DECODE_WORD: u64 = 12;
    /// Per word of the vocabulary.
    pub const VOCAB: u64 = 120;
    /// Per context, when the file has pruned masses.
    pub const PRUNED: u64 = 3;
    /// Per pattern of a model imported from ARPA: decoding its probabilities (half) and
    /// computing the interpolation weights from them (half).
    pub const PROBS: u64 = 40;
    /// Indexing, per context: its place in the index.
    pub const OFFSET: u64 = 5;
    /// Per pattern: its entry in its context's block (weights, word, next context).
    pub const FILL: u64 = 30;

    /// The work of `Index::build` for a trie of `nodes` nodes (the root included), `contexts` of
    /// them below the deepest level, in these units.
    pub fn index(nodes: u64, contexts: u64) -> u64 {
        OFFSET * contexts + FILL * nodes.saturating_sub(1)
    }

    /// The work of writing the model file of a trie of `nodes` nodes (the root included),
    /// `contexts` of them below the deepest level, and `vocab` words, in these units.
    pub fn encode(nodes: u64, contexts: u64, vocab: u64) -> u64 {
        ENCODE_CHILD * contexts.saturating_sub(1)
            + ENCODE_WORD * nodes.saturating_sub(1 + vocab)
            + ENCODE_VALUE * nodes.saturating_sub(1)
            + FRAME * nodes
    }

    /// The work of loading a model of `nodes` nodes (the root included), `contexts` of them below
    /// the deepest level, and `vocab` words, in these units, but for its checksum: decoding it
    /// (`format::decode_body`) and indexing it (`Index::build`). `pruned`: whether the file has pruned
    /// masses; `probs`: whether it holds probabilities (a model imported from ARPA), not counts.
    pub fn load(nodes: u64, contexts: u64, vocab: u64, pruned: bool, probs: bool) -> u64 {
        let deep = nodes.saturating_sub(1 + vocab);
        DECODE_CHILD * contexts.saturating_sub(1)
            + DECODE_WORD * deep
            + VOCAB * vocab
            + if pruned { PRUNED * contexts } else { 0 }
            + if probs { PROBS * nodes } else { 0 }
            + index(nodes, contexts)
    }
}

/// Something that work done can be added to: a [`Meter`] on the thread that reports, or its
/// [`Tally`] on another.
pub(crate) trait Tick {
    /// Adds `units` of work done.
    fn add(&self, units: u64);
}

/// The work of one call: what is done, out of what there is, reported as a fraction to a
/// callback on the calling thread (see the module docs). A meter without a callback
/// ([`Meter::none`]) costs one addition and one comparison per piece of work.
pub(crate) struct Meter<'a> {
    done: AtomicU64,
    /// The call's work, or an upper bound of it; 0 before it is known (nothing is reported).
    total: Cell<u64>,
    /// Report when `done` reaches this.
    next: Cell<u64>,
    last: Cell<f64>,
    sink: Option<RefCell<&'a mut dyn FnMut(f64)>>,
}

impl<'a> Meter<'a> {
    /// A meter that reports to `sink`.
    pub fn new(sink: &'a mut dyn FnMut(f64)) -> Self {
        Meter {
            done: AtomicU64::new(0),
            total: Cell::new(0),
            next: Cell::new(u64::MAX),
            last: Cell::new(0.0),
            sink: Some(RefCell::new(sink)),
        }
    }

    /// A meter that reports nothing.
    pub fn none() -> Self {
        Meter {
            done: AtomicU64::new(0),
            total: Cell::new(0),
            next: Cell::new(u64::MAX),
            last: Cell::new(0.0),
            sink: None,
        }
    }

    /// Sets the work of the whole call, in [`cost`] units, done or not: its exact figure or an
    /// upper bound. A later call may lower it as the bounds tighten (the fraction then moves
    /// ahead); the fraction never goes back, whatever the figures.
    pub fn set_total(&self, total: u64) {
        self.total.set(total.max(1));
        if self.sink.is_some() {
            self.next.set(self.done() + self.step());
        }
    }

    fn step(&self) -> u64 {
        (self.total.get() / STEPS).max(1)
    }

    /// The total last set (see [`Meter::set_total`]).
    pub fn total(&self) -> u64 {
        self.total.get()
    }

    /// Work done so far, on every thread.
    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// A handle that another thread adds its work to (reported by this thread's next
    /// [`Tick::add`] or [`Meter::poll`]).
    pub fn tally(&self) -> Tally<'_> {
        Tally(&self.done)
    }

    /// Reports if the work other threads added since the last report is worth it.
    pub fn poll(&self) {
        let done = self.done();
        if done >= self.next.get() {
            self.emit(done);
        }
    }

    /// Reports the fraction now, however little moved: a new phase starts (the callback may
    /// tell phases apart), or the call starts (0).
    pub fn report(&self) {
        self.emit(self.done());
    }

    /// Reports 1: the call's work is done.
    pub fn finish(&self) {
        self.last.set(1.0);
        self.next.set(u64::MAX);
        if let Some(sink) = &self.sink {
            (sink.borrow_mut())(1.0);
        }
    }

    #[cold]
    #[inline(never)]
    fn emit(&self, done: u64) {
        let Some(sink) = &self.sink else { return };
        let total = self.total.get();
        let fraction = if total == 0 {
            0.0
        } else {
            (done as f64 / total as f64).min(BEFORE_END)
        };
        let fraction = fraction.max(self.last.get());
        self.last.set(fraction);
        if total > 0 {
            self.next.set(done.saturating_add(self.step()));
        }
        (sink.borrow_mut())(fraction);
    }
}

impl Tick for Meter<'_> {
    #[inline]
    fn add(&self, units: u64) {
        let done = self.done.fetch_add(units, Ordering::Relaxed) + units;
        if done >= self.next.get() {
            self.emit(done);
        }
    }
}

/// A [`Meter`]'s count of work done, for another thread (see [`Meter::tally`]).
#[derive(Clone, Copy)]
pub(crate) struct Tally<'m>(&'m AtomicU64);

impl Tick for Tally<'_> {
    #[inline]
    fn add(&self, units: u64) {
        self.0.fetch_add(units, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_move_in_bounded_steps_never_back_and_end_at_one() {
        let mut seen = Vec::new();
        let mut sink = |f: f64| seen.push(f);
        {
            let m = Meter::new(&mut sink);
            m.report();
            m.set_total(10_000);
            for _ in 0..100 {
                m.add(50);
            }
            // A tighter bound moves the fraction ahead; a looser one cannot move it back.
            m.set_total(6_000);
            m.add(50);
            m.set_total(1_000_000);
            m.add(50);
            m.tally().add(10_000);
            m.poll();
            m.finish();
        }
        assert_eq!(seen[0], 0.0);
        assert_eq!(*seen.last().unwrap(), 1.0);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        // One report per 1/STEPS of the work, not one per add.
        assert!(seen.len() <= 2 + STEPS as usize, "{}", seen.len());
        assert!(seen.len() > 50, "{}", seen.len());
        // Overcounted work stays below 1 until the call finishes.
        assert!(seen[..seen.len() - 1].iter().all(|&f| f < 1.0));
    }

    #[test]
    fn a_meter_without_a_callback_reports_nothing() {
        let m = Meter::none();
        m.set_total(10);
        m.add(100);
        m.report();
        m.finish();
        assert_eq!(m.done(), 100);
    }
}
