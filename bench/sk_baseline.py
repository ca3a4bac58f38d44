#!/usr/bin/python3
# Copied from shared/bench/sk_baseline.py (the project's performance anchor, outside this repository) so that
# `npm run bench` runs from a clone without ../shared. Content unchanged below this header; keep it in step.
"""scikit-learn timings on the perf problems, in-process (run with OPENBLAS_NUM_THREADS=1): one lambda to a
duality gap of tol*||y||^2, then (unless 'solve' is given) the 100-lambda warm-started path with the held-out
MSE of each lambda, and LassoCV's 5-fold tuning. Needs Debian's python3-sklearn.
Usage: sk_baseline.py DIR NAME [tol] [solve]"""
import json, os, sys, time
import numpy as np
from sklearn.linear_model import Lasso, ElasticNet, lasso_path, LassoCV, enet_path
d, name = sys.argv[1], sys.argv[2]; tol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-8
solve_only = len(sys.argv) > 4 and sys.argv[4] == "solve"
doc = json.load(open(os.path.join(d, name + ".json")))
A, y = np.load(os.path.join(d, doc["A"]["npy"])), np.load(os.path.join(d, doc["y"]["npy"]))
Av, yv = np.load(os.path.join(d, doc["validation"]["A"]["npy"])), np.load(os.path.join(d, doc["validation"]["y"]["npy"]))
m, n = A.shape; l1, l2 = doc["penalty"]["l1"], doc["penalty"].get("l2", 0.0)
A = np.asfortranarray(A)
def best(f, reps=3):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t)
    return min(ts), r
if l2 == 0:
    est = Lasso(alpha=l1 / m, fit_intercept=False, tol=tol, max_iter=100000, precompute=False)
else:
    est = ElasticNet(alpha=(l1 + l2) / m, l1_ratio=l1 / (l1 + l2), fit_intercept=False, tol=tol, max_iter=100000, precompute=False)
t1, _ = best(lambda: est.fit(A, y))
x = est.coef_
obj = 0.5 * np.sum((A @ x - y) ** 2) + l1 * np.abs(x).sum() + 0.5 * l2 * x @ x
res = {"name": name, "shape": [m, n], "l1": l1, "l2": l2, "solve_s": t1, "objective": float(obj), "nnz": int((x != 0).sum()), "n_iter": int(est.n_iter_)}
if not solve_only and l2 == 0:
    lmax = np.abs(A.T @ y).max()
    alphas = np.geomspace(lmax, lmax * 1e-3, 100) / m
    tp, (_, coefs, _) = best(lambda: lasso_path(A, y, alphas=alphas, tol=1e-6, max_iter=100000), reps=1)
    mses = np.mean((Av @ coefs - yv[:, None]) ** 2, axis=0)
    cvt = time.perf_counter(); cv = LassoCV(alphas=alphas, cv=5, fit_intercept=False, tol=1e-6, max_iter=100000, n_jobs=1).fit(A, y); tcv = time.perf_counter() - cvt
    res.update({"path100_s": tp, "path100_best_val_mse": float(mses.min()), "path100_best_lambda": float(alphas[mses.argmin()] * m),
                "lassocv_s": tcv, "lassocv_lambda": float(cv.alpha_ * m), "lassocv_val_mse": float(np.mean((Av @ cv.coef_ - yv) ** 2))})
print(json.dumps(res))
