//! The count shards' tests: written and read back, merged into the model of all their text,
//! and every damaged shard refused.
#![cfg(test)]

use super::*;
use crate::testing::TINY;
use crate::{BoundedTrainer, Trainer};

fn opts(order: usize, min_frequency: u32, max_patterns: u64) -> TrainOptions {
    TrainOptions {
        max_pattern_length: order,
        min_frequency,
        max_patterns,
    }
}

fn counts(text: &str, order: usize) -> CountShard {
    let mut t = Trainer::new(opts(order, 1, 0)).unwrap();
    t.feed(text);
    t.finish_counts().unwrap()
}

fn trained(text: &str, o: &TrainOptions) -> Vec<u8> {
    let mut t = Trainer::new(o.clone()).unwrap();
    t.feed(text);
    t.finish_file().unwrap().bytes
}

/// `text` cut into `n` pieces at line ends (each piece ends with its newline).
fn pieces(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let per = lines.len().div_ceil(n);
    lines.chunks(per).map(|c| c.concat()).collect()
}

/// A reader that hands out a few bytes at a time, so that every field crosses a refill.
struct Trickle<'a>(&'a [u8], usize);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn a_shard_reads_back_as_written() {
    for order in [1, 2, 3, 5] {
        let shard = counts(TINY, order);
        let bytes = shard.to_bytes();
        assert_eq!(CountShard::from_bytes(&bytes).unwrap(), shard);
        for step in [1, 3, 7] {
            let read = CountShard::merge([Trickle(&bytes, step)]).unwrap();
            assert_eq!(read, shard, "order {order}, {step} bytes a read");
        }
        let mut written = Vec::new();
        shard.write_to(&mut written).unwrap();
        assert_eq!(written, bytes);
        assert_eq!(shard.order(), order);
        assert_eq!(shard.bytes(), TINY.len() as u64);
        assert!(shard.sentences() > 0 && shard.patterns() > shard.vocab_len() as u64 - 1);
    }
}

#[test]
fn merged_shards_make_the_model_of_all_their_text() {
    // Order 16: patterns too long for one 128-bit key are merged as arrays of words.
    for (order, min_frequency, max_patterns) in [
        (1, 1, 0),
        (3, 1, 0),
        (5, 1, 0),
        (4, 2, 0),
        (3, 1, 500),
        (16, 1, 0),
    ] {
        let o = opts(order, min_frequency, max_patterns);
        let whole = trained(TINY, &o);
        for n in [1, 2, 3, 7] {
            let shards: Vec<Vec<u8>> = pieces(TINY, n)
                .iter()
                .map(|p| counts(p, order).to_bytes())
                .collect();
            assert_eq!(shards.len(), n);
            let merged = CountShard::merge(shards.iter().map(|s| &s[..])).unwrap();
            assert_eq!(merged.bytes(), TINY.len() as u64);
            assert_eq!(
                merged.clone().into_file(&o).unwrap().bytes,
                whole,
                "order {order}, min_frequency {min_frequency}, max_patterns {max_patterns}, \
                 {n} shards"
            );
            // Merging is associative: the merge of merges is the same counts.
            if n == 3 {
                let ab = CountShard::merge([&shards[0][..], &shards[1][..]]).unwrap();
                let again = CountShard::merge([&ab.to_bytes()[..], &shards[2][..]]).unwrap();
                assert_eq!(again, merged);
            }
        }
    }
}

#[test]
fn a_merged_model_is_the_trained_model() {
    let o = opts(3, 1, 0);
    let halves = pieces(TINY, 2);
    let shards: Vec<Vec<u8>> = halves.iter().map(|p| counts(p, 3).to_bytes()).collect();
    let model = CountShard::merge(shards.iter().map(|s| &s[..]))
        .unwrap()
        .into_model(&o)
        .unwrap();
    let mut t = Trainer::new(o).unwrap();
    t.feed(TINY);
    assert_eq!(model.to_bytes(), t.finish().unwrap().to_bytes());
}

#[test]
fn shards_of_disjoint_vocabularies_merge() {
    let o = opts(3, 1, 0);
    let (a, b) = (
        "zebra yak xylophone\nyak zebra\n",
        "apple banana\nbanana apple cherry\n",
    );
    let merged =
        CountShard::merge([&counts(a, 3).to_bytes()[..], &counts(b, 3).to_bytes()[..]]).unwrap();
    assert_eq!(merged.vocab_len(), 3 + 6);
    assert_eq!(
        merged.into_file(&o).unwrap().bytes,
        trained(&format!("{a}{b}"), &o)
    );
}

#[test]
fn options_must_match_the_counts() {
    let shard = counts(TINY, 3);
    let e = shard.clone().into_file(&opts(4, 1, 0)).unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
    assert!(e.to_string().contains("up to 3 words"), "{e}");
    assert_eq!(
        shard.into_file(&opts(3, 0, 0)).unwrap_err().code(),
        "INVALID_OPTION"
    );
}

#[test]
fn bad_shards_give_typed_errors() {
    let bytes = counts("the cat sat\nthe dog sat on the mat\n", 3).to_bytes();
    assert_eq!(
        CountShard::merge(std::iter::empty::<&[u8]>())
            .unwrap_err()
            .code(),
        "EMPTY_INPUT"
    );
    let model = trained("the cat sat\n", &opts(3, 1, 0));
    let e = CountShard::from_bytes(&model).unwrap_err();
    assert_eq!(e.code(), "NOT_A_MODEL");
    assert!(
        e.to_string()
            .starts_with("not a count shard: this is a model file"),
        "{e}"
    );
    assert_eq!(
        CountShard::from_bytes(b"hello").unwrap_err().code(),
        "NOT_A_MODEL"
    );
    let mut newer = bytes.clone();
    newer[8] = 9;
    assert_eq!(
        CountShard::from_bytes(&newer).unwrap_err().code(),
        "UNSUPPORTED_VERSION"
    );
    let four = counts("the cat sat\n", 4).to_bytes();
    let e = CountShard::merge([&bytes[..], &four[..]]).unwrap_err();
    assert!(e.to_string().contains("different orders"), "{e}");
    // Every cut and every damaged byte is an error, never a panic or a wrong merge.
    for cut in 0..bytes.len() {
        assert!(
            CountShard::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(CountShard::from_bytes(&longer).is_err());
    for at in 12..bytes.len() {
        for flip in [1u8, 0x80, 0xff] {
            let mut bad = bytes.clone();
            bad[at] ^= flip;
            assert!(
                CountShard::from_bytes(&bad).is_err(),
                "byte {at} ^ {flip:#x}"
            );
        }
    }
}

/// A shard whose checksum is right but whose fields are not: written by hand.
fn forged(body: &[u64], words: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(SHARD_MAGIC);
    out.extend_from_slice(&SHARD_VERSION.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    let mut b = Vec::new();
    let (head, rest) = body.split_at(4);
    for &v in head {
        crate::varint::put(&mut b, v);
    }
    for w in words {
        crate::varint::put(&mut b, w.len() as u64);
        b.extend_from_slice(w.as_bytes());
    }
    for &v in rest {
        crate::varint::put(&mut b, v);
    }
    let crc = crc32fast::hash(&b);
    out.extend_from_slice(&b);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn inconsistent_fields_are_refused_even_with_a_good_checksum() {
    let words = ["<unk>", "<s>", "</s>", "a", "b"];
    // order 2, 10 bytes, 1 sentence, 5 words; unigram counts; then the bigrams (<s> a) and
    // (<s> b): shared 0, rise 1 + 1, word 3, count 1; shared 1, rise 1, count 1; the end, 2.
    let good = forged(
        &[2, 10, 1, 5, 0, 1, 1, 1, 1, 0, 2, 3, 1, 1, 1, 1, 2],
        &words,
    );
    let shard = CountShard::from_bytes(&good).unwrap();
    assert_eq!(shard.patterns(), 5 + 2);
    let cases: [(&[u64], &[&str], &str); 7] = [
        // A word out of the vocabulary.
        (
            &[2, 10, 1, 5, 0, 1, 1, 1, 1, 0, 2, 7, 1, 2],
            &words,
            "out of the vocabulary",
        ),
        // A pattern that does not rise.
        (
            &[2, 10, 1, 5, 0, 1, 1, 1, 1, 0, 2, 3, 1, 1, 0, 1, 2],
            &words,
            "not sorted",
        ),
        // A first pattern that shares a prefix with nothing.
        (
            &[2, 10, 1, 5, 0, 1, 1, 1, 1, 1, 2, 1, 2],
            &words,
            "bad shared prefix",
        ),
        // A count of 0.
        (
            &[2, 10, 1, 5, 0, 1, 1, 1, 1, 0, 2, 3, 0, 2],
            &words,
            "count is 0",
        ),
        // Words out of order.
        (
            &[2, 10, 1, 5, 0, 1, 1, 1, 1, 2],
            &["<unk>", "<s>", "</s>", "b", "a"],
            "sorted vocabulary",
        ),
        // A reserved word missing.
        (
            &[2, 10, 1, 5, 0, 1, 1, 1, 1, 2],
            &["<unk>", "<x>", "</s>", "a", "b"],
            "sorted vocabulary",
        ),
        // Order 0.
        (&[0, 10, 1, 5], &words, "bad order"),
    ];
    for (body, w, what) in cases {
        let e = CountShard::from_bytes(&forged(body, w)).unwrap_err();
        assert_eq!(e.code(), "CORRUPTED", "{what}");
        assert!(e.to_string().contains(what), "{e} should say {what}");
    }
    // Every word is a unigram, so a bigram always has its prefix; a trigram whose bigram
    // prefix is missing can be forged: (<s> a) counted, then (a b b).
    let e = CountShard::from_bytes(&forged(
        &[3, 10, 1, 5, 0, 1, 1, 1, 1, 0, 2, 3, 1, 2, 0, 4, 4, 4, 1, 3],
        &words,
    ))
    .unwrap_err();
    assert!(e.to_string().contains("prefix is not counted"), "{e}");
}

#[test]
fn a_merge_written_as_it_goes_is_the_merge() {
    let shards: Vec<Vec<u8>> = pieces(TINY, 3)
        .iter()
        .map(|p| counts(p, 4).to_bytes())
        .collect();
    let mut out = Vec::new();
    let m = CountShard::merge_into(shards.iter().map(|s| &s[..]), &mut out).unwrap();
    let merged = CountShard::merge(shards.iter().map(|s| &s[..])).unwrap();
    assert_eq!(out, merged.to_bytes());
    assert_eq!(
        (m.order, m.bytes, m.sentences, m.vocab_len, m.patterns),
        (
            merged.order(),
            merged.bytes(),
            merged.sentences(),
            merged.vocab_len(),
            merged.patterns()
        )
    );
    assert_eq!(CountShard::from_bytes(&out).unwrap(), merged);
    // A damaged shard fails the merge, naming it.
    let mut bad = shards.clone();
    let last = bad[1].len() - 1;
    bad[1][last] ^= 1;
    let e = CountShard::merge_into(bad.iter().map(|s| &s[..]), std::io::sink()).unwrap_err();
    assert!(e.to_string().contains("shard 2 of 3"), "{e}");
}

#[test]
fn counting_in_runs_merges_into_the_same_counts() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let whole = counts(TINY, 4).to_bytes();
    for run in [1, 50, 700, 5000] {
        let runs: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let mut t = Trainer::new(opts(4, 1, 0)).unwrap();
        let into = runs.clone();
        t.spill_counts(run, move |shard| {
            assert_eq!(shard.bytes(), 0);
            into.borrow_mut().push(shard.to_bytes());
            Ok(())
        });
        // Fed in pieces that split lines: a run ends at a line's end all the same.
        for piece in TINY.as_bytes().chunks(777) {
            t.feed(std::str::from_utf8(piece).unwrap());
        }
        let last = t.finish_counts().unwrap();
        let mut all = runs.borrow().clone();
        assert!(
            all.len() > 1 || run == 5000,
            "{run} tokens a run: {} runs",
            all.len()
        );
        all.push(last.to_bytes());
        let mut out = Vec::new();
        CountShard::merge_into(all.iter().map(|s| &s[..]), &mut out).unwrap();
        assert_eq!(out, whole, "{run} tokens a run");
    }
    // A spill that fails ends the counting with its error; a trainer that spills cannot
    // finish a model.
    let mut t = Trainer::new(opts(3, 1, 0)).unwrap();
    t.spill_counts(10, |_| Err(crate::Error::Io("disk full".into())));
    t.feed(TINY);
    assert_eq!(t.finish_counts().unwrap_err().code(), "IO_ERROR");
    let mut t = Trainer::new(opts(3, 1, 0)).unwrap();
    t.spill_counts(10, |_| Ok(()));
    t.feed(TINY);
    assert_eq!(t.finish_file().unwrap_err().code(), "INVALID_OPTION");
    // Trailing empty lines after the last run: their bytes still count.
    let mut t = Trainer::new(opts(2, 1, 0)).unwrap();
    let runs: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
    let into = runs.clone();
    t.spill_counts(1, move |s| {
        into.borrow_mut().push(s.to_bytes());
        Ok(())
    });
    t.feed("a b\nc d\n\n\n");
    let last = t.finish_counts().unwrap();
    assert_eq!((last.bytes(), last.sentences()), (10, 1));
    let mut all = runs.borrow().clone();
    all.push(last.to_bytes());
    let merged = CountShard::merge(all.iter().map(|s| &s[..])).unwrap();
    assert_eq!(merged, counts("a b\nc d\n\n\n", 2));
}

#[test]
fn a_model_built_in_bounded_memory_is_the_model() {
    let dir = std::env::temp_dir().join(format!("uellm-build-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (order, min_frequency) in [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (5, 3)] {
        let o = opts(order, min_frequency, 0);
        let whole = trained(TINY, &o);
        let shards: Vec<Vec<u8>> = pieces(TINY, 3)
            .iter()
            .map(|p| counts(p, order).to_bytes())
            .collect();
        // 64 KB: sorts of about a thousand patterns, so every level goes through runs.
        for memory in [64 << 10, 1 << 30] {
            let mut out = Vec::new();
            let built =
                CountShard::build_file(shards.iter().map(|s| &s[..]), &o, memory, &dir, &mut out)
                    .unwrap();
            assert_eq!(built.file_bytes, out.len() as u64);
            assert!(
                out == whole,
                "order {order}, min_frequency {min_frequency}, memory {memory}: {} bytes against {}",
                out.len(),
                whole.len()
            );
        }
    }
    // Its temporary files are gone.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    let e = CountShard::build_file(
        [&counts(TINY, 3).to_bytes()[..]],
        &opts(3, 1, 10),
        1 << 20,
        &dir,
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(e.code(), "INVALID_OPTION");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The file a two-pass bounded build makes of `text` (fed in pieces of `chunk` bytes), and
/// its figures.
fn bounded(
    text: &str,
    o: &TrainOptions,
    memory: u64,
    dir: &std::path::Path,
    chunk: usize,
) -> Result<(Vec<u8>, Built)> {
    passes(BoundedTrainer::new(o.clone(), memory, dir)?, text, chunk)
}

/// The file the two passes of `first` make of `text`, fed in pieces of `chunk` bytes.
fn passes(mut first: BoundedTrainer, text: &str, chunk: usize) -> Result<(Vec<u8>, Built)> {
    for piece in text.as_bytes().chunks(chunk) {
        first.feed_bytes(piece)?;
    }
    let mut second = first.second_pass()?;
    for piece in text.as_bytes().chunks(chunk) {
        second.feed_bytes(piece)?;
    }
    let mut out = Vec::new();
    let built = second.finish(&mut out)?;
    Ok((out, built))
}

#[test]
fn a_model_trained_in_two_passes_in_bounded_memory_is_the_model() {
    let dir = std::env::temp_dir().join(format!("uellm-two-pass-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // Order 11: suffixes beyond 96 bits (10 words of 11 bits), sorted as pairs.
    let v = counts(TINY, 1).vocab_len();
    assert_eq!(32 - (v as u32 - 1).leading_zeros(), 11, "{v} words");
    for (order, min_frequency) in [(1, 1), (2, 1), (3, 1), (4, 1), (4, 2), (5, 3), (11, 1)] {
        let o = opts(order, min_frequency, 0);
        let whole = trained(TINY, &o);
        // 2 KB: runs of a few dozen tokens (many runs), and sorts of a few dozen patterns;
        // 1 GB: one run, and no sort goes to a file.
        for (memory, chunk) in [(2 << 10, 333), (64 << 10, 4096), (1 << 30, 1 << 20)] {
            let (out, built) = bounded(TINY, &o, memory, &dir, chunk).unwrap();
            assert_eq!(built.file_bytes, out.len() as u64);
            assert!(
                (memory > 1 << 20) == (built.runs == 1),
                "memory {memory}: {} runs",
                built.runs
            );
            assert!(
                out == whole,
                "order {order}, min_frequency {min_frequency}, memory {memory}: {} bytes against {}",
                out.len(),
                whole.len()
            );
        }
    }
    // One thread (as in WebAssembly): levels derived one at a time, patterns read inline.
    crate::mem::set_native_extras(false);
    let o = opts(5, 2, 0);
    let one_thread = bounded(TINY, &o, 2 << 10, &dir, 4096);
    crate::mem::set_native_extras(true);
    assert!(one_thread.unwrap().0 == trained(TINY, &o));
    // Trailing empty lines, a last line without its newline, and lines split across feeds.
    let text = "a b\nc d\n\n\nb a c";
    let o = opts(3, 1, 0);
    assert_eq!(bounded(text, &o, 64, &dir, 3).unwrap().0, trained(text, &o));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

// A `File` is a `Disk` natively only.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_model_trained_with_its_files_on_one_disk_is_the_model() {
    let dir = std::env::temp_dir().join(format!("uellm-disk-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let disk_path = dir.join("disk");
    for (order, min_frequency, threads) in [(3, 1, true), (5, 2, true), (5, 1, false)] {
        let o = opts(order, min_frequency, 0);
        crate::mem::set_native_extras(threads);
        for memory in [2 << 10, 1 << 30] {
            let disk = std::fs::File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&disk_path)
                .unwrap();
            let first = BoundedTrainer::on_disk(o.clone(), memory, Box::new(disk)).unwrap();
            let (out, built) = passes(first, TINY, 4096).unwrap();
            assert!(out == trained(TINY, &o), "order {order}, memory {memory}");
            assert!(
                (memory < 1 << 20) == (built.runs > 10),
                "{} runs",
                built.runs
            );
            // The files are gone, and the disk is empty again.
            assert_eq!(std::fs::metadata(&disk_path).unwrap().len(), 0);
        }
    }
    crate::mem::set_native_extras(true);
    // A disk that fails (full, or a handle closed under the build) fails the build.
    struct Failing(u64);
    impl super::Disk for Failing {
        fn read_at(&mut self, _: u64, _: &mut [u8]) -> std::io::Result<()> {
            Err(std::io::Error::other("closed"))
        }
        fn write_at(&mut self, at: u64, buf: &[u8]) -> std::io::Result<()> {
            if at + buf.len() as u64 > self.0 {
                return Err(std::io::Error::other("the disk is full"));
            }
            Ok(())
        }
        fn set_len(&mut self, _: u64) -> std::io::Result<()> {
            Ok(())
        }
    }
    for room in [0, 1 << 20] {
        let first = BoundedTrainer::on_disk(opts(3, 1, 0), 2 << 10, Box::new(Failing(room)));
        let e = passes(first.unwrap(), TINY, 4096).unwrap_err();
        assert_eq!(e.code(), "IO_ERROR", "{e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_two_pass_build_reports_rising_shares_of_its_work() {
    let dir = std::env::temp_dir().join(format!("uellm-two-pass-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = opts(4, 1, 0);
    let mut first = BoundedTrainer::new(o.clone(), 64 << 10, &dir).unwrap();
    first.feed(TINY);
    let mut second = first.second_pass().unwrap();
    second.feed(TINY);
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = seen.clone();
    second.on_progress(move |f| log.borrow_mut().push(f));
    let mut out = Vec::new();
    second.finish(&mut out).unwrap();
    assert!(out == trained(TINY, &o));
    let seen = seen.borrow();
    // 0, the merge, each of 3 levels derived and written, 1.
    assert_eq!(seen.len(), 9, "{seen:?}");
    assert_eq!((seen[0], seen[seen.len() - 1]), (0.0, 1.0));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert!(
        (seen[1] - 0.2).abs() < 1e-9 && (seen[seen.len() - 2] - 0.999).abs() < 1e-3,
        "{seen:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_two_pass_build_refuses_what_it_cannot_make() {
    let dir = std::env::temp_dir().join(format!("uellm-two-pass-refusals-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let o = opts(3, 1, 0);
    // Another text in the second pass: a new word, other counts of the same words, more bytes.
    for (first, second) in [
        ("a b c\n", "a b d\n"),
        ("a b c\n", "a b b\n"),
        ("a b c\n", "a b c\n\n"),
        ("a b c\na b\n", "a b c\n"),
    ] {
        for memory in [16, 1 << 20] {
            let mut t = BoundedTrainer::new(o.clone(), memory, &dir).unwrap();
            t.feed(first);
            let mut t = t.second_pass().unwrap();
            t.feed(second);
            let e = t.finish(&mut Vec::new()).unwrap_err();
            assert_eq!(e.code(), "IO_ERROR", "{first:?} then {second:?}");
            assert!(
                e.to_string().contains("changed between the two passes"),
                "{e}"
            );
        }
    }
    // No text; max_patterns; a cut character; a folder that does not exist.
    let t = BoundedTrainer::new(o.clone(), 1 << 20, &dir).unwrap();
    assert_eq!(t.second_pass().err().unwrap().code(), "EMPTY_INPUT");
    let e = BoundedTrainer::new(opts(3, 1, 10), 1 << 20, &dir)
        .err()
        .unwrap();
    assert_eq!(e.code(), "INVALID_OPTION");
    let mut t = BoundedTrainer::new(o.clone(), 1 << 20, &dir).unwrap();
    t.feed_bytes("a é\n".as_bytes()).unwrap();
    let mut t = t.second_pass().unwrap();
    t.feed_bytes(&"a é\n".as_bytes()[..3]).unwrap();
    assert_eq!(t.finish(&mut Vec::new()).unwrap_err().code(), "NOT_TEXT");
    let mut t = BoundedTrainer::new(o, 16, &dir.join("missing")).unwrap();
    t.feed("a b c\na b\n");
    let mut t = t.second_pass().unwrap();
    t.feed("a b c\na b\n");
    assert_eq!(t.finish(&mut Vec::new()).unwrap_err().code(), "IO_ERROR");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
