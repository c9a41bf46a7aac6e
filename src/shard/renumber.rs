//! From a shard's numbering to the model's: words by falling frequency (ties by spelling), as
//! the trainer numbers them, and the trie's levels re-sorted to match.

use super::CountShard;
use crate::count::Counted;
use crate::error::{Error, Result};
use crate::trie::Trie;
use crate::vocab::{frequency_order, Vocab, RESERVED};

/// `shard`'s vocabulary and counts in the trainer's numbering: the counts that
/// [`Trainer`](crate::Trainer) would have counted from the same text, node for node.
///
/// # Errors
/// [`Error::Corrupted`] when the renumbered trie is not a valid one (it always is for a shard
/// that was read and merged).
pub(super) fn by_frequency(shard: CountShard) -> Result<(Vocab, Counted)> {
    let CountShard {
        vocab: words,
        trie,
        count,
        ..
    } = shard;
    let v = words.len();
    // The trainer's order (`Trainer::renumber_by_frequency`): the reserved words keep their
    // ids, the others by falling count, ties by spelling.
    let by_freq = frequency_order(v, |w| count[1 + w as usize] as u64, |w| &words[w as usize]);
    let mut new_id: Vec<u32> = (0..v as u32).collect();
    for (rank, &old) in by_freq.iter().enumerate() {
        new_id[old as usize] = RESERVED + rank as u32;
    }
    let vocab = Vocab::from_words(
        (0..RESERVED)
            .chain(by_freq.iter().copied())
            .map(|id| &*words[id as usize]),
    )
    .ok_or_else(|| Error::corrupted("count shard: a word appears twice"))?;
    drop(words);

    let order = trie.order();
    let n = trie.nodes();
    // Each node's place in the new trie.
    let mut new_node = vec![0u32; n];
    let mut word = Vec::with_capacity(n);
    let mut counts = Vec::with_capacity(n);
    word.push(0);
    counts.push(0);
    word.extend(0..v as u32);
    counts.resize(1 + v, 0);
    for old in 0..v {
        let to = 1 + new_id[old] as usize;
        new_node[1 + old] = to as u32;
        counts[to] = count[1 + old];
    }
    let mut child_start = vec![1u32];
    let mut sorted: Vec<(u64, u32)> = Vec::new();
    for k in 2..=order {
        // This level's nodes by (new parent, new word): the trie order of the new numbering.
        sorted.clear();
        for p in trie.level(k - 1) {
            let parent = new_node[p] as u64;
            for c in trie.children(p) {
                sorted.push((
                    parent << 32 | new_id[trie.word[c] as usize] as u64,
                    c as u32,
                ));
            }
        }
        sorted.sort_unstable_by_key(|&(key, _)| key);
        let base = word.len();
        let parents = trie.level(k - 1);
        let mut starts = vec![0u32; parents.len() + 1];
        for (rank, &(key, c)) in sorted.iter().enumerate() {
            new_node[c as usize] = (base + rank) as u32;
            word.push(key as u32);
            counts.push(count[c as usize]);
            starts[(key >> 32) as usize - parents.start + 1] += 1;
        }
        // The parents' children starts, in the parents' new order.
        let mut at = base as u32;
        for s in &starts[1..] {
            child_start.push(at);
            at += s;
        }
    }
    child_start.push(word.len() as u32);
    drop((sorted, new_node, count));
    let trie = Trie {
        level_start: trie.level_start,
        word,
        child_start,
    };
    trie.validate()?;
    let suffix = trie.suffix_links()?;
    Ok((
        vocab,
        Counted {
            trie,
            count: counts,
            suffix,
        },
    ))
}
