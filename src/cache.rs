//! The activation cache: prepared (shaped) next-token distributions by context, kept between
//! requests of the same shaping options, bounded by entries and by bytes, with the figures a
//! model reports of it ([`CacheStats`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use lru::LruCache;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::{Deserialize, Serialize};

use crate::config::{GenerateOptions, ShapingOptions};

/// The declaration of [`CacheStats`], the one list of its fields:
/// `cache_stats_fields!(result_fields [m ARGS])` hands it to the macro `m`
/// (the form: `src/shapes.rs`). The core makes the struct from it, the WebAssembly bindings its
/// JavaScript object and TypeScript interface.
#[macro_export]
macro_rules! cache_stats_fields {
    ($m:ident $($args:tt)*) => {
        $m! {
            $($args)*;

            /// Cumulative activation-cache figures of a model.
            #[js_doc = "Cumulative activation-cache figures of a model."]
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
            #[non_exhaustive]
            struct CacheStats {
                /// Look-ups answered from the cache.
                #[js_doc = "Look-ups answered from the cache."]
                hits: u64,
                /// Look-ups that prepared a distribution.
                #[js_doc = "Look-ups that prepared a distribution."]
                misses: u64,
                /// Entries held now.
                #[js_doc = "Entries held now."]
                entries: usize,
                /// Capacity, in entries.
                #[js_doc = "Capacity, in entries."]
                capacity: usize,
                /// Memory the entries hold now, in bytes (approximately; at most
                /// [`ACTIVATION_CACHE_MAX_BYTES`] plus one entry).
                ///
                /// [`ACTIVATION_CACHE_MAX_BYTES`]: crate::ACTIVATION_CACHE_MAX_BYTES
                #[js_doc = "Memory the entries hold now, in bytes (approximately; at most 64 MiB plus one entry)."]
                bytes: usize,
            }
        }
    };
}

cache_stats_fields!(result_fields[declare_result]);

/// [`CacheStats`] kept in atomics, updated as each request finishes.
#[derive(Default)]
pub(crate) struct CacheFigures {
    hits: AtomicU64,
    misses: AtomicU64,
    entries: AtomicUsize,
    capacity: AtomicUsize,
    bytes: AtomicUsize,
}

impl CacheFigures {
    /// The figures as of the last finished request.
    pub(crate) fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.entries.load(Ordering::Relaxed),
            capacity: self.capacity.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
        }
    }

    /// Adds a finished request's hits and misses; `shared`: the model's own cache, when the
    /// request used it (a private one's size is not the model's), whose size is taken.
    pub(crate) fn record(&self, hits: u64, misses: u64, shared: Option<&ActivationCache>) {
        self.hits.fetch_add(hits, Ordering::Relaxed);
        self.misses.fetch_add(misses, Ordering::Relaxed);
        if let Some(c) = shared {
            let entries = c.lru.as_ref().map_or(0, |l| l.len());
            self.entries.store(entries, Ordering::Relaxed);
            self.capacity.store(c.cap, Ordering::Relaxed);
            self.bytes.store(c.bytes, Ordering::Relaxed);
        }
    }
}

/// A prepared next-token distribution: `n` cumulative weights, words, next states and the
/// contexts the words were found at, then the contexts consulted to build it (for sparsity),
/// in one allocation. A word found at a backed-off context has the state after it there: the
/// draw that picks it refines it ([`Index::refine_next`](crate::index::Index::refine_next)),
/// so only drawn words pay for the walk, not every candidate.
pub(crate) struct Prepared {
    pub(crate) n: usize,
    pub(crate) data: Box<[u32]>,
}

impl Prepared {
    pub(crate) fn cum(&self) -> &[u32] {
        &self.data[..self.n]
    }
    pub(crate) fn words(&self) -> &[u32] {
        &self.data[self.n..2 * self.n]
    }
    pub(crate) fn next(&self) -> &[u32] {
        &self.data[2 * self.n..3 * self.n]
    }
    pub(crate) fn found(&self) -> &[u32] {
        &self.data[3 * self.n..4 * self.n]
    }
    pub(crate) fn visited(&self) -> &[u32] {
        &self.data[4 * self.n..]
    }
}

/// Buffers reused by every preparation, so a cache miss allocates only its result.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per word: the preparation that last saw it (`round`) and its candidate index there, so
    /// merging candidates across contexts needs no hashing.
    pub(crate) seen: Vec<(u32, u32)>,
    pub(crate) round: u32,
    /// (weight, word, next state, context found at)
    pub(crate) cand: Vec<(f64, u32, u32, u32)>,
    /// A context's picked successors and their weights.
    pub(crate) picks: Vec<(usize, f32)>,
    pub(crate) visited: Vec<u32>,
}

/// The most memory the activation cache's distributions may hold, whatever its entry count:
/// beyond it the least recently used are dropped. 64 MiB keeps a browser tab's cache small
/// next to its model, and holds thousands of distributions of the largest presets.
pub const ACTIVATION_CACHE_MAX_BYTES: usize = 64 << 20;

/// Bookkeeping bytes of one cache entry besides its data: the LRU node (key, value, two links)
/// and its hash-table slot.
const ENTRY_OVERHEAD: usize = 48;

impl Prepared {
    /// The memory this entry holds in the cache, approximately.
    fn bytes(&self) -> usize {
        ENTRY_OVERHEAD + std::mem::size_of::<Prepared>() + 4 * self.data.len()
    }
}

/// LRU of context -> prepared distribution, valid for one set of shaping options. It grows as
/// it fills (nothing is allocated for its capacity up front) and is bounded both by its entry
/// count and by [`ACTIVATION_CACHE_MAX_BYTES`].
#[derive(Default)]
pub(crate) struct ActivationCache {
    pub(crate) lru: Option<LruCache<u32, Prepared, FxBuildHasher>>,
    /// Entries allowed (`activation_cache_size`).
    cap: usize,
    /// Bytes held by the entries ([`Prepared::bytes`]).
    bytes: usize,
    /// Successor indices of big contexts by falling weight (independent of the options).
    pub(crate) ranked: FxHashMap<u32, Vec<u32>>,
    pub(crate) scratch: Scratch,
    /// The shaping options the entries were prepared for.
    shaping: Option<ShapingOptions>,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl ActivationCache {
    /// Makes the cache fit `opts`: a smaller capacity drops the least recently used entries,
    /// different shaping options empty it (its distributions were made for the old ones).
    pub(crate) fn configure(&mut self, opts: &GenerateOptions) {
        let shaping = Some(opts.shaping());
        self.cap = opts.activation_cache_size;
        if self.cap == 0 {
            self.lru = None;
            self.bytes = 0;
        } else if self.lru.is_none() || self.shaping != shaping {
            self.lru = Some(LruCache::unbounded_with_hasher(FxBuildHasher));
            self.bytes = 0;
        } else {
            self.evict();
        }
        self.shaping = shaping;
    }

    /// Keeps `p` for `start`, dropping the least recently used entries beyond the bounds.
    pub(crate) fn put(&mut self, start: u32, p: Prepared) {
        if let Some(lru) = self.lru.as_mut() {
            self.bytes += p.bytes();
            if let Some(old) = lru.put(start, p) {
                self.bytes -= old.bytes();
            }
            self.evict();
        }
    }

    /// Drops the least recently used entries while over a bound (the newest always stays).
    fn evict(&mut self) {
        if let Some(lru) = self.lru.as_mut() {
            while lru.len() > self.cap || (self.bytes > ACTIVATION_CACHE_MAX_BYTES && lru.len() > 1)
            {
                match lru.pop_lru() {
                    Some((_, old)) => self.bytes -= old.bytes(),
                    None => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_ACTIVATION_CACHE_SIZE;

    #[test]
    fn the_activation_cache_is_bounded_by_entries_and_bytes() {
        let entry = |words: usize| Prepared {
            n: 1,
            data: vec![0; words].into_boxed_slice(),
        };
        let shaped = GenerateOptions {
            top_k: 5,
            activation_cache_size: MAX_ACTIVATION_CACHE_SIZE,
            ..Default::default()
        };
        let mut cache = ActivationCache::default();
        cache.configure(&shaped);
        // Entries of 1 MiB each: the byte bound holds long before the entry bound.
        for start in 0..200 {
            cache.put(start, entry(1 << 18));
            assert!(cache.bytes <= ACTIVATION_CACHE_MAX_BYTES + entry(1 << 18).bytes());
        }
        let held = cache.lru.as_ref().unwrap().len();
        assert!((60..=64).contains(&held), "{held}");
        let sum: usize = cache
            .lru
            .as_ref()
            .unwrap()
            .iter()
            .map(|(_, p)| p.bytes())
            .sum();
        assert_eq!(cache.bytes, sum);
        // The most recent entries stay.
        assert!(cache.lru.as_ref().unwrap().contains(&199));
        assert!(!cache.lru.as_ref().unwrap().contains(&0));
        // A smaller entry count drops the least recently used at once.
        cache.configure(&GenerateOptions {
            activation_cache_size: 10,
            ..shaped.clone()
        });
        assert_eq!(cache.lru.as_ref().unwrap().len(), 10);
        assert_eq!(cache.bytes, 10 * entry(1 << 18).bytes());
        // Other shaping options empty it.
        cache.configure(&GenerateOptions {
            top_k: 6,
            activation_cache_size: 10,
            ..shaped
        });
        assert_eq!((cache.lru.as_ref().unwrap().len(), cache.bytes), (0, 0));
    }
}
