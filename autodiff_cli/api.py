"""The library's front door: text in, numbers out. Nothing here prints."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from .engine import Graph
from .errors import UsageError
from .lower import lower
from .parse import parse


@dataclass
class GradResult:
    """The value of an expression and its partial derivatives at a point."""

    expression: str
    value: float
    at: dict[str, float]
    gradient: dict[str, float] = field(default_factory=dict)


def compile(source: str, variables: Iterable[str]) -> Graph:
    """Parse and lower `source`, with `variables` as its inputs. Raises AutodiffError."""
    return lower(parse(source), variables)


def grad(expression: str, at: Mapping[str, float] | None = None,
         wrt: Iterable[str] | None = None, **values: float) -> GradResult:
    """Value and gradient of `expression` at a point.

    >>> r = grad("(a+b)*(b+1)", a=3, b=2)
    >>> r.value, r.gradient
    (15.0, {'a': 3.0, 'b': 8.0})
    """
    point = {**(at or {}), **values}
    for name, x in point.items():
        if not math.isfinite(float(x)):
            raise UsageError(f"{name} = {x}: values must be finite numbers")
    graph = compile(expression, point)
    value, gradient = graph.gradient(point)
    order = list(graph.variables)
    if wrt is not None:
        wanted = list(dict.fromkeys(wrt))
        unknown = [w for w in wanted if w not in gradient]
        if unknown:
            raise UsageError(f"--wrt names {', '.join(unknown)}, which "
                             f"{'is' if len(unknown) == 1 else 'are'} not a variable; "
                             f"the variables are {', '.join(order) or 'none'}")
        order = wanted
    return GradResult(expression, value, {n: float(point[n]) for n in graph.variables},
                      {n: gradient[n] for n in order})
