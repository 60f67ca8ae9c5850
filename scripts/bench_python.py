"""Benchmark of the Python package, side by side in one run (best of R wall times):

1. `nclab.measure` on in-memory float32 features (N x d, K classes, with W and b);
2. the CLI `nclab measure` on the same data from .npy files (the whole command: start-up,
   reading the files, the same engine);
3. a straightforward PyTorch CPU implementation in float64, as most Python code does it:
   the d x d within-class covariance and `torch.linalg.pinv` of the d x d between-class one;
4. the `nclab.torch.Tracker` overhead on the example's MNIST loop: one training epoch alone,
   and one analysis (`tracker.epoch` at an analysis epoch).

    .venv/bin/python scripts/bench_python.py [--quick] [--repeat R]

Prints a table and writes bench-out/python/results.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import nclab

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-out" / "python"


def best_of(repeat, fn):
    """The smallest wall time of `repeat` calls of fn, and fn's last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def data(n, d, k, seed=0):
    """Gaussian classes around random means, float32, with a classifier near the means."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d)).astype(np.float32)
    y = rng.integers(0, k, size=n).astype(np.int64)
    h = means[y] + 0.5 * rng.normal(size=(n, d)).astype(np.float32)
    w = (means + 0.1 * rng.normal(size=(k, d))).astype(np.float32)
    b = (0.01 * rng.normal(size=k)).astype(np.float32)
    return h, y, w, b


def torch_nc(h, y, w, b, k):
    """NC1-NC4 the usual PyTorch way, float64 on the CPU (the baseline)."""
    h = torch.from_numpy(h).double()
    y = torch.from_numpy(y)
    w, b = torch.from_numpy(w).double(), torch.from_numpy(b).double()
    n, d = h.shape
    mu = torch.zeros(k, d, dtype=h.dtype).index_add_(0, y, h) / torch.bincount(y, minlength=k)[:, None]
    mu_g = h.mean(0)
    centred = h - mu[y]
    sw = centred.T @ centred / n
    m = mu - mu_g
    sb = m.T @ m / k
    nc1 = torch.trace(sw @ torch.linalg.pinv(sb, hermitian=True)).item() / k
    etf = (torch.eye(k, dtype=h.dtype) - 1.0 / k) / (k - 1) ** 0.5
    g = m @ m.T
    nc2 = torch.linalg.norm(g / torch.linalg.norm(g) - etf).item()
    wm = w @ m.T
    nc3 = torch.linalg.norm(wm / torch.linalg.norm(wm) - etf).item()
    pred = (h @ w.T + b).argmax(1)
    ncc = torch.cdist(h, mu).argmin(1)
    nc4 = (pred != ncc).double().mean().item()
    return {"nc1": nc1, "nc2": nc2, "nc3": nc3, "nc4": nc4}


def cli_measure(nclab_bin, files):
    """`nclab measure` on the .npy files; its JSON output."""
    out = subprocess.run(
        [nclab_bin, "measure", "--features", files["h"], "--labels", files["y"],
         "--weights", files["w"], "--bias", files["b"], "--format", "json"],
        check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def bench_measure(cases, repeat, nclab_bin):
    rows = []
    for n, d, k in cases:
        h, y, w, b = data(n, d, k)
        with tempfile.TemporaryDirectory() as tmp:
            files = {}
            for name, a in [("h", h), ("y", y), ("w", w), ("b", b)]:
                files[name] = os.path.join(tmp, f"{name}.npy")
                np.save(files[name], a)
            t_py, py = best_of(repeat, lambda: nclab.measure(h, y, w, b))
            t_cli, cli = best_of(repeat, lambda: cli_measure(nclab_bin, files))
        t_torch, ref = best_of(repeat, lambda: torch_nc(h, y, w, b, k))
        agree = max(abs(py[m] - ref[m]) / max(abs(ref[m]), 1e-300) for m in ("nc1", "nc2", "nc3"))
        rows.append({
            "case": f"N={n} d={d} K={k}", "python_s": t_py, "cli_s": t_cli, "torch_s": t_torch,
            "python_over_cli": t_py / t_cli, "torch_over_python": t_torch / t_py,
            "nc1": py["nc1"], "max_rel_diff_vs_torch": agree,
            "cli_equal": all(cli[m] == py[m] for m in ("nc1", "nc2", "nc3", "nc4")),
        })
        r = rows[-1]
        print(f"{r['case']:<22} nclab.measure {t_py:7.3f} s   nclab measure (CLI, files) {t_cli:7.3f} s   "
              f"torch {t_torch:7.3f} s   python/CLI {r['python_over_cli']:.2f}   "
              f"torch/python {r['torch_over_python']:.1f}x   NC1..3 vs torch {agree:.1e}", flush=True)
    return rows


def bench_tracker(per_class, epochs, repeat):
    """One epoch of the example's MLP loop alone, and one Tracker analysis of it."""
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    from nclab.torch import HXELoss, Tracker

    def loader(split, shuffle):
        x, y, _ = nclab.load_dataset("mnist", split)
        if per_class:
            keep = np.concatenate([np.nonzero(y == c)[0][:per_class] for c in range(10)])
            x, y = x[keep], y[keep]
        x = (torch.from_numpy(x).float().flatten(1) / 255 - 0.1307) / 0.3081
        return DataLoader(TensorDataset(x, torch.from_numpy(y)), batch_size=128, shuffle=shuffle)

    torch.manual_seed(0)
    train, test = loader("train", True), loader("test", False)
    h = nclab.Hierarchy.builtin("flat:10")
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    loss = HXELoss(h, alpha=0.5)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)

    def train_epoch():
        for x, y in train:
            opt.zero_grad()
            loss(model(x), y).backward()
            opt.step()

    with tempfile.TemporaryDirectory() as tmp:
        tracker = Tracker(Path(tmp) / "run", h, "all", num_epochs=epochs, loss=loss)
        t_train, t_analysis = [], []
        for epoch in range(1, epochs + 1):
            t = time.perf_counter()
            train_epoch()
            t_train.append(time.perf_counter() - t)
            t = time.perf_counter()
            tracker.epoch(epoch, model, train, test, lr=0.05)
            t_analysis.append(time.perf_counter() - t)
        tracker.close()
    epoch_s, analysis_s = float(np.median(t_train)), float(np.median(t_analysis))
    # log:50 over the published 350 epochs analyses 40 of them.
    amortised = analysis_s * 40 / (epoch_s * 350)
    row = {"train_images": len(train.dataset), "epoch_s": epoch_s, "analysis_s": analysis_s,
           "analysis_over_epoch": analysis_s / epoch_s, "amortised_log50_350": amortised}
    print(f"Tracker, MNIST MLP, {row['train_images']} images: epoch {epoch_s:.2f} s, analysis "
          f"{analysis_s:.2f} s ({100 * analysis_s / epoch_s:.0f}% of an epoch at an analysis epoch; "
          f"{100 * amortised:.1f}% of the run with log:50 over 350 epochs)", flush=True)
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small cases, for a smoke run")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--nclab", default=str(REPO / "target" / "release" / "nclab"))
    p.add_argument("--only", choices=["measure", "tracker"], help="run one of the two parts")
    args = p.parse_args()
    cases = [(5000, 256, 10), (5000, 512, 100)] if args.quick else [(50000, 512, 10), (50000, 2048, 100)]
    print(f"threads: torch {torch.get_num_threads()}, nclab all cores ({os.cpu_count()}); "
          f"best of {args.repeat}", flush=True)
    results = {}
    if args.only != "tracker":
        results["measure"] = bench_measure(cases, args.repeat, args.nclab)
    if args.only != "measure":
        results["tracker"] = bench_tracker(500 if args.quick else 0, 2 if args.quick else 3, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"results{'-' + args.only if args.only else ''}.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    sys.exit(main())
