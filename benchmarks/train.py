"""autodiff train against the same training loop written in numpy, side by side in one run.

A 1000 x 10 linear regression, L = mean((X @ w + b - y)^2), 1000 epochs of full-batch
gradient descent (and of Adam, and of mini-batches of 100 rows) from the same start: ours is
train_loop.fit (prepare once, then per epoch the engine's forward pass, its reverse sweep and
the update); numpy's has the gradient written by hand. Prints the best of several interleaved
runs of each and the ratio (goal: ours within 3x of numpy), then the whole command line.

    PYTHONPATH=. python benchmarks/train.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from autodiff_cli.train_loop import Settings, fit

PROGRAM = "E = X @ w + b - y; L = mean(E^2)"
ROWS, COLS, EPOCHS, LR = 1000, 10, 1000, 0.1


def data(seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(ROWS, COLS))
    y = x @ rng.normal(size=(COLS, 1)) + 0.5 + 0.1 * rng.normal(size=(ROWS, 1))
    return x, y


def numpy_train(x: Any, y: Any, optimizer: str, batch: int) -> tuple[Any, float, float]:
    """The same loop by hand: per epoch (per batch) forward, gradient, update; then the
    loss on all rows. Returns (w, b, final loss)."""
    w, b = np.zeros((COLS, 1)), 0.0
    mw, mb, vw, vb, t = np.zeros_like(w), 0.0, np.zeros_like(w), 0.0, 0
    rng = np.random.default_rng([0, 1])
    loss = float(np.mean((x @ w + b - y) ** 2))
    for _ in range(EPOCHS):
        order = rng.permutation(ROWS) if batch else None
        for k in range(0, ROWS, batch or ROWS):
            xb, yb = (x, y) if order is None else (x[order[k:k + batch]], y[order[k:k + batch]])
            e = xb @ w + b - yb
            gw, gb = 2 * (xb.T @ e) / e.size, 2 * float(e.sum()) / e.size
            if optimizer == "sgd":
                w -= LR * gw
                b -= LR * gb
            else:
                t += 1
                mw, mb = 0.9 * mw + 0.1 * gw, 0.9 * mb + 0.1 * gb
                vw, vb = 0.999 * vw + 0.001 * gw * gw, 0.999 * vb + 0.001 * gb * gb
                c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
                w -= LR * (mw / c1) / ((vw / c2) ** 0.5 + 1e-8)
                b -= LR * (mb / c1) / ((vb / c2) ** 0.5 + 1e-8)
        loss = float(np.mean((x @ w + b - y) ** 2))
    return w, b, loss


def engine_train(x: Any, y: Any, optimizer: str, batch: int) -> tuple[Any, float, float]:
    r = fit(PROGRAM, {"X": x, "y": y}, {"w": np.zeros((COLS, 1)), "b": 0.0},
            Settings(lr=LR, epochs=EPOCHS, optimizer=optimizer, batch_size=batch))
    return r.params["w"], r.params["b"], r.final_loss


def race(fns: list[Callable[[], Any]], repeat: int) -> list[tuple[float, float, Any]]:
    """Per function the best wall-clock and CPU time of `repeat` interleaved rounds."""
    wall, cpu = [math.inf] * len(fns), [math.inf] * len(fns)
    results: list[Any] = [None] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            w0, c0 = time.perf_counter(), time.process_time()
            results[k] = fn()
            cpu[k] = min(cpu[k], time.process_time() - c0)
            wall[k] = min(wall[k], time.perf_counter() - w0)
    return list(zip(wall, cpu, results, strict=True))


def compare(title: str, optimizer: str, batch: int, repeat: int) -> float:
    x, y = data()
    (w_np, c_np, r_np), (w_ad, c_ad, r_ad) = race(
        [lambda: numpy_train(x, y, optimizer, batch), lambda: engine_train(x, y, optimizer, batch)],
        repeat)
    diff = float(np.abs(r_np[0] - r_ad[0]).max())
    print(title)
    for name, w, c, r in (("numpy, gradient by hand", w_np, c_np, r_np),
                          ("autodiff train", w_ad, c_ad, r_ad)):
        print(f"  {name:24}: {w:7.4f} s wall, {c:7.4f} s cpu, {c / EPOCHS * 1e6:6.1f} us "
              f"cpu/epoch, loss {r[2]:.10g}")
    print(f"  ours / numpy            : {w_ad / w_np:5.2f}x wall, {c_ad / c_np:5.2f}x cpu"
          f"   (weights differ by at most {diff:.1e})")
    return c_ad / c_np


def command_line(repeat: int) -> None:
    x, y = data()
    with tempfile.TemporaryDirectory() as tmp:
        xs, ys = Path(tmp) / "x.csv", Path(tmp) / "y.csv"
        np.savetxt(xs, x, delimiter=",")
        np.savetxt(ys, y, delimiter=",")
        args = [sys.executable, "-c", "from autodiff_cli.cli import main; main()", "train",
                PROGRAM, "--at", f"X={xs}", "--at", f"y={ys}", "--param", f"w=zeros({COLS},1)",
                "--param", "b=0",
                "--lr", str(LR), "--epochs", str(EPOCHS), "--format", "json"]
        best = math.inf
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True)
            best = min(best, time.perf_counter() - start)
    print(f"\nthe whole command (start-up, reading two CSV files, 1000 epochs, JSON out): "
          f"{best:.3f} s, best of {repeat}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of each; the best counts")
    a = parser.parse_args()
    x, y = data()
    numpy_train(x[:10], y[:10], "sgd", 0)  # warm up
    print(f"{ROWS} x {COLS} linear regression, {EPOCHS} epochs, lr {LR:g}; best of {a.repeat} "
          "interleaved runs each; ours includes parsing and compiling the program\n")
    ratios = [compare("1. full-batch gradient descent (sgd)", "sgd", 0, a.repeat),
              compare("2. Adam, full batch", "adam", 0, a.repeat),
              compare("3. sgd on mini-batches of 100 rows (10 steps an epoch)", "sgd", 100,
                      a.repeat)]
    print(f"\ngoal: within 3x of numpy (cpu): {'met' if max(ratios) <= 3 else 'NOT met'} "
          f"(at most {max(ratios):.2f}x)")
    command_line(min(a.repeat, 3))


if __name__ == "__main__":
    main()
