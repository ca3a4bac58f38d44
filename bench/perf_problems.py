#!/usr/bin/python3
# Copied from shared/bench/perf_problems.py (the project's performance anchor, outside this repository) so that
# `npm run bench` runs from a clone without ../shared. Content unchanged below this header; keep it in step.
"""Benchmark problems for the performance anchors, written as sparsetune-problem/1 JSON with .npy arrays.
Usage: perf_problems.py OUTDIR"""
import json, os, sys
import numpy as np

def cs(seed, m, n, k, noise, frac):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    x0 = np.zeros(n); idx = rng.choice(n, k, replace=False); x0[idx] = rng.choice([-1, 1], k) * (1 + rng.random(k))
    y = A @ x0 + noise * rng.standard_normal(m)
    Av = rng.standard_normal((m // 2, n)) / np.sqrt(m); yv = Av @ x0 + noise * rng.standard_normal(m // 2)
    lmax = float(np.abs(A.T @ y).max())
    return A, y, Av, yv, frac * lmax

def write(out, name, A, y, Av, yv, l1, l2=0.0):
    for arr, fn in ((A, "A"), (y, "y"), (Av, "Aval"), (yv, "yval")):
        np.save(os.path.join(out, f"{name}.{fn}.npy"), np.ascontiguousarray(arr, dtype=np.float64))
    doc = {"format": "sparsetune-problem/1", "name": name, "A": {"npy": f"{name}.A.npy"}, "y": {"npy": f"{name}.y.npy"},
           "penalty": {"l1": l1, "l2": l2}, "validation": {"A": {"npy": f"{name}.Aval.npy"}, "y": {"npy": f"{name}.yval.npy"}}}
    json.dump(doc, open(os.path.join(out, name + ".json"), "w"), indent=1)

if __name__ == "__main__":
    out = sys.argv[1]; os.makedirs(out, exist_ok=True)
    write(out, "cs-500x2000", *cs(21, 500, 2000, 40, 0.01, 0.05))
    write(out, "cs-1000x5000", *cs(22, 1000, 5000, 80, 0.01, 0.02))
    write(out, "cs-200x4000", *cs(24, 200, 4000, 10, 0.1, 0.1))  # the shape sparse-ho was timed on
    A, y, Av, yv, l1 = cs(23, 400, 1500, 30, 0.01, 0.05)
    write(out, "enet-400x1500", A, y, Av, yv, l1, 1.0)
