"""Gradient checking: each partial derivative beside a central finite difference.

    fd = (f(x + h) - f(x - h)) / ((x + h) - (x - h)),   h = STEP * max(1, |x|)

STEP = eps^(1/3) (about 6.1e-6) balances the method's truncation error (h^2 f'''/6) against
rounding (eps |f| / h). The error of a partial is relative, with an absolute floor of 1:

    error = |grad - fd| / max(1, |grad|, |fd|)

and a partial fails when error > tol (TOL = 1e-6 by default, some five orders of magnitude
above what the finite difference itself typically gets wrong on smooth functions).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from .core import Prepared, evaluate
from .errors import MathError

STEP = sys.float_info.epsilon ** (1 / 3)
TOL = 1e-6


@dataclass
class PartialCheck:
    """One partial derivative against its finite difference. finite_difference is None
    when f is not defined at x - h or x + h (an edge of its domain): then it is not
    checked and counts as passing."""

    name: str
    gradient: float
    finite_difference: float | None
    error: float | None
    ok: bool


def finite_difference(p: Prepared, name: str, step: float = STEP) -> float | None:
    """The central difference of the output in variable name, or None if the output is
    not defined at both points."""
    x = p.point[name]
    h = step * max(1.0, abs(x))
    xp, xm = x + h, x - h
    try:
        fp = evaluate(p.at({name: xp}), backward=False).value
        fm = evaluate(p.at({name: xm}), backward=False).value
    except MathError:
        return None
    fd = (fp - fm) / (xp - xm)
    return fd if math.isfinite(fd) else None


def relative_error(gradient: float, fd: float) -> float:
    return abs(gradient - fd) / max(1.0, abs(gradient), abs(fd))


def check(p: Prepared, gradient: dict[str, float], tol: float = TOL, step: float = STEP
          ) -> list[PartialCheck]:
    """Each partial in gradient (computed at p's point) against its finite difference."""
    if p.graph.makes_arrays or not all(isinstance(x, float) for x in p.point.values()):
        from .errors import UsageError

        raise UsageError("--check works on scalar values only")
    rows = []
    for name, g in gradient.items():
        fd = finite_difference(p, name, step)
        err = None if fd is None else relative_error(g, fd)
        rows.append(PartialCheck(name, g, fd, err, err is None or err <= tol))
    return rows
