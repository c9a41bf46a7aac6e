//! The core reads bottom-up: every `crate::` import of a module under `src/` points to a module
//! of a lower layer, as listed in `docs/architecture.md` (which this test reads, so the table
//! there is the module graph of the code). Test modules (`#[cfg(test)]`) may import anything.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `module → layer`, from the table of docs/architecture.md (`| 3 | `parts` | ... |` rows).
fn layers() -> BTreeMap<String, u32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md");
    let doc = std::fs::read_to_string(path).expect("docs/architecture.md");
    let mut map = BTreeMap::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 {
            continue;
        }
        if let (Ok(layer), Some(name)) = (
            cells[1].parse::<u32>(),
            cells[2].strip_prefix('`').and_then(|c| c.strip_suffix('`')),
        ) {
            map.insert(name.to_owned(), layer);
        }
    }
    assert!(map.len() > 10, "no layer table in docs/architecture.md");
    map
}

/// The code of a source file without comments, string and character literals, and its test
/// module.
fn code(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        // A test module, or a file that is one (`#![cfg(test)]`), may import anything.
        if line.trim_start().starts_with("#[cfg(test)]") || line.trim_start() == "#![cfg(test)]" {
            break;
        }
        let chars: Vec<char> = line.chars().collect();
        let (mut i, mut in_string) = (0, false);
        while i < chars.len() {
            let c = chars[i];
            if in_string {
                match c {
                    '\\' => i += 1,
                    '"' => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            } else if c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
                i += 2; // a character literal such as '"'
            } else if c == '\'' && chars.get(i + 1) == Some(&'\\') {
                while i + 1 < chars.len() && chars[i + 1] != '\'' {
                    i += 1;
                }
                i += 1;
            } else {
                out.push(c);
            }
            i += 1;
        }
        out.push('\n');
    }
    out
}

/// The modules `code` imports with `crate::NAME`; a `crate::{...}` group (which names lib.rs
/// re-exports, not modules) is reported as `{`.
fn imports(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.push(if name.is_empty() {
            after.chars().take(1).collect()
        } else {
            name
        });
        rest = after;
    }
    found
}

/// `(module, file)` for every source file of the library: `src/NAME.rs`, and the files of a
/// module folder `src/NAME/` (its submodules belong to it). The binaries' folders (`cli`, `bin`)
/// are no part of the library; they use its public API only, as the bindings crate
/// (`bindings/wasm`) does, which cannot reach anything else.
fn sources() -> Vec<(String, PathBuf)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main" {
            files.push((name, path));
        } else if path.is_dir() && name != "cli" && name != "bin" {
            for f in std::fs::read_dir(&path).unwrap() {
                files.push((name.clone(), f.unwrap().path()));
            }
        }
    }
    files
}

#[test]
fn every_core_import_points_down() {
    let layers = layers();
    let mut wrong = Vec::new();
    for (module, path) in sources() {
        let source = std::fs::read_to_string(&path).unwrap();
        let code = code(&source);
        // A file that is all test code (`#![cfg(test)]`) belongs to no layer.
        if code.trim().is_empty() {
            continue;
        }
        let Some(&own) = layers.get(&module) else {
            wrong.push(format!(
                "{module}: not in the table of docs/architecture.md"
            ));
            continue;
        };
        for dep in imports(&code) {
            if dep == module {
                continue;
            }
            match layers.get(&dep) {
                Some(&layer) if layer < own => {}
                Some(&layer) => wrong.push(format!(
                    "{}: crate::{dep} (layer {layer}) from {module} (layer {own})",
                    path.display()
                )),
                None => wrong.push(format!(
                    "{}: crate::{dep} is no module of the table",
                    path.display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that do not point down:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_skips_comments_strings_and_tests() {
    let c = code(concat!(
        "use crate::a::B; // crate::z\n",
        "let s = \"// crate::y\"; let q = '\"'; use crate::{C};\n",
        "#[cfg(test)]\n",
        "use crate::x;\n",
    ));
    assert_eq!(imports(&c), ["a", "{"]);
}
