"""The numpy side of the op table: element-wise ops on arrays, and the vector-Jacobian
products of the ops that are not element-wise. Imported only when a value is an array."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .ops import Op

Array = Any  # np.ndarray; kept loose so scalars (0-d) pass through too


def sigmoid(x: Array) -> Array:
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def step(x: Array) -> Array:
    return np.greater(x, 0).astype(float)  # a 0-d result for a float x, too


def relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


def logb(x: Array, b: Array) -> Array:
    return np.log(x) / np.log(b)


def _axis(a: Array, axis: Array) -> int:
    if np.ndim(axis) != 0:
        raise IndexError(f"the axis must be a number, not an array of shape {shape_text(axis)}")
    k = float(axis)
    if k != int(k) or not -np.ndim(a) <= int(k) < np.ndim(a):
        raise IndexError(f"axis {k:g} does not exist for shape {shape_text(a)}")
    return int(k)


def sum_axis(x: Array, axis: Array) -> Array:
    return x if np.ndim(x) == 0 else np.sum(x, axis=_axis(x, axis))


def mean_axis(x: Array, axis: Array) -> Array:
    return x if np.ndim(x) == 0 else np.mean(x, axis=_axis(x, axis))


MAX_ENTRIES = 10**7  # = limits.MAX_ENTRIES: randn and zeros make at most this many


def _shape(r: Array, c: Array) -> tuple[int, int]:
    if np.ndim(r) or np.ndim(c):
        raise ValueError("the shape must be two numbers")
    rows, cols = float(r), float(c)
    if rows != int(rows) or cols != int(cols) or rows < 1 or cols < 1 \
            or rows * cols > MAX_ENTRIES:
        raise ValueError(f"no array of shape {rows:g} x {cols:g}")
    return int(rows), int(cols)


def randn(r: Array, c: Array, *, stream: tuple[int, ...]) -> Array:
    # a generator of its own per call, so nothing is shared between calls; Box-Muller on
    # PCG64's raw bits, whose stream numpy keeps fixed across versions (its samplers may change)
    shape = _shape(r, c)
    n = shape[0] * shape[1]
    bits = np.random.PCG64(np.random.SeedSequence(list(stream))).random_raw(2 * n)
    u = (bits >> np.uint64(11)).astype(float) * 2.0**-53  # uniform on [0, 1)
    z = np.sqrt(-2.0 * np.log1p(-u[:n])) * np.cos(2.0 * np.pi * u[n:])
    return z.reshape(shape)


def zeros(r: Array, c: Array, *, stream: tuple[int, ...]) -> Array:
    return np.zeros(_shape(r, c))


def total(x: Array) -> Array:
    return np.add.reduce(x, axis=None)


def average(x: Array) -> Array:
    n = np.size(x)
    return np.add.reduce(x, axis=None) / n if n else np.mean(x)


def xlogy(x: Array, y: Array) -> Array:
    safe = np.where(x == 0, 1.0, y)
    return np.where(x == 0, 0.0, x * np.log(safe))






def sized(op: Op, fn: Callable[[Array, Array], Array]) -> Callable[[Array, Array], Array]:
    """fn(x, y), once its result is known to have at most limits.MAX_ENTRIES entries: a
    broadcast such as (50000x1) + (1x50000) is refused before numpy allocates 20 GB."""
    from .limits import MAX_ENTRIES, check_entries

    def checked(x: Array, y: Array) -> Array:
        if getattr(x, "size", 1) * getattr(y, "size", 1) > MAX_ENTRIES:  # else it fits
            check_entries(_entries(op.shape, np.shape(x), np.shape(y)), "the result")
        return fn(x, y)

    return checked


def _entries(kind: str, a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """Entries of the result of a binary op whose row's shape is `kind` on shapes a and b
    (0 if they do not fit: the op says so)."""
    try:
        if kind == "matmul" and len(a) >= 2 and len(b) >= 2:
            shape = (*np.broadcast_shapes(a[:-2], b[:-2]), a[-2], b[-1])
        elif kind == "matmul":
            return max(int(np.prod(a)), int(np.prod(b)))
        elif kind == "reduce_axis":
            return int(np.prod(a))
        else:
            shape = np.broadcast_shapes(a, b)
    except ValueError:
        return 0
    return int(np.prod(shape, dtype=object))


def implementation(op: Op) -> Callable[..., Array]:
    """The op on arrays, as its row names it: numpy's function, or this module's."""
    name = op.array or op.name
    if name.startswith("arrays."):
        return globals()[name[len("arrays."):]]  # type: ignore[no-any-return]
    return getattr(np, name)  # type: ignore[no-any-return]


def vjp(op: Op) -> Callable[..., tuple[Array, ...]]:
    """The vector-Jacobian product the op's row names."""
    return globals()[op.vjp]  # type: ignore[no-any-return]


def zero_first(a: Array, b: Callable[[], Array]) -> Array:
    """a * b(), and 0 where a is 0 even if b() is not defined there."""
    if not np.any(a == 0):
        return a * b()
    with np.errstate(all="ignore"):
        return np.where(a == 0, 0.0, a * b())


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


def vjp_matmul(g: Array, x: Array, y: Array, z: Array,
               wanted: tuple[bool, ...] = (True, True)) -> tuple[Array, Array]:
    # z = x @ y: dx = g @ y^T, dy = x^T @ g; a vector operand is a row (x) or a column (y);
    # a part nobody wants is not computed (the data X of a model X @ w)
    if getattr(x, "ndim", 0) == 2 and getattr(y, "ndim", 0) == 2:
        return (g @ y.T if wanted[0] else None), (x.T @ g if wanted[1] else None)
    if np.ndim(x) == 1 and np.ndim(y) == 1:
        return g * y, g * x
    if np.ndim(x) == 1:
        return (y @ g[..., None])[..., 0], x[:, None] * g[..., None, :]
    if np.ndim(y) == 1:
        return g[..., None] * y, (np.swapaxes(x, -1, -2) @ g[..., None])[..., 0]
    return g @ np.swapaxes(y, -1, -2), np.swapaxes(x, -1, -2) @ g


def vjp_transpose(g: Array, x: Array, z: Array, wanted: tuple[bool, ...] = (True,)
                 ) -> tuple[Array]:
    return (np.transpose(g),)


def vjp_sum(g: Array, x: Array, z: Array, wanted: tuple[bool, ...] = (True,)
           ) -> tuple[Array]:
    return (np.broadcast_to(g, np.shape(x)),)


def vjp_mean(g: Array, x: Array, z: Array, wanted: tuple[bool, ...] = (True,)
            ) -> tuple[Array]:
    return (np.full(np.shape(x), g / max(np.size(x), 1)),)


def vjp_sum_axis(g: Array, x: Array, axis: Array, z: Array,
                wanted: tuple[bool, ...] = (True, False)) -> tuple[Array, Array]:
    if np.ndim(x) == 0:
        return g, 0.0
    k = _axis(x, axis)
    return np.broadcast_to(np.expand_dims(g, k), np.shape(x)), 0.0


def vjp_mean_axis(g: Array, x: Array, axis: Array, z: Array,
                 wanted: tuple[bool, ...] = (True, False)) -> tuple[Array, Array]:
    if np.ndim(x) == 0:
        return g, 0.0
    k = _axis(x, axis)
    return np.broadcast_to(np.expand_dims(g, k), np.shape(x)) / np.shape(x)[k], 0.0


def vjp_shape(g: Array, r: Array, c: Array, z: Array,
              wanted: tuple[bool, ...] = (False, False)) -> tuple[Array, Array]:
    return 0.0, 0.0  # the array does not change with its shape




def shape_text(a: Array) -> str:
    s = np.shape(a)
    return "scalar" if not s else "(" + "x".join(str(n) for n in s) + ")"


def first_bad(fn: Callable[..., Array], inputs: list[Array]) -> tuple[int, ...] | None:
    """Where, in the broadcast result, fn(*inputs) is first not finite (None: nowhere)."""
    with np.errstate(all="ignore"):
        try:
            out = np.broadcast_to(fn(*inputs), np.broadcast_shapes(*map(np.shape, inputs)))
        except (ArithmeticError, ValueError, TypeError):
            return None
    bad = np.argwhere(~np.isfinite(out))
    return tuple(int(k) for k in bad[0]) if len(bad) else None


def element(a: Array, index: tuple[int, ...]) -> tuple[str, float]:
    """The entry of a (broadcast to a larger shape) at index there: ("[1, 2]", value)."""
    if np.ndim(a) == 0:
        return "", float(a)
    own = tuple(0 if n == 1 else k for k, n in
                zip(index[len(index) - np.ndim(a):], np.shape(a), strict=True))
    return "[" + ", ".join(map(str, own)) + "]", float(a[own])
