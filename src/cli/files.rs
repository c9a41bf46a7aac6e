//! Reading text and models, writing files atomically. `-` stands for standard input (or output).

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

fn open(path: &Path) -> Result<Box<dyn Read>, CliError> {
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

/// Loads a model file; errors name the file (`FILE: not a model file: ...`).
pub fn load_model(path: &Path) -> Result<Model, CliError> {
    let bytes = read_bytes(path)?;
    Model::from_bytes(&bytes).map_err(|e| CliError::about(display(path), e))
}

/// Fails early, before any work, when the directory of `path` does not exist.
pub fn check_output_dir(path: &Path) -> Result<(), CliError> {
    if is_std(path) {
        return Ok(());
    }
    if fs::metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(CliError::io_msg(format!(
            "cannot write {}: it is a directory",
            path.display()
        )));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(CliError::io_msg(format!(
                "cannot write {}: directory {} does not exist",
                path.display(),
                dir.display()
            )))
        }
        _ => Ok(()),
    }
}

/// `path` with `.tmp` appended to its file name.
pub fn tmp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Writes a file atomically: everything goes to `PATH.tmp`, which is synced and then renamed
/// over `PATH`, so a failure at any point leaves an existing `PATH` untouched (and removes the
/// temporary file). `-` writes to standard output instead. Returns the bytes written.
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<u64, CliError> {
    if is_std(path) {
        let mut out = Counting::new(BufWriter::new(io::stdout().lock()));
        write(&mut out)?;
        out.flush()?;
        return Ok(out.count);
    }
    let tmp = tmp_path(path);
    let result = (|| -> Result<u64, CliError> {
        let name = tmp.display().to_string();
        let file = File::create(&tmp).map_err(|e| CliError::io(&name, &e))?;
        let mut out = Counting::new(BufWriter::new(file));
        write(&mut out).map_err(|e| CliError::io(&name, &e))?;
        let file = out
            .inner
            .into_inner()
            .map_err(|e| CliError::io(&name, e.error()))?;
        file.sync_all().map_err(|e| CliError::io(&name, &e))?;
        fs::rename(&tmp, path)
            .map_err(|e| CliError::io(format!("cannot rename {name} to {}", path.display()), &e))?;
        Ok(out.count)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
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
