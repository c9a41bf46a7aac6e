//! Reading text and models, writing files atomically. `-` stands for standard input (or output).
//!
//! Shared by `uellm` and `uellm-bench` (which includes this file by path; see `error.rs`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use ultra_efficient_llm::{Error, Model};

use super::CliError;

/// Bytes read (and fed to the trainer) at a time.
pub const CHUNK: usize = 1 << 20;

/// True for `-`.
pub fn is_std(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// The name of a file for messages: its path, or `<stdin>` for `-`.
pub fn display(path: &Path) -> String {
    if is_std(path) {
        "<stdin>".into()
    } else {
        path.display().to_string()
    }
}

/// Checks that an input exists and is a regular, non-empty file; returns its size (`None` for
/// standard input, whose size is unknown).
pub fn input_size(path: &Path) -> Result<Option<u64>, CliError> {
    if is_std(path) {
        return Ok(None);
    }
    let name = display(path);
    let meta = fs::metadata(path).map_err(|e| CliError::io(&name, &e))?;
    if meta.is_dir() {
        return Err(CliError::io_msg(format!(
            "{name}: is a directory, not a file"
        )));
    }
    if meta.is_file() && meta.len() == 0 {
        return Err(CliError::about(
            &name,
            Error::NotText("the file is empty; give at least one non-empty line of text".into()),
        ));
    }
    Ok(meta.is_file().then_some(meta.len()))
}

/// Opens an input (`-`: standard input), naming it in errors.
pub fn open(path: &Path) -> Result<Box<dyn Read>, CliError> {
    if is_std(path) {
        return Ok(Box::new(io::stdin().lock()));
    }
    let name = display(path);
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(CliError::io_msg(format!(
            "{name}: is a directory, not a file"
        )));
    }
    let f = File::open(path).map_err(|e| CliError::io(&name, &e))?;
    Ok(Box::new(f))
}

/// Reads a UTF-8 text file in chunks of [`CHUNK`] bytes and hands each validated piece to
/// `sink` (a character split across chunks is carried to the next one). A file that does not
/// end with a newline gets one, so the last line of one file never joins the first of the next.
///
/// Returns the bytes read. Errors name the file and the byte offset within it: a NUL byte
/// (binary data), invalid UTF-8, an incomplete character at the end, or an I/O failure.
pub fn read_text_chunks(path: &Path, mut sink: impl FnMut(&str)) -> Result<u64, CliError> {
    let name = display(path);
    let mut reader = open(path)?;
    let not_text = |what: String| CliError::about(&name, Error::NotText(what));
    let mut buf = vec![0u8; CHUNK + 4];
    let mut carry = 0usize; // bytes of an incomplete character at the start of `buf`
    let mut offset = 0u64; // file offset of buf[0]
    let mut total = 0u64;
    let mut last = b'\n';
    loop {
        let n = match reader.read(&mut buf[carry..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CliError::io(&name, &e)),
        };
        total += n as u64;
        let len = carry + n;
        let data = &buf[..len];
        if let Some(i) = data[carry..].iter().position(|&b| b == 0) {
            return Err(not_text(format!(
                "binary data (a NUL byte) at byte {}",
                offset + (carry + i) as u64
            )));
        }
        last = data[len - 1];
        let valid = match std::str::from_utf8(data) {
            Ok(s) => {
                sink(s);
                len
            }
            Err(e) if e.error_len().is_none() => {
                let v = e.valid_up_to();
                if let Ok(s) = std::str::from_utf8(&data[..v]) {
                    sink(s);
                }
                v
            }
            Err(e) => {
                return Err(not_text(format!(
                    "invalid UTF-8 at byte {}",
                    offset + e.valid_up_to() as u64
                )))
            }
        };
        buf.copy_within(valid..len, 0);
        carry = len - valid;
        offset += valid as u64;
    }
    if carry > 0 {
        return Err(not_text(format!(
            "the file ends inside a UTF-8 character (at byte {offset})"
        )));
    }
    if total > 0 && last != b'\n' {
        sink("\n");
    }
    Ok(total)
}

/// A whole UTF-8 text file (see [`read_text_chunks`]); an empty file is an error.
pub fn read_text(path: &Path) -> Result<String, CliError> {
    input_size(path)?;
    let mut text = String::new();
    read_text_chunks(path, |s| text.push_str(s))?;
    if text.is_empty() {
        return Err(CliError::about(
            display(path),
            Error::NotText("the input is empty".into()),
        ));
    }
    Ok(text)
}

/// The bytes of a file (or standard input).
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, CliError> {
    let name = display(path);
    let mut reader = open(path)?;
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io(&name, &e))?;
    Ok(bytes)
}

/// Loads a model file or an index image; errors name the file (`FILE: not a model file: ...`).
pub fn load_model(path: &Path) -> Result<Model, CliError> {
    // from_vec: the model keeps the bytes as its file, so no second copy is made. An index
    // image (`uellm image`) loads in place, without building the index.
    let bytes = read_bytes(path)?;
    let model = if bytes.starts_with(ultra_efficient_llm::image::IMAGE_MAGIC) {
        Model::from_image_vec(bytes)
    } else {
        Model::from_vec(bytes)
    };
    model.map_err(|e| CliError::about(display(path), e))
}

/// Where an output path leads.
#[derive(Debug, PartialEq)]
enum Target {
    /// `-`: standard output.
    Std,
    /// A regular file (or none yet) at this path, the end of any symlinks: replaced atomically.
    Replace(PathBuf),
    /// A FIFO or a character device (`/dev/null`, a terminal, `/dev/stdout`'s pipe): written
    /// through, as a stream, since there is no file to replace.
    Through(PathBuf),
}

/// What `path` leads to, following symlinks; errors for anything that is no file to write.
fn target(path: &Path) -> Result<Target, CliError> {
    if is_std(path) {
        return Ok(Target::Std);
    }
    let shown = path.display();
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
                    Err(CliError::io_msg(format!(
                        "cannot write {shown}: directory {} does not exist",
                        dir.display()
                    )))
                }
                _ => Ok(Target::Replace(path.to_owned())),
            };
        }
        Err(e) => return Err(CliError::io(format!("cannot write {shown}"), &e)),
    };
    let kind = meta.file_type();
    if kind.is_symlink() {
        // Write through the link: the link stays, the file it names gets the new content.
        return match fs::canonicalize(path) {
            // A canonical path holds no symlink, so this recursion ends at once.
            Ok(real) => target(&real),
            Err(e) => Err(CliError::io(
                format!("cannot write {shown}: it is a symlink that leads nowhere"),
                &e,
            )),
        };
    }
    if kind.is_file() {
        return Ok(Target::Replace(path.to_owned()));
    }
    if kind.is_dir() {
        return Err(CliError::io_msg(format!(
            "cannot write {shown}: it is a directory"
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() || kind.is_char_device() {
            return Ok(Target::Through(path.to_owned()));
        }
        let what = if kind.is_block_device() {
            "a block device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        Err(CliError::io_msg(format!(
            "cannot write {shown}: it is {what}; give a regular file, a FIFO, a character device \
             such as /dev/null, or - for standard output"
        )))
    }
    #[cfg(not(unix))]
    Err(CliError::io_msg(format!(
        "cannot write {shown}: it is not a regular file"
    )))
}

/// Fails early, before any work, when `path` cannot be written: its directory is missing or
/// refuses a new file (checked by creating and removing a temporary file there), or the path is
/// a directory, a block device or a socket.
pub fn check_output_dir(path: &Path) -> Result<(), CliError> {
    if let Target::Replace(file) = target(path)? {
        let tmp = TempFile::create(&file)?;
        tmp.remove();
    }
    Ok(())
}

/// The suffix of temporary output files: `.NAME.PID-N.uellm-tmp` beside `NAME`.
const TEMP_SUFFIX: &str = ".uellm-tmp";

/// A temporary file beside the file it will replace, named for this process
/// (`.NAME.PID-N.uellm-tmp`) and created exclusively, so two runs writing the same output never
/// share one and no file of the user's is ever taken for it.
struct TempFile {
    path: PathBuf,
    file: Option<File>,
}

impl TempFile {
    fn create(dest: &Path) -> Result<TempFile, CliError> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let dir = parent_dir(dest);
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        remove_stale_temps(dir, &name);
        let pid = std::process::id();
        loop {
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.join(format!(".{name}.{pid}-{n}{TEMP_SUFFIX}"));
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(file) => {
                    return Ok(TempFile {
                        path,
                        file: Some(file),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(CliError::io(format!("cannot write {}", dest.display()), &e)),
            }
        }
    }

    fn remove(mut self) {
        self.file = None;
        let _ = fs::remove_file(&self.path);
    }
}

/// The folder a file is in (`.` for a bare name).
fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Removes temporary files that an earlier run writing `NAME` in `dir` left when it was killed:
/// those whose process is gone. Needs `/proc` to tell (Linux); elsewhere nothing is removed.
fn remove_stale_temps(dir: &Path, name: &str) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|f| f.strip_suffix(TEMP_SUFFIX))
        else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('-') else {
            continue;
        };
        let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if numeric(pid)
            && numeric(n)
            && pid != std::process::id().to_string()
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Gives `tmp` the permissions (and, where allowed, the owner) of the file it replaces.
fn keep_mode(tmp: &File, dest: &Path) -> io::Result<()> {
    let Ok(meta) = fs::metadata(dest) else {
        return Ok(());
    };
    tmp.set_permissions(meta.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // Only root may give a file away; anyone else keeps owning what they write.
        let _ = std::os::unix::fs::fchown(tmp, Some(meta.uid()), Some(meta.gid()));
    }
    Ok(())
}

/// Makes a rename in `dir` durable. Some file systems cannot sync a directory: that is no error.
fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if matches!(e.raw_os_error(), Some(22 | 95)) => Ok(()), // EINVAL, EOPNOTSUPP
        r => r,
    }
}

/// Writes a file atomically: everything goes to a temporary file of this process beside it
/// (`.NAME.PID-N.uellm-tmp`), which takes the mode of the file it replaces, is synced, renamed
/// over `PATH`, and the directory synced, so a failure at any point leaves an existing `PATH`
/// untouched (and removes the temporary file). A symlink is followed (the link stays, the file
/// it names is replaced); a FIFO or character device is written through; `-` writes to standard
/// output. Returns the bytes written.
///
/// # Errors
/// A directory, block device or socket at `path`, or any I/O failure, naming the file.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<u64, CliError> {
    let dest = match target(path)? {
        Target::Std => {
            let mut out = Counting::new(BufWriter::new(io::stdout().lock()));
            write(&mut out)?;
            out.flush()?;
            return Ok(out.count);
        }
        Target::Through(dest) => {
            let name = dest.display().to_string();
            let file = fs::OpenOptions::new()
                .write(true)
                .open(&dest)
                .map_err(|e| CliError::io(&name, &e))?;
            let mut out = Counting::new(BufWriter::new(file));
            write(&mut out)
                .and_then(|()| out.flush())
                .map_err(|e| CliError::io(&name, &e))?;
            return Ok(out.count);
        }
        Target::Replace(dest) => dest,
    };
    let mut tmp = TempFile::create(&dest)?;
    let result = (|| -> Result<u64, CliError> {
        let name = dest.display().to_string();
        let file = tmp.file.take().expect("a new temporary file is open");
        keep_mode(&file, &dest).map_err(|e| CliError::io(&name, &e))?;
        let mut out = Counting::new(BufWriter::new(file));
        write(&mut out).map_err(|e| CliError::io(&name, &e))?;
        let file = out
            .inner
            .into_inner()
            .map_err(|e| CliError::io(&name, e.error()))?;
        file.sync_all().map_err(|e| CliError::io(&name, &e))?;
        drop(file);
        fs::rename(&tmp.path, &dest).map_err(|e| {
            CliError::io(
                format!("cannot rename {} to {name}", tmp.path.display()),
                &e,
            )
        })?;
        let dir = parent_dir(&dest);
        sync_dir(dir).map_err(|e| CliError::io(dir.display(), &e))?;
        Ok(out.count)
    })();
    if result.is_err() {
        tmp.remove();
    }
    result
}

/// A writer that counts the bytes it passes on.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Self {
        Counting { inner, count: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
