//! Loading benchmark (plain timing, no harness): every split of MNIST, Fashion-MNIST and
//! CIFAR-10 read from the data root ($NCLAB_DATA, default ./data) into memory, then the batch
//! builder over one CIFAR-10 epoch (batches of 128, normalised f32 NCHW, with and without
//! augmentation). Datasets not set up are skipped. Each time is the median of 5 runs, files in
//! the page cache (one warm-up run first).
//!
//! Run: `NCLAB_DATA=/path/to/data cargo bench -p nclab-core --bench load`

use nclab_core::data::{self, Dataset, Normalization, Split};
use nclab_core::rng::Rng;
use std::time::Instant;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    xs[xs.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut last = f();
    let mut ts = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        last = f();
        ts.push(t.elapsed().as_secs_f64());
    }
    (median(ts), last)
}

fn main() {
    let root = data::data_root();
    println!("data root: {}", root.display());
    let mut cifar: Option<Dataset> = None;
    for name in ["mnist", "fashion-mnist", "cifar10"] {
        let dir = data::dataset_dir(&root, name);
        if !dir.exists() {
            println!("{name:<14} skipped (not set up in {})", dir.display());
            continue;
        }
        let (t, (train, test)) = time(5, || {
            (
                data::load(name, &root, Split::Train).expect("train split"),
                data::load(name, &root, Split::Test).expect("test split"),
            )
        });
        let bytes: usize = [&train, &test]
            .iter()
            .map(|d| d.len() * d.sample_len())
            .sum();
        println!(
            "{name:<14} load train+test ({} + {} images, {:.1} MB of pixels): {:.3} s ({:.0} MB/s)",
            train.len(),
            test.len(),
            bytes as f64 / 1e6,
            t,
            bytes as f64 / 1e6 / t
        );
        let (tn, _) = time(5, || Normalization::compute(&train));
        println!("{name:<14} per-channel mean/std of train: {:.3} s", tn);
        if name == "cifar10" {
            cifar = Some(train);
        }
    }
    if let Some(train) = cifar {
        let norm = Normalization::compute(&train);
        let order: Vec<usize> = (0..train.len()).collect();
        let mut out = Vec::new();
        for augment in [false, true] {
            let (t, _) = time(5, || {
                let mut rng = Rng::new(1);
                for b in order.chunks_exact(128) {
                    train.batch(b, &norm, augment.then_some(&mut rng), &mut out);
                }
            });
            println!(
                "cifar10        one epoch of batches (390 x 128, f32 NCHW){}: {:.3} s ({:.1} us/image)",
                if augment { ", crop+flip" } else { "" },
                t,
                t * 1e6 / (390.0 * 128.0)
            );
        }
        let (t, _) = time(5, || train.subset_balanced(500, 3).unwrap());
        println!("cifar10        balanced subset 500/class: {:.3} s", t);
    }
}
