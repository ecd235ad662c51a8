"""Forward and reverse mode side by side, and what each costs in passes over the graph.

Reverse mode (the default) needs one forward pass for the values and one reverse sweep for
every partial derivative at once. Forward mode carries a tangent beside each value (dual
numbers) and needs one pass per variable. Both apply the same compiled local derivatives
from the op table; they multiply them along each path in opposite orders, so they agree
exactly on integer and dyadic examples and to a few ulp in general.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .api import GradResult, _checked, compile, wanted
from .api import grad as reverse_grad
from .engine import Graph
from .errors import UsageError

MODES = ("reverse", "forward")


@dataclass
class ModeResult:
    """A gradient, the mode that computed it and its passes over the graph."""

    result: GradResult
    mode: str
    passes: dict[str, int] = field(default_factory=dict)  # {"forward": n, "reverse": m}


@dataclass
class DualNumbers:
    """Forward mode node by node: value[i] and tangent[name][i] = d node_i / d name."""

    graph: Graph
    value: list[Any]
    tangent: dict[str, list[float]]


def passes(mode: str, n: int) -> dict[str, int]:
    """Passes each mode needs for n variables: reverse 1 + 1, forward one per variable."""
    return {"forward": 1, "reverse": 1} if mode == "reverse" else {"forward": max(1, n),
                                                                     "reverse": 0}


def grad(expression: str, at: Mapping[str, Any] | None = None,
         wrt: Iterable[str] | None = None, mode: str = "reverse") -> ModeResult:
    """Value and gradient of expression at a point by the given mode."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; the modes are {', '.join(MODES)}")
    if mode == "reverse":
        result = reverse_grad(expression, at, wrt)
        return ModeResult(result, mode, passes(mode, len(result.gradient)))
    graph, names = _evaluated(expression, at, wrt)
    out = graph.output
    point = {n: graph.values[i] for n, i in graph.variables.items()}
    gradient = {n: graph.tangents(n)[out] for n in names}  # one pass each, kept: the output's
    result = GradResult(expression, graph.values[out], point, gradient, graph.output_name)
    return ModeResult(result, mode, passes(mode, len(gradient)))


def _evaluated(expression: str, at: Mapping[str, Any] | None, wrt: Iterable[str] | None
               ) -> tuple[Graph, list[str]]:
    """The graph at the point after its forward pass, and the variables asked for."""
    point = {name: _checked(name, x) for name, x in (at or {}).items()}
    graph = compile(expression, point)
    names = wanted(list(graph.variables), wrt)
    graph.set_values(point)
    graph.forward()
    return graph, names


def dual_numbers(expression: str, at: Mapping[str, Any] | None = None,
                 wrt: Iterable[str] | None = None) -> DualNumbers:
    """Every node's value and its tangent with respect to each variable in wrt (all if
    None): one forward pass of dual numbers per variable. Scalars only. For `trace`."""
    from .limits import check_tangents

    graph, names = _evaluated(expression, at, wrt)
    check_tangents(len(names), len(graph))
    tangent = {name: graph.tangents(name) for name in names}
    return DualNumbers(graph, list(graph.values), tangent)
