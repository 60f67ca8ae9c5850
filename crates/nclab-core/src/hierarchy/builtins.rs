//! Built-in hierarchies, with classes in the dataset's label order.

use super::tree::{Edge, Hierarchy};
use crate::{Error, Result};

/// CIFAR-10 class names in label order.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Fashion-MNIST class names in label order (0 T-shirt/top, 1 Trouser, ..., 9 Ankle boot),
/// spelled as in the spec's tree.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle_boot",
];

/// CIFAR-100 fine label names in label order (0..99).
pub const CIFAR100_CLASSES: [&str; 100] = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
];

/// CIFAR-100 superclasses (coarse labels 0..19 in label order) and their five classes each.
pub const CIFAR100_SUPERCLASSES: [(&str, [&str; 5]); 20] = [
    (
        "aquatic_mammals",
        ["beaver", "dolphin", "otter", "seal", "whale"],
    ),
    (
        "fish",
        ["aquarium_fish", "flatfish", "ray", "shark", "trout"],
    ),
    ("flowers", ["orchid", "poppy", "rose", "sunflower", "tulip"]),
    ("food_containers", ["bottle", "bowl", "can", "cup", "plate"]),
    (
        "fruit_and_vegetables",
        ["apple", "mushroom", "orange", "pear", "sweet_pepper"],
    ),
    (
        "household_electrical_devices",
        ["clock", "keyboard", "lamp", "telephone", "television"],
    ),
    (
        "household_furniture",
        ["bed", "chair", "couch", "table", "wardrobe"],
    ),
    (
        "insects",
        ["bee", "beetle", "butterfly", "caterpillar", "cockroach"],
    ),
    (
        "large_carnivores",
        ["bear", "leopard", "lion", "tiger", "wolf"],
    ),
    (
        "large_man-made_outdoor_things",
        ["bridge", "castle", "house", "road", "skyscraper"],
    ),
    (
        "large_natural_outdoor_scenes",
        ["cloud", "forest", "mountain", "plain", "sea"],
    ),
    (
        "large_omnivores_and_herbivores",
        ["camel", "cattle", "chimpanzee", "elephant", "kangaroo"],
    ),
    (
        "medium_mammals",
        ["fox", "porcupine", "possum", "raccoon", "skunk"],
    ),
    (
        "non-insect_invertebrates",
        ["crab", "lobster", "snail", "spider", "worm"],
    ),
    ("people", ["baby", "boy", "girl", "man", "woman"]),
    (
        "reptiles",
        ["crocodile", "dinosaur", "lizard", "snake", "turtle"],
    ),
    (
        "small_mammals",
        ["hamster", "mouse", "rabbit", "shrew", "squirrel"],
    ),
    (
        "trees",
        [
            "maple_tree",
            "oak_tree",
            "palm_tree",
            "pine_tree",
            "willow_tree",
        ],
    ),
    (
        "vehicles_1",
        ["bicycle", "bus", "motorcycle", "pickup_truck", "train"],
    ),
    (
        "vehicles_2",
        ["lawn_mower", "rocket", "streetcar", "tank", "tractor"],
    ),
];

fn build(name: &str, pairs: &[(&str, &str)], classes: &[&str]) -> Hierarchy {
    let edges: Vec<Edge> = pairs
        .iter()
        .map(|&(p, c)| Edge {
            parent: p.to_string(),
            child: c.to_string(),
            location: format!("built-in edge {p} -> {c}"),
        })
        .collect();
    Hierarchy::from_edges(name, &edges)
        .and_then(|h| h.with_class_order(classes))
        .expect("built-in hierarchies are valid")
}

/// `cifar10`: entity -> { animal -> { mammal -> {cat, deer, dog, horse}, frog, bird },
/// vehicle -> { land_vehicle -> {automobile, truck}, ship, airplane } }.
pub fn cifar10() -> Hierarchy {
    build(
        "cifar10",
        &[
            ("entity", "animal"),
            ("entity", "vehicle"),
            ("animal", "mammal"),
            ("mammal", "cat"),
            ("mammal", "deer"),
            ("mammal", "dog"),
            ("mammal", "horse"),
            ("animal", "frog"),
            ("animal", "bird"),
            ("vehicle", "land_vehicle"),
            ("land_vehicle", "automobile"),
            ("land_vehicle", "truck"),
            ("vehicle", "ship"),
            ("vehicle", "airplane"),
        ],
        &CIFAR10_CLASSES,
    )
}

/// `cifar100`: root -> 20 superclasses (the dataset's coarse labels) -> 100 classes.
pub fn cifar100() -> Hierarchy {
    let mut pairs = Vec::new();
    for (sup, fine) in CIFAR100_SUPERCLASSES.iter() {
        pairs.push(("root", *sup));
        for f in fine {
            pairs.push((*sup, *f));
        }
    }
    build("cifar100", &pairs, &CIFAR100_CLASSES)
}

/// `fashion-mnist`: root -> { clothing -> { upper_body -> {T-shirt/top, pullover, coat,
/// shirt}, full_or_lower -> {dress, trouser} }, footwear -> {sandal, sneaker, ankle_boot},
/// bag }.
pub fn fashion_mnist() -> Hierarchy {
    build(
        "fashion-mnist",
        &[
            ("root", "clothing"),
            ("clothing", "upper_body"),
            ("upper_body", "T-shirt/top"),
            ("upper_body", "pullover"),
            ("upper_body", "coat"),
            ("upper_body", "shirt"),
            ("clothing", "full_or_lower"),
            ("full_or_lower", "dress"),
            ("full_or_lower", "trouser"),
            ("root", "footwear"),
            ("footwear", "sandal"),
            ("footwear", "sneaker"),
            ("footwear", "ankle_boot"),
            ("root", "bag"),
        ],
        &FASHION_MNIST_CLASSES,
    )
}

/// Most classes [`flat`] builds: 1,000,000 (about 100 MB of nodes). A count beyond it is
/// taken as a typo rather than trusted with memory.
pub const MAX_FLAT_CLASSES: usize = 1_000_000;

/// `flat:K`: classes `"0"`, ..., `"K-1"` directly under `root` (every d = 1). K >= 2.
pub fn flat(k: usize) -> Result<Hierarchy> {
    check_flat_size(k)?;
    let names: Vec<String> = (0..k).map(|i| i.to_string()).collect();
    let edges: Vec<Edge> = names
        .iter()
        .map(|c| Edge {
            parent: "root".into(),
            child: c.clone(),
            location: "built-in".into(),
        })
        .collect();
    Hierarchy::from_edges(&format!("flat:{k}"), &edges)
}

/// Fails unless `flat:k` can be built: `2 <= k <= MAX_FLAT_CLASSES`.
pub(crate) fn check_flat_size(k: usize) -> Result<()> {
    if k < 2 {
        return Err(Error::invalid(format!(
            "flat:{k}: a flat hierarchy needs at least 2 classes"
        )));
    }
    if k > MAX_FLAT_CLASSES {
        return Err(Error::invalid(format!(
            "flat:{k}: more than the {MAX_FLAT_CLASSES} classes a flat hierarchy may have \
             (a typo? each class costs a node, about 100 bytes)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `flat:K` with K from a typo (10^9) is refused before a node is made; the largest
    /// allowed K still builds.
    #[test]
    fn flat_refuses_more_classes_than_it_may_build() {
        let e = flat(1_000_000_000).unwrap_err().to_string();
        assert!(
            e.contains("flat:1000000000: more than the 1000000 classes a flat hierarchy may have"),
            "{e}"
        );
        assert!(flat(MAX_FLAT_CLASSES + 1).is_err());
        assert_eq!(flat(1000).unwrap().num_classes(), 1000);
    }

    #[test]
    fn cifar10_lca_heights_match_the_spec_entry_by_entry() {
        let h = cifar10();
        assert_eq!(h.class_names(), CIFAR10_CLASSES.to_vec());
        let d = h.distance_matrix();
        let group = |c: &str| -> &str {
            match c {
                "cat" | "deer" | "dog" | "horse" => "mammal",
                "frog" | "bird" => "animal",
                "automobile" | "truck" => "land_vehicle",
                _ => "vehicle",
            }
        };
        let is_animal = |c: &str| matches!(group(c), "mammal" | "animal");
        for (a, na) in CIFAR10_CLASSES.iter().enumerate() {
            for (b, nb) in CIFAR10_CLASSES.iter().enumerate() {
                // The spec: 0 on the diagonal; mammal pairs 1; automobile-truck 1; other pairs
                // inside animal or vehicle 2; animal-vehicle 3.
                let want = if a == b {
                    0.0
                } else if group(na) == "mammal" && group(nb) == "mammal"
                    || group(na) == "land_vehicle" && group(nb) == "land_vehicle"
                {
                    1.0
                } else if is_animal(na) == is_animal(nb) {
                    2.0
                } else {
                    3.0
                };
                assert_eq!(d[a * 10 + b], want, "d({na}, {nb})");
            }
        }
        // A few entries written out: airplane-automobile 2, cat-dog 1, automobile-truck 1,
        // bird-frog 2, cat-frog 2, ship-horse 3.
        assert_eq!(d[1], 2.0);
        assert_eq!(d[3 * 10 + 5], 1.0);
        assert_eq!(d[10 + 9], 1.0);
        assert_eq!(d[2 * 10 + 6], 2.0);
        assert_eq!(d[3 * 10 + 6], 2.0);
        assert_eq!(d[8 * 10 + 7], 3.0);
        assert_eq!(h.max_distance(), 3);
    }

    #[test]
    fn cifar100_coarse_labels_are_the_datasets() {
        // The dataset's coarse label of each fine label 0..99 (as in the CIFAR-100 meta data).
        const COARSE: [usize; 100] = [
            4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6,
            13, 15, 3, 15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10,
            16, 4, 17, 4, 2, 0, 17, 4, 18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16,
            12, 9, 13, 15, 13, 16, 19, 2, 4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
        ];
        let h = cifar100();
        assert_eq!(h.num_classes(), 100);
        assert_eq!(h.class_names(), CIFAR100_CLASSES.to_vec());
        let mut sorted = CIFAR100_CLASSES.to_vec();
        sorted.sort();
        assert_eq!(
            sorted,
            CIFAR100_CLASSES.to_vec(),
            "fine labels are alphabetical"
        );
        let names = h.coarse_names(1);
        for (c, &want) in COARSE.iter().enumerate() {
            let node = h.ancestor_at_depth(h.class_node(c), 1);
            assert_eq!(h.name(node), CIFAR100_SUPERCLASSES[want].0, "class {c}");
        }
        let (labels, n) = h.coarse_labels(1);
        assert_eq!(n, 20);
        for c in 0..100 {
            assert_eq!(names[labels[c]], CIFAR100_SUPERCLASSES[COARSE[c]].0);
        }
        assert_eq!(h.max_distance(), 2);
    }

    #[test]
    fn fashion_mnist_tree() {
        let h = fashion_mnist();
        assert_eq!(h.class_names(), FASHION_MNIST_CLASSES.to_vec());
        // T-shirt/top (0) - shirt (6): upper_body, height 1; T-shirt/top - dress (3):
        // clothing, height 2; sandal (5) - sneaker (7): footwear, 1; bag (8) - coat (4): root, 3.
        assert_eq!(h.distance(0, 6), 1);
        assert_eq!(h.distance(0, 3), 2);
        assert_eq!(h.distance(5, 7), 1);
        assert_eq!(h.distance(8, 4), 3);
        assert_eq!(h.distance(9, 1), 3);
    }

    #[test]
    fn flat_hierarchy() {
        let h = flat(4).unwrap();
        let d = h.distance_matrix();
        for a in 0..4 {
            for b in 0..4 {
                assert_eq!(d[a * 4 + b], if a == b { 0.0 } else { 1.0 });
            }
        }
        assert!(flat(1).is_err());
    }
}
