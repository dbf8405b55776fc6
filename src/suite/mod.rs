//! Suites: YAML files that declare what to run. A suite expands into
//! [`RunSpec`]s, each fully resolved and serialisable, whose identity is a
//! hash of its parameters, its dataset's pinned content and the crate
//! version. Mistakes are reported with the file, the line and the choices.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Identity of one run of `experiment`: [`crate::identity::run_hash`] of its
/// parameters without the options at their neutral value.
pub fn run_hash(
    experiment: &str,
    params: &Map<String, Value>,
    seed: u64,
    dataset_hash: &str,
) -> String {
    let params = experiments::identity_params(experiment, params);
    crate::identity::run_hash(experiment, &params, seed, dataset_hash)
}

/// Identity of a configuration across seeds, likewise.
pub fn config_hash(experiment: &str, params: &Map<String, Value>, dataset_hash: &str) -> String {
    let params = experiments::identity_params(experiment, params);
    crate::identity::config_hash(experiment, &params, dataset_hash)
}

use crate::data::Lock;
use crate::error::{Error, Result};
use crate::experiments;

/// A named configuration: one row of a paper's table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigDecl {
    /// The configuration's name (the report's row).
    pub name: String,
    /// Its experiment kind, when not the suite's.
    #[serde(default)]
    pub experiment: Option<String>,
    /// Its parameters, over the suite's.
    #[serde(default)]
    pub params: BTreeMap<String, serde_norway::Value>,
    /// Its seeds, when not the suite's.
    #[serde(default)]
    pub seeds: Option<Vec<u64>>,
    /// The paper's figures for this row, shown beside ours in reports.
    #[serde(default)]
    pub reference: Option<BTreeMap<String, serde_norway::Value>>,
    /// Lowest acceptable final values of result columns (for example
    /// `test_accuracy: 0.8`); `hebbench check` enforces them. A value may
    /// instead map matrix cells to floors (`test_accuracy:
    /// {label_fraction=0.05: 0.2, label_fraction=1.0: 0.45}`); a run of a
    /// cell not named has no floor on that column.
    #[serde(default)]
    pub floor: BTreeMap<String, FloorDecl>,
}

/// One column's floor as a suite writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FloorDecl {
    /// The same floor for every run of the configuration.
    All(f64),
    /// Per matrix cell: `axis=value[,axis=value]` → floor.
    ByCell(BTreeMap<String, f64>),
}

impl FloorDecl {
    /// The floor of the run whose matrix tags are `tags` (`axis=value`).
    fn for_cell(&self, tags: &[String]) -> Option<f64> {
        match self {
            FloorDecl::All(v) => Some(*v),
            FloorDecl::ByCell(m) => m
                .iter()
                .find(|(k, _)| {
                    k.split(',')
                        .all(|part| tags.iter().any(|t| t == part.trim()))
                })
                .map(|(_, v)| *v),
        }
    }
}

/// The suite file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteDecl {
    /// The suite's name (its results directory).
    pub name: String,
    /// One line about it.
    #[serde(default)]
    pub description: String,
    /// Default experiment kind for every config.
    #[serde(default)]
    pub experiment: Option<String>,
    /// Seeds of every configuration (default `[0]`).
    #[serde(default)]
    pub seeds: Option<Vec<u64>>,
    /// Fixed parameters, applied to every run before config and axis values.
    #[serde(default)]
    pub params: BTreeMap<String, serde_norway::Value>,
    /// Axes crossed with every config (cartesian product).
    #[serde(default)]
    pub matrix: BTreeMap<String, Vec<serde_norway::Value>>,
    /// Partial assignments (`config`, axis names, `seed`) that remove runs.
    #[serde(default)]
    pub exclude: Vec<BTreeMap<String, serde_norway::Value>>,
    /// Extra (config, axis values) combinations outside the product.
    #[serde(default)]
    pub include: Vec<BTreeMap<String, serde_norway::Value>>,
    /// The configurations.
    #[serde(default)]
    pub configs: Vec<ConfigDecl>,
    /// A place for YAML anchors (`name: &name {...}`) that configs merge
    /// with `<<: *name`; read for nothing else.
    #[serde(default)]
    pub anchors: Option<serde_norway::Value>,
    /// Another suite file (relative to this one) this suite starts from:
    /// its parameters are overridden key by key, a config of the same name
    /// is merged (its params key by key; reference, floor, seeds and
    /// experiment replaced when given), new configs are appended, and
    /// seeds, matrix, exclude and include replace the base's when given.
    #[serde(default)]
    pub extends: Option<String>,
    /// With `extends`: keep only the base's configs of these names (in the
    /// base's order), e.g. the rows one engine can run.
    #[serde(default)]
    pub only: Vec<String>,
}

impl SuiteDecl {
    /// `self` (a base suite) as `child` extends it.
    fn extended_by(mut self, child: SuiteDecl) -> SuiteDecl {
        self.name = child.name;
        self.description = child.description;
        self.experiment = child.experiment.or(self.experiment);
        self.seeds = child.seeds.or(self.seeds);
        self.params.extend(child.params);
        if !child.only.is_empty() {
            self.configs.retain(|c| child.only.contains(&c.name));
        }
        if !child.matrix.is_empty() {
            self.matrix = child.matrix;
        }
        if !child.exclude.is_empty() {
            self.exclude = child.exclude;
        }
        if !child.include.is_empty() {
            self.include = child.include;
        }
        for c in child.configs {
            match self.configs.iter_mut().find(|b| b.name == c.name) {
                Some(b) => {
                    b.params.extend(c.params);
                    b.experiment = c.experiment.or(b.experiment.take());
                    b.seeds = c.seeds.or(b.seeds.take());
                    b.reference = c.reference.or(b.reference.take());
                    if !c.floor.is_empty() {
                        b.floor = c.floor;
                    }
                }
                None => self.configs.push(c),
            }
        }
        self.extends = None;
        self
    }
}

/// One fully resolved run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// The suite's name.
    pub suite: String,
    /// The named configuration this run comes from.
    pub config: String,
    /// Config name plus matrix values: stable and human-readable.
    pub name: String,
    /// Its experiment kind.
    pub experiment: String,
    /// The dataset it needs.
    pub dataset: String,
    /// Resolved parameters (defaults filled in).
    pub params: Map<String, Value>,
    /// The seed.
    pub seed: u64,
    /// The paper's figures for this configuration.
    pub reference: Option<Value>,
    /// Minimum figures `check` enforces.
    pub floor: BTreeMap<String, f64>,
}

impl RunSpec {
    /// Identity of this run: parameters, seed, pinned dataset content and
    /// crate version.
    pub fn run_hash(&self, lock: &Lock) -> String {
        run_hash(
            &self.experiment,
            &self.params,
            self.seed,
            &lock_hash(lock, &self.dataset),
        )
    }

    /// Identity shared by all seeds of this configuration.
    pub fn config_hash(&self, lock: &Lock) -> String {
        config_hash(
            &self.experiment,
            &self.params,
            &lock_hash(lock, &self.dataset),
        )
    }
}

/// The content hash of a dataset as pinned; equals
/// [`crate::data::Dataset::content_hash`] of any copy that verifies.
pub fn lock_hash(lock: &Lock, dataset: &str) -> String {
    let files = lock
        .datasets
        .get(dataset)
        .map(|d| {
            d.files
                .iter()
                .map(|f| (f.name.clone(), f.sha256.clone()))
                .collect()
        })
        .unwrap_or_default();
    crate::data::content_hash(dataset, &files)
}

/// A parsed and expanded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The suite's name.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// The file it was read from.
    pub path: String,
    /// Every run it expands to.
    pub runs: Vec<RunSpec>,
}

impl Suite {
    /// Reads, validates and expands a suite file.
    pub fn load(path: &Path) -> Result<Self> {
        let (decl, text) = Self::load_decl(path, 0)?;
        Self::expand(decl, &text, &path.display().to_string())
    }

    /// The declaration in `path` with its `extends` chain resolved, and the
    /// file's text (for error lines).
    fn load_decl(path: &Path, depth: usize) -> Result<(SuiteDecl, String)> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|err| Error::Io {
            path: path.to_path_buf(),
            err,
        })?;
        let decl = Self::parse_decl(&text, &file)?;
        let Some(base) = decl.extends.clone() else {
            return Ok((decl, text));
        };
        if depth >= 8 {
            return Err(Error::Suite {
                file,
                line: line_of(&text, "extends"),
                msg: "`extends` nests more than 8 suites deep (a cycle?)".into(),
            });
        }
        let base_path = path.parent().unwrap_or(Path::new(".")).join(&base);
        let (base_decl, _) = Self::load_decl(&base_path, depth + 1).map_err(|e| match e {
            Error::Io { err, .. } => Error::Suite {
                file: file.clone(),
                line: line_of(&text, "extends"),
                msg: format!(
                    "cannot read the suite it extends, {}: {err}",
                    base_path.display()
                ),
            },
            other => other,
        })?;
        if let Some(bad) = decl
            .only
            .iter()
            .find(|n| !base_decl.configs.iter().any(|c| &c.name == *n))
        {
            return Err(Error::Suite {
                file,
                line: line_of(&text, "only"),
                msg: format!(
                    "`only` names `{bad}`, which {base} does not define; it has: {}",
                    base_decl
                        .configs
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        Ok((base_decl.extended_by(decl), text))
    }

    fn parse_decl(text: &str, file: &str) -> Result<SuiteDecl> {
        serde_norway::from_str(text).map_err(|e| Error::Suite {
            file: file.to_string(),
            line: e.location().map(|l| l.line()).unwrap_or(0),
            msg: strip_location(&e.to_string()),
        })
    }

    /// Parses suite text; `file` names it in errors. A suite that
    /// `extends` another must be read with [`Suite::load`].
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let decl = Self::parse_decl(text, file)?;
        if decl.extends.is_some() {
            return Err(Error::Suite {
                file: file.to_string(),
                line: line_of(text, "extends"),
                msg: "a suite with `extends` must be loaded from its file".into(),
            });
        }
        Self::expand(decl, text, file)
    }

    fn expand(decl: SuiteDecl, text: &str, file: &str) -> Result<Self> {
        let err = |line: usize, msg: String| Error::Suite {
            file: file.to_string(),
            line,
            msg,
        };
        let seeds = decl.seeds.clone().unwrap_or_else(|| vec![0]);
        let mut configs = decl.configs.clone();
        if configs.is_empty() {
            configs.push(ConfigDecl {
                name: decl.name.clone(),
                experiment: None,
                params: BTreeMap::new(),
                seeds: None,
                reference: None,
                floor: BTreeMap::new(),
            });
        }
        let axes: Vec<(String, Vec<Value>)> = decl
            .matrix
            .iter()
            .map(|(k, vs)| {
                Ok((
                    k.clone(),
                    vs.iter().map(to_json).collect::<Result<Vec<_>>>()?,
                ))
            })
            .collect::<Result<_>>()?;
        for (k, vs) in &axes {
            if vs.is_empty() {
                return Err(err(
                    line_of(text, k),
                    format!("matrix axis `{k}` has no values"),
                ));
            }
        }
        let excludes: Vec<Map<String, Value>> = decl
            .exclude
            .iter()
            .map(map_to_json)
            .collect::<Result<_>>()?;
        for ex in &excludes {
            for k in ex.keys() {
                if k != "config" && k != "seed" && !decl.matrix.contains_key(k) {
                    return Err(err(
                        line_of(text, k),
                        format!("exclude key `{k}` is not `config`, `seed` or a matrix axis"),
                    ));
                }
            }
        }
        for c in &decl.configs {
            for f in c.floor.values() {
                let FloorDecl::ByCell(cells) = f else {
                    continue;
                };
                for cell in cells.keys() {
                    let bad = cell.split(',').find(|part| {
                        part.split_once('=')
                            .is_none_or(|(axis, _)| !decl.matrix.contains_key(axis.trim()))
                    });
                    if let Some(part) = bad {
                        return Err(err(
                            line_of(text, cell),
                            format!(
                                "config `{}`: floor cell `{part}` is not `axis=value` for a matrix axis ({})",
                                c.name,
                                decl.matrix.keys().cloned().collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                }
            }
        }
        // Every assignment of axis values: the product, then the includes.
        let mut combos: Vec<(Option<String>, Map<String, Value>)> = vec![(None, Map::new())];
        for (k, vs) in &axes {
            combos = combos
                .into_iter()
                .flat_map(|(c, m)| {
                    vs.iter().map(move |v| {
                        let mut m = m.clone();
                        m.insert(k.clone(), v.clone());
                        (c.clone(), m)
                    })
                })
                .collect();
        }
        for inc in &decl.include {
            let mut m = map_to_json(inc)?;
            let config = match m.remove("config") {
                Some(Value::String(s)) => Some(s),
                Some(_) => {
                    return Err(err(
                        line_of(text, "config"),
                        "include `config` must be a name".into(),
                    ))
                }
                None => None,
            };
            combos.push((config, m));
        }

        let mut runs = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for c in &configs {
            let kind = c
                .experiment
                .clone()
                .or_else(|| decl.experiment.clone())
                .ok_or_else(|| {
                    err(
                        line_of(text, &c.name),
                        format!("config `{}` names no experiment", c.name),
                    )
                })?;
            let exp = experiments::lookup(&kind)
                .map_err(|e| err(line_of_value(text, &kind), e.to_string()))?;
            for (only, axis_values) in &combos {
                if only.as_ref().is_some_and(|o| o != &c.name) {
                    continue;
                }
                let mut params = map_to_json(&decl.params)?;
                params.extend(map_to_json(&c.params)?);
                params.extend(axis_values.clone());
                let checked = exp.check(&params).map_err(|e| {
                    let msg = e.to_string();
                    let line = offending_key(&msg)
                        .and_then(|k| line_in_config(text, &c.name, &k))
                        .or_else(|| {
                            let lines: Vec<&str> = text.lines().collect();
                            offending_key(&msg).and_then(|k| key_line(&lines, &k))
                        })
                        .unwrap_or_else(|| line_of(text, &c.name));
                    err(line, format!("config `{}`: {msg}", c.name))
                })?;
                let (dataset, params) = (checked.dataset, checked.params);
                let mut name = c.name.clone();
                let tag: Vec<String> = axis_values
                    .iter()
                    .map(|(k, v)| format!("{k}={}", plain(v)))
                    .collect();
                if !axis_values.is_empty() {
                    name = format!("{name}/{}", tag.join(","));
                }
                let floor: BTreeMap<String, f64> = c
                    .floor
                    .iter()
                    .filter_map(|(k, f)| Some((k.clone(), f.for_cell(&tag)?)))
                    .collect();
                for &seed in c.seeds.as_ref().unwrap_or(&seeds) {
                    let excluded = excludes.iter().any(|ex| {
                        ex.iter().all(|(k, v)| match k.as_str() {
                            "config" => v.as_str() == Some(c.name.as_str()),
                            "seed" => v.as_u64() == Some(seed),
                            _ => axis_values.get(k) == Some(v),
                        })
                    });
                    if excluded {
                        continue;
                    }
                    if !seen.insert((name.clone(), seed)) {
                        return Err(err(
                            line_of(text, &c.name),
                            format!("run `{name}` seed {seed} is declared twice"),
                        ));
                    }
                    runs.push(RunSpec {
                        suite: decl.name.clone(),
                        config: c.name.clone(),
                        name: name.clone(),
                        experiment: kind.clone(),
                        dataset: dataset.clone(),
                        params: params.clone(),
                        seed,
                        reference: c
                            .reference
                            .as_ref()
                            .map(|r| map_to_json(r).map(Value::Object))
                            .transpose()?,
                        floor: floor.clone(),
                    });
                }
            }
        }
        Ok(Suite {
            name: decl.name,
            description: decl.description,
            path: file.to_string(),
            runs,
        })
    }

    /// Runs whose name matches `pattern`: a substring, or a glob with `*`.
    /// A pattern ending in `@N` also selects the seed: `Foo@0`.
    pub fn filtered(&self, pattern: Option<&str>) -> Vec<&RunSpec> {
        let (pattern, seed) = match pattern.and_then(|p| p.rsplit_once('@')) {
            Some((name, seed)) if seed.parse::<u64>().is_ok() => {
                (Some(name), seed.parse::<u64>().ok())
            }
            _ => (pattern, None),
        };
        self.runs
            .iter()
            .filter(|r| pattern.is_none_or(|p| matches_pattern(&r.name, p)))
            .filter(|r| seed.is_none_or(|s| r.seed == s))
            .collect()
    }
}

/// Substring match, `*`-glob match when the pattern has a `*`, or exact
/// match when it starts with `=` (`=SoftHebb-Backpropagation` leaves out
/// `SoftHebb-Backpropagation/triangle`).
pub fn matches_pattern(name: &str, pattern: &str) -> bool {
    if let Some(exact) = pattern.strip_prefix('=') {
        return name == exact;
    }
    if !pattern.contains('*') {
        return name.contains(pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            if !rest.starts_with(part) {
                return false;
            }
            rest = &rest[part.len()..];
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    true
}

fn to_json(v: &serde_norway::Value) -> Result<Value> {
    serde_json::to_value(v).map_err(Error::from)
}

/// A YAML map as JSON, with YAML merge keys applied: `<<: *anchor` (or a
/// list of anchors) brings in the anchored map's entries, which the map's
/// own keys override, so a suite states a shared configuration once.
fn map_to_json(m: &BTreeMap<String, serde_norway::Value>) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    if let Some(merged) = m.get("<<") {
        let sources = match merged {
            serde_norway::Value::Sequence(items) => items.clone(),
            one => vec![one.clone()],
        };
        for src in sources {
            let serde_norway::Value::Mapping(entries) = src else {
                return Err(Error::Params(format!(
                    "a merge key `<<` needs a map (an anchored one), got {}",
                    to_json(&src)?
                )));
            };
            // The anchored map may merge others in turn.
            let inner: BTreeMap<String, serde_norway::Value> = entries
                .into_iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_string(), v)))
                .collect();
            out.extend(map_to_json(&inner)?);
        }
    }
    for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "<<") {
        out.insert(k.clone(), to_json(v)?);
    }
    Ok(out)
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// serde's messages end with "at line X column Y"; the line is reported
/// separately, so drop it from the text.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The key named in a serde "unknown field `x`" or "invalid type ... `x`"
/// message, to point at its line.
fn offending_key(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let end = start + msg[start..].find('`')?;
    Some(msg[start..end].to_string())
}

/// The line of `key:` inside the block of config `config` (from its
/// `name:` line to the next config's), so that an error in the seventh
/// config points there and not at the first config that has the key.
fn line_in_config(text: &str, config: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    // The value of a `name:` entry on this line, if it has one.
    let name_of = |l: &str| -> Option<String> {
        let t = l.trim_start().trim_start_matches("- ").trim_start();
        let t = t.trim_start_matches('{').trim_start();
        let v = t.strip_prefix("name:")?;
        let v = v.split([',', '}']).next().unwrap_or("").trim();
        Some(v.trim_matches(['"', '\'']).to_string())
    };
    let start = lines
        .iter()
        .position(|l| name_of(l).as_deref() == Some(config))?;
    let end = lines[start + 1..]
        .iter()
        .position(|l| name_of(l).is_some())
        .map_or(lines.len(), |i| start + 1 + i);
    let block = &lines[start..end];
    // The key itself, or else a value (an unknown choice names its value).
    key_line(block, key)
        .or_else(|| {
            block
                .iter()
                .position(|l| l.contains(&format!(": {key}")))
                .map(|i| i + 1)
        })
        .map(|i| start + i)
}

/// The 1-based line among `lines` that sets `key` (`key:` at a line's start
/// or inside a `{…}` map), if any.
fn key_line(lines: &[&str], key: &str) -> Option<usize> {
    lines
        .iter()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.starts_with(&format!("{key}:"))
                || l.contains(&format!("{{{key}:"))
                || l.contains(&format!(", {key}:"))
        })
        .map(|i| i + 1)
}

/// The 1-based line where `key:` first appears, or 0 when not found.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.starts_with(&format!("{key}:"))
                || t.contains(&format!("name: {key}"))
                || t.contains(&format!("{{{key}:"))
        })
        .map(|i| i + 1)
        .or_else(|| line_of_value(text, key).checked_sub(0).filter(|&l| l > 0))
        .unwrap_or(0)
}

/// The 1-based line where a value first appears, or 0 when not found.
fn line_of_value(text: &str, value: &str) -> usize {
    text.lines()
        .position(|l| l.contains(value))
        .map(|i| i + 1)
        .unwrap_or(0)
}
