//! Grouping runs into conditions (the seeds of one experimental setting) and choosing each
//! condition's cross-entropy baseline.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::runs::{unquote, Run};

/// Config keys that never distinguish conditions: the seed, and bookkeeping that does not change
/// the experiment (`name` is a label, the device and thread count only the speed, `data.root`
/// only where the files live).
pub const NON_CONDITION_KEYS: &[&str] = &["seed", "name", "device", "threads", "data.root"];

/// One condition: runs that share every defining config entry and differ only in their seed.
#[derive(Debug, Clone)]
pub struct Condition {
    /// Human-readable label: the defining entries that differ between conditions (`loss.kind=mse`).
    pub label: String,
    /// A file-name-safe identifier (`c1`, `c2`, ... in label order).
    pub id: String,
    /// The defining entries (dotted key -> TOML value text).
    pub key: BTreeMap<String, String>,
    /// Indices into the run list, in seed order.
    pub runs: Vec<usize>,
    /// Config entries shared by all runs of the condition.
    pub common: BTreeMap<String, String>,
    /// `data.name`, `model.kind` and `loss.kind` when all runs agree on them.
    pub dataset: Option<String>,
    pub model: Option<String>,
    pub loss: Option<String>,
    /// Index (into the condition list) of the CE baseline of the same dataset and model.
    pub baseline: Option<usize>,
}

/// Groups runs into conditions. `group_by = None`: by the whole config minus
/// [`NON_CONDITION_KEYS`]; `Some(key)`: by that config key, where a table name (`loss`) stands
/// for all the entries under it and `name` for the run name.
pub fn group(runs: &[Run], group_by: Option<&str>) -> Result<Vec<Condition>> {
    let defining = |run: &Run| -> BTreeMap<String, String> {
        match group_by {
            None => run
                .config
                .iter()
                .filter(|(k, _)| !NON_CONDITION_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            Some(key) => {
                let prefix = format!("{key}.");
                let mut m: BTreeMap<String, String> = run
                    .config
                    .iter()
                    .filter(|(k, _)| k.as_str() == key || k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if m.is_empty() {
                    m.insert(key.to_string(), "(absent)".to_string());
                }
                m
            }
        }
    };
    if let Some(key) = group_by {
        let prefix = format!("{key}.");
        let known = runs
            .iter()
            .any(|r| r.config.keys().any(|k| k == key || k.starts_with(&prefix)));
        if !known {
            let example: Vec<&String> = runs
                .first()
                .map(|r| r.config.keys().take(12).collect())
                .unwrap_or_default();
            bail!(
                "--group-by {key}: no run's config.toml has this key (keys look like: {})",
                example
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }

    let mut groups: BTreeMap<BTreeMap<String, String>, Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        groups.entry(defining(run)).or_default().push(i);
    }
    let keys: Vec<&BTreeMap<String, String>> = groups.keys().collect();
    // Entries whose value is not the same in every condition make the label.
    let mut varying: Vec<String> = Vec::new();
    for k in keys.iter().flat_map(|m| m.keys()) {
        if varying.contains(k) {
            continue;
        }
        let first = keys[0].get(k);
        if keys.iter().any(|m| m.get(k) != first) {
            varying.push(k.clone());
        }
    }
    varying.sort();

    let mut conditions: Vec<Condition> = groups
        .into_iter()
        .map(|(key, mut members)| {
            members.sort_by_key(|&i| (runs[i].seed(), runs[i].dir.clone()));
            let label = if varying.is_empty() {
                runs[members[0]]
                    .config_str("name")
                    .unwrap_or_else(|| "all runs".to_string())
            } else {
                let loss_kind = key.get("loss.kind").map(|v| unquote(v));
                varying
                    .iter()
                    .filter(|k| !unused_loss_parameter(k, loss_kind.as_deref()))
                    .map(|k| {
                        let v = key.get(k).map(|v| unquote(v)).unwrap_or("-".into());
                        format!("{k}={v}")
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let common = common_entries(runs, &members);
            let agreed = |k: &str| common.get(k).map(|v| unquote(v));
            Condition {
                label,
                id: String::new(),
                dataset: agreed("data.name"),
                model: agreed("model.kind"),
                loss: agreed("loss.kind"),
                key,
                runs: members,
                common,
                baseline: None,
            }
        })
        .collect();
    conditions.sort_by(|a, b| a.label.cmp(&b.label));
    for (i, c) in conditions.iter_mut().enumerate() {
        c.id = format!("c{}", i + 1);
    }
    assign_baselines(&mut conditions);
    Ok(conditions)
}

/// Whether `key` is a loss parameter that `loss_kind` does not read (`loss.alpha` of a CE run):
/// such an entry only holds its default and is left out of the condition's label.
fn unused_loss_parameter(key: &str, loss_kind: Option<&str>) -> bool {
    let used: &[&str] = match loss_kind {
        Some("ce") => &[],
        Some("mse") => &["loss.kappa"],
        Some("soft") => &["loss.beta"],
        Some("hxe") => &["loss.alpha", "loss.normalize"],
        _ => return false,
    };
    key.starts_with("loss.") && key != "loss.kind" && !used.contains(&key)
}

/// Config entries with the same value in every run of `members`.
fn common_entries(runs: &[Run], members: &[usize]) -> BTreeMap<String, String> {
    let first = &runs[members[0]].config;
    first
        .iter()
        .filter(|(k, v)| members.iter().all(|&i| runs[i].config.get(*k) == Some(v)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The baseline of a non-CE condition is a CE condition (`loss.kind = "ce"`) with the same
/// `data.name` and `model.kind`; among several, the one sharing the most config entries (then
/// the first by label). CE conditions and conditions without a known loss get none.
fn assign_baselines(conditions: &mut [Condition]) {
    let mut chosen = vec![None; conditions.len()];
    for (i, c) in conditions.iter().enumerate() {
        if c.loss.as_deref() == Some("ce") || c.loss.is_none() {
            continue;
        }
        let mut best: Option<(usize, usize)> = None;
        for (j, b) in conditions.iter().enumerate() {
            if i == j || b.loss.as_deref() != Some("ce") {
                continue;
            }
            if b.dataset != c.dataset || b.model != c.model {
                continue;
            }
            let shared = c
                .common
                .iter()
                .filter(|(k, v)| b.common.get(*k) == Some(v))
                .count();
            if best.is_none_or(|(_, s)| shared > s) {
                best = Some((j, shared));
            }
        }
        chosen[i] = best.map(|(j, _)| j);
    }
    for (c, b) in conditions.iter_mut().zip(chosen) {
        c.baseline = b;
    }
}
