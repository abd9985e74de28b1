//! The module graph of the crate has no import circle.
//!
//! Reads every `crate::MODULE` path in `src/**/*.rs` (test modules at the end of a file
//! excluded), builds the graph of top-level modules, and fails when it has a circle once the
//! allowed upward imports below are left out. A new circle fails this test with its modules and
//! edges; a new upward import should be turned around, not added here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Imports that point up the layers, each with why it is kept (at most two).
const ALLOWED_UPWARD: &[(&str, &str, &str)] = &[
    (
        "config",
        "actions",
        "the configuration file declares CodeBuild projects in the buildspec types of `actions`",
    ),
    (
        "app",
        "runtime",
        "the application handle owns the timer wheel, whose due timers go to the runtime driver",
    ),
];

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a path under `src/` belongs to (`None` for the crate roots).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "main" && name != "lib").then(|| name.to_string())
}

/// The top-level modules a file's text refers to through `crate::`.
fn references(text: &str) -> BTreeSet<String> {
    // A trailing `#[cfg(test)]` module may use anything.
    let text = text.find("#[cfg(test)]").map_or(text, |at| &text[..at]);
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '$')) {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            found.insert(name);
        }
    }
    found
}

fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph = Graph::new();
    for file in &files {
        let Some(module) = top_module(&src, file) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("a readable source file");
        let edges = graph.entry(module.clone()).or_default();
        for target in references(&text) {
            if target != module {
                edges.insert(target);
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for edges in graph.values_mut() {
        edges.retain(|m| modules.contains(m));
    }
    graph
}

/// The strongly connected components with more than one module (Tarjan).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a Graph,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            self.on_stack.insert(v);
            for w in self.graph.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

fn describe(graph: &Graph, circle: &[String]) -> String {
    let edges: Vec<String> = circle
        .iter()
        .flat_map(|a| {
            graph[a]
                .iter()
                .filter(|b| circle.contains(b))
                .map(move |b| format!("{a}->{b}"))
        })
        .collect();
    format!("{} | {}", circle.join(", "), edges.join(" "))
}

#[test]
fn no_import_circle_between_modules() {
    let mut graph = module_graph();
    assert!(
        graph.contains_key("engine") && graph.contains_key("store"),
        "the module graph was read from src/"
    );
    assert!(ALLOWED_UPWARD.len() <= 2, "at most two upward imports");
    for (from, to, _why) in ALLOWED_UPWARD {
        let present = graph.get_mut(*from).is_some_and(|e| e.remove(*to));
        assert!(
            present,
            "the allowed upward import {from} -> {to} is gone: remove it from ALLOWED_UPWARD"
        );
    }
    let found: Vec<String> = circles(&graph)
        .iter()
        .map(|c| describe(&graph, c))
        .collect();
    assert!(
        found.is_empty(),
        "import circles between modules:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_engine_imports_only_the_model_and_the_state() {
    let graph = module_graph();
    let allowed: BTreeSet<&str> = ["model", "protocol", "store", "jobs"].into();
    let extra: Vec<&String> = graph["engine"]
        .iter()
        .filter(|m| !allowed.contains(m.as_str()))
        .collect();
    assert!(extra.is_empty(), "the engine imports {extra:?}");
}

#[test]
fn the_circle_check_finds_a_circle() {
    let graph: Graph = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        circles(&graph),
        vec![vec!["a".to_string(), "b".to_string(), "c".to_string()]]
    );
    assert_eq!(
        references("use crate::engine::{a}; x::crate::no; crate::store::X"),
        ["engine", "store"].into_iter().map(String::from).collect()
    );
}
