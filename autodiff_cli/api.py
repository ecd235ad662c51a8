"""The library's front door: text in, numbers out. Nothing here prints."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .engine import Graph
from .errors import ShapeError, UsageError
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
    seed_grad: Any = None  # the output gradient the backward sweep started from, if given

    @property
    def reduced(self) -> str:
        """How a non-scalar output became one number for the backward sweep: "sum" (the
        gradient of sum(value)), "seed_grad" (of sum(seed_grad * value)), or "" (scalar)."""
        return reduction(self.value, self.seed_grad)


def reduction(value: Any, seed_grad: Any) -> str:
    """How a non-scalar output becomes one number for the backward sweep (see
    GradResult.reduced)."""
    if is_scalar(value):
        return ""
    return "sum" if seed_grad is None else "seed_grad"


def is_scalar(x: Any) -> bool:
    """Whether x is a plain number rather than an array (numpy is not imported for this)."""
    return isinstance(x, (int, float))


def compile(source: str, variables: Iterable[str]) -> Graph:
    """Parse and lower `source`, with `variables` as its inputs. Raises AutodiffError."""
    return lower(parse(source), variables)


def grad(expression: str, at: Mapping[str, Any] | None = None,
         wrt: Iterable[str] | None = None, *, seed_grad: Any = None, random_seed: int = 0,
         **values: Any) -> GradResult:
    """Value and gradient of `expression` at a point. Values may be numbers or arrays
    (anything numpy.asarray takes); each gradient has its variable's shape. A non-scalar
    output is reduced by its sum, or by sum(seed_grad * output) if seed_grad is given.
    random_seed fixes what randn(r, c) in the expression draws.

    >>> r = grad("(a+b)*(b+1)", a=3, b=2)
    >>> r.value, r.gradient
    (15.0, {'a': 3.0, 'b': 8.0})
    """
    e = evaluate(expression, {**(at or {}), **values}, wrt, seed_grad=seed_grad,
                 random_seed=random_seed)
    graph, g = e.graph, e.adjoints
    return GradResult(expression, e.value, {n: e.point[n] for n in graph.variables},
                      {n: _plain(g[graph.variables[n]]) for n in e.order}, graph.output_name,
                      e.seed_grad)


@dataclass
class Evaluated:
    """A graph after one forward pass and one reverse sweep, with what went in."""

    graph: Graph
    point: dict[str, Any]  # the checked values of the variables
    order: list[str]  # the variables to report, in order
    value: Any
    seed_grad: Any
    adjoints: list[Any]  # d output / d node, for every node


def evaluate(expression: str, at: Mapping[str, Any], wrt: Iterable[str] | None = None, *,
             seed_grad: Any = None, random_seed: int = 0, restrict: bool = True) -> Evaluated:
    """Compile, run forward and backward. With restrict, only the variables in wrt are
    differentiated by, so derivatives nobody asked for need not exist."""
    point = {name: _checked(name, x) for name, x in at.items()}
    graph = compile(expression, point)
    order = wanted(list(graph.variables), wrt)
    if restrict:
        graph.restrict(order)
    graph.random_key = (random_seed, 0)
    graph.set_values(point)
    value = graph.forward()
    if seed_grad is not None:
        seed_grad = _plain(_checked("--seed-grad", seed_grad))
        _same_shape(seed_grad, value)
    adjoints = graph.backward(seed_grad)
    return Evaluated(graph, point, order, _plain(value), seed_grad, adjoints)


def _same_shape(seed_grad: Any, value: Any) -> None:
    if is_scalar(seed_grad) and is_scalar(value):
        return
    import numpy as np

    from .arrays import shape_text

    if np.shape(seed_grad) != np.shape(value):
        def words(x: Any) -> str:
            return "is a scalar" if np.ndim(x) == 0 else f"has shape {shape_text(x)}"

        raise ShapeError(f"--seed-grad {words(seed_grad)}, but the output {words(value)}; "
                         "they must be the same")


def _plain(x: Any) -> Any:
    """A 0-d array or numpy scalar as a float; arrays stay arrays."""
    if is_scalar(x):
        return float(x)
    import numpy as np

    return float(x) if np.ndim(x) == 0 else x


def _checked(name: str, x: Any) -> Any:
    """x as a float or a float array, if all of it is finite."""
    if isinstance(x, (int, float)):
        ok, x = math.isfinite(x), float(x)
    else:
        import numpy as np

        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError):
            raise UsageError(f"{name}: not a number or a rectangular array of numbers") from None
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
