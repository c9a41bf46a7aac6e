//! Where a bounded build's temporary files live: a folder (a file each, as the CLI keeps them),
//! or one random-access [`Disk`] that holds them all in blocks, for a place with no folder of
//! temporary files: a browser's origin-private file system (OPFS), whose sync access handle
//! reads and writes at an offset, and nothing more.
//!
//! Every temporary file is written once, front to back, read front to back (maybe several
//! times), and removed: blocks of [`BLOCK`] bytes, each file a list of them, freed blocks
//! reused, are all that needs.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{Error, Result};

/// A random-access store of bytes that holds a bounded build's temporary files (see
/// [`BoundedTrainer::on_disk`](crate::BoundedTrainer::on_disk)): an open file, or a browser's
/// OPFS `FileSystemSyncAccessHandle` behind the WebAssembly bindings.
///
/// The build reads only bytes it wrote; it grows the disk by writing past its end, and sets
/// its length back to 0 once its files are gone.
pub trait Disk: Send {
    /// Fills `buf` with the bytes at `at`.
    ///
    /// # Errors
    /// What the store reports, or [`io::ErrorKind::UnexpectedEof`] past its end.
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()>;

    /// Writes all of `buf` at `at`, growing the store when that is past its end.
    ///
    /// # Errors
    /// What the store reports (a full disk, a closed handle).
    fn write_at(&mut self, at: u64, buf: &[u8]) -> io::Result<()>;

    /// Cuts or grows the store to `len` bytes.
    ///
    /// # Errors
    /// What the store reports.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

#[cfg(not(target_arch = "wasm32"))]
impl Disk for std::fs::File {
    fn read_at(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        use std::io::Seek;
        self.seek(io::SeekFrom::Start(at))?;
        self.read_exact(buf)
    }

    fn write_at(&mut self, at: u64, buf: &[u8]) -> io::Result<()> {
        use std::io::Seek;
        self.seek(io::SeekFrom::Start(at))?;
        self.write_all(buf)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        std::fs::File::set_len(self, len)
    }
}

/// Bytes of a block of a [`Disk`]: what a file that holds little wastes at most (tiny bounds
/// make hundreds of small runs), and small against the 1 MiB that files are read and written
/// in.
pub(crate) const BLOCK: u64 = 64 << 10;

/// Where the temporary files of a build go.
#[derive(Clone)]
pub(crate) enum Store {
    /// A file each in a folder.
    Dir(PathBuf),
    /// Blocks of one disk, shared by the build's threads.
    Disk(Arc<Mutex<Blocks>>),
}

impl Store {
    /// The files of one disk.
    pub(crate) fn disk(disk: Box<dyn Disk>) -> Store {
        Store::Disk(Arc::new(Mutex::new(Blocks {
            disk,
            files: HashMap::new(),
            free: Vec::new(),
            end: 0,
        })))
    }

    /// A new, empty file, open for writing (the caller buffers); `what` names it in errors.
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be made.
    pub(crate) fn create(&self, what: &str) -> Result<(TempFile, Box<dyn Write + Send>)> {
        // Unique within the process too: builds may run side by side in one folder.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self {
            Store::Dir(dir) => {
                let path = dir.join(format!(".uellm-build-{}-{n}-{what}", std::process::id()));
                let f = std::fs::File::create(&path).map_err(|e| io_err(&path.display(), e))?;
                let file = TempFile {
                    name: path.display().to_string(),
                    at: At::Path(path),
                };
                Ok((file, Box::new(f)))
            }
            Store::Disk(blocks) => {
                lock(blocks).files.insert(n, Chain::default());
                let file = TempFile {
                    name: format!("temporary file {n} ({what})"),
                    at: At::Disk(blocks.clone(), n),
                };
                Ok((
                    file,
                    Box::new(BlockWriter {
                        blocks: blocks.clone(),
                        id: n,
                    }),
                ))
            }
        }
    }
}

/// The error of a temporary file.
pub(crate) fn io_err(name: &dyn std::fmt::Display, e: io::Error) -> Error {
    Error::Io(format!("{name}: {e}"))
}

/// One temporary file of a [`Store`].
#[derive(Clone)]
pub(crate) struct TempFile {
    name: String,
    at: At,
}

#[derive(Clone)]
enum At {
    Path(PathBuf),
    Disk(Arc<Mutex<Blocks>>, u64),
}

impl PartialEq for TempFile {
    fn eq(&self, other: &TempFile) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Display for TempFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl TempFile {
    /// The file, open for reading from its start (the caller buffers).
    ///
    /// # Errors
    /// [`Error::Io`] when it cannot be opened.
    pub(crate) fn open(&self) -> Result<Box<dyn Read + Send>> {
        match &self.at {
            At::Path(p) => Ok(Box::new(
                std::fs::File::open(p).map_err(|e| io_err(self, e))?,
            )),
            At::Disk(blocks, id) => Ok(Box::new(BlockReader {
                blocks: blocks.clone(),
                id: *id,
                pos: 0,
            })),
        }
    }

    /// Its bytes (0 when that cannot be known).
    pub(crate) fn len(&self) -> u64 {
        match &self.at {
            At::Path(p) => std::fs::metadata(p).map_or(0, |m| m.len()),
            At::Disk(blocks, id) => lock(blocks).files.get(id).map_or(0, |c| c.len),
        }
    }

    /// Removes it (a file already gone is no error: removal is cleanup).
    pub(crate) fn remove(&self) {
        match &self.at {
            At::Path(p) => {
                let _ = std::fs::remove_file(p);
            }
            At::Disk(blocks, id) => lock(blocks).remove(*id),
        }
    }
}

/// The files of a [`Disk`], each a chain of blocks.
pub(crate) struct Blocks {
    disk: Box<dyn Disk>,
    files: HashMap<u64, Chain>,
    /// Blocks of removed files, to reuse before the disk grows.
    free: Vec<u64>,
    /// Blocks the disk holds.
    end: u64,
}

#[derive(Default)]
struct Chain {
    blocks: Vec<u64>,
    len: u64,
}

/// The blocks, also after a thread of the build panicked (they hold no half-made state a
/// panic could leave: a chain grows only once its block is written).
fn lock(blocks: &Mutex<Blocks>) -> MutexGuard<'_, Blocks> {
    blocks.lock().unwrap_or_else(|e| e.into_inner())
}

impl Blocks {
    /// A free block: the lowest of those freed last, else a new one at the end (so that the
    /// blocks a file takes one after another are mostly neighbours, written and read in one
    /// call: a call to a browser's sync access handle costs far more than its bytes).
    fn take(&mut self) -> u64 {
        self.free.pop().unwrap_or_else(|| {
            self.end += 1;
            self.end - 1
        })
    }

    fn append(&mut self, id: u64, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            let chain = self.files.get(&id).ok_or_else(gone)?;
            let within = chain.len % BLOCK;
            if within > 0 {
                // The rest of the last block.
                let block = chain.blocks[chain.blocks.len() - 1];
                let n = buf.len().min((BLOCK - within) as usize);
                self.disk.write_at(block * BLOCK + within, &buf[..n])?;
                self.grow(id, None, n)?;
                buf = &buf[n..];
                continue;
            }
            // New blocks, as many neighbours as come in a row, in one write.
            let first = self.take();
            let mut count = 1u64;
            while count * BLOCK < buf.len() as u64 {
                let next = self.take();
                if next != first + count {
                    self.free.push(next);
                    break;
                }
                count += 1;
            }
            let n = buf.len().min((count * BLOCK) as usize);
            if let Err(e) = self.disk.write_at(first * BLOCK, &buf[..n]) {
                self.free.extend((first..first + count).rev());
                return Err(e);
            }
            self.grow(id, Some(first..first + count), n)?;
            buf = &buf[n..];
        }
        Ok(())
    }

    /// File `id` took `blocks` (none: it filled its last one) and `n` more bytes.
    fn grow(&mut self, id: u64, blocks: Option<std::ops::Range<u64>>, n: usize) -> io::Result<()> {
        let chain = self.files.get_mut(&id).ok_or_else(gone)?;
        chain.blocks.extend(blocks.into_iter().flatten());
        chain.len += n as u64;
        Ok(())
    }

    /// Reads from `pos` of file `id` into `buf`; the bytes read (0 at its end). Blocks that are
    /// neighbours on the disk are read in one call.
    fn read(&mut self, id: u64, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
        let chain = self.files.get(&id).ok_or_else(gone)?;
        let want = (buf.len() as u64).min(chain.len.saturating_sub(pos)) as usize;
        let mut done = 0;
        while done < want {
            let at = pos + done as u64;
            let i = (at / BLOCK) as usize;
            let block = chain.blocks[i];
            let mut span = 1;
            while chain.blocks.get(i + span) == Some(&(block + span as u64)) {
                span += 1;
            }
            let within = at % BLOCK;
            let n = (want - done).min((span as u64 * BLOCK - within) as usize);
            self.disk
                .read_at(block * BLOCK + within, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(done)
    }

    fn remove(&mut self, id: u64) {
        if let Some(chain) = self.files.remove(&id) {
            // Highest first: taken back lowest first, in a row.
            self.free.extend(chain.blocks.into_iter().rev());
        }
        if self.files.is_empty() && self.end > 0 {
            // Nothing left: give the space back (a failure leaves it for the next build).
            if self.disk.set_len(0).is_ok() {
                self.free.clear();
                self.end = 0;
            }
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "the temporary file was removed")
}

struct BlockWriter {
    blocks: Arc<Mutex<Blocks>>,
    id: u64,
}

impl Write for BlockWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.blocks).append(self.id, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct BlockReader {
    blocks: Arc<Mutex<Blocks>>,
    id: u64,
    pos: u64,
}

impl Read for BlockReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = lock(&self.blocks).read(self.id, self.pos, buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A disk in memory that counts its calls.
    struct Mem(Vec<u8>);

    impl Disk for Mem {
        fn read_at(&mut self, at: u64, buf: &mut [u8]) -> io::Result<()> {
            let at = at as usize;
            let src = self
                .0
                .get(at..at + buf.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            Ok(())
        }
        fn write_at(&mut self, at: u64, buf: &[u8]) -> io::Result<()> {
            let end = at as usize + buf.len();
            if self.0.len() < end {
                self.0.resize(end, 0);
            }
            self.0[at as usize..end].copy_from_slice(buf);
            Ok(())
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            self.0.resize(len as usize, 0);
            Ok(())
        }
    }

    fn read_all(f: &TempFile) -> Vec<u8> {
        let mut out = Vec::new();
        f.open().unwrap().read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn files_share_a_disk_and_its_freed_blocks() {
        let store = Store::disk(Box::new(Mem(Vec::new())));
        let Store::Disk(blocks) = &store else {
            unreachable!()
        };
        let bytes = |seed: u8, n: usize| (0..n).map(|i| (i as u8) ^ seed).collect::<Vec<u8>>();
        // Written in pieces that cross blocks, interleaved with another file's.
        let (a, mut wa) = store.create("a").unwrap();
        let (b, mut wb) = store.create("b").unwrap();
        let da = bytes(1, 3 * BLOCK as usize + 17);
        let db = bytes(2, BLOCK as usize);
        for (ca, cb) in da
            .chunks(10_000)
            .zip(db.chunks(7_000).chain(std::iter::repeat(&[][..])))
        {
            wa.write_all(ca).unwrap();
            wb.write_all(cb).unwrap();
        }
        assert_eq!((a.len(), b.len()), (da.len() as u64, db.len() as u64));
        assert_eq!(read_all(&a), da);
        assert_eq!(read_all(&b), db);
        assert_eq!(lock(blocks).end, 5);
        // A removed file's blocks go to the next one; the disk does not grow.
        a.remove();
        let (c, mut wc) = store.create("c").unwrap();
        let dc = bytes(3, 2 * BLOCK as usize);
        wc.write_all(&dc).unwrap();
        assert_eq!(read_all(&c), dc);
        assert_eq!(read_all(&b), db);
        assert_eq!(lock(blocks).end, 5);
        // Reading a removed file is an error, not a panic.
        let mut r = a.open().unwrap();
        assert!(r.read(&mut [0; 8]).is_err());
        // With every file gone, the disk is empty again.
        b.remove();
        c.remove();
        let guard = lock(blocks);
        assert_eq!(guard.end, 0);
        assert!(guard.free.is_empty());
    }

    #[test]
    fn a_failing_disk_is_an_error() {
        struct Full;
        impl Disk for Full {
            fn read_at(&mut self, _: u64, _: &mut [u8]) -> io::Result<()> {
                Err(io::ErrorKind::UnexpectedEof.into())
            }
            fn write_at(&mut self, _: u64, _: &[u8]) -> io::Result<()> {
                Err(io::Error::other("the disk is full"))
            }
            fn set_len(&mut self, _: u64) -> io::Result<()> {
                Ok(())
            }
        }
        let store = Store::disk(Box::new(Full));
        let (f, mut w) = store.create("x").unwrap();
        assert!(w.write_all(b"abc").is_err());
        assert_eq!(f.len(), 0);
        let Store::Disk(blocks) = &store else {
            unreachable!()
        };
        // The block it could not write is free again.
        assert_eq!(lock(blocks).free, vec![0]);
    }
}
