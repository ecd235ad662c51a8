"""The graph and reverse mode: nodes in creation (= topological) order, a forward loop over
the list and one backward loop over its reverse. Iterative, so any depth works.

Values are floats (the fast path) or numpy arrays (then numpy is imported and ops that are
not element-wise use their vector-Jacobian products from arrays.py)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from .derivatives import Local, array_partials, evaluate, scalar_partials
from .errors import MathError, ShapeError, Span
from .gcpause import paused_gc
from .ops import CONST, VAR, Op

Value = Any  # float, or a numpy array


class Node(NamedTuple):  # not a dataclass: making one costs start-up time
    """A read-only view of one node, for reports and renderers."""

    id: int
    op: Op
    args: tuple[int, ...]
    label: str
    span: Span | None


class Graph:
    """A computation graph. Node i's inputs all have ids below i."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.ops: list[Op] = []
        self.args: list[tuple[int, ...]] = []
        self.labels: list[str] = []
        self.spans: list[Span | None] = []
        self.values: list[Value] = []
        self.variables: dict[str, int] = {}  # name -> node, in order of first appearance
        self.output = -1
        self.arrays = False  # whether any leaf holds an array
        self._compiled: tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                              list[bool]] | None = None

    def __len__(self) -> int:
        return len(self.ops)

    def node(self, i: int) -> Node:
        return Node(i, self.ops[i], self.args[i], self.labels[i], self.spans[i])

    def add(self, op: Op, args: tuple[int, ...] = (), span: Span | None = None,
            label: str = "", value: Value = 0.0) -> int:
        self.ops.append(op)
        self.args.append(args)
        self.labels.append(label)
        self.spans.append(span)
        self.values.append(value)
        self._compiled = None
        return len(self.ops) - 1

    def variable(self, name: str, span: Span | None = None) -> int:
        if name not in self.variables:
            self.variables[name] = self.add(VAR, (), span, name)
        return self.variables[name]

    def constant(self, value: Value, span: Span | None = None, label: str = "") -> int:
        if not isinstance(value, float):
            self.arrays = True
        return self.add(CONST, (), span, label, value)

    def text(self, i: int) -> str:
        span = self.spans[i]
        return self.source[span[0]:span[1]] if span else self.labels[i]

    def set_values(self, values: Mapping[str, Value]) -> None:
        arrays = any(not isinstance(self.values[i], float) for i, op in enumerate(self.ops)
                     if op is CONST)
        for name, i in self.variables.items():
            x = values[name]
            if isinstance(x, (int, float)):
                self.values[i] = float(x)
            else:
                self.values[i] = x
                arrays = True
        self.arrays = arrays

    # -- compiled form ------------------------------------------------------------------

    def needs_grad(self) -> list[bool]:
        """Whether each node depends on a variable and the output depends on it."""
        return self._compile()[2]

    def _compile(self) -> tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                                list[bool]]:
        """Forward steps (i, forward, x, y), backward entries (i, code, t, p) (see backward)
        and needs_grad(). Ops have one or two inputs."""
        if self._compiled is None:
            with paused_gc():
                self._compiled = self._build()
        return self._compiled

    def _build(self) -> tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                              list[bool]]:
        ops, args, n = self.ops, self.args, len(self.ops)
        steps = [(i, op.forward, a[0], a[1] if len(a) > 1 else -1)
                 for i, (op, a) in enumerate(zip(ops, args, strict=True)) if a]
        depends = [op is VAR for op in ops]
        for i, a in enumerate(args):
            if a and (depends[a[0]] or depends[a[-1]]):
                depends[i] = True
        # need: depends and the output depends on it; an input's consumers all come later,
        # so need[i] is settled when the reverse sweep reaches i
        need = [False] * n
        if 0 <= self.output < n:
            need[self.output] = depends[self.output]
        entries: list[tuple[int, int, int, Any]] = []
        emit = entries.append
        plans: dict[str, _Plan] = {}
        for i in range(n - 1, -1, -1):
            a = args[i]
            if not need[i] or not a:
                continue
            name = ops[i].name
            node_code, inputs = plans.get(name) or plans.setdefault(name, _plan(name))
            x = a[0]
            y = a[1] if len(a) > 1 else x
            if node_code and depends[x] and depends[y]:
                emit((i, node_code, x, y))
                need[x] = need[y] = True
                continue
            for t, (code, p) in zip(a, inputs, strict=True):
                if depends[t]:
                    need[t] = True
                    if code == TIMES_VALUE:  # p says x, y or z: the node it means
                        p = (x, y, i)[p]
                    elif code == CALL:  # p is f(x, y, z): with the nodes to call it on
                        p = (p, x, y)
                    emit((i, code, t, p))
        return steps, entries, need

    # -- evaluation -----------------------------------------------------------------------

    def forward(self) -> Value:
        """Evaluate every node; returns the output's value. Raises MathError."""
        if self.arrays:
            return self._forward_arrays()
        v = self.values
        i = -1
        try:
            for i, f, a, b in self._compile()[0]:
                v[i] = f(v[a]) if b < 0 else f(v[a], v[b])
        except (ArithmeticError, ValueError) as exc:
            raise self._forward_error(i, exc) from None
        except TypeError:  # an array where only a number will do
            self.arrays = True
            return self._forward_arrays()
        if not math.isfinite(sum(v)):
            self._check_finite_values()
        return v[self.output]

    def backward(self, seed: Value = None) -> list[Value]:
        """d output / d node for every node, in one reverse sweep. Call forward() first.
        A non-scalar output is reduced by its sum unless `seed` gives its gradient."""
        if self.arrays:
            return self._backward_arrays(seed)
        v = self.values
        g = [0.0] * len(v)
        g[self.output] = 1.0 if seed is None else float(seed)
        mul, add, times_value, plus, call, sub, minus = (
            MUL, ADD, TIMES_VALUE, PLUS, CALL, SUB, MINUS)  # locals: quicker to compare
        i = -1
        try:
            for i, code, t, p in self._compile()[1]:
                if code == mul:
                    gi = g[i]
                    g[t] += gi * v[p]
                    g[p] += gi * v[t]
                elif code == add:
                    gi = g[i]
                    g[t] += gi
                    g[p] += gi
                elif code == times_value:
                    g[t] += g[i] * v[p]
                elif code == plus:
                    g[t] += g[i]
                elif code == call:
                    f, x, y = p
                    g[t] += g[i] * f(v[x], v[y], v[i])
                elif code == sub:
                    gi = g[i]
                    g[t] += gi
                    g[p] -= gi
                elif code == minus:
                    g[t] -= g[i]
                else:  # TIMES_CONST
                    g[t] += g[i] * p
        except (ArithmeticError, ValueError):
            raise self._derivative_error(i) from None
        if not math.isfinite(sum(g)):
            self._check_finite_gradients(g)
        return g

    def local(self, i: int, k: int) -> Value:
        """The local derivative d node_i / d input_k at the current values."""
        name, args, v = self.ops[i].name, self.args[i], self.values
        partial = (array_partials if self.arrays else scalar_partials)(name)[k]
        x = v[args[0]]
        y = v[args[1]] if len(args) > 1 else x
        return evaluate(partial, x, y, v[i])

    def gradient(self, values: Mapping[str, Value], seed: Value = None
                 ) -> tuple[Value, dict[str, Value]]:
        """The output's value and its partial derivative with respect to every variable."""
        self.set_values(values)
        value = self.forward()
        g = self.backward(seed)
        return value, {name: g[i] for name, i in self.variables.items()}

    # -- arrays ---------------------------------------------------------------------------

    def _forward_arrays(self) -> Value:
        import numpy as np

        from .arrays import implementation

        v = self.values
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            for i, (op, args) in enumerate(zip(self.ops, self.args, strict=True)):
                if not args:
                    continue
                try:
                    v[i] = implementation(op)(*(v[a] for a in args))
                except (ArithmeticError, ValueError, IndexError) as exc:
                    raise self._forward_error(i, exc) from None
                if not np.all(np.isfinite(v[i])):
                    raise self._forward_error(i, OverflowError())
        return v[self.output]

    def _backward_arrays(self, seed: Value) -> list[Value]:
        import numpy as np

        from .arrays import VJP, shape_text, unbroadcast

        v, need = self.values, self.needs_grad()
        g: list[Value] = [0.0] * len(v)
        out = v[self.output]
        if seed is None:
            g[self.output] = np.ones_like(out, dtype=float) if np.ndim(out) else 1.0
        else:
            if np.shape(seed) != np.shape(out):
                raise ShapeError(f"--seed-grad has shape {shape_text(seed)}, the output has "
                                 f"shape {shape_text(out)}", self.source,
                                 self.spans[self.output])
            g[self.output] = seed
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            for i in range(len(v) - 1, -1, -1):
                args = self.args[i]
                if not need[i] or not args:
                    continue
                op, gi = self.ops[i], g[i]
                inputs = [v[a] for a in args]
                try:
                    if op.vjp:
                        parts = VJP[op.name](gi, *inputs, v[i])
                    else:
                        x = inputs[0]
                        y = inputs[1] if len(inputs) > 1 else x
                        parts = tuple(gi * evaluate(p, x, y, v[i])
                                      for p in array_partials(op.name))
                    for k, a in enumerate(args):
                        if need[a]:
                            g[a] = g[a] + unbroadcast(parts[k], np.shape(v[a]))
                except (ArithmeticError, ValueError):
                    raise self._derivative_error(i) from None
                if not np.all(np.isfinite(g[i])):
                    raise self._derivative_error(i)
        return g

    # -- diagnosis: only run once something went wrong --------------------------------------

    def _where(self, i: int) -> str:
        op = self.ops[i]
        return f"{op.written}" if op.is_function else f"'{op.symbol}'"

    def _inputs(self, i: int) -> str:
        from .render.numbers import human

        def show(x: Value) -> str:
            if isinstance(x, float):
                return human(x)
            from .arrays import shape_text

            return f"an array of shape {shape_text(x)}"

        names = "xy"
        return ", ".join(f"{names[k]} = {show(self.values[a])}"
                         for k, a in enumerate(self.args[i]))

    def _forward_error(self, i: int, exc: Exception) -> MathError:
        op = self.ops[i]
        if self.arrays and isinstance(exc, (ValueError, IndexError)) and (
                op.vjp or "broadcast" in str(exc) or "shape" in str(exc)):
            from .arrays import shape_text

            shapes = f" {op.symbol} " if op.symbol else ", "
            shown = shapes.join(shape_text(self.values[a]) for a in self.args[i])
            return ShapeError(f"{self._where(i)}: shapes do not fit: {shown}"
                              + (f" ({exc})" if isinstance(exc, IndexError) else ""),
                              self.source, self.spans[i])
        if isinstance(exc, ZeroDivisionError) or "divide" in str(exc):
            what = "division by zero"
        elif isinstance(exc, OverflowError) or "overflow" in str(exc):
            what = "overflow: the result is too large for a float"
        else:
            what = "outside the domain" + (f" ({op.domain})" if op.domain else "")
        return MathError(f"{self._where(i)}: {what} at {self._inputs(i)}", self.source,
                         self.spans[i])

    def _derivative_error(self, i: int) -> MathError:
        return MathError(
            f"{self._where(i)}: the derivative is not finite at {self._inputs(i)}",
            self.source, self.spans[i], hint=self.ops[i].note)

    def _check_finite_values(self) -> None:
        v = self.values
        for i, _f, a, b in self._compile()[0]:
            if not math.isfinite(v[i]) and math.isfinite(v[a]) and (b < 0 or math.isfinite(v[b])):
                raise self._forward_error(i, OverflowError())

    def _check_finite_gradients(self, g: list[Value]) -> None:
        need = self.needs_grad()
        for i in range(len(g) - 1, -1, -1):
            if need[i] and self.args[i]:
                for k, a in enumerate(self.args[i]):
                    if need[a] and not math.isfinite(self.local(i, k)):
                        raise self._derivative_error(i)
        for name, j in self.variables.items():
            if not math.isfinite(g[j]):
                raise MathError(f"overflow: the derivative with respect to {name} is too "
                                "large for a float", self.source, self.spans[j])


# How backward applies a local derivative to one input t of node i (payload p):
PLUS, MINUS, TIMES_CONST, TIMES_VALUE, CALL = 1, 2, 3, 4, 5
# g[t] += g[i]; g[t] -= g[i]; g[t] += g[i]*p; g[t] += g[i]*v[p]; g[t] += g[i]*f(v[x], v[y], v[i])
# and to both inputs t, p of a binary node at once, when both need a gradient:
ADD, SUB, MUL = 6, 7, 8  # x + y, x - y, x * y
_NODE_CODES = {(PLUS, PLUS): ADD, (PLUS, MINUS): SUB}

_Plan = tuple[int, tuple[tuple[int, Any], ...]]


def _plan(name: str) -> _Plan:
    """How backward applies op `name`'s compiled rules: a code for the whole node (0 if
    none fits) and, per input, (code, payload); a TIMES_VALUE payload indexes (x, y, z)."""
    inputs = tuple(_input_plan(local) for local in scalar_partials(name))
    if inputs == ((TIMES_VALUE, 1), (TIMES_VALUE, 0)):
        return MUL, inputs
    codes = tuple(code for code, _ in inputs)
    return (_NODE_CODES.get((codes[0], codes[1]), 0) if len(codes) == 2 else 0), inputs


def _input_plan(local: Local) -> tuple[int, Any]:
    if isinstance(local, float):
        if local == 1.0:
            return PLUS, None
        if local == -1.0:
            return MINUS, None
        return TIMES_CONST, local
    if isinstance(local, int):
        return TIMES_VALUE, local
    return CALL, local
