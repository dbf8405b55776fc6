//! Suite parsing and expansion: the matrix, and errors with file and line.

use hebbench::suite::Suite;

const BASE: &str = "name: s
experiment: krotov
seeds: [0, 1]
params:
  hidden: 10
  p: 2.0
  k: 2
  delta: 0.4
  eps0: 0.02
  batch: 10
  epochs: 1
  readout_epochs: 1
";

fn err(text: &str) -> String {
    Suite::parse(text, "suites/x.yaml").unwrap_err().to_string()
}

#[test]
fn matrix_crosses_configs_with_axes_seeds_and_honours_exclude_and_include() {
    let text = format!(
        "{BASE}configs:
  - name: a
  - name: b
    seeds: [7]
matrix:
  readout: [paper, softmax]
  beta: [0.1, 0.2]
exclude:
  - {{config: a, readout: softmax}}
  - {{seed: 1, beta: 0.2}}
include:
  - {{config: b, readout: paper, beta: 0.5}}
"
    );
    let s = Suite::parse(&text, "x.yaml").unwrap();
    let names: Vec<String> = s
        .runs
        .iter()
        .map(|r| format!("{}#{}", r.name, r.seed))
        .collect();
    // a: 2 betas (paper only) x 2 seeds, minus seed 1 at beta 0.2 -> 3
    // b: 4 combos x seed 7 + the included combo -> 5
    assert_eq!(
        names,
        [
            "a/beta=0.1,readout=paper#0",
            "a/beta=0.1,readout=paper#1",
            "a/beta=0.2,readout=paper#0",
            "b/beta=0.1,readout=paper#7",
            "b/beta=0.1,readout=softmax#7",
            "b/beta=0.2,readout=paper#7",
            "b/beta=0.2,readout=softmax#7",
            "b/beta=0.5,readout=paper#7",
        ]
    );
    let lock = hebbench::data::Lock::builtin().unwrap();
    let h: std::collections::BTreeSet<_> = s.runs.iter().map(|r| r.run_hash(&lock)).collect();
    assert_eq!(h.len(), s.runs.len(), "every run has its own identity");
    assert_eq!(
        s.runs[0].config_hash(&lock),
        s.runs[1].config_hash(&lock),
        "seeds share a config hash"
    );
    assert_eq!(s.runs[0].dataset, "mnist");
}

#[test]
fn unknown_top_level_key_names_file_and_line() {
    let e = err(&format!(
        "{BASE}colors: [red]\nconfigs:\n  - name: a\n    params: {{readout: paper}}\n"
    ));
    assert!(e.starts_with("suites/x.yaml:13:"), "{e}");
    assert!(
        e.contains("unknown field `colors`") && e.contains("configs"),
        "{e}"
    );
}

#[test]
fn unknown_parameter_names_its_line_and_the_valid_keys() {
    let e = err(&format!(
        "{BASE}configs:\n  - name: a\n    params:\n      readout: paper\n      hiden: 3\n"
    ));
    assert!(e.starts_with("suites/x.yaml:17:"), "{e}");
    assert!(
        e.contains("unknown field `hiden`") && e.contains("`hidden`"),
        "{e}"
    );
}

#[test]
fn unknown_experiment_and_readout_list_the_valid_choices() {
    let e = err(&BASE
        .replace("experiment: krotov", "experiment: krotof")
        .replace("seeds", "configs: [{name: a}]\nseeds"));
    assert!(
        e.starts_with("suites/x.yaml:2:")
            && e.contains("unknown experiment `krotof`; valid choices: krotov"),
        "{e}"
    );
    let e = err(&format!(
        "{BASE}configs:\n  - name: a\n    params: {{readout: hebb}}\n"
    ));
    assert!(
        e.contains("unknown variant `hebb`, expected one of `paper`, `softmax`, `bio`"),
        "{e}"
    );
    assert!(e.starts_with("suites/x.yaml:15:"), "{e}");
}

#[test]
fn wrong_type_and_malformed_yaml_give_a_line() {
    let e = err(&BASE.replace("hidden: 10", "hidden: many").replace(
        "seeds",
        "configs: [{name: a, params: {readout: paper}}]\nseeds",
    ));
    assert!(
        e.contains("invalid type") && e.contains("suites/x.yaml:"),
        "{e}"
    );
    assert!(!e.starts_with("suites/x.yaml:0:"), "{e}");
    let e = err("name: s\nseeds: [0\nconfigs: []\n");
    assert!(e.starts_with("suites/x.yaml:"), "{e}");
    assert!(!e.starts_with("suites/x.yaml:0:"), "{e}");
}

#[test]
fn every_committed_suite_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "yaml") {
            let s = Suite::load(&p).unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.runs.is_empty(), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn merge_keys_share_a_configuration_and_own_keys_override() {
    let text = "name: s
experiment: krotov
params: {p: 2.0, k: 2, delta: 0.4, eps0: 0.02, batch: 10, epochs: 1, readout_epochs: 1, readout: paper}
configs:
  - name: a
    params: &shared {hidden: 10, beta: 0.1}
  - name: b
    params: {<<: *shared, beta: 0.3}
";
    let s = Suite::parse(text, "x.yaml").unwrap();
    let (a, b) = (&s.runs[0].params, &s.runs[1].params);
    assert_eq!(a["hidden"], b["hidden"]);
    assert_eq!(b["beta"], serde_json::json!(0.3));
    assert!(!b.contains_key("<<"));
}

#[test]
fn filters_match_substrings_globs_exact_names_and_seeds() {
    let text = "name: s
experiment: krotov
seeds: [0, 1]
params: {p: 2.0, k: 2, delta: 0.4, eps0: 0.02, batch: 10, epochs: 1, readout_epochs: 1, readout: paper, hidden: 10}
configs:
  - name: SoftHebb-Backpropagation
  - name: SoftHebb-Backpropagation/triangle
  - name: Lagani-Backpropagation
";
    let s = Suite::parse(text, "x.yaml").unwrap();
    let names = |f: &str| -> Vec<String> {
        s.filtered(Some(f))
            .iter()
            .map(|r| format!("{}@{}", r.name, r.seed))
            .collect()
    };
    assert_eq!(names("SoftHebb-Backprop").len(), 4);
    assert_eq!(names("Backpropagation@1").len(), 3);
    assert_eq!(
        names("=SoftHebb-Backpropagation@0"),
        ["SoftHebb-Backpropagation@0"]
    );
    assert!(names("=SoftHebb-Backprop").is_empty());
    assert_eq!(
        names("*triangle@1"),
        ["SoftHebb-Backpropagation/triangle@1"]
    );
    assert_eq!(names("Lagani*n@0"), ["Lagani-Backpropagation@0"]);
}

#[test]
fn neutral_options_leave_run_identity_unchanged_and_others_change_it() {
    // `cosine: kernel` is what hebbian_cnn computed before the option
    // existed: naming it must not change the run hash; `per_tap` must.
    let row = |extra: &str| {
        let text = format!(
            "name: s
experiment: hebbian_cnn
params: {{arch: softhebb, competition: hard_wta, activation: cosine{extra}}}
"
        );
        let s = Suite::parse(&text, "x.yaml").unwrap();
        let lock = hebbench::data::Lock::builtin().unwrap();
        (s.runs[0].run_hash(&lock), s.runs[0].params.clone())
    };
    let (plain, params) = row("");
    assert_eq!(
        params["cosine"],
        serde_json::json!("kernel"),
        "recorded resolved"
    );
    assert_eq!(row(", cosine: kernel").0, plain);
    assert_eq!(
        row(", presynaptic: {kind: softmax, dim: input}").0,
        row(", presynaptic: {kind: softmax, dim: input, apply: scale}").0
    );
    assert_ne!(row(", cosine: per_tap").0, plain);
    assert_ne!(
        row(", presynaptic: {kind: softmax, dim: input}").0,
        row(", presynaptic: {kind: softmax, dim: input, apply: replace}").0
    );
}

/// Every committed suite's runs and their identities, one per line:
/// `suite<TAB>run name<TAB>seed<TAB>run hash`, sorted.
fn committed_run_hashes() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lock = hebbench::data::Lock::builtin().unwrap();
    let mut paths: Vec<_> = std::fs::read_dir(root.join("suites"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    let mut lines = Vec::new();
    for p in paths {
        let s = Suite::load(&p).unwrap_or_else(|e| panic!("{e}"));
        for r in &s.runs {
            lines.push(format!(
                "{}\t{}\t{}\t{}",
                s.name,
                r.name,
                r.seed,
                r.run_hash(&lock)
            ));
        }
    }
    lines.sort();
    lines.join("\n") + "\n"
}

#[test]
fn committed_suites_keep_their_run_hashes() {
    // Run identity names every result file and cache entry, so a change to
    // it orphans users' results: it must be deliberate and show in a diff.
    // After such a change: HEBBENCH_BLESS_HASHES=1 cargo test --release --test suite
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/run_hashes.tsv");
    let now = committed_run_hashes();
    if std::env::var_os("HEBBENCH_BLESS_HASHES").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let pinned = std::fs::read_to_string(&path).unwrap_or_default();
    let pinned: std::collections::BTreeSet<&str> = pinned.lines().collect();
    let now: std::collections::BTreeSet<&str> = now.lines().collect();
    let gone: Vec<_> = pinned.difference(&now).collect();
    let new: Vec<_> = now.difference(&pinned).collect();
    assert!(
        gone.is_empty() && new.is_empty(),
        "run identities changed.\nno longer produced:\n{}\nnew:\n{}\n\
         If this is deliberate, re-pin with HEBBENCH_BLESS_HASHES=1 cargo test --release --test suite",
        gone.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"),
        new.iter().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"),
    );
}

#[test]
fn a_suite_extends_another_overriding_params_and_merging_configs_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yaml"),
        format!(
            "{BASE}configs:\n  - name: a\n    params: {{readout: paper, delta: 0.3}}\n    reference: {{test_accuracy: 0.9}}\n  - name: b\n    params: {{readout: softmax}}\n"
        ),
    )
    .unwrap();
    let child = dir.path().join("child.yaml");
    std::fs::write(
        &child,
        "extends: base.yaml\nname: c\nseeds: [3]\nparams: {hidden: 20}\nconfigs:\n  - name: b\n    params: {delta: 0.5}\n    floor: {test_accuracy: 0.1}\n  - name: d\n    params: {readout: bio}\n",
    )
    .unwrap();
    let s = Suite::load(&child).unwrap();
    assert_eq!(s.name, "c");
    let names: Vec<(&str, u64)> = s.runs.iter().map(|r| (r.name.as_str(), r.seed)).collect();
    assert_eq!(names, [("a", 3), ("b", 3), ("d", 3)]);
    let p = |i: usize, k: &str| s.runs[i].params[k].clone();
    // The child's suite params override the base's for every config.
    assert!(s.runs.iter().all(|r| r.params["hidden"] == 20));
    // A config of the same name keeps its base params and reference and
    // takes the child's on top.
    assert_eq!(
        (p(0, "readout"), p(0, "delta")),
        ("paper".into(), 0.3.into())
    );
    assert_eq!(
        (p(1, "readout"), p(1, "delta")),
        ("softmax".into(), 0.5.into())
    );
    assert_eq!(s.runs[1].floor["test_accuracy"], 0.1);
    assert!(s.runs[0].reference.is_some());
    // A missing base names the extending file and line.
    std::fs::write(&child, "name: c\nextends: nowhere.yaml\n").unwrap();
    let e = Suite::load(&child).unwrap_err().to_string();
    assert!(
        e.contains("child.yaml:2:") && e.contains("nowhere.yaml"),
        "{e}"
    );
    // A cycle is refused, not followed forever.
    std::fs::write(&child, "name: c\nextends: child.yaml\n").unwrap();
    assert!(Suite::load(&child)
        .unwrap_err()
        .to_string()
        .contains("deep"));
}

#[test]
fn an_extending_suite_can_keep_only_some_of_its_base_configs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("base.yaml"),
        format!("{BASE}configs:\n  - name: a\n    params: {{readout: paper}}\n  - name: b\n    params: {{readout: softmax}}\n  - name: e\n    params: {{readout: bio}}\n"),
    )
    .unwrap();
    let child = dir.path().join("child.yaml");
    std::fs::write(&child, "extends: base.yaml\nname: c\nonly: [e, a]\n").unwrap();
    let s = Suite::load(&child).unwrap();
    let mut names: Vec<&str> = s.runs.iter().map(|r| r.name.as_str()).collect();
    names.dedup(); // one run per seed
    assert_eq!(
        names,
        ["a", "e"],
        "the base's order, only the named configs"
    );
    // A name the base lacks is an error at its line, listing the valid ones.
    std::fs::write(&child, "extends: base.yaml\nname: c\nonly: [a, zz]\n").unwrap();
    let e = Suite::load(&child).unwrap_err().to_string();
    assert!(
        e.contains("child.yaml:3:") && e.contains("`zz`") && e.contains("a, b, e"),
        "{e}"
    );
}

#[test]
fn an_error_in_a_later_config_points_at_that_config_and_names_every_missing_key() {
    // Both configs set `t_invert`; only the second one's is invalid: the
    // error points at the second's line, not the first key found.
    let text = "name: s\nexperiment: hebbian_cnn\nparams: {arch: softhebb, competition: soft_wta}\nconfigs:\n  - name: a\n    params:\n      t_invert: [1.0]\n  - name: b\n    params:\n      lr: [0.1]\n      t_invert: []\n";
    let e = err(text);
    assert!(
        e.starts_with("suites/x.yaml:11:") && e.contains("config `b`"),
        "{e}"
    );
    // Missing required keys are named together, at the config's line.
    let text = "name: s\nexperiment: krotov\nconfigs:\n  - name: a\n    params: {hidden: 3}\n";
    let e = err(text);
    assert!(e.starts_with("suites/x.yaml:4:"), "{e}");
    assert!(
        e.contains("`p`, `k`, `delta`, `eps0`, `batch`, `epochs`, `readout`"),
        "{e}"
    );
}

#[test]
fn floors_can_differ_per_matrix_cell_and_a_bad_cell_names_its_line() {
    let text = format!(
        "{BASE}configs:
  - name: a
    params: {{readout: paper}}
    floor:
      test_accuracy: {{label_fraction=0.1: 0.2, label_fraction=1.0: 0.5}}
      test_f1: 0.1
matrix:
  label_fraction: [0.1, 0.5, 1.0]
"
    );
    let s = Suite::parse(&text, "x.yaml").unwrap();
    let floor = |name: &str| {
        s.runs
            .iter()
            .find(|r| r.name == name && r.seed == 0)
            .unwrap()
            .floor
            .clone()
    };
    let f = floor("a/label_fraction=0.1");
    assert_eq!((f["test_accuracy"], f["test_f1"]), (0.2, 0.1));
    assert_eq!(floor("a/label_fraction=1.0")["test_accuracy"], 0.5);
    // A cell the floor does not name has no floor on that column.
    assert!(!floor("a/label_fraction=0.5").contains_key("test_accuracy"));
    let bad = text.replace("label_fraction=1.0: 0.5", "fraction=1.0: 0.5");
    let e = err(&bad);
    assert!(
        e.contains("x.yaml:") && e.contains("floor cell `fraction=1.0`"),
        "{e}"
    );
}
