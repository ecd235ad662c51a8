"""The library's front door: text in, numbers out. Nothing here prints.

Every function here is core.prepare + core.evaluate and a result to read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .core import Evaluation, compile, evaluate, is_scalar, prepare

__all__ = ["GradResult", "compile", "grad", "is_scalar", "reduction", "result"]


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


def result(e: Evaluation) -> GradResult:
    """What grad reports of an evaluation: the value and the partials asked for."""
    p = e.prepared
    graph = p.graph
    return GradResult(graph.source, e.value, {n: p.point[n] for n in graph.variables},
                      e.gradient, graph.output_name, p.seed_grad)


def grad(expression: str, at: Mapping[str, Any] | None = None,
         wrt: Iterable[str] | None = None, *, seed_grad: Any = None, random_seed: int = 0,
         mode: str | None = None, **values: Any) -> GradResult:
    """Value and gradient of `expression` at a point. Values may be numbers or arrays
    (anything numpy.asarray takes); each gradient has its variable's shape. A non-scalar
    output is reduced by its sum, or by sum(seed_grad * output) if seed_grad is given.
    random_seed fixes what randn(r, c) in the expression draws. mode "forward" computes the
    same numbers by dual numbers (scalars only).

    >>> r = grad("(a+b)*(b+1)", a=3, b=2)
    >>> r.value, r.gradient
    (15.0, {'a': 3.0, 'b': 8.0})
    """
    p = prepare(expression, {**(at or {}), **values}, wrt, seed_grad=seed_grad,
                random_seed=random_seed)
    return result(evaluate(p, mode=mode or "reverse"))
