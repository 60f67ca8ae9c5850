//! docs/config.md is the reference of the training config: every key a resolved `config.toml`
//! holds must be listed there, with its default and meaning. These tests fail when a key is
//! added to the config (or to a config under configs/) without a row in the docs, and when the
//! docs list a key the config no longer has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use nclab_runs::config::{flatten, Config};
use nclab_runs::sweep::grid::Grid;

/// The repository root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The dotted keys of the tables of a config reference: a `## Top level` section lists
/// top-level keys, a ``## `[data]` `` section the keys of `[data]`; each row of a table starts
/// with `` | `key` | ``.
fn documented_keys(markdown: &str) -> BTreeSet<String> {
    let mut prefix: Option<String> = None;
    let mut keys = BTreeSet::new();
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            prefix = if heading.trim() == "Top level" {
                Some(String::new())
            } else {
                heading
                    .trim()
                    .strip_prefix("`[")
                    .and_then(|h| h.strip_suffix("]`"))
                    .map(|table| format!("{table}."))
            };
            continue;
        }
        let Some(prefix) = &prefix else { continue };
        if let Some(rest) = line.strip_prefix("| `") {
            if let Some((key, _)) = rest.split_once("` |") {
                keys.insert(format!("{prefix}{key}"));
            }
        }
    }
    keys
}

/// The dotted keys of a config as `config.toml` writes it.
fn resolved_keys(config: &Config) -> BTreeSet<String> {
    let table: toml::Table = config.to_toml_string().parse().unwrap();
    flatten(&table).into_iter().map(|(k, _)| k).collect()
}

/// The keys of `config` that `documented` lacks.
fn undocumented(config: &Config, documented: &BTreeSet<String>) -> Vec<String> {
    resolved_keys(config)
        .into_iter()
        .filter(|k| !documented.contains(k))
        .collect()
}

fn docs() -> BTreeSet<String> {
    let path = repo().join("docs/config.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    documented_keys(&text)
}

/// Every config under `configs/` (a config, or a grid whose cells are configs), resolved.
fn shipped_configs() -> Vec<(PathBuf, Config)> {
    let mut out = Vec::new();
    let mut folders = vec![repo().join("configs")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                if path.starts_with(repo().join("configs/study")) {
                    let grid = Grid::load(&path).unwrap();
                    for cell in grid.cells().unwrap() {
                        out.push((path.join(&cell.name), cell.config));
                    }
                } else {
                    out.push((path.clone(), Config::load(&path, &[]).unwrap()));
                }
            }
        }
    }
    out
}

#[test]
fn the_docs_list_every_key_of_the_default_config_and_no_other() {
    let documented = docs();
    let default = Config::default();
    assert_eq!(undocumented(&default, &documented), Vec::<String>::new());
    // The optional keys, which a default config does not write, are documented too.
    let optional: Vec<&&str> = Config::OPTIONAL_KEYS
        .iter()
        .filter(|k| !documented.contains(**k))
        .collect();
    assert!(optional.is_empty(), "{optional:?} not in docs/config.md");
    let known = nclab_runs::sweep::grid::config_keys();
    let stale: Vec<&String> = documented.iter().filter(|k| !known.contains(*k)).collect();
    assert!(
        stale.is_empty(),
        "docs/config.md lists keys the config does not have: {stale:?}"
    );
    // The parser reads the real tables: a sample of keys from each section.
    for key in [
        "seed",
        "data.per_class",
        "model.widths",
        "loss.alpha",
        "optim.schedule",
    ] {
        assert!(
            documented.contains(key),
            "{key} not found in docs/config.md"
        );
    }
}

#[test]
fn the_docs_list_every_key_of_every_shipped_config() {
    let documented = docs();
    let configs = shipped_configs();
    // 24 configs and the study's grids.
    assert!(configs.len() > 24, "only {} configs found", configs.len());
    for (path, config) in configs {
        let missing = undocumented(&config, &documented);
        assert!(
            missing.is_empty(),
            "{}: keys missing from docs/config.md: {missing:?}",
            path.display()
        );
    }
}

#[test]
fn a_key_missing_from_the_docs_is_found() {
    let text = std::fs::read_to_string(repo().join("docs/config.md")).unwrap();
    let without_seed: String = text
        .lines()
        .filter(|l| !l.starts_with("| `seed` |"))
        .collect::<Vec<_>>()
        .join("\n");
    let documented = documented_keys(&without_seed);
    assert_eq!(
        undocumented(&Config::default(), &documented),
        vec!["seed".to_string()]
    );
}
