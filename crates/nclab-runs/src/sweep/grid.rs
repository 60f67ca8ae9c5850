//! Grid files: a base training config plus the dimensions along which it varies, expanded into
//! the cells of a sweep (docs/study.md).
//!
//! ```toml
//! base = "../mnist-mlp-cpu.toml"   # optional, relative to this file
//! [optim]                          # any config key, over the base
//! epochs = 30
//! [axes]                           # one dimension per key: dotted config key -> list of values
//! seed = [0, 1, 2]
//! [[variants.loss]]                # a dimension whose levels change several keys together
//! label = "ce"
//! loss.kind = "ce"
//! [[variants.loss]]
//! label = "mse"
//! loss = { kind = "mse", kappa = 1.0 }
//! optim.lr = 0.0184
//! ```
//!
//! The cells are the Cartesian product of the dimensions. Dimensions are ordered by name (an
//! axis is named by its dotted key, a variant group by its name), the first varying slowest;
//! the levels of a dimension keep the order of the file. A cell's name joins
//! `<dimension>=<level>` with `_` (`loss=ce_seed=0`), where an axis level is its value written
//! with only `[A-Za-z0-9.+-]` (lists joined by `-`, other characters replaced by `-`) and a
//! variant level is its `label`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};

use crate::config::{flatten, Config};

/// The reserved top-level keys of a grid file; every other key is a config key.
pub const RESERVED: [&str; 3] = ["base", "axes", "variants"];

/// A parsed grid file.
#[derive(Clone, Debug)]
pub struct Grid {
    /// The sweep's name: the grid file's stem (`configs/study/hier-fmnist.toml` ->
    /// `hier-fmnist`); cells run under `runs/<name>/` by default.
    pub name: String,
    /// The grid file, as given (used in error messages).
    pub source: PathBuf,
    /// The base config: the `base` file's table with the grid file's own config keys merged
    /// over it.
    pub base: toml::Table,
    /// The dimensions, sorted by name.
    pub dims: Vec<Dimension>,
}

/// One dimension of a grid: an axis (one key, a list of values) or a variant group (labelled
/// sets of keys that change together).
#[derive(Clone, Debug, PartialEq)]
pub struct Dimension {
    /// The dotted key of an axis, or the name of a variant group.
    pub name: String,
    /// Where it was written, for messages: `axes.seed` or `variants.loss`.
    pub origin: String,
    pub levels: Vec<Level>,
}

/// One level of a dimension: its label in cell names and the keys it sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    pub label: String,
    /// `(dotted key, value)` in key order.
    pub set: Vec<(String, toml::Value)>,
}

/// One cell of the grid: its name, the overrides that make it, and its resolved config.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// `<dimension>=<level>` joined by `_`, safe as a file name.
    pub name: String,
    /// `key=value` (TOML value), in dimension order: what `nclab train --set` would take.
    pub overrides: Vec<String>,
    /// The base config with the overrides applied; its `name` is `<sweep>/<cell>`.
    pub config: Config,
    /// Each dimension's name with the index of this cell's level, in dimension order.
    pub levels: Vec<(String, usize)>,
}

impl Grid {
    /// Reads a grid file; `base` is resolved relative to the grid file's folder.
    pub fn load(path: &Path) -> anyhow::Result<Grid> {
        let text = nclab_core::io::read_text(path).context("cannot read the grid file")?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| anyhow!("grid file {}: no file name", path.display()))?;
        let folder = path.parent().unwrap_or(Path::new(""));
        Self::parse(&text, &name, folder, path)
            .with_context(|| format!("grid file {}", path.display()))
    }

    /// Parses grid text. `name` is the sweep name, `folder` the folder `base` is relative to,
    /// `source` the file named in messages.
    pub fn parse(text: &str, name: &str, folder: &Path, source: &Path) -> anyhow::Result<Grid> {
        check_sweep_name(name)?;
        let mut table: toml::Table = text.parse().map_err(|e| anyhow!("{e}"))?;
        let mut base = read_base(table.remove("base"), folder)?;
        let axes = match table.remove("axes") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t,
            Some(other) => bail!("key `axes`: expected a table, got {}", other.type_str()),
        };
        let variants = match table.remove("variants") {
            None => toml::Table::new(),
            Some(toml::Value::Table(t)) => t,
            Some(other) => bail!(
                "key `variants`: expected tables `[[variants.NAME]]`, got {}",
                other.type_str()
            ),
        };
        merge(&mut base, table);

        let known = config_keys();
        let mut dims = Vec::new();
        for (key, values) in flatten(&axes) {
            dims.push(axis_dimension(key, values, &known)?);
        }
        for (group, entries) in variants {
            dims.push(variant_dimension(group, entries, &known)?);
        }
        dims.sort_by(|a, b| a.name.cmp(&b.name));
        check_dimensions(&dims)?;
        Ok(Grid {
            name: name.to_string(),
            source: source.to_path_buf(),
            base,
            dims,
        })
    }

    /// Number of cells: the product of the dimensions' sizes.
    pub fn len(&self) -> usize {
        self.dims.iter().map(|d| d.levels.len()).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every cell, the first dimension varying slowest, each config resolved and validated
    /// (an error names the cell and the key).
    pub fn cells(&self) -> anyhow::Result<Vec<Cell>> {
        let base_text = toml::to_string(&self.base)?;
        let mut cells = Vec::with_capacity(self.len());
        let mut index = vec![0usize; self.dims.len()];
        for _ in 0..self.len() {
            let levels: Vec<(&Dimension, &Level)> = self
                .dims
                .iter()
                .zip(&index)
                .map(|(d, &i)| (d, &d.levels[i]))
                .collect();
            let name = if levels.is_empty() {
                "base".to_string()
            } else {
                levels
                    .iter()
                    .map(|(d, l)| format!("{}={}", d.name, l.label))
                    .collect::<Vec<_>>()
                    .join("_")
            };
            if name.len() > MAX_CELL_NAME {
                // The cell's folder and its `<cell>.toml` and `<cell>.log` beside it must fit
                // a file name (255 bytes): a longer one passed --dry-run and failed at its run.
                bail!(
                    "cell {:?}...: its name is {} bytes, more than the {MAX_CELL_NAME} a cell's \
                     folder and files may have; give its levels shorter labels",
                    name.chars().take(40).collect::<String>(),
                    name.len()
                );
            }
            let overrides: Vec<String> = levels
                .iter()
                .flat_map(|(_, l)| l.set.iter().map(|(k, v)| format!("{k}={v}")))
                .collect();
            let mut config = Config::from_toml_str(&base_text, &overrides)
                .with_context(|| format!("cell {name}"))?;
            // A hierarchy that does not resolve, or does not fit the dataset, fails here (and
            // so in `--dry-run`), not when the cell's run starts.
            config
                .check_hierarchies()
                .with_context(|| format!("cell {name}"))?;
            config.name = format!("{}/{name}", self.name);
            cells.push(Cell {
                name,
                overrides,
                config,
                levels: self
                    .dims
                    .iter()
                    .zip(&index)
                    .map(|(d, &i)| (d.name.clone(), i))
                    .collect(),
            });
            // Odometer: the last dimension turns fastest.
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < self.dims[d].levels.len() {
                    break;
                }
                index[d] = 0;
            }
        }
        Ok(cells)
    }
}
/// The longest cell name: 255 bytes (a file name on Linux and macOS) less `.toml`.
const MAX_CELL_NAME: usize = 250;

/// The sweep name is a folder name: only [`is_safe`] characters and `_` (which never splits a
/// cell name), not empty and not starting with `.`.
fn check_sweep_name(name: &str) -> anyhow::Result<()> {
    if name.is_empty() || name.starts_with('.') || !name.chars().all(|c| is_safe(c) || c == '_') {
        bail!(
            "the sweep name {name:?} (the grid file's stem) must use only letters, digits, \
             '.', '+', '-' and '_' (not first '.')"
        );
    }
    Ok(())
}

/// The table of the grid's `base` key (a config file relative to `folder`), empty without
/// one.
fn read_base(base: Option<toml::Value>, folder: &Path) -> anyhow::Result<toml::Table> {
    match base {
        None => Ok(toml::Table::new()),
        Some(toml::Value::String(rel)) => {
            let path = folder.join(&rel);
            let text = nclab_core::io::read_text(&path)
                .context("key `base`: cannot read the base config")?;
            text.parse::<toml::Table>()
                .map_err(|e| anyhow!("key `base`: {}: {e}", path.display()))
        }
        Some(other) => bail!(
            "key `base`: expected the path of a config file, got {}",
            other.type_str()
        ),
    }
}

/// The dimension of one `[axes]` entry: a known config key with a list of values, one level
/// per value (labelled by [`value_label`]).
fn axis_dimension(
    key: String,
    values: toml::Value,
    known: &BTreeSet<String>,
) -> anyhow::Result<Dimension> {
    let origin = format!("axes.{key}");
    check_key(&origin, &key, known)?;
    let toml::Value::Array(values) = values else {
        bail!(
            "key `{origin}`: expected a list of values, got {}",
            values.type_str()
        );
    };
    let levels = values
        .into_iter()
        .map(|v| {
            let label = value_label(&v).with_context(|| format!("key `{origin}`: value {v}"))?;
            Ok(Level {
                label,
                set: vec![(key.clone(), v)],
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Dimension {
        name: key,
        origin,
        levels,
    })
}

/// The dimension of one variant group (`[[variants.<group>]]`), one level per table.
fn variant_dimension(
    group: String,
    entries: toml::Value,
    known: &BTreeSet<String>,
) -> anyhow::Result<Dimension> {
    let origin = format!("variants.{group}");
    check_label(&format!("`{origin}`"), &group)?;
    let toml::Value::Array(entries) = entries else {
        bail!(
            "key `{origin}`: expected a list of tables `[[{origin}]]`, got {}",
            entries.type_str()
        );
    };
    let levels = entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| variant_level(&format!("{origin}[{i}]"), entry, known))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Dimension {
        name: group,
        origin,
        levels,
    })
}

/// One variant (`at` is where it was written, `variants.loss[1]`): its `label` and the known
/// config keys it sets, in key order.
fn variant_level(at: &str, entry: toml::Value, known: &BTreeSet<String>) -> anyhow::Result<Level> {
    let toml::Value::Table(mut entry) = entry else {
        bail!("key `{at}`: expected a table, got {}", entry.type_str());
    };
    let label = match entry.remove("label") {
        Some(toml::Value::String(s)) => s,
        Some(other) => {
            bail!(
                "key `{at}.label`: expected a string, got {}",
                other.type_str()
            )
        }
        None => bail!("key `{at}.label`: missing (every variant needs a label)"),
    };
    check_label(&format!("`{at}.label`"), &label)?;
    let mut set = flatten(&entry);
    for (key, _) in &set {
        check_key(&format!("{at}.{key}"), key, known)?;
    }
    set.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Level { label, set })
}

/// The most cells a grid may have: far more than a sweep can run (each cell is a training
/// run), few enough that every cell's config can be resolved and checked up front.
pub const MAX_CELLS: usize = 10_000;

/// The checks across dimensions (sorted by name): at most [`MAX_CELLS`] cells, no two share a
/// name, none is empty, no two levels of one share a label, and no key is set by two
/// dimensions (the result would depend on their order).
fn check_dimensions(dims: &[Dimension]) -> anyhow::Result<()> {
    let cells = dims
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(d.levels.len()))
        .filter(|&n| n <= MAX_CELLS);
    if cells.is_none() {
        let sizes: Vec<String> = dims
            .iter()
            .map(|d| format!("{} {}", d.name, d.levels.len()))
            .collect();
        bail!(
            "the grid has more than {MAX_CELLS} cells ({}: their product); split it into \
             several grids",
            sizes.join(" x ")
        );
    }
    for w in dims.windows(2) {
        if w[0].name == w[1].name {
            bail!(
                "`{}` and `{}` both name a dimension `{}`",
                w[0].origin,
                w[1].origin,
                w[0].name
            );
        }
    }
    for d in dims {
        if d.levels.is_empty() {
            bail!(
                "key `{}`: no values (an empty dimension has no cells)",
                d.origin
            );
        }
        let mut seen = BTreeSet::new();
        for l in &d.levels {
            if !seen.insert(&l.label) {
                bail!(
                    "key `{}`: two levels are both named {:?} in cell names",
                    d.origin,
                    l.label
                );
            }
        }
    }
    for (i, a) in dims.iter().enumerate() {
        for b in &dims[i + 1..] {
            let keys_a: BTreeSet<&str> = keys_of(a).collect();
            if let Some(k) = keys_of(b).find(|k| keys_a.contains(k)) {
                bail!("key `{k}` is set by both `{}` and `{}`", a.origin, b.origin);
            }
        }
    }
    Ok(())
}

fn keys_of(d: &Dimension) -> impl Iterator<Item = &str> {
    d.levels
        .iter()
        .flat_map(|l| l.set.iter().map(|(k, _)| k.as_str()))
}

/// Every leaf key of a config, dotted (`optim.lr`, `seed`, `model.widths`): those a default
/// config writes, and the optional ones it leaves out ([`Config::OPTIONAL_KEYS`]).
pub fn config_keys() -> BTreeSet<String> {
    let table: toml::Table = Config::default()
        .to_toml_string()
        .parse()
        .expect("a resolved config parses");
    let written = flatten(&table).into_iter().map(|(k, _)| k);
    written
        .chain(Config::OPTIONAL_KEYS.iter().map(|k| k.to_string()))
        .collect()
}

fn check_key(origin: &str, key: &str, known: &BTreeSet<String>) -> anyhow::Result<()> {
    if key == "name" {
        bail!("key `{origin}`: the sweep sets each cell's `name` (<sweep>/<cell>); it cannot vary");
    }
    if !known.contains(key) {
        bail!(
            "key `{origin}`: `{key}` is not a config key (keys are dotted, like `optim.lr`, \
             `loss.alpha`, `data.name`, `seed`)"
        );
    }
    Ok(())
}

/// Labels in cell names and the sweep name: non-empty, only `[A-Za-z0-9.+-]`.
fn check_label(what: &str, label: &str) -> anyhow::Result<()> {
    if label.is_empty() || !label.chars().all(is_safe) || label.starts_with('.') {
        bail!(
            "{what} {label:?} must be non-empty and use only letters, digits, '.', '+' and '-' \
             (not first '.'), since it becomes part of file names"
        );
    }
    Ok(())
}

fn is_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-')
}

/// An axis value as written in a cell name: numbers and booleans as TOML writes them, strings
/// as they are, lists with their items joined by `-`; every character outside `[A-Za-z0-9.+-]`
/// becomes `-` (`"hier/tree.txt"` -> `hier-tree.txt`).
pub fn value_label(v: &toml::Value) -> anyhow::Result<String> {
    let raw = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => format!("{f}"),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Array(items) => items
            .iter()
            .map(value_label)
            .collect::<anyhow::Result<Vec<_>>>()?
            .join("-"),
        other => bail!(
            "a {} cannot be an axis level (use `[[variants.NAME]]` for keys that change \
             together)",
            other.type_str()
        ),
    };
    let label: String = raw
        .chars()
        .map(|c| if is_safe(c) { c } else { '-' })
        .collect();
    if label.is_empty() {
        bail!("an empty value cannot name a cell");
    }
    Ok(label)
}

/// Merges `over` into `base`: tables recursively, every other value replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
