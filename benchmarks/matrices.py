"""The graph's overhead on arrays: the seed's network mean(sigmoid(X @ W), 1) with 256x256
X and W, its gradient with respect to X and W through our engine, against the same forward
and backward passes written directly in numpy. Both run interleaved in one process; the
figures are the minimum and the median. Target: the engine within 3x of numpy.

    python benchmarks/matrices.py [--size 256] [--repeat 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

# one BLAS thread for both sides unless told otherwise: threads fighting other load make the
# medians noise (set OPENBLAS_NUM_THREADS=2 to compare with two)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from autodiff_cli import compile, grad  # noqa: E402

EXPR = "mean(sigmoid(X @ W), 1)"


def by_hand(X: Any, W: Any) -> tuple[Any, Any, Any]:
    """Forward and backward of mean(sigmoid(X @ W), 1), reduced by its sum, in numpy."""
    A = 0.5 + 0.5 * np.tanh(0.5 * (X @ W))
    out = A.mean(axis=1)
    dH = A * (1.0 - A) / A.shape[1]  # dO/dA = 1/3 per entry (here 1/n), times sigmoid'
    return out, X.T @ dH, dH @ W.T


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = args.size
    X, W = rng.normal(size=(n, n)) / np.sqrt(n), rng.normal(size=(n, n))
    point = {"X": X, "W": W}
    graph = compile(EXPR, point)

    out, dW, dX = by_hand(X, W)
    value, g = graph.gradient(point)
    assert np.allclose(value, out) and np.allclose(g["W"], dW) and np.allclose(g["X"], dX)

    runs: dict[str, list[float]] = {"numpy": [], "engine": [], "grad()": []}
    for _ in range(args.repeat):
        runs["numpy"].append(timed(lambda: by_hand(X, W)))
        runs["engine"].append(timed(lambda: graph.gradient(point)))
        runs["grad()"].append(timed(lambda: grad(EXPR, point)))
    print(f"{EXPR} with X, W of shape {n}x{n}; gradient with respect to X and W; "
          f"{args.repeat} interleaved runs, {os.environ['OPENBLAS_NUM_THREADS']} BLAS thread(s)")
    print(f"{'':36}{'min ms':>9}{'x numpy':>9}{'median ms':>11}{'x numpy':>9}")
    labels = {"numpy": "numpy, written by hand",
              "engine": "engine: graph.gradient (compiled)",
              "grad()": "grad(): parse + lower + gradient"}
    lo, mid = min(runs["numpy"]), statistics.median(runs["numpy"])
    for key, label in labels.items():
        a, m = min(runs[key]), statistics.median(runs[key])
        print(f"{label:36}{a * 1e3:9.3f}{a / lo:9.2f}{m * 1e3:11.3f}{m / mid:9.2f}")
    ratio = statistics.median(runs["engine"]) / mid
    print(f"target: engine within 3x of numpy (medians): {'met' if ratio <= 3 else 'NOT met'} "
          f"({ratio:.2f}x; min {min(runs['engine']) / lo:.2f}x)")

if __name__ == "__main__":
    main()
