"""train-gate against the same training written directly in numpy, side by side in one run.

Same network, data (the four rows as one 4x2 batch), starting weights, learning rate, loss
and epochs; the numpy version has its backward pass written by hand, ours is the engine's
graph and reverse sweep. Prints the best of several runs of each and the ratio (target: ours
within 3x of numpy), then the convergence rate of xor over seeds 0..99.

    PYTHONPATH=. python benchmarks/train_gate.py [--repeat 5] [--seeds 100]
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autodiff_cli.gates import ACTIVATION, EPOCHS, GATES, HIDDEN, INPUTS, LOSS, LR, TOL
from autodiff_cli.train import Network, _matrices, initial_weights, train_gate


def _sigmoid(x: Any) -> Any:
    return 0.5 + 0.5 * np.tanh(0.5 * x)  # as arrays.py computes it


ACT: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]] = {
    # activation, and its derivative from (pre-activation, output)
    "tanh": (np.tanh, lambda z, h: 1 - h * h),
    "sigmoid": (_sigmoid, lambda z, h: h * (1 - h)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(float)),
}


def numpy_train(layers: tuple[int, ...], activation: str, loss: str, table: tuple[int, ...],
                weights: tuple[float, ...], lr: float, epochs: int, tol: float
                ) -> tuple[int, float]:
    """Forward and a hand-written backward pass in numpy; returns (epochs run, final loss)."""
    params = _matrices(layers, weights)
    ws = [params[f"W{k}"] for k in range(1, len(layers))]
    bs = [params[f"b{k}"] for k in range(1, len(layers))]
    x = np.array(INPUTS, dtype=float)
    y = np.array(table, dtype=float).reshape(4, 1)
    target = y >= 0.5
    f, df = ACT[activation]
    epoch = 0
    while True:
        hs, zs = [x], []
        for w, b in zip(ws[:-1], bs[:-1], strict=True):
            zs.append(hs[-1] @ w + b)
            hs.append(f(zs[-1]))
        z = hs[-1] @ ws[-1] + bs[-1]
        o = _sigmoid(z)
        if loss == "mse":
            value = np.mean((o - y) ** 2)
            dz = 2 * (o - y) / o.size * o * (1 - o)
        else:
            value = np.mean(np.logaddexp(0.0, z) - y * z)
            dz = (o - y) / o.size
        if value < tol and ((o >= 0.5) == target).all():
            break
        if epoch == epochs:
            break
        for k in range(len(ws) - 1, -1, -1):
            dw, db = hs[k].T @ dz, dz.sum(axis=0, keepdims=True)
            if k:
                dz = (dz @ ws[k].T) * df(zs[k - 1], hs[k])
            ws[k] -= lr * dw
            bs[k] -= lr * db
        epoch += 1
    return epoch, float(value)


def engine_train(layers: tuple[int, ...], activation: str, loss: str, table: tuple[int, ...],
                 weights: tuple[float, ...], lr: float, epochs: int, tol: float
                 ) -> tuple[int, float]:
    net = Network(layers, activation, loss, table, weights)  # parse + lower, once
    run, history, _ = net.descend(lr, epochs, tol)
    return run, history[-1]


def race(fns: list[Callable[[], Any]], repeat: int) -> list[tuple[float, float, Any]]:
    """Run the functions in turn, `repeat` rounds; per function the best wall-clock and the
    best CPU time (process_time: not counting time other processes held the CPU), and its
    result. Interleaving keeps a busy machine from favouring one side."""
    wall = [math.inf] * len(fns)
    cpu = [math.inf] * len(fns)
    results: list[Any] = [None] * len(fns)
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            w0, c0 = time.perf_counter(), time.process_time()
            results[k] = fn()
            cpu[k] = min(cpu[k], time.process_time() - c0)
            wall[k] = min(wall[k], time.perf_counter() - w0)
    return list(zip(wall, cpu, results, strict=True))


def compare(title: str, hidden: tuple[int, ...], activation: str, epochs: int, tol: float,
            repeat: int) -> float:
    layers = (2, *hidden, 1)
    w0 = initial_weights(layers, 0)
    args = (layers, activation, LOSS, GATES["xor"], w0, LR, epochs, tol)
    (w_np, c_np, (n_np, loss_np)), (w_ad, c_ad, (n_ad, loss_ad)) = race(
        [lambda: numpy_train(*args), lambda: engine_train(*args)], repeat)
    same = n_np == n_ad and abs(loss_np - loss_ad) <= 1e-9 * max(abs(loss_np), 1e-300)
    print(title)
    for name, w, c, n, loss in (("numpy, backward by hand", w_np, c_np, n_np, loss_np),
                                ("autodiff engine graph", w_ad, c_ad, n_ad, loss_ad)):
        print(f"  {name:24}: {w:7.4f} s wall, {c:7.4f} s cpu, {c / max(n, 1) * 1e6:6.1f} us "
              f"cpu/epoch, {n:5d} epochs, loss {loss:.6g}")
    print(f"  ours / numpy            : {w_ad / w_np:5.2f}x wall, {c_ad / c_np:5.2f}x cpu"
          f"   ({'same epochs and loss' if same else 'RESULTS DIFFER'})")
    return c_ad / c_np


def convergence(label: str, seeds: int, **kwargs: Any) -> None:
    start = time.perf_counter()
    runs = [train_gate("xor", seed=s, **kwargs) for s in range(seeds)]
    took = time.perf_counter() - start
    ok = [r for r in runs if r.converged]
    failed = [r.seed for r in runs if not r.converged]
    most = max((r.epochs_run for r in ok), default=0)
    print(f"  {label}: {len(ok)}/{seeds} seeds converge ({100 * len(ok) / seeds:.0f}%), "
          f"at most {most} epochs; {took:.2f} s for all"
          + (f"; fail: {failed[:10]}{' ...' if len(failed) > 10 else ''}" if failed else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each; the best counts")
    parser.add_argument("--seeds", type=int, default=100, help="seeds for the convergence rate")
    a = parser.parse_args()
    numpy_train((2, 1), "tanh", "mse", GATES["and"], (0.0, 0.0, 0.0), 1.0, 10, 0.0)  # warm up
    engine_train((2, 1), "tanh", "mse", GATES["and"], (0.0, 0.0, 0.0), 1.0, 10, 0.0)
    hidden = "-".join(map(str, (2, *HIDDEN, 1)))
    print(f"xor, the four rows as one 4x2 batch; best of {a.repeat} interleaved runs each; "
          "ours includes building the graph\n")
    compare(f"1. defaults as `autodiff train-gate xor` runs them ({hidden} {ACTIVATION}, "
            f"{LOSS}, lr {LR:g}, seed 0, stop once converged, tol {TOL:g})",
            HIDDEN, ACTIVATION, EPOCHS, TOL, a.repeat)
    compare(f"2. the default {hidden} {ACTIVATION} net for 5000 epochs (no early stop)",
            HIDDEN, ACTIVATION, 5000, 0.0, a.repeat)
    compare("3. the textbook 2-2-1 sigmoid net, lr 1, for 5000 epochs (no early stop)",
            (2,), "sigmoid", 5000, 0.0, a.repeat)
    start = time.perf_counter()
    train_gate("xor")
    print(f"\nthe whole library call train_gate('xor') (compile, train, decision boundary): "
          f"{time.perf_counter() - start:.4f} s")
    print(f"\nconvergence of xor over seeds 0..{a.seeds - 1} (all rows right, loss < tol):")
    convergence(f"our defaults ({hidden} {ACTIVATION}, {LOSS}, lr {LR:g})", a.seeds)
    convergence("textbook 2-2-1 sigmoid, lr 1", a.seeds, hidden=(2,), activation="sigmoid")


if __name__ == "__main__":
    main()
