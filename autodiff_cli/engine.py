"""The graph and reverse mode: nodes in creation (= topological) order, a forward loop over
the list and one backward loop over its reverse. Iterative, so any depth works."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .errors import MathError, Span
from .ops import CONST, VAR, Op


@dataclass(frozen=True)
class Node:
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
        self.values: list[float] = []
        self.needs_grad: list[bool] = []
        self.variables: dict[str, int] = {}  # name -> node, in order of first appearance
        self.output = -1
        self._steps: list[tuple[int, Op, int, int]] | None = None

    def __len__(self) -> int:
        return len(self.ops)

    def node(self, i: int) -> Node:
        return Node(i, self.ops[i], self.args[i], self.labels[i], self.spans[i])

    def add(self, op: Op, args: tuple[int, ...] = (), span: Span | None = None,
            label: str = "", value: float = 0.0) -> int:
        self.ops.append(op)
        self.args.append(args)
        self.labels.append(label)
        self.spans.append(span)
        self.values.append(value)
        self.needs_grad.append(op is VAR or any(self.needs_grad[a] for a in args))
        self._steps = None
        return len(self.ops) - 1

    def variable(self, name: str, span: Span | None = None) -> int:
        if name not in self.variables:
            self.variables[name] = self.add(VAR, (), span, name)
        return self.variables[name]

    def constant(self, value: float, span: Span | None = None, label: str = "") -> int:
        return self.add(CONST, (), span, label, value)

    def text(self, i: int) -> str:
        span = self.spans[i]
        return self.source[span[0]:span[1]] if span else self.labels[i]

    # -- evaluation -----------------------------------------------------------------------

    def set_values(self, values: Mapping[str, float]) -> None:
        for name, i in self.variables.items():
            self.values[i] = float(values[name])

    def steps(self) -> list[tuple[int, Op, int, int]]:
        """(node, op, first input, second input or -1) for every op node, in order."""
        if self._steps is None:
            self._steps = [
                (i, op, args[0], args[1] if len(args) > 1 else -1)
                for i, (op, args) in enumerate(zip(self.ops, self.args, strict=True))
                if args
            ]
        return self._steps

    def forward(self) -> float:
        """Evaluate every node; returns the output's value. Raises MathError."""
        v = self.values
        i = -1
        try:
            for i, op, a, b in self.steps():
                v[i] = op.forward(v[a]) if b < 0 else op.forward(v[a], v[b])
        except (ArithmeticError, ValueError) as exc:
            raise self._forward_error(i, exc) from None
        if not math.isfinite(sum(v)):
            self._check_finite_values()
        return v[self.output]

    def backward(self) -> list[float]:
        """d output / d node for every node, in one reverse sweep. Call forward() first."""
        v, need = self.values, self.needs_grad
        g = [0.0] * len(v)
        g[self.output] = 1.0
        i = -1
        try:
            for i, op, a, b in reversed(self.steps()):
                if not need[i]:
                    continue
                gi = g[i]
                if b < 0:
                    p = op.partials[0]
                    g[a] += gi * (p if type(p) is float else p(v[a], v[i]))
                    continue
                pa, pb = op.partials
                if need[a]:
                    g[a] += gi * (pa if type(pa) is float else pa(v[a], v[b], v[i]))
                if need[b]:
                    g[b] += gi * (pb if type(pb) is float else pb(v[a], v[b], v[i]))
        except (ArithmeticError, ValueError):
            raise self._derivative_error(i) from None
        if not math.isfinite(sum(g)):
            self._check_finite_gradients(g)
        return g

    def local(self, i: int, k: int) -> float:
        """The local derivative d node_i / d input_k at the current values."""
        op, args, v = self.ops[i], self.args[i], self.values
        p = op.partials[k]
        if type(p) is float:
            return p
        return float(p(*(v[a] for a in args), v[i]))

    def gradient(self, values: Mapping[str, float]) -> tuple[float, dict[str, float]]:
        """The output's value and its partial derivative with respect to every variable."""
        self.set_values(values)
        value = self.forward()
        g = self.backward()
        return value, {name: g[i] for name, i in self.variables.items()}

    # -- diagnosis: only run once something went wrong --------------------------------------

    def _where(self, i: int) -> str:
        op = self.ops[i]
        return f"{op.written}" if op.is_function else f"'{op.symbol}'"

    def _inputs(self, i: int) -> str:
        names = "xy"
        return ", ".join(f"{names[k]} = {self.values[a]!r}" for k, a in enumerate(self.args[i]))

    def _forward_error(self, i: int, exc: Exception) -> MathError:
        op = self.ops[i]
        if isinstance(exc, ZeroDivisionError):
            what = "division by zero"
        elif isinstance(exc, OverflowError):
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
        for i, _op, a, b in self.steps():
            if not math.isfinite(v[i]) and math.isfinite(v[a]) and (b < 0 or math.isfinite(v[b])):
                raise MathError(
                    f"{self._where(i)}: overflow: the result is too large for a float "
                    f"at {self._inputs(i)}", self.source, self.spans[i])

    def _check_finite_gradients(self, g: Sequence[float]) -> None:
        for i, _op, a, b in reversed(self.steps()):
            if not self.needs_grad[i]:
                continue
            for k, x in enumerate((a, b) if b >= 0 else (a,)):
                if self.needs_grad[x] and not math.isfinite(self.local(i, k)):
                    raise self._derivative_error(i)
        bad = [n for n, j in self.variables.items() if not math.isfinite(g[j])]
        if bad:
            raise MathError(f"overflow: the derivative with respect to {bad[0]} is too large "
                            "for a float", self.source, self.spans[self.variables[bad[0]]])
