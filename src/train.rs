//! Training: count every pattern of 1..=order words in a stream of text, then smooth the counts
//! with interpolated modified Kneser-Ney (as KenLM's `lmplz` computes it) into a [`Model`].
//!
//! Text is fed incrementally ([`Trainer::feed`], [`Trainer::feed_bytes`]) and only counts are
//! kept, never the text. Each pattern is a node of a counting trie held in flat arrays; the node
//! of `w1..wk` is found from the node of `w1..wk-1` through one open-addressing hash table keyed
//! by `(parent node, word)`. The nodes of the patterns ending at the previous token are carried
//! along, so each token costs one probe per order. When a pattern is first seen, its suffix
//! `w2..wk` gains one distinct left extension: that is the continuation count Kneser-Ney needs,
//! so no second pass over the text is required.

use serde::{Deserialize, Serialize};

use crate::config::{TrainOptions, MAX_ORDER};
use crate::error::{Error, Result};
use crate::mem::prefetch;
use crate::model::{Model, Parts, Values};
use crate::tokenizer::tokenize;
use crate::trie::Trie;
use crate::vocab::{Vocab, BOS, EOS, RESERVED, UNK};

/// Lines longer than this without a newline are split at a space, so one huge line cannot hold
/// the whole input in memory.
const MAX_LINE_BYTES: usize = 1 << 20;

/// What the trainer is doing, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading text and counting patterns.
    Counting,
    /// Computing discounts, pruning, ordering the index.
    Smoothing,
    /// Building the generation index and the model file body.
    Indexing,
    /// Finished.
    Done,
}

/// A progress report: `bytes_seen` of `bytes_total` (when the total was announced).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Current phase.
    pub phase: Phase,
    /// Bytes of text fed so far.
    pub bytes_seen: u64,
    /// Bytes announced with [`Trainer::set_total_bytes`], if any.
    pub bytes_total: Option<u64>,
}

/// Facts about how a model was trained, stored in the model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingStats {
    /// Options used.
    pub options: TrainOptions,
    /// Bytes of text fed.
    pub bytes: u64,
    /// Sentences (non-empty lines) counted.
    pub sentences: u64,
    /// Tokens counted, one `</s>` per sentence included.
    pub tokens: u64,
    /// Per order 1..=n, the three discounts D1, D2, D3+.
    pub discounts: Vec<[f64; 3]>,
    /// Orders (1-based) whose counts could not give modified Kneser-Ney discounts (too little
    /// text), so the fallback 0.5 / 1.0 / 1.5 was used, as `lmplz --discount_fallback` does.
    pub discount_fallback: Vec<u8>,
    /// Patterns removed by `min_frequency` and `max_patterns`.
    pub pruned_patterns: u64,
}

/// Incremental trainer: feed text, then [`Trainer::finish`] into a [`Model`].
///
/// ```
/// use ultra_efficient_llm::{Trainer, TrainOptions};
/// let mut t = Trainer::new(TrainOptions { max_pattern_length: 3, ..Default::default() })?;
/// t.feed("the cat sat on the mat.\nthe dog sat on the cat.\n");
/// let model = t.finish()?;
/// assert_eq!(model.info().order, 3);
/// # Ok::<(), ultra_efficient_llm::Error>(())
/// ```
pub struct Trainer {
    opts: TrainOptions,
    vocab: Vocab,
    nodes: Nodes,
    /// Word id -> unigram node.
    unigram: Vec<u32>,
    table: NgramTable,
    pending: String,
    pending_bytes: Vec<u8>,
    bytes_seen: u64,
    bytes_total: Option<u64>,
    sentences: u64,
    tokens: u64,
    ids: Vec<u32>,
    progress: Option<Box<dyn FnMut(Progress)>>,
}

/// Per-node arrays of the counting trie (training ids, in order of first sight).
#[derive(Default)]
struct Nodes {
    parent: Vec<u32>,
    word: Vec<u32>,
    count: Vec<u32>,
    /// Distinct left extensions (Kneser-Ney continuation count).
    cont: Vec<u32>,
    suffix: Vec<u32>,
    /// Level (order) in the low 7 bits; the high bit marks patterns that start with `<s>`.
    level: Vec<u8>,
}

const STARTS_BOS: u8 = 0x80;

impl Nodes {
    fn push(&mut self, parent: u32, word: u32, suffix: u32, level: u8) -> u32 {
        let id = self.word.len() as u32;
        self.parent.push(parent);
        self.word.push(word);
        self.count.push(0);
        self.cont.push(0);
        self.suffix.push(suffix);
        self.level.push(level);
        id
    }
    fn len(&self) -> usize {
        self.word.len()
    }
}

impl Trainer {
    /// A trainer with validated options.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when an option is out of range.
    pub fn new(opts: TrainOptions) -> Result<Self> {
        opts.validate()?;
        let mut t = Trainer {
            opts,
            vocab: Vocab::new(),
            nodes: Nodes::default(),
            unigram: Vec::new(),
            table: NgramTable::with_capacity(1 << 16),
            pending: String::new(),
            pending_bytes: Vec::new(),
            bytes_seen: 0,
            bytes_total: None,
            sentences: 0,
            tokens: 0,
            ids: Vec::new(),
            progress: None,
        };
        t.nodes.push(u32::MAX, 0, 0, 0); // root
        for id in 0..RESERVED {
            let level = if id == BOS { 1 | STARTS_BOS } else { 1 };
            let n = t.nodes.push(0, id, 0, level);
            t.unigram.push(n);
        }
        Ok(t)
    }

    /// Announces how many bytes will be fed in all, for progress reports and to size the tables.
    pub fn set_total_bytes(&mut self, total: u64) {
        self.bytes_total = Some(total);
        // About 0.15 new patterns per byte and order is typical of prose.
        let expect = (total / 7).saturating_mul(self.opts.max_pattern_length as u64 - 1);
        self.table.reserve(expect.min(1 << 28) as usize);
    }

    /// Calls `f` after every fed chunk and at each phase of [`Trainer::finish`].
    pub fn on_progress(&mut self, f: impl FnMut(Progress) + 'static) {
        self.progress = Some(Box::new(f));
    }

    fn report(&mut self, phase: Phase) {
        let p = Progress {
            phase,
            bytes_seen: self.bytes_seen,
            bytes_total: self.bytes_total,
        };
        if let Some(f) = self.progress.as_mut() {
            f(p);
        }
    }

    /// Feeds text. Lines may be split across calls: a line is counted when its newline (or the
    /// end of input in [`Trainer::finish`]) arrives.
    pub fn feed(&mut self, text: &str) {
        self.bytes_seen += text.len() as u64;
        let mut rest = text;
        while let Some(nl) = rest.find('\n') {
            let (line, tail) = rest.split_at(nl);
            rest = &tail[1..];
            if self.pending.is_empty() {
                self.count_line(line);
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.push_str(line);
                self.count_line(&whole);
                whole.clear();
                self.pending = whole;
            }
        }
        self.pending.push_str(rest);
        if self.pending.len() > MAX_LINE_BYTES {
            let cut = self
                .pending
                .rfind(char::is_whitespace)
                .unwrap_or(self.pending.len());
            let head: String = self.pending[..cut].to_owned();
            self.pending.drain(..cut);
            self.count_line(&head);
        }
        self.report(Phase::Counting);
    }

    /// Feeds raw bytes that must be UTF-8 text; a multi-byte character may be split across calls.
    ///
    /// # Errors
    /// [`Error::NotText`] on a NUL byte (binary data) or invalid UTF-8, with the byte offset.
    pub fn feed_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        // `bytes_seen` counts what was fed as text; held-back bytes of a split character
        // follow it directly.
        let base = self.bytes_seen;
        if let Some(i) = bytes.iter().position(|&b| b == 0) {
            return Err(Error::NotText(format!(
                "binary data (a NUL byte) at byte {}",
                base + (self.pending_bytes.len() + i) as u64
            )));
        }
        let mut buf = std::mem::take(&mut self.pending_bytes);
        buf.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&buf) {
            Ok(_) => buf.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                return Err(Error::NotText(format!(
                    "invalid UTF-8 at byte {}",
                    base + e.valid_up_to() as u64
                )))
            }
        };
        let text = std::str::from_utf8(&buf[..valid])
            .map_err(|_| Error::NotText("invalid UTF-8".into()))?;
        self.feed(text);
        self.pending_bytes = buf[valid..].to_vec();
        Ok(())
    }

    fn count_line(&mut self, line: &str) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut ids = std::mem::take(&mut self.ids);
        ids.clear();
        for tok in tokenize(line) {
            let id = self.vocab.insert(tok);
            if id as usize == self.unigram.len() {
                let n = self.nodes.push(0, id, 0, 1);
                self.unigram.push(n);
            }
            ids.push(id);
        }
        if !ids.is_empty() {
            ids.push(EOS);
            self.count_sentence(&ids);
            self.sentences += 1;
            self.tokens += ids.len() as u64;
        }
        self.ids = ids;
    }

    /// Counts every pattern of one sentence (`ids` ends with `</s>`; `<s>` is implied).
    fn count_sentence(&mut self, ids: &[u32]) {
        let n = self.opts.max_pattern_length;
        let nodes = &mut self.nodes;
        let mut prev = [0u32; MAX_ORDER + 1];
        let mut cur = [0u32; MAX_ORDER + 1];
        let bos = self.unigram[BOS as usize];
        bump(&mut nodes.count[bos as usize]);
        prev[1] = bos;
        let mut prev_len = 1usize;
        let mut slot = [0usize; MAX_ORDER + 1];
        for &w in ids {
            cur[1] = self.unigram[w as usize];
            bump(&mut nodes.count[cur[1] as usize]);
            let kmax = n.min(prev_len + 1);
            // The probes of one token are independent (each uses the previous token's nodes), so
            // their cache misses can overlap: find and prefetch every slot first, then probe.
            self.table.make_room(kmax);
            for k in 2..=kmax {
                slot[k] = self.table.home(prev[k - 1], w);
            }
            for k in 2..=kmax {
                let parent = prev[k - 1];
                let next_id = nodes.len() as u32;
                let (node, fresh) = self.table.count(slot[k], parent, w, next_id);
                if fresh {
                    // Only sequential appends here: the `<s>` flag and continuation counts are
                    // derived in one pass at the end, off the per-token path.
                    nodes.push(parent, w, cur[k - 1], k as u8);
                }
                cur[k] = node;
            }
            std::mem::swap(&mut prev, &mut cur);
            prev_len = kmax.min(n - 1).max(1);
        }
    }

    /// Smooths the counts and builds the model.
    ///
    /// # Errors
    /// [`Error::EmptyInput`] when no token was fed.
    pub fn finish(mut self) -> Result<Model> {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.count_line(&last);
        }
        if !self.pending_bytes.is_empty() {
            return Err(Error::NotText(
                "the input ends inside a UTF-8 character".into(),
            ));
        }
        if self.tokens == 0 {
            return Err(Error::EmptyInput);
        }
        self.report(Phase::Smoothing);
        let order = self.opts.max_pattern_length;
        let mut nodes = std::mem::take(&mut self.nodes);
        let table = std::mem::replace(&mut self.table, NgramTable::with_capacity(0));
        for s in table.slots.iter().filter(|s| s.key != 0) {
            nodes.count[s.node as usize] = s.count;
        }
        drop(table);
        // Nodes are numbered in order of first sight, parents before children, so one forward
        // pass propagates the `<s>` flag; each pattern adds one left extension to its suffix.
        for i in 1 + RESERVED as usize..nodes.len() {
            if nodes.level[i] & !STARTS_BOS >= 2 {
                let p = nodes.parent[i] as usize;
                nodes.level[i] |= nodes.level[p] & STARTS_BOS;
                let sfx = nodes.suffix[i] as usize;
                nodes.cont[sfx] = nodes.cont[sfx].saturating_add(1);
            }
        }

        // Frequent words first: smaller ids, smaller varints, unigram entries that sit together.
        let v = self.vocab.len();
        let mut by_freq: Vec<u32> = (RESERVED..v as u32).collect();
        by_freq.sort_unstable_by(|&a, &b| {
            let (ca, cb) = (
                nodes.count[self.unigram[a as usize] as usize],
                nodes.count[self.unigram[b as usize] as usize],
            );
            cb.cmp(&ca)
                .then_with(|| self.vocab.word(a).cmp(self.vocab.word(b)))
        });
        let mut new_word = vec![0u32; v];
        for id in 0..RESERVED {
            new_word[id as usize] = id;
        }
        for (rank, &old) in by_freq.iter().enumerate() {
            new_word[old as usize] = RESERVED + rank as u32;
        }
        let vocab = Vocab::from_words(
            (0..RESERVED)
                .chain(by_freq.iter().copied())
                .map(|id| self.vocab.word(id).to_owned()),
        )
        .ok_or_else(|| Error::corrupted("internal: vocabulary rebuild failed"))?;

        // Adjusted counts: raw at the top order and for patterns that start with `<s>`,
        // continuation counts elsewhere, zero for `<s>` and `<unk>` themselves.
        let a: Vec<u32> = (0..nodes.len())
            .map(|i| {
                let lv = nodes.level[i];
                let k = (lv & !STARTS_BOS) as usize;
                let reserved_unigram = k == 1 && (nodes.word[i] == BOS || nodes.word[i] == UNK);
                if i == 0 || k == 0 || reserved_unigram {
                    0
                } else if k == order || lv & STARTS_BOS != 0 {
                    nodes.count[i]
                } else {
                    nodes.cont[i]
                }
            })
            .collect();

        let (discounts, fallback) = discounts(order, &nodes.level, &a);
        let kept = self.prune(&nodes, order);
        let pruned_patterns = kept.iter().filter(|&&k| !k).count() as u64;

        let (trie, new_of) = bfs_order(&nodes, &kept, &new_word, order);
        let mut a_new = vec![0u32; trie.nodes()];
        let mut suffix = vec![0u32; trie.nodes()];
        let mut pruned = if pruned_patterns > 0 {
            vec![0u32; trie.level_start[order] as usize]
        } else {
            Vec::new()
        };
        for old in 1..nodes.len() {
            let n = new_of[old];
            if n == u32::MAX {
                let p = new_of[nodes.parent[old] as usize];
                if p != u32::MAX {
                    pruned[p as usize] = pruned[p as usize].saturating_add(a[old]);
                }
                continue;
            }
            a_new[n as usize] = a[old];
            suffix[n as usize] = new_of[nodes.suffix[old] as usize];
        }
        drop(nodes);

        let stats = TrainingStats {
            options: self.opts.clone(),
            bytes: self.bytes_seen,
            sentences: self.sentences,
            tokens: self.tokens,
            discounts: discounts.clone(),
            discount_fallback: fallback,
            pruned_patterns,
        };
        self.report(Phase::Indexing);
        let parts = Parts {
            vocab,
            trie,
            values: Values::Counts {
                a: a_new,
                pruned,
                discounts,
            },
            training: Some(stats),
        };
        let model = Model::from_parts(parts, Some(suffix), None)?;
        self.report(Phase::Done);
        Ok(model)
    }

    /// Which training nodes survive `min_frequency` and `max_patterns`.
    fn prune(&self, nodes: &Nodes, order: usize) -> Vec<bool> {
        let n = nodes.len();
        let level = |i: usize| (nodes.level[i] & !STARTS_BOS) as usize;
        let min = self.opts.min_frequency;
        let mut kept: Vec<bool> = (0..n)
            .map(|i| level(i) <= 1 || nodes.count[i] >= min)
            .collect();
        let cap = self.opts.max_patterns;
        let unigrams = self.unigram.len() as u64;
        let candidates: u64 = (0..n).filter(|&i| level(i) >= 2 && kept[i]).count() as u64;
        if cap > 0 && unigrams + candidates > cap {
            let room = cap.saturating_sub(unigrams) as usize;
            // Rank by count (high first), then order (short first), then first sight: every
            // prefix and suffix of a pattern ranks before it, so any cut keeps the set closed.
            let mut rank: Vec<(u32, u8, u32)> = (0..n)
                .filter(|&i| level(i) >= 2 && kept[i])
                .map(|i| (u32::MAX - nodes.count[i], level(i) as u8, i as u32))
                .collect();
            if room < rank.len() {
                if room > 0 {
                    rank.select_nth_unstable(room - 1);
                }
                for &(_, _, i) in &rank[room..] {
                    kept[i as usize] = false;
                }
            }
        }
        // Node ids grow with first sight, and a parent or suffix is always seen first, so one
        // forward pass closes the set even if counts were saturated.
        for i in 1..n {
            if level(i) >= 2 && !(kept[nodes.parent[i] as usize] && kept[nodes.suffix[i] as usize])
            {
                kept[i] = false;
            }
        }
        let _ = order;
        kept
    }
}

fn bump(c: &mut u32) {
    *c = c.saturating_add(1);
}

/// Modified Kneser-Ney discounts per order from the counts of adjusted counts 1..=4, with
/// lmplz's fallback (0.5, 1, 1.5) where they are undefined or out of range.
fn discounts(order: usize, level: &[u8], a: &[u32]) -> (Vec<[f64; 3]>, Vec<u8>) {
    let mut n = vec![[0u64; 5]; order + 1];
    for (i, &lv) in level.iter().enumerate() {
        let k = (lv & !STARTS_BOS) as usize;
        let c = a[i] as usize;
        if (1..=4).contains(&c) && (1..=order).contains(&k) {
            n[k][c] += 1;
        }
    }
    let mut out = Vec::with_capacity(order);
    let mut fallback = Vec::new();
    for (k, nk) in n.iter().enumerate().skip(1) {
        let d = modified_kn_discounts(nk);
        match d {
            Some(d) => out.push(d),
            None => {
                out.push([0.5, 1.0, 1.5]);
                fallback.push(k as u8);
            }
        }
    }
    (out, fallback)
}

/// D1..D3 from n1..n4 (index 1..=4 of `n`), or `None` when lmplz would refuse them.
pub(crate) fn modified_kn_discounts(n: &[u64; 5]) -> Option<[f64; 3]> {
    if n[1] == 0 || n[2] == 0 || n[3] == 0 {
        return None;
    }
    let nf = n.map(|x| x as f64);
    let y = nf[1] / (nf[1] + 2.0 * nf[2]);
    let mut d = [0.0; 3];
    for j in 1..=3 {
        let dj = j as f64 - (j as f64 + 1.0) * y * nf[j + 1] / nf[j];
        if !(0.0..=j as f64).contains(&dj) {
            return None;
        }
        d[j - 1] = dj;
    }
    Some(d)
}

/// Orders the kept nodes breadth-first (see [`Trie`]) and maps training ids to trie nodes
/// (`u32::MAX` for pruned ones).
fn bfs_order(nodes: &Nodes, kept: &[bool], new_word: &[u32], order: usize) -> (Trie, Vec<u32>) {
    let n = nodes.len();
    let level = |i: usize| (nodes.level[i] & !STARTS_BOS) as usize;
    let mut by_level: Vec<Vec<u32>> = vec![Vec::new(); order + 1];
    for i in 1..n {
        if kept[i] {
            by_level[level(i)].push(i as u32);
        }
    }
    let vocab = by_level[1].len();
    let total: usize = 1 + by_level.iter().map(Vec::len).sum::<usize>();
    let mut new_of = vec![u32::MAX; n];
    let mut word = vec![0u32; total];
    let mut level_start = vec![0u32, 1];
    new_of[0] = 0;
    for &u in &by_level[1] {
        let w = new_word[nodes.word[u as usize] as usize];
        new_of[u as usize] = 1 + w;
        word[1 + w as usize] = w;
    }
    level_start.push((1 + vocab) as u32);
    let mut child_start = vec![0u32; if order >= 1 { 1 + vocab + 1 } else { 1 }];
    child_start[0] = 1;
    child_start[1] = (1 + vocab) as u32;
    for k in 2..=order {
        let pstart = level_start[k - 1] as usize;
        let pend = level_start[k] as usize;
        // This level starts where the parents' level ends.
        let base = pend;
        // One independent random read per node for its parent's new id and its word; the sort
        // below then works on local arrays only. Slots pack (word << 32 | node) so sorting a
        // parent's group sorts it by word.
        let items = &by_level[k];
        let parent_of: Vec<u32> = items
            .iter()
            .map(|&c| new_of[nodes.parent[c as usize] as usize] - pstart as u32)
            .collect();
        let mut counts = vec![0u32; pend - pstart + 1];
        for &p in &parent_of {
            counts[p as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        // counts[i] is now the first slot of parent pstart + i.
        child_start.truncate(pstart);
        child_start.extend(counts.iter().map(|&c| (base as u32) + c));
        let mut slots = vec![0u64; items.len()];
        let mut fill = counts.clone();
        for (&c, &p) in items.iter().zip(&parent_of) {
            let w = new_word[nodes.word[c as usize] as usize];
            slots[fill[p as usize] as usize] = (w as u64) << 32 | c as u64;
            fill[p as usize] += 1;
        }
        for p in 0..pend - pstart {
            let group = &mut slots[counts[p] as usize..counts[p + 1] as usize];
            if group.len() > 1 {
                group.sort_unstable();
            }
        }
        for (i, &slot) in slots.iter().enumerate() {
            let id = base + i;
            new_of[slot as u32 as usize] = id as u32;
            word[id] = (slot >> 32) as u32;
        }
        level_start.push((base + slots.len()) as u32);
    }
    // child_start covers levels 0..order-1 plus the closing entry.
    child_start.truncate(level_start[order] as usize + 1);
    let closing = total as u32;
    let len = child_start.len();
    child_start[len - 1] = closing;
    (
        Trie {
            level_start,
            word,
            child_start,
        },
        new_of,
    )
}

/// Open-addressing hash table from `(parent node, word)` to node and count, linear probing.
///
/// Written here rather than using a general map because it is the training hot loop: one
/// 16-byte slot holds key, node and count, so a probe and its count update cost one cache miss,
/// and the probes of a token can be prefetched together. The key packs into a `u64` that is
/// never zero (parents of keyed nodes are unigrams or deeper, never the root).
struct NgramTable {
    slots: Vec<Slot>,
    len: usize,
    shift: u32,
}

#[derive(Clone, Copy, Default)]
#[repr(C, align(16))]
struct Slot {
    key: u64,
    node: u32,
    count: u32,
}

impl NgramTable {
    fn with_capacity(n: usize) -> Self {
        let cap = (n.max(8) * 2).next_power_of_two();
        NgramTable {
            slots: vec![Slot::default(); cap],
            len: 0,
            shift: 64 - cap.trailing_zeros(),
        }
    }

    fn reserve(&mut self, n: usize) {
        if n * 2 > self.slots.len() {
            self.grow_to((n * 2).next_power_of_two());
        }
    }

    /// Keeps the load under one half even if `extra` new keys arrive.
    #[inline]
    fn make_room(&mut self, extra: usize) {
        if (self.len + extra) * 2 > self.slots.len() {
            self.grow_to(self.slots.len() * 2);
        }
    }

    #[inline]
    fn key(parent: u32, word: u32) -> u64 {
        ((parent as u64) << 32) | word as u64
    }

    #[inline]
    fn index(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    /// The home slot of a key, prefetched.
    #[inline]
    fn home(&self, parent: u32, word: u32) -> usize {
        let i = self.index(Self::key(parent, word));
        prefetch(&self.slots[i]);
        i
    }

    /// Counts one occurrence of `(parent, word)`, starting the probe at `home`; a new key gets
    /// `node`. Returns the key's node and whether it was new.
    #[inline]
    fn count(&mut self, home: usize, parent: u32, word: u32, node: u32) -> (u32, bool) {
        let key = Self::key(parent, word);
        let mask = self.slots.len() - 1;
        let mut i = home;
        loop {
            let s = &mut self.slots[i];
            if s.key == key {
                s.count = s.count.saturating_add(1);
                return (s.node, false);
            }
            if s.key == 0 {
                *s = Slot {
                    key,
                    node,
                    count: 1,
                };
                self.len += 1;
                return (node, true);
            }
            i = (i + 1) & mask;
        }
    }

    fn grow_to(&mut self, cap: usize) {
        let old = std::mem::take(&mut self.slots);
        self.slots = vec![Slot::default(); cap];
        self.shift = 64 - cap.trailing_zeros();
        let mask = cap - 1;
        for s in old.into_iter().filter(|s| s.key != 0) {
            let mut i = self.index(s.key);
            while self.slots[i].key != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_finds_what_it_stored_across_growth() {
        let mut t = NgramTable::with_capacity(4);
        for i in 0..10_000u32 {
            t.make_room(1);
            let h = t.home(1 + i % 97, i);
            assert_eq!(t.count(h, 1 + i % 97, i, i), (i, true));
        }
        for i in 0..10_000u32 {
            let h = t.home(1 + i % 97, i);
            assert_eq!(t.count(h, 1 + i % 97, i, 0), (i, false));
        }
        assert!(t.slots.iter().filter(|s| s.key != 0).all(|s| s.count == 2));
    }

    #[test]
    fn discounts_follow_the_formula_and_fall_back() {
        let d = modified_kn_discounts(&[0, 100, 40, 20, 10]).unwrap();
        let y = 100.0 / 180.0;
        assert!((d[0] - (1.0 - 2.0 * y * 40.0 / 100.0)).abs() < 1e-12);
        assert!(modified_kn_discounts(&[0, 5, 0, 1, 1]).is_none());
    }

    #[test]
    fn lines_split_across_feeds_count_once() {
        let whole = {
            let mut t = Trainer::new(TrainOptions::default()).unwrap();
            t.feed("a b c\nd e\n");
            t.finish().unwrap()
        };
        let split = {
            let mut t = Trainer::new(TrainOptions::default()).unwrap();
            t.feed("a b");
            t.feed(" c\nd");
            t.feed(" e\n");
            t.finish().unwrap()
        };
        assert_eq!(whole.to_bytes(), split.to_bytes());
    }

    #[test]
    fn utf8_split_across_chunks_is_accepted_and_nul_rejected() {
        let text = "año ¿qué?\n".as_bytes();
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        for b in text {
            t.feed_bytes(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(t.finish().unwrap().info().vocab_size, 3 + 4);
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        assert!(matches!(t.feed_bytes(b"ab\0c"), Err(Error::NotText(_))));
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        assert!(matches!(t.feed_bytes(b"ab\xffc"), Err(Error::NotText(_))));
    }

    #[test]
    fn empty_input_is_an_error() {
        let mut t = Trainer::new(TrainOptions::default()).unwrap();
        t.feed("   \n\n");
        assert!(matches!(t.finish(), Err(Error::EmptyInput)));
    }
}
