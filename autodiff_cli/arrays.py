"""The numpy side of the op table: element-wise ops on arrays, and the vector-Jacobian
products of the ops that are not element-wise. Imported only when a value is an array."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from .ops import Op

Array = Any  # np.ndarray; kept loose so scalars (0-d) pass through too


def _sigmoid(x: Array) -> Array:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def _step(x: Array) -> Array:
    return (x > 0).astype(float)


def _relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


def _logb(x: Array, b: Array) -> Array:
    return np.log(x) / np.log(b)


def _axis(a: Array, axis: Array) -> int:
    k = float(axis)
    if k != int(k) or not -np.ndim(a) <= int(k) < max(np.ndim(a), 1):
        raise IndexError(f"axis {k:g} does not exist for shape {shape_text(a)}")
    return int(k)


def _sum_axis(x: Array, axis: Array) -> Array:
    return np.sum(x, axis=_axis(x, axis))


def _mean_axis(x: Array, axis: Array) -> Array:
    return np.mean(x, axis=_axis(x, axis))


def _sum(x: Array) -> Array:
    return np.add.reduce(x, axis=None)


def _mean(x: Array) -> Array:
    n = np.size(x)
    return np.add.reduce(x, axis=None) / n if n else np.mean(x)


def _transpose(x: Array) -> Array:
    return np.transpose(x)


# numpy's own function of the op's name serves unless it is named here
_IMPL: dict[str, Callable[..., Array]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "pow": np.power, "matmul": np.matmul, "asin": np.arcsin,
    "acos": np.arccos, "atan": np.arctan, "abs": np.abs, "sigmoid": _sigmoid,
    "relu": _relu, "softplus": _softplus, "step": _step, "logb": _logb, "max": np.maximum,
    "min": np.minimum, "transpose": _transpose, "sum": _sum, "mean": _mean, "sum_axis": _sum_axis,
    "mean_axis": _mean_axis,
}


def implementation(op: Op) -> Callable[..., Array]:
    fn = _IMPL.get(op.name) or getattr(np, op.name)
    return fn


def unbroadcast(g: Array, shape: tuple[int, ...]) -> Array:
    """Sum g over the axes that broadcasting added or stretched, back to `shape`."""
    have = np.shape(g)
    if have == shape:
        return g
    extra = len(have) - len(shape)
    if extra > 0:
        g = np.add.reduce(g, axis=tuple(range(extra)))
        have = have[extra:]
    stretched = tuple(k for k, n in enumerate(shape) if n == 1 and have[k] != 1)
    if stretched:
        g = np.add.reduce(g, axis=stretched, keepdims=True)
    return g


def _vjp_matmul(g: Array, x: Array, y: Array, z: Array) -> tuple[Array, Array]:
    if getattr(x, "ndim", 0) == 2 and getattr(y, "ndim", 0) == 2:
        return g @ y.T, x.T @ g
    x2, y2 = np.atleast_2d(x), np.atleast_2d(y)
    g2 = np.reshape(g, (x2.shape[0] if np.ndim(x) > 1 else 1, y2.shape[1] if np.ndim(y) > 1 else 1))
    if np.ndim(y) == 1:
        y2 = y2.T
    gx = g2 @ y2.T
    gy = x2.T @ g2
    return np.reshape(gx, np.shape(x)), np.reshape(gy, np.shape(y))


def _vjp_transpose(g: Array, x: Array, z: Array) -> tuple[Array]:
    return (np.transpose(g),)


def _vjp_sum(g: Array, x: Array, z: Array) -> tuple[Array]:
    return (np.broadcast_to(g, np.shape(x)),)


def _vjp_mean(g: Array, x: Array, z: Array) -> tuple[Array]:
    return (np.full(np.shape(x), g / max(np.size(x), 1)),)


def _vjp_sum_axis(g: Array, x: Array, axis: Array, z: Array) -> tuple[Array, Array]:
    k = _axis(x, axis)
    return np.broadcast_to(np.expand_dims(g, k), np.shape(x)), 0.0


def _vjp_mean_axis(g: Array, x: Array, axis: Array, z: Array) -> tuple[Array, Array]:
    k = _axis(x, axis)
    return np.broadcast_to(np.expand_dims(g, k), np.shape(x)) / np.shape(x)[k], 0.0


VJP: dict[str, Callable[..., tuple[Array, ...]]] = {
    "matmul": _vjp_matmul, "transpose": _vjp_transpose, "sum": _vjp_sum, "mean": _vjp_mean,
    "sum_axis": _vjp_sum_axis, "mean_axis": _vjp_mean_axis,
}


def shape_text(a: Array) -> str:
    s = np.shape(a)
    return "scalar" if not s else "(" + "x".join(str(n) for n in s) + ")"
