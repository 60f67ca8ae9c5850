//! What every condition of a report shares: the config entries that are the same in all its
//! runs (dataset, model, optimiser, schedule, tree) and the learning-rate decay epochs, so that
//! a reader knows what was trained before reading what differs between the conditions.

use super::conditions::Condition;

/// The entries shown when every condition has the same value, in this order, with their label.
const SHOWN: &[(&str, &str)] = &[
    ("data.name", "dataset"),
    ("data.per_class", "training images per class (0: all)"),
    ("data.test_per_class", "test images per class (0: all)"),
    ("data.augment", "augmentation"),
    ("model.kind", "model"),
    ("model.widths", "MLP hidden widths"),
    ("model.width", "ResNet base width"),
    ("hierarchy", "class tree"),
    ("loss.kind", "loss"),
    ("loss.hierarchy", "the loss's own tree"),
    ("optim.epochs", "epochs"),
    ("optim.batch_size", "batch size"),
    ("optim.lr", "learning rate"),
    ("optim.momentum", "SGD momentum"),
    ("optim.weight_decay", "weight decay"),
    ("optim.schedule", "learning-rate schedule"),
    ("analysis.epochs", "analysis epochs"),
];

/// The shared setup as (label, value) rows: each entry of [`SHOWN`] that every condition has
/// with one value (a model's width only for its kind), then the decay epochs when there are
/// any. Empty without conditions.
pub fn shared(conds: &[Condition], decays: &[f64]) -> Vec<(&'static str, String)> {
    let value = |key: &str| -> Option<String> {
        let first = conds.first()?.common.get(key)?;
        conds
            .iter()
            .all(|c| c.common.get(key) == Some(first))
            .then(|| first.trim_matches('"').to_string())
    };
    let kind = value("model.kind").unwrap_or_default();
    let mut rows: Vec<(&'static str, String)> = SHOWN
        .iter()
        .filter(|(key, _)| match *key {
            "model.widths" => kind == "mlp",
            "model.width" => kind.starts_with("resnet"),
            _ => true,
        })
        .filter_map(|&(key, label)| value(key).map(|v| (label, v)))
        .collect();
    if !decays.is_empty() {
        let epochs: Vec<String> = decays.iter().map(|d| format!("{d}")).collect();
        rows.push(("learning rate divided by 10 from epochs", epochs.join(", ")));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(entries: &[(&str, &str)]) -> Condition {
        let mut c = crate::report::conditions::test_condition("c", Vec::new());
        c.common = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        c
    }

    #[test]
    fn the_setup_is_what_every_condition_shares() {
        let a = condition(&[
            ("data.name", "\"fashion-mnist\""),
            ("model.kind", "\"mlp\""),
            ("model.widths", "[1024, 1024, 1024]"),
            ("model.width", "64"),
            ("loss.kind", "\"ce\""),
            ("optim.lr", "0.0679"),
            ("optim.epochs", "350"),
        ]);
        let b = condition(&[
            ("data.name", "\"fashion-mnist\""),
            ("model.kind", "\"mlp\""),
            ("model.widths", "[1024, 1024, 1024]"),
            ("model.width", "64"),
            ("loss.kind", "\"hxe\""),
            ("optim.lr", "0.17526"),
            ("optim.epochs", "350"),
        ]);
        // The loss and the learning rate differ, so they are not shown; an MLP's unused
        // ResNet width neither; the decays come last.
        assert_eq!(
            shared(&[a, b], &[117.0, 234.0]),
            vec![
                ("dataset", "fashion-mnist".to_string()),
                ("model", "mlp".to_string()),
                ("MLP hidden widths", "[1024, 1024, 1024]".to_string()),
                ("epochs", "350".to_string()),
                (
                    "learning rate divided by 10 from epochs",
                    "117, 234".to_string()
                ),
            ]
        );
        assert!(shared(&[], &[]).is_empty());
    }
}
