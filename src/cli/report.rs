//! Output helpers: numbers for people, aligned tables, JSON.
//!
//! Shared by `uellm` and `uellm-bench` (which includes this file by path; see `error.rs`).

use std::io::{self, Write};

use serde::Serialize;

/// `1234567` -> `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A non-negative rate or count rounded to an integer, with thousands separators; `-` when it is
/// not a finite number.
pub fn round_thousands(x: f64) -> String {
    if x.is_finite() && x >= 0.0 {
        thousands(x.round() as u64)
    } else {
        "-".into()
    }
}

/// A fixed-point number, or `-` when it is not finite.
pub fn fixed(x: f64, decimals: usize) -> String {
    if x.is_finite() {
        format!("{x:.decimals$}")
    } else {
        "-".into()
    }
}

/// A share in [0, 1] as a percentage.
pub fn percent(x: f64) -> String {
    if x.is_finite() {
        format!("{:.1}%", x * 100.0)
    } else {
        "-".into()
    }
}

/// Bytes in decimal units (`4.72 MB`), with the exact count for small sizes.
pub fn bytes(n: u64) -> String {
    match n {
        0..=9_999 => format!("{n} B"),
        10_000..=9_999_999 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.2} MB", n as f64 / 1e6),
    }
}

/// `[1697, 6806, 9801]` -> `"1-grams 1,697 · 2-grams 6,806 · 3-grams 9,801"`.
pub fn ngrams(per_order: &[u64]) -> String {
    per_order
        .iter()
        .enumerate()
        .map(|(k, n)| format!("{}-grams {}", k + 1, thousands(*n)))
        .collect::<Vec<_>>()
        .join(" · ")
}

/// Pretty JSON and a newline.
pub fn write_json<W: Write + ?Sized, T: Serialize + ?Sized>(
    out: &mut W,
    value: &T,
) -> io::Result<()> {
    // io::Error::from keeps the kind of a write error (a broken pipe must stay one: the reader
    // went away, which `uellm` answers with status 0), where io::Error::other would hide it.
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::from)?;
    writeln!(out)
}

/// A plain-text table: a header row, a rule, and rows, columns separated by two spaces.
pub struct Table {
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
    indent: usize,
}

impl Table {
    /// A table with these column headers; columns are left-aligned until [`Table::right`].
    pub fn new(header: &[&str]) -> Self {
        Table {
            rows: vec![header.iter().map(|s| (*s).to_owned()).collect()],
            right: vec![false; header.len()],
            indent: 0,
        }
    }

    /// Right-aligns these columns (numbers).
    pub fn right(mut self, columns: &[usize]) -> Self {
        for &c in columns {
            if let Some(r) = self.right.get_mut(c) {
                *r = true;
            }
        }
        self
    }

    /// Indents every line by `n` spaces.
    #[allow(dead_code)] // uellm-bench's tables only
    pub fn indent(mut self, n: usize) -> Self {
        self.indent = n;
        self
    }

    /// Adds a row (missing cells are empty).
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, one line per row plus the rule under the header.
    pub fn render(&self) -> String {
        let cols = self.right.len();
        let mut width = vec![0usize; cols];
        for row in &self.rows {
            for (c, cell) in row.iter().enumerate().take(cols) {
                width[c] = width[c].max(cell.chars().count());
            }
        }
        let pad = " ".repeat(self.indent);
        let mut out = String::new();
        for (r, row) in self.rows.iter().enumerate() {
            let mut line = pad.clone();
            for (c, w) in width.iter().enumerate() {
                let cell = row.get(c).map_or("", String::as_str);
                let fill = " ".repeat(w - cell.chars().count());
                if c > 0 {
                    line.push_str("  ");
                }
                if self.right[c] {
                    line.push_str(&fill);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&fill);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if r == 0 {
                let total = width.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
                out.push_str(&pad);
                out.push_str(&"-".repeat(total));
                out.push('\n');
            }
        }
        out
    }
}

/// A size in bytes: a number with an optional unit (K, M, G: powers of 1000; KiB, MiB, GiB:
/// of 1024; a trailing B is allowed: 1.5MB).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (e.g. 500K, 1M, 1.5GiB)"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("`{s}`: unknown unit (K, M, G, KiB, MiB, GiB)")),
    };
    let bytes = (n * mult).round();
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return Err(format!("`{s}` is not a size of at least one byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["name", "n"]).right(&[1]);
        t.row(vec!["a".into(), "1,000".into()]);
        t.row(vec!["bbbbbb".into(), "2".into()]);
        assert_eq!(
            t.render(),
            "name        n\n-------------\na       1,000\nbbbbbb      2\n"
        );
    }

    #[test]
    fn sizes_take_decimal_and_binary_units() {
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("1.5MB"), Ok(1_500_000));
        assert_eq!(parse_size("500k"), Ok(500_000));
        assert_eq!(parse_size("2KiB"), Ok(2048));
        assert_eq!(parse_size("1 GiB"), Ok(1 << 30));
        for bad in ["", "M", "1Q", "-1", "0", "0.1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
