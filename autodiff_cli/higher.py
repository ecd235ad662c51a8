"""Second and higher derivatives by differentiating the graph: symbolic.gradient_graph adds
the nodes of the gradient to the graph, and a reverse sweep from one of those nodes gives a
row of the Hessian (reverse over reverse)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import GradResult, _checked, compile, wanted
from .engine import Graph
from .errors import MathError, UsageError
from .symbolic import MAX_ORDER, copy, gradient_graph, nth_derivative


@dataclass
class HessianResult:
    """Value, gradient and the matrix of second derivatives hessian[row][col] =
    d^2 f / d row d col, rows and columns in order of the variables."""

    expression: str
    value: float
    at: dict[str, float]
    gradient: dict[str, float]
    hessian: dict[str, dict[str, float]]
    output: str = ""


@dataclass
class HigherResult:
    """Value, gradient and d^order f / d x^order for each variable x."""

    result: GradResult
    order: int
    derivative: dict[str, float] = field(default_factory=dict)


def _prepare(expression: str, at: Mapping[str, Any] | None, wrt: Iterable[str] | None
             ) -> tuple[Graph, dict[str, float], list[str], GradResult]:
    point = {name: _checked(name, x) for name, x in (at or {}).items()}
    graph = compile(expression, point)
    value, gradient = graph.gradient(point)  # first: errors of f and f' point at the source
    if graph.arrays:
        raise UsageError("second derivatives work on scalar values only")
    names = wanted(list(graph.variables), wrt)
    result = GradResult(expression, value, {n: point[n] for n in graph.variables},
                        {n: gradient[n] for n in names}, graph.output_name)
    return graph, point, names, result


def _sweep(graph: Graph, node: int, point: Mapping[str, float]) -> list[float]:
    """d node / d every node, with graph's output moved to node."""
    g = copy(graph, node)
    g.set_values(point)
    try:
        g.forward()
        return g.backward()
    except MathError as err:
        err.message = f"a higher derivative is not defined here: {err.message}"
        raise


def hessian(expression: str, at: Mapping[str, Any] | None = None,
            wrt: Iterable[str] | None = None) -> HessianResult:
    """The Hessian of expression at a point, over the variables in wrt (all if None): one
    symbolic gradient, then one reverse sweep per row."""
    graph, point, names, r = _prepare(expression, at, wrt)
    g2, partial = gradient_graph(graph)
    rows: dict[str, dict[str, float]] = {}
    for row in names:
        adjoints = _sweep(g2, partial[row], point)
        rows[row] = {col: adjoints[g2.variables[col]] for col in names}
    return HessianResult(expression, r.value, r.at, r.gradient, rows, r.output)


def higher(expression: str, at: Mapping[str, Any] | None = None,
           wrt: Iterable[str] | None = None, order: int = 2) -> HigherResult:
    """d^order f / d x^order for each variable x in wrt (all if None): order - 1 symbolic
    differentiations, then one reverse sweep."""
    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    graph, point, names, r = _prepare(expression, at, wrt)
    if order == 1:
        return HigherResult(r, 1, dict(r.gradient))
    derivative: dict[str, float] = {}
    first, partial = gradient_graph(graph)  # once for all variables: O(nodes), not O(n*nodes)
    for name in names:
        g, node = nth_derivative(first, name, order - 2, partial[name])
        derivative[name] = _sweep(g, node, point)[g.variables[name]]
    return HigherResult(r, order, derivative)
