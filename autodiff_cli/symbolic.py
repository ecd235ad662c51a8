"""Derivatives as graphs: the reverse sweep run on nodes instead of numbers.

Each op's rule (an expression over x, y, z) is instantiated as nodes, so the gradient becomes
part of the graph; differentiating that graph again gives second derivatives, and printing it
gives the derivative as an expression in our own language.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from . import ast
from .derivatives import rule_tree
from .engine import Graph
from .ops import CONST, OPS, VAR, Op
from .render.numbers import exact


class Builder:
    """Appends nodes to a graph, folding constants and dropping *1, +0 and the like;
    identical nodes are made once."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.memo: dict[tuple[str, tuple[int, ...]] | tuple[str, float], int] = {}
        for i, (op, args) in enumerate(zip(graph.ops, graph.args, strict=True)):
            if op is CONST and isinstance(graph.values[i], float):
                self.memo.setdefault(("const", graph.values[i]), i)
            elif op is not VAR:
                self.memo.setdefault((op.name, args), i)

    def const(self, value: float) -> int:
        value = float(value) + 0.0  # no -0.0 in printed derivatives
        key = ("const", value)
        if key not in self.memo:
            self.memo[key] = self.graph.constant(value, None, exact(value))
        return self.memo[key]

    def value_of(self, i: int) -> float | None:
        g = self.graph
        if g.ops[i] is CONST and isinstance(g.values[i], float):
            return float(g.values[i])
        return None

    def apply(self, name: str, *args: int) -> int:
        simpler = self._simplify(name, args)
        if simpler is not None:
            return simpler
        key = (name, args)
        if key not in self.memo:
            self.memo[key] = self.graph.add(OPS[name], args)
        return self.memo[key]

    def _simplify(self, name: str, args: tuple[int, ...]) -> int | None:
        c = [self.value_of(a) for a in args]
        if all(v is not None for v in c):
            try:
                value = OPS[name].forward(*c)
                if math.isfinite(value):
                    return self.const(value)
            except (ArithmeticError, ValueError):
                pass
            return None
        rule = _SIMPLIFY.get(name)
        return rule(self, args, c) if rule else None

    def rule(self, op: Op, k: int, args: tuple[int, ...], out: int) -> int:
        """Nodes for op's local derivative with respect to input k."""
        refs = {"x": args[0], "y": args[1] if len(args) > 1 else args[0], "z": out}
        return self._instantiate(rule_tree(op.rules[k]), refs)

    def _instantiate(self, node: ast.Expr, refs: dict[str, int]) -> int:
        if isinstance(node, ast.Num):
            return self.const(node.value)
        if isinstance(node, ast.Name):
            return refs[node.id]
        assert isinstance(node, ast.Call)
        return self.apply(node.op, *(self._instantiate(a, refs) for a in node.args))


def _add(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[0] == 0.0:
        return y
    if c[1] == 0.0:
        return x
    if b.graph.ops[y] is OPS["neg"]:
        return b.apply("sub", x, b.graph.args[y][0])
    return None


def _sub(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[1] == 0.0:
        return x
    if c[0] == 0.0:
        return b.apply("neg", y)
    if x == y:
        return b.const(0.0)
    return None


def _mul(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[0] == 0.0 or c[1] == 0.0:
        return b.const(0.0)
    if c[0] == 1.0:
        return y
    if c[1] == 1.0:
        return x
    if c[0] == -1.0:
        return b.apply("neg", y)
    if c[1] == -1.0:
        return b.apply("neg", x)
    if c[1] is not None:  # constants first: 4*a, not a*4
        return b.apply("mul", y, x)
    return None


def _div(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, _y = args
    if c[1] == 1.0:
        return x
    if c[0] == 0.0 and c[1] is None:
        return b.const(0.0)
    return None


def _neg(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    (x,) = args
    if b.graph.ops[x] is OPS["neg"]:
        return b.graph.args[x][0]
    return None


def _pow(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, _y = args
    if c[1] == 1.0:
        return x
    if c[1] == 0.0:
        return b.const(1.0)
    return None


_SIMPLIFY: dict[str, Callable[[Builder, tuple[int, ...], list[float | None]], int | None]] = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "neg": _neg, "pow": _pow,
}


def gradient_graph(graph: Graph) -> tuple[Graph, dict[str, int]]:
    """A copy of graph extended with nodes for d output / d variable; returns the copy and
    the node of each variable's partial derivative."""
    if graph.arrays:
        from .errors import UsageError

        raise UsageError("symbolic and higher derivatives work on scalar expressions only")
    g2 = Graph(graph.source)
    g2.ops, g2.args = list(graph.ops), list(graph.args)
    g2.labels, g2.spans = list(graph.labels), list(graph.spans)
    g2.values = list(graph.values)
    g2.variables, g2.output, g2.output_name = dict(graph.variables), graph.output, graph.output_name
    b = Builder(g2)
    need = graph.needs_grad()
    adjoint: dict[int, int] = {graph.output: b.const(1.0)}
    for i in range(len(graph) - 1, -1, -1):
        args = graph.args[i]
        if i not in adjoint or not args or not need[i]:
            continue
        for k, a in enumerate(args):
            if need[a]:
                term = b.apply("mul", adjoint[i], b.rule(graph.ops[i], k, args, i))
                adjoint[a] = b.apply("add", adjoint[a], term) if a in adjoint else term
    zero = b.const(0.0)
    return g2, {name: adjoint.get(i, zero) for name, i in graph.variables.items()}
