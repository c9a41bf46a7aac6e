//! The vocabulary: token strings to dense `u32` ids and back.
//!
//! Ids 0, 1 and 2 are the reserved tokens `<unk>`, `<s>` and `</s>`; a trained model numbers the
//! other words by falling frequency, so frequent words get small ids (smaller varints in the
//! model file, and their index entries sit together in memory).

use rustc_hash::FxHashMap;

/// Id of `<unk>`, the token every unknown word maps to.
pub const UNK: u32 = 0;
/// Id of `<s>`, the sentence start (context only, never generated or scored).
pub const BOS: u32 = 1;
/// Id of `</s>`, the sentence end.
pub const EOS: u32 = 2;
/// How many ids are reserved at the start of every vocabulary.
pub const RESERVED: u32 = 3;

/// Token strings of the reserved ids, in id order.
pub const RESERVED_TOKENS: [&str; 3] = ["<unk>", "<s>", "</s>"];

/// The words `RESERVED..v` in the order the model numbers them: by falling count, ties by
/// spelling (frequent words get small ids, hence small varints in the model file and index
/// entries that sit together). The trainer, the merge of count shards and the bounded build
/// all number words so.
pub(crate) fn frequency_order<'w>(
    v: usize,
    count: impl Fn(u32) -> u64,
    word: impl Fn(u32) -> &'w str,
) -> Vec<u32> {
    let mut by_freq: Vec<u32> = (RESERVED..v as u32).collect();
    by_freq.sort_unstable_by(|&a, &b| count(b).cmp(&count(a)).then_with(|| word(a).cmp(word(b))));
    by_freq
}

/// A bidirectional map between token strings and ids. Every vocabulary holds the reserved
/// tokens at their ids (`Default` is [`Vocab::new`]).
#[derive(Debug, Clone)]
pub struct Vocab {
    words: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
}

impl Default for Vocab {
    fn default() -> Self {
        Vocab::new()
    }
}

impl Vocab {
    /// A vocabulary holding only the reserved tokens.
    pub fn new() -> Self {
        let mut v = Vocab {
            words: Vec::new(),
            ids: FxHashMap::default(),
        };
        for t in RESERVED_TOKENS {
            v.insert(t);
        }
        v
    }

    /// Builds a vocabulary from words in id order (the reserved tokens first).
    ///
    /// Returns `None` when the reserved tokens are not first, a word appears twice, or a word is
    /// empty or holds whitespace (no token can: such a word could not be written to an ARPA
    /// file, whose fields whitespace separates).
    pub fn from_words<I, S>(words: I) -> Option<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let words = words.into_iter();
        let mut v = Vocab {
            words: Vec::with_capacity(words.size_hint().0),
            ids: FxHashMap::default(),
        };
        v.ids.reserve(words.size_hint().0);
        for w in words {
            let w = w.as_ref();
            let id = v.words.len() as u32;
            if id < RESERVED && w != RESERVED_TOKENS[id as usize] {
                return None;
            }
            if w.is_empty() || w.contains(char::is_whitespace) {
                return None;
            }
            if v.ids.insert(w.into(), id).is_some() {
                return None;
            }
            v.words.push(w.into());
        }
        if v.words.len() < RESERVED as usize {
            return None;
        }
        Some(v)
    }

    /// The id of `word`, adding it if new.
    pub fn insert(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = self.words.len() as u32;
        self.words.push(word.into());
        self.ids.insert(word.into(), id);
        id
    }

    /// The id of `word`, if known.
    pub fn get(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The id of `word`, or [`UNK`].
    pub fn id_or_unk(&self, word: &str) -> u32 {
        self.get(word).unwrap_or(UNK)
    }

    /// The token string of `id` (`"<unk>"` for an id out of range).
    pub fn word(&self, id: u32) -> &str {
        self.words
            .get(id as usize)
            .map_or(RESERVED_TOKENS[UNK as usize], |w| w)
    }

    /// Number of ids, reserved tokens included.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// True when the vocabulary holds no id at all (never the case for one made by [`Vocab::new`]
    /// or [`Vocab::from_words`], which always hold the reserved tokens).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// All token strings in id order.
    pub fn words(&self) -> impl ExactSizeIterator<Item = &str> {
        self.words.iter().map(|w| &**w)
    }

    /// Bytes used by the strings and the map (an estimate for memory statistics).
    pub fn heap_bytes(&self) -> usize {
        let strings: usize = self.words.iter().map(|w| w.len()).sum();
        // Each word is stored twice (list and map key) plus the map's slot and the list's pointer.
        2 * strings + self.words.len() * (16 + 16 + 8 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_ids_come_first() {
        let v = Vocab::new();
        assert_eq!(v.get("<unk>"), Some(UNK));
        assert_eq!(v.get("<s>"), Some(BOS));
        assert_eq!(v.get("</s>"), Some(EOS));
        assert_eq!(v.len(), 3);
    }

    #[test]
    fn insert_is_idempotent_and_unknown_maps_to_unk() {
        let mut v = Vocab::new();
        let a = v.insert("cat");
        assert_eq!(v.insert("cat"), a);
        assert_eq!(v.word(a), "cat");
        assert_eq!(v.id_or_unk("dog"), UNK);
        assert_eq!(v.word(999), "<unk>");
    }

    #[test]
    fn every_vocabulary_holds_the_reserved_tokens() {
        let v = Vocab::default();
        assert_eq!(v.len(), RESERVED as usize);
        assert_eq!(v.get("</s>"), Some(EOS));
    }

    #[test]
    fn from_words_rejects_bad_lists() {
        assert!(Vocab::from_words(["<unk>", "<s>", "</s>", "a"]).is_some());
        assert!(Vocab::from_words(["a", "<s>", "</s>"]).is_none());
        assert!(Vocab::from_words(["<unk>", "<s>", "</s>", "a", "a"]).is_none());
        assert!(Vocab::from_words(["<unk>"]).is_none());
        for bad in ["", "a b", "a\u{a0}b", "tab\t", "\r"] {
            assert!(
                Vocab::from_words(["<unk>", "<s>", "</s>", bad]).is_none(),
                "{bad:?}"
            );
        }
    }
}
