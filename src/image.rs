//! Index images: a built model as bytes that load without building anything.
//!
//! A model file ([`crate::format`]) is small (about 3 bytes an n-gram) because it keeps counts,
//! and loading it builds the index from them: decoding, suffix links, placing and writing every
//! block, with the pattern tree and its temporaries alive beside the index. An image keeps the
//! built index itself (about 8 bytes an n-gram) with the model file, so that loading is a check
//! of the bytes and no build: the cache a page keeps next to a stored model, or a file to load a
//! large model from fast and within its own memory.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "UELMIMAG"
//!      8     2  image version (u16 LE), IMAGE_VERSION
//!     10     2  flags (u16 LE), 0
//!     12     4  CRC-32 of everything after the header (u32 LE)
//!     16     8  meta length (u64 LE)
//!     24     8  index length (u64 LE)
//!     32     8  model file length (u64 LE)
//!     40     …  meta (postcard), model file, index blocks
//! ```
//!
//! The blocks come last so that [`Model::from_image_vec`] can keep the image's own buffer as the
//! index, with the model file before it: a load in place needs no second copy of anything.
//!
//! Loading an image checks its checksum, then every block of the index (see `index::check`), so
//! that no bytes can make a query panic or loop; the model file it holds gives the vocabulary and
//! what [`Model::info`] reports, and is what [`Model::to_bytes`] returns.

use crate::error::{Error, Result};
use crate::format;
use crate::index::Index;
use crate::model::{File, Model};

/// First bytes of every index image.
pub const IMAGE_MAGIC: &[u8; 8] = b"UELMIMAG";
/// Image version this build reads and writes. Images are a cache of a build, not an archive:
/// a newer build may refuse an older image (keep the model file to make it again).
pub const IMAGE_VERSION: u16 = 2;
/// Bytes before the meta.
const IMAGE_HEADER_LEN: usize = 40;

impl Model {
    /// The model as an index image (see [`crate::image`]): what [`Model::from_image`] loads
    /// without building the index. About 8 bytes per n-gram more than [`Model::to_bytes`].
    pub fn to_image(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.image_len());
        // Writing to a Vec cannot fail.
        let _ = self.write_image(&mut out);
        out
    }

    /// The length of [`Model::to_image`]'s bytes.
    pub fn image_len(&self) -> usize {
        IMAGE_HEADER_LEN
            + self.image_meta().len()
            + self.index.blocks().len()
            + self.as_bytes().len()
    }

    /// Writes [`Model::to_image`]'s bytes to `out` without making them in memory first: the
    /// image is mostly the index and the model file, which the model holds already (the
    /// WebAssembly bindings copy them straight into a JavaScript array).
    ///
    /// # Errors
    /// What `out` gives.
    pub fn write_image<W: std::io::Write + ?Sized>(&self, out: &mut W) -> std::io::Result<()> {
        let meta = self.image_meta();
        let (file, index) = (self.as_bytes(), self.index.blocks());
        let mut crc = crc32fast::Hasher::new();
        for part in [&meta[..], file, index] {
            crc.update(part);
        }
        let mut header = Vec::with_capacity(IMAGE_HEADER_LEN);
        header.extend_from_slice(IMAGE_MAGIC);
        header.extend_from_slice(&IMAGE_VERSION.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes());
        header.extend_from_slice(&crc.finalize().to_le_bytes());
        for len in [meta.len(), index.len(), file.len()] {
            header.extend_from_slice(&(len as u64).to_le_bytes());
        }
        debug_assert_eq!(header.len(), IMAGE_HEADER_LEN);
        for part in [&header[..], &meta, file, index] {
            out.write_all(part)?;
        }
        Ok(())
    }

    /// The index's figures and layout, as the image stores them.
    fn image_meta(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.index).unwrap_or_default()
    }

    /// Loads an index image made by [`Model::to_image`]: the same model, without building it.
    /// A copy of the bytes becomes the model ([`Model::from_image_vec`] needs none).
    ///
    /// # Errors
    /// [`Error::NotAModel`] for bytes that are not an image (a model file among them: load that
    /// with [`Model::from_bytes`]), [`Error::UnsupportedVersion`] for an image of another
    /// version, [`Error::Truncated`] or [`Error::Corrupted`]; no input makes it panic, and the
    /// model it gives cannot panic or loop on any query.
    pub fn from_image(bytes: &[u8]) -> Result<Model> {
        Model::from_image_vec(bytes.to_vec())
    }

    /// [`Model::from_image`], keeping `bytes` as the model's memory: the index and the model file
    /// stay where they are in it, so the load needs no more memory than the image.
    ///
    /// # Errors
    /// As [`Model::from_image`].
    pub fn from_image_vec(bytes: Vec<u8>) -> Result<Model> {
        let (meta, file, index) = split(&bytes)?;
        let meta: Index = postcard::from_bytes(meta)
            .map_err(|e| Error::corrupted(format!("undecodable index image ({e})")))?;
        let summary = format::summary(file)?;
        let agrees = summary.vocab.len() == meta.vocab_len as usize
            && summary.ngrams.len() == meta.order
            && summary.ngrams.iter().sum::<u64>() == meta.patterns
            && summary.probs == meta.layout.discounts.is_none();
        if !agrees {
            return Err(Error::corrupted(
                "the index image's index and model file do not match",
            ));
        }
        let file_at = file.as_ptr() as usize - bytes.as_ptr() as usize;
        let file_range = file_at..file_at + file.len();
        let at = bytes.len() - index.len();
        let index = meta.with_blocks(bytes, at)?;
        Ok(Model::assemble(
            summary.vocab,
            index,
            summary.training,
            (summary.ngrams, summary.probs),
            (File::InIndex(file_range.clone()), file_range.len()),
        ))
    }
}

/// The meta, model file and index of the image `bytes`, its header and checksum checked.
fn split(bytes: &[u8]) -> Result<(&[u8], &[u8], &[u8])> {
    let n = bytes.len().min(IMAGE_MAGIC.len());
    if bytes.is_empty() || bytes[..n] != IMAGE_MAGIC[..n] {
        let hint = if bytes.starts_with(format::MAGIC) {
            "this is a model file, not an index image: load it with Model::from_bytes"
        } else {
            "the first bytes are not \"UELMIMAG\""
        };
        return Err(Error::NotAModel(format!("not an index image: {hint}")));
    }
    if bytes.len() < IMAGE_HEADER_LEN {
        return Err(Error::Truncated {
            expected: IMAGE_HEADER_LEN as u64,
            found: bytes.len() as u64,
        });
    }
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]);
    let u64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i..i + 8]);
        u64::from_le_bytes(b)
    };
    let version = u16_at(8);
    if version != IMAGE_VERSION {
        return Err(Error::UnsupportedVersion {
            found: version,
            expected: IMAGE_VERSION,
            hint: "index images are a cache: load the model file and make the image again",
        });
    }
    if u16_at(10) != 0 {
        return Err(Error::corrupted("unknown index image flags"));
    }
    let lens = [u64_at(16), u64_at(24), u64_at(32)];
    let want = lens
        .iter()
        .try_fold(IMAGE_HEADER_LEN as u64, |a, &l| a.checked_add(l))
        .unwrap_or(u64::MAX);
    let have = bytes.len() as u64;
    if want > have {
        return Err(Error::Truncated {
            expected: want,
            found: have,
        });
    }
    if want < have {
        return Err(Error::corrupted(format!(
            "{} unexpected bytes after the index image",
            have - want
        )));
    }
    let rest = &bytes[IMAGE_HEADER_LEN..];
    let crc = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    if crc32fast::hash(rest) != crc {
        return Err(Error::corrupted("index image checksum mismatch"));
    }
    let (meta, rest) = rest.split_at(lens[0] as usize);
    let (file, index) = rest.split_at(lens[2] as usize);
    Ok((meta, file, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GenerateOptions;

    fn models() -> Vec<Model> {
        crate::testing::tiny_models()
    }

    /// An image loads into the same model: the same file, figures, probabilities and texts.
    #[test]
    fn an_image_loads_into_the_same_model() {
        for model in models() {
            let image = model.to_image();
            assert_eq!(image.len(), model.image_len());
            let back = Model::from_image(&image).unwrap();
            assert_eq!(back.as_bytes(), model.as_bytes());
            assert_eq!(back.info(), model.info());
            assert_eq!(back.to_image(), image);
            let opts = GenerateOptions {
                seed: Some(7),
                max_tokens: 200,
                ..GenerateOptions::default()
            };
            assert_eq!(
                back.generate("the", &opts).unwrap().text,
                model.generate("the", &opts).unwrap().text
            );
            let text = crate::testing::TINY;
            assert_eq!(back.perplexity(text), model.perplexity(text));
        }
    }

    /// Model files, foreign bytes, other versions and cut images are told apart.
    #[test]
    fn bad_images_give_typed_errors() {
        let model = crate::testing::tiny_o3();
        let image = model.to_image();
        let code = |b: &[u8]| Model::from_image(b).unwrap_err().code();
        assert_eq!(code(model.as_bytes()), "NOT_A_MODEL");
        assert_eq!(code(b""), "NOT_A_MODEL");
        assert_eq!(code(b"hello world"), "NOT_A_MODEL");
        let mut v = image.clone();
        v[8] = 9;
        assert_eq!(code(&v), "UNSUPPORTED_VERSION");
        assert_eq!(code(&image[..image.len() - 1]), "TRUNCATED");
        assert_eq!(code(&image[..20]), "TRUNCATED");
        let mut v = image.clone();
        v.push(0);
        assert_eq!(code(&v), "CORRUPTED");
        let mut v = image.clone();
        let last = v.len() - 1;
        v[last] ^= 1;
        assert_eq!(code(&v), "CORRUPTED");
    }

    /// Changed bytes with a fixed checksum are refused with a typed error or give a model that
    /// answers every query without a panic or a hang: the reads of the index, not a check of it,
    /// are what guard the queries. Mostly in the index, some in the meta and the model file.
    #[test]
    fn changed_bytes_never_panic() {
        let model = crate::testing::tiny_o3();
        let image = model.to_image();
        let index_len = u64::from_le_bytes(image[24..32].try_into().unwrap()) as usize;
        let index_at = image.len() - index_len;
        let mut rng = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let (mut loaded, mut refused) = (0, 0);
        for round in 0..400u64 {
            let mut v = image.clone();
            for _ in 0..1 + round % 4 {
                let r = next();
                let at = if round % 8 == 0 {
                    IMAGE_HEADER_LEN + (r as usize) % (v.len() - IMAGE_HEADER_LEN)
                } else {
                    index_at + (r as usize) % index_len
                };
                v[at] ^= 1 << ((r >> 40) % 8);
            }
            let crc = crc32fast::hash(&v[IMAGE_HEADER_LEN..]);
            v[12..16].copy_from_slice(&crc.to_le_bytes());
            match Model::from_image(&v) {
                Err(e) => {
                    assert!(
                        matches!(
                            e.code(),
                            "CORRUPTED" | "TRUNCATED" | "NOT_A_MODEL" | "UNSUPPORTED_VERSION"
                        ),
                        "{e}"
                    );
                    refused += 1;
                }
                Ok(m) => {
                    loaded += 1;
                    let opts = GenerateOptions {
                        seed: Some(round),
                        max_tokens: 50,
                        ..GenerateOptions::default()
                    };
                    m.generate("the cat", &opts).unwrap();
                    let shaped = GenerateOptions {
                        temperature: 0.8,
                        top_k: 5,
                        ..opts
                    };
                    m.generate("the cat", &shaped).unwrap();
                    m.perplexity("the cat sat on the mat .");
                    let mut sink = Vec::new();
                    let _ = m.write_arpa(&mut sink);
                    m.log10_prob(&["the"], "cat");
                }
            }
        }
        assert!(
            loaded > 300 && refused > 0,
            "{loaded} loaded, {refused} refused"
        );
    }
}
