//! The layout's rules, checked on the sources: imports between the
//! library's top-level modules run one way (no circles), and the ground
//! floor (`kernels`, `nhwc`, `identity`, `config`) and the Hebbian engine
//! (`hebb`) never import the models or anything above them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its non-test code names.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&src).unwrap().to_string_lossy().to_string();
            if !rel.ends_with(".rs") || rel == "main.rs" || rel == "lib.rs" {
                continue;
            }
            let top = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_string();
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            let entry = deps.entry(top.clone()).or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for part in line.split("crate::").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty()
                        && name != top
                        && name.chars().next().unwrap().is_lowercase()
                    {
                        entry.insert(name);
                    }
                }
            }
        }
    }
    deps
}

fn reachable(deps: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for d in deps.get(&m).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn imports_between_modules_run_one_way() {
    let deps = imports();
    assert!(deps.len() > 10, "found only {deps:?}");
    for m in deps.keys() {
        let r = reachable(&deps, m);
        assert!(!r.contains(m), "`{m}` imports itself through {r:?}");
    }
    for floor in ["kernels", "nhwc", "identity", "config", "hebb"] {
        let r = reachable(&deps, floor);
        for above in [
            "models",
            "experiments",
            "suite",
            "run",
            "report",
            "train",
            "bench",
        ] {
            assert!(!r.contains(above), "`{floor}` reaches `{above}`: {r:?}");
        }
    }
}
