//! Criterion benchmark of the neural-collapse metrics engine on in-memory f32 features, the two
//! cases of the metrics issue: N = 50,000 with (d, K) = (512, 10) and (2,048, 100).
//! `scripts/bench-measure.sh` times the whole CLI against NumPy on files.

use criterion::{criterion_group, criterion_main, Criterion};
use nclab_core::metrics::{measure, CollapseInput};
use nclab_core::rng::Rng;
use nclab_core::tensor::MatrixView;

fn problem(n: usize, d: usize, k: usize) -> (Vec<f32>, Vec<u32>, Vec<f32>) {
    let mut rng = Rng::new(0);
    let means: Vec<f32> = (0..k * d).map(|_| rng.normal() as f32).collect();
    let labels: Vec<u32> = (0..n).map(|_| rng.below(k as u64) as u32).collect();
    let mut h = Vec::with_capacity(n * d);
    for &y in &labels {
        let mu = &means[y as usize * d..(y as usize + 1) * d];
        h.extend(mu.iter().map(|m| m + 0.5 * rng.normal() as f32));
    }
    (h, labels, means)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("measure");
    group.sample_size(10);
    for (n, d, k) in [(50_000, 512, 10), (50_000, 2_048, 100)] {
        let (h, y, w) = problem(n, d, k);
        let input = CollapseInput {
            features: MatrixView::f32(&h, n, d),
            labels: &y,
            num_classes: k,
            weights: Some(MatrixView::f32(&w, k, d)),
            bias: None,
            predictions: None,
        };
        group.bench_function(format!("N={n} d={d} K={k}"), |b| {
            b.iter(|| measure(&input).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
