//! The source layout keeps its rules: the capability modules of src/ (the fake included) import
//! each other without a cycle, the files inside one folder too, and every folder says in its
//! module doc what it owns.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file of src/ with its module path (`layer::body`; `layer` for its mod.rs).
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let mut module = prefix.to_vec();
            if path.is_dir() {
                module.push(name);
                walk(&path, &module, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                if name != "mod" && name != "lib" {
                    module.push(name);
                }
                out.insert(module.join("::"), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(src, &[], &mut out);
    out
}

/// The names lib.rs re-exports at the root, each mapped to the module it comes from
/// (`Error` -> `error`), so `crate::Error` counts as a use of `error`.
fn root_reexports(lib: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for statement in lib.split(';') {
        let statement = statement.trim();
        let Some(rest) = statement
            .lines()
            .rfind(|l| l.trim_start().starts_with("pub use "))
            .and_then(|l| l.trim_start().strip_prefix("pub use "))
        else {
            continue;
        };
        let rest = statement[statement.find(rest).unwrap()..].to_owned();
        let module = rest.split("::").next().unwrap().trim().to_owned();
        let names = match (rest.find('{'), rest.rfind('}')) {
            (Some(open), Some(close)) => rest[open + 1..close]
                .split(',')
                .map(|n| n.trim().rsplit("::").next().unwrap().to_owned())
                .collect(),
            _ => vec![rest.rsplit("::").next().unwrap().trim().to_owned()],
        };
        for name in names {
            let name = name.rsplit(" as ").next().unwrap().trim().to_owned();
            if !name.is_empty() {
                out.insert(name, module.clone());
            }
        }
    }
    out
}

/// The code of a file without its comments (doc examples name other modules freely).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` path in `text`, as its segments.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        if text[..at].ends_with('$')
            || text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        out.push(
            path.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    out
}

/// A cycle in `graph`, if there is one, as the modules along it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycle_among_the_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = modules(&src);
    let reexports = root_reexports(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let top = |module: &str| module.split("::").next().unwrap().to_owned();
    let mut capabilities: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &modules {
        if module.is_empty() || module == "generated" {
            continue;
        }
        let text = code(path);
        let from = top(module);
        capabilities.entry(from.clone()).or_default();
        for path in crate_paths(&text) {
            let Some(first) = path.first() else { continue };
            let to = if modules.contains_key(first) || modules.keys().any(|m| top(m) == *first) {
                first.clone()
            } else if let Some(module) = reexports.get(first) {
                module.clone()
            } else {
                continue;
            };
            if to != from && to != "generated" {
                capabilities.entry(from.clone()).or_default().insert(to);
            }
        }
        // Inside a folder: `super::x` naming a sibling file is an edge between siblings.
        if let Some((parent, _)) = module.rsplit_once("::") {
            siblings.entry(module.clone()).or_default();
            for (at, _) in text.match_indices("super::") {
                let name: String = text[at + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let sibling = format!("{parent}::{name}");
                if modules.contains_key(&sibling) && sibling != *module {
                    siblings.entry(module.clone()).or_default().insert(sibling);
                }
            }
            for (at, _) in text.match_indices("use super::{") {
                let list = &text[at + 12..];
                let list = &list[..list.find('}').unwrap_or(0)];
                for name in list
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap())
                {
                    let sibling = format!("{parent}::{name}");
                    if modules.contains_key(&sibling) && sibling != *module {
                        siblings.entry(module.clone()).or_default().insert(sibling);
                    }
                }
            }
        }
    }
    assert!(
        capabilities.len() >= 8,
        "the scan found the modules: {capabilities:?}"
    );
    assert!(
        capabilities["layer"].contains("auth") && capabilities["client"].contains("layer"),
        "the scan sees imports: {capabilities:?}"
    );
    if let Some(cycle) = find_cycle(&capabilities) {
        panic!("import cycle among src/ modules: {}", cycle.join(" -> "));
    }
    if let Some(cycle) = find_cycle(&siblings) {
        panic!("import cycle inside a folder: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry((*a).into()).or_default().insert((*b).into());
            g.entry((*b).into()).or_default();
        }
        g
    };
    assert_eq!(
        find_cycle(&graph(&[
            ("client", "layer"),
            ("layer", "error"),
            ("error", "client")
        ])),
        Some(vec![
            "client".into(),
            "layer".into(),
            "error".into(),
            "client".into()
        ])
    );
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    let reexports = root_reexports("pub use error::Error;\npub use layer::{CallOptions, retry};\n");
    assert_eq!(reexports["Error"], "error");
    assert_eq!(reexports["retry"], "layer");
}

#[test]
fn every_folder_of_src_says_what_it_owns() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let text = std::fs::read_to_string(dir.join("mod.rs")).unwrap();
        let doc: Vec<&str> = text.lines().take_while(|l| l.starts_with("//!")).collect();
        assert!(
            doc.len() >= 2,
            "{}/mod.rs has no module doc saying what it owns",
            dir.display()
        );
    }
}
