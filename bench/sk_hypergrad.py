#!/usr/bin/python3
"""Anchor for `npm run bench`: scikit-learn's Lasso/ElasticNet solve plus the NumPy KKT solve of the
held-out hypergradient on the active set (what a Python user would do by hand). Not a dependency.
Usage: sk_hypergrad.py DIR NAME [tol]"""
import json, os, sys, time
import numpy as np
from sklearn.linear_model import Lasso, ElasticNet

d, name = sys.argv[1], sys.argv[2]
tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-8
doc = json.load(open(os.path.join(d, name + ".json")))
A = np.asfortranarray(np.load(os.path.join(d, doc["A"]["npy"])))
y = np.load(os.path.join(d, doc["y"]["npy"]))
Av = np.load(os.path.join(d, doc["validation"]["A"]["npy"]))
yv = np.load(os.path.join(d, doc["validation"]["y"]["npy"]))
m, n = A.shape
l1, l2 = doc["penalty"]["l1"], doc["penalty"].get("l2", 0.0)


def run():
    t0 = time.perf_counter()
    if l2 == 0:
        est = Lasso(alpha=l1 / m, fit_intercept=False, tol=tol, max_iter=100000, precompute=False)
    else:
        est = ElasticNet(alpha=(l1 + l2) / m, l1_ratio=l1 / (l1 + l2), fit_intercept=False, tol=tol, max_iter=100000, precompute=False)
    est.fit(A, y)
    t1 = time.perf_counter()
    x = est.coef_
    S = np.flatnonzero(x)
    g = 2 * Av.T @ (Av @ x - yv) / len(yv)
    H = A[:, S].T @ A[:, S] + l2 * np.eye(len(S))
    v = np.linalg.solve(H, g[S])
    hg = -v @ np.sign(x[S])
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, hg


runs = [run() for _ in range(3)]
best = min(runs, key=lambda r: r[0] + r[1])
print(json.dumps({"solve_s": best[0], "kkt_s": best[1], "hypergradient_l1": best[2]}))
