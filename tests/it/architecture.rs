//! The layers point one way. Each module under src/ has a rank; a file may name only modules of
//! a lower rank (and its own module). Ranks follow ../shared/DESIGN.md, bottom to top.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// (module, rank). Modules on the same rank may not name each other either.
const LAYERS: &[(&str, u32)] = &[
    ("error", 0),
    ("clock", 1),
    ("crypto", 1),
    ("metrics", 1),
    ("domain", 2),
    ("i18n", 3),
    ("store", 3),
    ("bus", 4),
    ("files", 4),
    ("mail", 4),
    ("backup", 4),
    ("channels", 5),
    ("integrations", 6),
    ("thread", 7),
    ("automation", 8),
    ("bot", 9),
    ("inbox", 10),
    ("workers", 11),
    ("config", 12),
    ("bootstrap", 13),
    ("web", 14),
];

fn rank(module: &str) -> Option<u32> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments (doc comments may mention any module).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Top-level modules a file names with `crate::x` (also inside `use crate::{x, y}`).
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            out.insert(ident(after));
        }
        rest = after;
    }
    out
}

/// The top-level module a file under src/ belongs to; None for the composition root.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    match name.as_str() {
        "lib" | "main" | "bin" => None,
        _ => Some(name),
    }
}

#[test]
fn lower_layers_never_name_higher_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        let Some(own) = rank(&module) else {
            wrong.push(format!(
                "{}: module \"{module}\" has no layer in tests/it/architecture.rs",
                f.display()
            ));
            continue;
        };
        let code = code_of(&std::fs::read_to_string(f).unwrap());
        for named in named_modules(&code) {
            if named == module {
                continue;
            }
            match rank(&named) {
                Some(r) if r < own => {}
                Some(r) => wrong.push(format!(
                    "{}: {module} (layer {own}) names crate::{named} (layer {r})",
                    f.strip_prefix(&src).unwrap().display()
                )),
                // Macros and re-exported items at the crate root.
                None => {}
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that run up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn only_the_store_names_diesel() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let store = src.join("store");
    let offenders: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(&store))
        .filter(|f| {
            let code = code_of(&std::fs::read_to_string(f).unwrap());
            code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .any(|w| w == "diesel" || w == "diesel_migrations")
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "diesel outside src/store: {offenders:?}"
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    let code = code_of(
        "use crate::{bot, inbox::Inbox};\nlet x = crate::workers::outbox::run; // crate::web\n",
    );
    let named = named_modules(&code);
    assert!(named.contains("bot") && named.contains("inbox") && named.contains("workers"));
    assert!(!named.contains("web"), "comments are not imports");
}
