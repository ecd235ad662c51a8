"""Second and higher derivatives by differentiating the graph: symbolic.gradient_graph adds
the nodes of the gradient to the graph, and a reverse sweep from one of those nodes gives a
row of the Hessian (reverse over reverse). Both go through core.prepare and core.evaluate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import GradResult, result
from .core import Prepared, evaluate, prepare
from .errors import MathError, UsageError
from .symbolic import MAX_ORDER, gradient_graph, nth_derivative


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


def _first(expression: str, at: Mapping[str, Any] | None, wrt: Iterable[str] | None
           ) -> tuple[Prepared, GradResult]:
    """The value and the first partials asked for (their errors point at the source)."""
    p = prepare(expression, at, wrt)
    r = result(evaluate(p))
    if p.graph.makes_arrays or not _scalars(p.point):
        raise UsageError("second derivatives work on scalar values only")
    return p, r


def _scalars(point: Mapping[str, Any]) -> bool:
    return all(isinstance(x, float) for x in point.values())


def _partials_of(p: Prepared, node: int) -> dict[str, float]:
    """d node / d variable for the variables asked for: one reverse sweep from node."""
    try:
        return evaluate(p.with_graph(p.graph.with_output(node, only_needed=True))).gradient
    except MathError as err:
        err.message = f"a higher derivative is not defined here: {err.message}"
        raise


def hessian(expression: str, at: Mapping[str, Any] | None = None,
            wrt: Iterable[str] | None = None) -> HessianResult:
    """The Hessian of expression at a point, over the variables in wrt (all if None): one
    symbolic gradient, then one reverse sweep per row."""
    p, r = _first(expression, at, wrt)
    g2, partial = gradient_graph(p.graph, p.wrt)
    on_g2 = p.with_graph(g2)
    rows = {row: _partials_of(on_g2, partial[row]) for row in p.wrt}
    return HessianResult(expression, r.value, r.at, r.gradient, rows, r.output)


def higher(expression: str, at: Mapping[str, Any] | None = None,
           wrt: Iterable[str] | None = None, order: int = 2) -> HigherResult:
    """d^order f / d x^order for each variable x in wrt (all if None): order - 1 symbolic
    differentiations, then one reverse sweep."""
    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    p, r = _first(expression, at, wrt)
    if order == 1:
        return HigherResult(r, 1, dict(r.gradient))
    derivative: dict[str, float] = {}
    first, partial = gradient_graph(p.graph, p.wrt)  # once for all: O(nodes), not O(n*nodes)
    for name in p.wrt:
        g, node = nth_derivative(first, name, order - 2, partial[name])
        derivative[name] = _partials_of(p.with_graph(g).asking([name]), node)[name]
    return HigherResult(r, order, derivative)

