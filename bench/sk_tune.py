#!/usr/bin/python3
"""scikit-learn's side of the tuning benchmark (run with OPENBLAS_NUM_THREADS=1), the same calls as
sk_baseline.py's path and LassoCV but each timed as the best of several runs: the 100-lambda
warm-started lasso_path (lambda_max down to 1e-3 lambda_max, tol 1e-6) with the held-out MSE of each
lambda, and LassoCV with 5 contiguous folds on the same lambdas.
Usage: sk_tune.py DIR NAME [path_reps] [cv_reps]   (cv_reps 0: no LassoCV)"""
import json, os, sys, time
import numpy as np
from sklearn.linear_model import lasso_path, LassoCV
d, name = sys.argv[1], sys.argv[2]
path_reps = int(sys.argv[3]) if len(sys.argv) > 3 else 3
cv_reps = int(sys.argv[4]) if len(sys.argv) > 4 else 1
doc = json.load(open(os.path.join(d, name + ".json")))
A, y = np.load(os.path.join(d, doc["A"]["npy"])), np.load(os.path.join(d, doc["y"]["npy"]))
Av, yv = np.load(os.path.join(d, doc["validation"]["A"]["npy"])), np.load(os.path.join(d, doc["validation"]["y"]["npy"]))
A = np.asfortranarray(A)
m = A.shape[0]
lmax = np.abs(A.T @ y).max()
alphas = np.geomspace(lmax, lmax * 1e-3, 100) / m
def best(f, reps):
    ts, r = [], None
    for _ in range(reps):
        t = time.perf_counter(); r = f(); ts.append(time.perf_counter() - t)
    return min(ts), r
tp, (_, coefs, _) = best(lambda: lasso_path(A, y, alphas=alphas, tol=1e-6, max_iter=100000), path_reps)
mses = np.mean((Av @ coefs - yv[:, None]) ** 2, axis=0)
res = {"name": name, "path100_s": tp, "path100_best_val_mse": float(mses.min()), "path100_best_lambda": float(alphas[mses.argmin()] * m)}
if cv_reps > 0:
    tcv, cv = best(lambda: LassoCV(alphas=alphas, cv=5, fit_intercept=False, tol=1e-6, max_iter=100000, n_jobs=1).fit(A, y), cv_reps)
    res.update({"lassocv_s": tcv, "lassocv_lambda": float(cv.alpha_ * m)})
print(json.dumps(res))
