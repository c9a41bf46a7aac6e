//! Strings made at compile time: the camelCase JavaScript name of a snake_case Rust name, and
//! the concatenation of constant strings (the TypeScript declarations are constants:
//! wasm-bindgen writes a `typescript_custom_section` into the module at compile time).

/// The length of [`camel`]`(s)`.
pub(crate) const fn camel_len(s: &str) -> usize {
    let b = s.as_bytes();
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        if b[i] != b'_' {
            n += 1;
        }
        i += 1;
    }
    n
}

/// `s` (snake_case ASCII) in camelCase, as serde's `rename_all = "camelCase"` spells it: each
/// `_` dropped and the letter after it upper-cased. `N` is [`camel_len`]`(s)`.
pub(crate) const fn camel<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut k, mut upper) = (0, 0, false);
    while i < b.len() {
        if b[i] == b'_' {
            upper = true;
        } else {
            out[k] = if upper {
                b[i].to_ascii_uppercase()
            } else {
                b[i]
            };
            upper = false;
            k += 1;
        }
        i += 1;
    }
    assert!(k == N);
    out
}

/// The total length of `parts`.
#[allow(dead_code)] // used by the TypeScript section only, which the lint does not see
pub(crate) const fn total_len(parts: &[&str]) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < parts.len() {
        n += parts[i].len();
        i += 1;
    }
    n
}

/// `parts` one after the other. `N` is [`total_len`]`(parts)`.
#[allow(dead_code)] // as total_len
pub(crate) const fn concat_bytes<const N: usize>(parts: &[&str]) -> [u8; N] {
    let mut out = [0u8; N];
    let (mut i, mut k) = (0, 0);
    while i < parts.len() {
        let b = parts[i].as_bytes();
        let mut j = 0;
        while j < b.len() {
            out[k] = b[j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(k == N);
    out
}

/// Valid UTF-8 `bytes` as a `&str` (for constants; anything else fails to compile).
pub(crate) const fn utf8(bytes: &[u8]) -> &str {
    match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("not UTF-8"),
    }
}

/// `camel!("max_tokens")` is the constant `"maxTokens"`.
macro_rules! camel {
    ($s:expr) => {{
        const S: &str = $s;
        const N: usize = $crate::const_str::camel_len(S);
        const B: [u8; N] = $crate::const_str::camel::<N>(S);
        $crate::const_str::utf8(&B)
    }};
}

/// `const_str!(&["a", B, "c"])` is the constant concatenation of the constant strings given.
macro_rules! const_str {
    ($parts:expr) => {{
        const PARTS: &[&str] = $parts;
        const N: usize = $crate::const_str::total_len(PARTS);
        const B: [u8; N] = $crate::const_str::concat_bytes::<N>(PARTS);
        $crate::const_str::utf8(&B)
    }};
}
