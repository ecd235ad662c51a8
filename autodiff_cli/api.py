"""The library's front door: text in, numbers out. Nothing here prints."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .engine import Graph
from .errors import UsageError
from .lower import lower
from .parse import parse


@dataclass
class GradResult:
    """The value of an expression and its partial derivatives at a point."""

    expression: str
    value: Any  # a float, or a numpy array
    at: dict[str, Any]
    gradient: dict[str, Any] = field(default_factory=dict)
    output: str = ""  # the name the program gives its result, if any


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
    point = {name: _checked(name, x) for name, x in {**(at or {}), **values}.items()}
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
    return GradResult(expression, value, {n: point[n] for n in graph.variables},
                      {n: gradient[n] for n in order}, graph.output_name)


def _checked(name: str, x: Any) -> Any:
    """x as a float or a float array, if all of it is finite."""
    if isinstance(x, (int, float)):
        ok, x = math.isfinite(x), float(x)
    else:
        import numpy as np

        x = np.asarray(x, dtype=float)
        ok = bool(np.all(np.isfinite(x)))
    if not ok:
        raise UsageError(f"{name}: values must be finite numbers (no inf or nan)")
    return x


def wanted(variables: list[str], wrt: Iterable[str] | None, option: str = "--wrt"
           ) -> list[str]:
    """The variables to report: all of them, or those named in wrt (which must be some)."""
    if wrt is None:
        return variables
    names = list(dict.fromkeys(wrt))
    unknown = [w for w in names if w not in variables]
    if unknown:
        raise UsageError(f"{option} names {', '.join(unknown)}, which "
                         f"{'is' if len(unknown) == 1 else 'are'} not a variable; "
                         f"the variables are {', '.join(variables) or 'none'}")
    return names
