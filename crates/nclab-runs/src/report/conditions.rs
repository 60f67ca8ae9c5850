//! Grouping runs into conditions (the seeds of one experimental setting) and choosing each
//! condition's cross-entropy baseline.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use super::plot::{self, SeriesStyle};
use super::runs::{parse_cell, unquote, Run};

/// Config keys that never distinguish conditions: the seed, and bookkeeping that does not change
/// the experiment (`name` is a label, the device and thread count only the speed, `data.root`
/// only where the files live).
pub const NON_CONDITION_KEYS: &[&str] = &["seed", "name", "device", "threads", "data.root"];

/// Config keys that nclab added after runs had been made without them, with the value (TOML
/// text) that their absence means: the default then and now. A run written before a key
/// existed is in the same condition as a run that gives the key this value (a sweep resumed
/// across nclab versions would otherwise split a condition in two).
/// (Loss parameters, `loss.weight` among them, are filled in for every run: [`defining_entries`].)
pub const ADDED_KEYS: &[(&str, &str)] = &[("analysis.layers", "[]")];

/// One condition: runs that share every defining config entry and differ only in their seed.
#[derive(Debug, Clone)]
pub struct Condition {
    /// The defining entries that differ between conditions (`loss.kind=mse`): the condition's
    /// name in the CSV files.
    pub label: String,
    /// A short name for figures and the page: the sweep's variant name when the runs come from
    /// a sweep (cell `loss=hxe-0.6_seed=0` -> `hxe-0.6`), else the differing values in short
    /// (`hxe alpha=0.3`); see [`short_names`].
    pub name: String,
    /// A file-name-safe identifier (`c1`, `c2`, ... in the report's order: baselines first,
    /// then by name, numbers within names compared as numbers).
    pub id: String,
    /// The defining entries (dotted key -> TOML value text).
    pub key: BTreeMap<String, String>,
    /// Indices into the run list, in seed order: the runs that did not diverge.
    pub runs: Vec<usize>,
    /// Runs of this condition whose `summary.json` says `diverged`: listed, not averaged.
    pub diverged: Vec<usize>,
    /// Config entries shared by all runs of the condition.
    pub common: BTreeMap<String, String>,
    /// `data.name`, `model.kind` and `loss.kind` when all runs agree on them.
    pub dataset: Option<String>,
    pub model: Option<String>,
    pub loss: Option<String>,
    /// Index (into the condition list) of the CE baseline of the same dataset and model.
    pub baseline: Option<usize>,
    /// Its colour, marker and dash in every figure ([`plot::condition_styles`]: the colour by
    /// loss kind where the conditions span several).
    pub style: SeriesStyle,
}

/// Groups runs into conditions. `group_by = None`: by the whole config minus
/// [`NON_CONDITION_KEYS`]; `Some(key)`: by that config key, where a table name (`loss`) stands
/// for all the entries under it and `name` for the run name.
pub fn group(runs: &[Run], group_by: Option<&str>) -> Result<Vec<Condition>> {
    if let Some(key) = group_by {
        check_group_key(runs, key)?;
    }
    let mut groups: BTreeMap<BTreeMap<String, String>, Vec<usize>> = BTreeMap::new();
    for (i, run) in runs.iter().enumerate() {
        groups
            .entry(defining_entries(run, group_by))
            .or_default()
            .push(i);
    }
    let mut varying = Varying::new(&groups.keys().collect::<Vec<_>>());
    let labels: Vec<String> = groups
        .iter()
        .map(|(key, members)| condition_label(runs, members, key, &varying))
        .collect();
    if !distinct(&labels) {
        // Hiding a parameter made two labels alike: every varying entry is shown.
        varying.hidden.clear();
    }
    let mut conditions: Vec<Condition> = groups
        .into_iter()
        .map(|(key, members)| new_condition(runs, key, members, &varying))
        .collect();
    conditions.sort_by(|a, b| a.label.cmp(&b.label));
    assign_baselines(&mut conditions);
    let names = short_names(runs, &conditions, &varying);
    for (c, n) in conditions.iter_mut().zip(names) {
        c.name = n;
    }
    let mut conditions = in_report_order(conditions);
    assign_styles(&mut conditions);
    Ok(conditions)
}

/// Each condition's look ([`plot::condition_styles`]) from its loss kind, in the report's order;
/// conditions without a run (all diverged: in no figure) keep the style of their position and
/// take no shade from their kind.
fn assign_styles(conditions: &mut [Condition]) {
    let drawn: Vec<usize> = (0..conditions.len())
        .filter(|&i| !conditions[i].runs.is_empty())
        .collect();
    let kinds: Vec<Option<&str>> = drawn
        .iter()
        .map(|&i| conditions[i].loss.as_deref())
        .collect();
    let styles = plot::condition_styles(&kinds);
    for (i, c) in conditions.iter_mut().enumerate() {
        c.style = plot::series_style(i);
    }
    for (&i, style) in drawn.iter().zip(styles) {
        conditions[i].style = style;
    }
}

/// `nclab train`'s default of every loss parameter (`loss.alpha`, `loss.beta`, ...), as the
/// TOML text a run's config holds.
fn loss_defaults() -> &'static [(String, String)] {
    static DEFAULTS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let table: toml::Table = crate::config::Config::default()
            .to_toml_string()
            .parse()
            .expect("a config parses");
        crate::config::flatten(&table)
            .into_iter()
            .filter(|(k, _)| k.starts_with("loss.") && k != "loss.kind")
            .map(|(k, v)| (k, v.to_string()))
            .collect()
    })
}

/// Whether `key` is one of nclab's loss parameters ([`loss_defaults`]).
fn is_loss_parameter(key: &str) -> bool {
    loss_defaults().iter().any(|(k, _)| k == key)
}

/// The config entries that define a run's condition: all but [`NON_CONDITION_KEYS`], or with
/// `group_by` the entries of that key (`(absent)` when the run lacks it). A loss parameter
/// that the run's config lacks counts as `nclab train`'s default: `nclab train` writes every
/// loss's parameters, a Python Tracker only its own loss's, and an HXE run of each is the same
/// condition.
fn defining_entries(run: &Run, group_by: Option<&str>) -> BTreeMap<String, String> {
    let mut config = run.config.clone();
    let kind = config.get("loss.kind").map(|v| unquote(v));
    if parameters_read(kind.as_deref()).is_some() {
        for (key, value) in loss_defaults() {
            config.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    match group_by {
        None => {
            let mut m: BTreeMap<String, String> = config
                .iter()
                .filter(|(k, _)| !NON_CONDITION_KEYS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Only for runs of `nclab train`: a Tracker's config says `trainer = ...` and
            // holds only the keys its user gave.
            if !config.contains_key("trainer") {
                for (key, value) in ADDED_KEYS {
                    m.entry(key.to_string())
                        .or_insert_with(|| value.to_string());
                }
            }
            m
        }
        Some(key) => {
            let prefix = format!("{key}.");
            let mut m: BTreeMap<String, String> = config
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
}

/// Fails unless some run's config has the `--group-by` key (or a table of that name), naming
/// a few keys that exist.
fn check_group_key(runs: &[Run], key: &str) -> Result<()> {
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
    Ok(())
}

/// The entries whose value is not the same in every condition: they make the labels.
#[derive(Debug)]
pub struct Varying {
    /// The varying keys, sorted.
    pub keys: Vec<String>,
    /// `(loss kind, key)`: a loss parameter that kind does not read, on which every condition
    /// of that kind agrees (`loss.alpha` of CE beside HXE conditions): it only holds a default
    /// and is left out of those conditions' labels. CE cells of a grid with `loss.alpha` as an
    /// axis disagree on it, and show it.
    hidden: std::collections::BTreeSet<(String, String)>,
}

impl Varying {
    fn new(keys: &[&BTreeMap<String, String>]) -> Varying {
        let kind_of = |m: &BTreeMap<String, String>| m.get("loss.kind").map(|v| unquote(v));
        // A loss nclab does not know has none of nclab's loss parameters: not a difference.
        let not_applicable = |m: &BTreeMap<String, String>, k: &str| {
            parameters_read(kind_of(m).as_deref()).is_none()
                && !m.contains_key(k)
                && is_loss_parameter(k)
        };
        // Two conditions differ in `k` when their values differ, except that one of another
        // loss kind without it, where the parameter is not applicable, is no difference.
        let differ = |a: &BTreeMap<String, String>, b: &BTreeMap<String, String>, k: &str| {
            let same_kind = kind_of(a) == kind_of(b);
            a.get(k) != b.get(k) && (same_kind || !(not_applicable(a, k) || not_applicable(b, k)))
        };
        let mut varying: Vec<String> = Vec::new();
        for k in keys.iter().flat_map(|m| m.keys()) {
            if varying.contains(k) {
                continue;
            }
            let found = keys
                .iter()
                .enumerate()
                .any(|(i, a)| keys[i + 1..].iter().any(|b| differ(a, b, k)));
            if found {
                varying.push(k.clone());
            }
        }
        varying.sort();
        let mut hidden = std::collections::BTreeSet::new();
        let kinds: std::collections::BTreeSet<String> =
            keys.iter().filter_map(|m| kind_of(m)).collect();
        for k in &varying {
            for kind in &kinds {
                let same: Vec<&&BTreeMap<String, String>> = keys
                    .iter()
                    .filter(|m| kind_of(m).as_deref() == Some(kind.as_str()))
                    .collect();
                let hide = if parameters_read(Some(kind)).is_none() {
                    same.iter().all(|m| not_applicable(m, k))
                } else {
                    unused_loss_parameter(k, Some(kind))
                        && same.iter().all(|m| m.get(k) == same[0].get(k))
                };
                if hide {
                    hidden.insert((kind.clone(), k.clone()));
                }
            }
        }
        Varying {
            keys: varying,
            hidden,
        }
    }

    /// The varying keys a condition with the defining entries `key` shows in its label.
    fn shown<'a>(&'a self, key: &BTreeMap<String, String>) -> impl Iterator<Item = &'a String> {
        let kind = key.get("loss.kind").map(|v| unquote(v)).unwrap_or_default();
        self.keys
            .iter()
            .filter(move |k| !self.hidden.contains(&(kind.clone(), (*k).clone())))
    }
}

/// A condition's label: its varying entries as `key=value` (without loss parameters its loss
/// does not use, unless they tell conditions of its loss apart), or with nothing varying the
/// first run's name (`all runs` without one).
fn condition_label(
    runs: &[Run],
    members: &[usize],
    key: &BTreeMap<String, String>,
    varying: &Varying,
) -> String {
    if varying.keys.is_empty() {
        // One condition: the name its runs share, else its loss, else "all runs" (the first
        // run's name made three seeds look like one run).
        let shared = |key: &str| {
            let first = runs[members[0]].config_str(key)?;
            members
                .iter()
                .all(|&i| runs[i].config_str(key).as_ref() == Some(&first))
                .then_some(first)
        };
        return shared("name")
            .or_else(|| shared("loss.kind").map(|kind| format!("loss.kind={kind}")))
            .unwrap_or_else(|| "all runs".to_string());
    }
    varying
        .shown(key)
        .map(|k| {
            let v = key.get(k).map(|v| unquote(v)).unwrap_or("-".into());
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// For tests: a condition named `name` (label and id too) over the runs `runs`, without a
/// baseline or shared entries; tests set the other fields they need.
#[cfg(test)]
pub(crate) fn test_condition(name: &str, runs: Vec<usize>) -> Condition {
    Condition {
        label: name.into(),
        name: name.into(),
        id: name.into(),
        key: BTreeMap::new(),
        runs,
        diverged: Vec::new(),
        common: BTreeMap::new(),
        dataset: None,
        model: None,
        loss: None,
        baseline: None,
        style: plot::series_style(0),
    }
}

/// The condition of the runs `members` (sharing the defining entries `key`): runs in seed
/// order, diverged ones set apart; name, id and baseline are set later.
fn new_condition(
    runs: &[Run],
    key: BTreeMap<String, String>,
    mut members: Vec<usize>,
    varying: &Varying,
) -> Condition {
    members.sort_by_key(|&i| (runs[i].seed(), runs[i].dir.clone()));
    let label = condition_label(runs, &members, &key, varying);
    let common = common_entries(runs, &members);
    let agreed = |k: &str| common.get(k).map(|v| unquote(v));
    let (diverged, members): (Vec<usize>, Vec<usize>) =
        members.into_iter().partition(|&i| runs[i].diverged());
    Condition {
        label,
        name: String::new(),
        diverged,
        id: String::new(),
        dataset: agreed("data.name"),
        model: agreed("model.kind"),
        loss: agreed("loss.kind"),
        key,
        runs: members,
        common,
        baseline: None,
        style: plot::series_style(0),
    }
}

/// The report's order: baselines first, then by name (numbers compared as numbers), then by
/// label; ids `c1`, `c2`, ... in that order, and the baseline indices following it.
fn in_report_order(conditions: Vec<Condition>) -> Vec<Condition> {
    let is_baseline: Vec<bool> = (0..conditions.len())
        .map(|i| conditions.iter().any(|c| c.baseline == Some(i)))
        .collect();
    let mut order: Vec<usize> = (0..conditions.len()).collect();
    order.sort_by(|&a, &b| {
        is_baseline[b]
            .cmp(&is_baseline[a])
            .then_with(|| natural_cmp(&conditions[a].name, &conditions[b].name))
            .then_with(|| conditions[a].label.cmp(&conditions[b].label))
    });
    let mut new_index = vec![0; order.len()];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut sorted: Vec<Condition> = order.iter().map(|&i| conditions[i].clone()).collect();
    for (i, c) in sorted.iter_mut().enumerate() {
        c.id = format!("c{}", i + 1);
        c.baseline = c.baseline.map(|b| new_index[b]);
    }
    sorted
}

/// Compares names with runs of digits (and a decimal point between digits) read as numbers:
/// `soft-4 < soft-10 < soft-30`, `hxe-0.1 < hxe-0.3`.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    fn chunks(s: &str) -> Vec<Result<f64, String>> {
        let mut out = Vec::new();
        let chars: Vec<char> = s.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let start = i;
            if chars[i].is_ascii_digit() {
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || (chars[i] == '.'
                            && i + 1 < chars.len()
                            && chars[i + 1].is_ascii_digit()))
                {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                out.push(text.parse::<f64>().map_err(|_| text));
            } else {
                while i < chars.len() && !chars[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Err(chars[start..i].iter().collect()));
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(&cb) {
        let o = match (x, y) {
            (Ok(p), Ok(q)) => p.total_cmp(q),
            (Err(p), Err(q)) => p.cmp(q),
            (Ok(_), Err(_)) => std::cmp::Ordering::Less,
            (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        };
        if o != std::cmp::Ordering::Equal {
            return o;
        }
    }
    ca.len().cmp(&cb.len())
}

/// A short name per condition: the sweep's variant names when every run comes from a sweep
/// cell (`loss=hxe-0.6_seed=0`), all runs of a condition agree on the cell without its `seed`,
/// and the names differ between conditions: the level alone when one dimension is left
/// (`hxe-0.6`), else `dimension=level` parts joined by `, `. Otherwise the differing config
/// values in short (`loss.kind` by its value, other keys by their last part: `hxe alpha=0.3`,
/// [`short_key`]), and the full label when even those collide.
pub fn short_names(runs: &[Run], conditions: &[Condition], varying: &Varying) -> Vec<String> {
    let from_sweep: Option<Vec<String>> = conditions
        .iter()
        .map(|c| {
            let mut names = c.runs.iter().chain(&c.diverged).map(|&i| {
                let cell = parse_cell(&runs[i].sweep_cell()?)?;
                let rest: Vec<(String, String)> =
                    cell.into_iter().filter(|(d, _)| d != "seed").collect();
                Some(match rest.as_slice() {
                    [] => return None,
                    [(_, level)] => level.clone(),
                    parts => parts
                        .iter()
                        .map(|(d, l)| format!("{d}={l}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })
            });
            let first = names.next()??;
            names
                .all(|n| n.as_deref() == Some(first.as_str()))
                .then_some(first)
        })
        .collect();
    if let Some(names) = from_sweep.filter(|n| distinct(n)) {
        return names;
    }
    let short: Vec<String> = conditions
        .iter()
        .map(|c| {
            let loss_kind = c.key.get("loss.kind").map(|v| unquote(v));
            let mut parts = Vec::new();
            if varying.keys.iter().any(|k| k == "loss.kind") {
                parts.push(loss_kind.clone().unwrap_or_else(|| "-".into()));
            }
            for k in varying.shown(&c.key) {
                if k == "loss.kind" {
                    continue;
                }
                let v = c.key.get(k).map(|v| unquote(v)).unwrap_or("-".into());
                parts.push(format!("{}={v}", short_key(k)));
            }
            if parts.is_empty() {
                c.label.clone()
            } else {
                parts.join(" ")
            }
        })
        .collect();
    if distinct(&short) {
        short
    } else {
        conditions.iter().map(|c| c.label.clone()).collect()
    }
}

/// A key as a condition's short name shows it: its last part (`alpha` for `loss.alpha`),
/// unless that is a top-level key that defines conditions too (`loss.hierarchy` is not
/// `hierarchy`; `data.name` stays `name`, as a run's `name` never defines one).
fn short_key(key: &str) -> &str {
    let last = key.rsplit('.').next().unwrap_or(key);
    let top_level = crate::sweep::grid::config_keys().contains(last);
    if last != key && top_level && !NON_CONDITION_KEYS.contains(&last) {
        key
    } else {
        last
    }
}

fn distinct(names: &[String]) -> bool {
    let mut sorted: Vec<&String> = names.iter().collect();
    sorted.sort();
    sorted.windows(2).all(|w| w[0] != w[1])
}

/// Config keys whose values must agree within a condition: runs that differ in them measure
/// different things (another dataset, model, training length or data size), and their mean
/// would be no condition's.
pub const POOL_KEYS: &[&str] = &[
    "data.name",
    // The number of classes of `synthetic` data.
    "data.classes",
    "model.kind",
    "optim.epochs",
    "data.per_class",
    "data.test_per_class",
];

/// Checks what grouping pooled: an error naming the keys and runs when a condition holds runs
/// that differ in a [`POOL_KEYS`] entry (a warning instead with `allow_mixed`), and a warning
/// for a seed that appears twice in a condition (probably the same run copied twice, which
/// would count it twice). Returns the warnings.
pub fn check_pooling(
    runs: &[Run],
    conditions: &[Condition],
    allow_mixed: bool,
) -> Result<Vec<String>> {
    let mut warnings = Vec::new();
    let mut errors = Vec::new();
    for c in conditions {
        let members: Vec<usize> = c.runs.iter().chain(&c.diverged).copied().collect();
        let mut differing = Vec::new();
        for key in POOL_KEYS {
            let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for &i in &members {
                let v = runs[i]
                    .config_str(key)
                    .unwrap_or_else(|| "(absent)".to_string());
                values
                    .entry(v)
                    .or_default()
                    .push(runs[i].dir.display().to_string());
            }
            if values.len() > 1 {
                let parts: Vec<String> = values
                    .iter()
                    .map(|(v, dirs)| format!("{v}: {}", dirs.join(", ")))
                    .collect();
                differing.push(format!("{key} ({})", parts.join("; ")));
            }
        }
        if !differing.is_empty() {
            errors.push(format!(
                "condition '{}' would pool runs that differ in {}",
                c.label,
                differing.join(" and ")
            ));
        }
        let mut by_seed: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for &i in &members {
            if let Some(seed) = runs[i].seed() {
                by_seed
                    .entry(seed)
                    .or_default()
                    .push(runs[i].dir.display().to_string());
            }
        }
        for (seed, dirs) in by_seed.iter().filter(|(_, d)| d.len() > 1) {
            warnings.push(format!(
                "condition '{}' has seed {seed} in {} runs ({}): probably one run copied \
                 twice; each copy counts as a run, and pairing by seed leaves the condition out",
                c.label,
                dirs.len(),
                dirs.join(", ")
            ));
        }
    }
    if errors.is_empty() {
        return Ok(warnings);
    }
    if allow_mixed {
        warnings.extend(
            errors
                .into_iter()
                .map(|e| format!("{e} (pooled as asked by --allow-mixed)")),
        );
        return Ok(warnings);
    }
    bail!(
        "{}. Refusing to pool them: use --allow-mixed to pool them anyway, or --group-by a key \
         that tells them apart",
        errors.join("; ")
    )
}

/// The loss parameters of nclab's losses that `loss_kind` reads; `None` for a kind nclab does
/// not know (a Tracker's custom loss), whose parameters are its own.
fn parameters_read(loss_kind: Option<&str>) -> Option<&'static [&'static str]> {
    Some(match loss_kind? {
        "ce" => &[],
        "mse" => &["loss.kappa", "loss.weight"],
        "soft" => &["loss.beta"],
        "hxe" => &["loss.alpha", "loss.normalize"],
        _ => return None,
    })
}

/// Whether `key` is one of nclab's loss parameters ([`loss_defaults`]) that `loss_kind` does
/// not read (`loss.alpha` of a CE run). A key of the Tracker's own (`loss.label_smoothing`) is
/// none, nor is any key of a kind nclab does not know.
fn unused_loss_parameter(key: &str, loss_kind: Option<&str>) -> bool {
    let Some(read) = parameters_read(loss_kind) else {
        return false;
    };
    is_loss_parameter(key) && !read.contains(&key)
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
/// `data.name` and `model.kind`; among several, the one sharing the most config entries, then
/// the one with the fewest defining entries (plain CE before a variant of it), then the first
/// by label. CE conditions and conditions without a known loss get none.
fn assign_baselines(conditions: &mut [Condition]) {
    let mut chosen = vec![None; conditions.len()];
    for (i, c) in conditions.iter().enumerate() {
        if c.loss.as_deref() == Some("ce") || c.loss.is_none() {
            continue;
        }
        // (index, shared entries, the candidate's own defining entries): the most shared, then
        // the plainest CE (fewest entries: plain before label-smoothed), then the first.
        let mut best: Option<(usize, usize, usize)> = None;
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
            let own = b.key.len();
            if best.is_none_or(|(_, s, o)| shared > s || (shared == s && own < o)) {
                best = Some((j, shared, own));
            }
        }
        chosen[i] = best.map(|(j, ..)| j);
    }
    for (c, b) in conditions.iter_mut().zip(chosen) {
        c.baseline = b;
    }
}

#[cfg(test)]
mod tests {
    use super::short_key;

    #[test]
    fn short_keys_are_last_parts_unless_that_names_a_top_level_key() {
        assert_eq!(short_key("loss.alpha"), "alpha");
        assert_eq!(short_key("optim.lr"), "lr");
        assert_eq!(short_key("seed"), "seed");
        assert_eq!(short_key("hierarchy"), "hierarchy");
        assert_eq!(short_key("data.name"), "name");
        // The loss's own tree is not the run's tree.
        assert_eq!(short_key("loss.hierarchy"), "loss.hierarchy");
    }
}
