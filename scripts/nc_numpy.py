"""A straightforward NumPy implementation of the NC metrics of docs/metrics.md (the baseline of
scripts/bench-measure.sh): full d x d S_W and S_B, numpy.linalg.pinv, direct distances.
Prints the metrics as JSON so that the benchmark can also compare the values."""
import json
import sys

import numpy as np


def measure(H, y, W, b):
    H = H.astype(np.float64)
    N, d = H.shape
    K = W.shape[0]
    mu = np.stack([H[y == k].mean(0) for k in range(K)])
    muG = H.mean(0)
    M = mu - muG
    dev = H - mu[y]
    Sw = dev.T @ dev / N
    Sb = M.T @ M / K
    nc1 = np.trace(Sw @ np.linalg.pinv(Sb, rcond=max(d, K) * np.finfo(float).eps)) / K
    E = (np.eye(K) - np.ones((K, K)) / K) / np.sqrt(K - 1)
    G = M @ M.T
    nc2 = np.linalg.norm(G / np.linalg.norm(G) - E)
    WM = W @ M.T
    nc3 = np.linalg.norm(WM / np.linalg.norm(WM) - E)
    pred = np.argmax(H @ W.T + b, axis=1)
    dist = (H ** 2).sum(1)[:, None] - 2 * H @ mu.T + (mu ** 2).sum(1)[None, :]
    ncc = np.argmin(dist, axis=1)
    nc4 = float(np.mean(pred != ncc))
    return {"nc1": float(nc1), "nc2": float(nc2), "nc3": float(nc3), "nc4": nc4,
            "nc1_quotient": float(np.trace(Sw) / np.trace(Sb)), "ncc_accuracy": float(np.mean(ncc == y))}


if __name__ == "__main__":
    h, y, w, b = sys.argv[1:5]
    print(json.dumps(measure(np.load(h), np.load(y), np.load(w), np.load(b))))
