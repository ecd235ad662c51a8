"""Gradient checking: each partial derivative beside a finite difference that knows its error.

estimate(f, x) differentiates a function of one float numerically, with an error bound
(r = √5, h the step):

    D(t)  = (f(x + t) - f(x - t)) / ((x + t) - (x - t))          at t = h, h/r, h/r²
    fd    = D(h/r²) + (D(h/r²) - D(h/r)) / (r² - 1)               one Richardson step, O(h⁴)
    bound = 2·max(|fd - D(h/r²)|, |fd - R(h)|) + 6.8 δ/h          truncation + rounding
            δ = 8 ε (max(1, |f|) + |x|·|fd|)                      the error of one f(t)

(R(h): the same step one level coarser). The first h is relative to x, STEP·|x| (STEP =
ε^(1/3); STEP at x = 0; STEP·1 is tried too for |x| < 1 when rounding dominates). Then h
walks towards the smallest bound: it shrinks while truncation dominates and falls, or while
f changes wildly within the step (a pole between x - h and x + h, an oscillation shorter
than h: the differences do not converge); it grows (x16) while rounding dominates, or once
shrinking showed noise, a longer step being taken only if it agrees with the shorter.
Where f is undefined (it raises MathError) at x ± h, h shrinks; where it is defined on one
side only, the difference is one-sided ("forward" or "backward": f(x), f(x ± h/r^k),
k = 0..3, two Richardson steps). Where the differences converge slower than a power series
would (x^1.5 at 0), the bound adds the geometric tail of their convergence.

A partial fails when the gradient and the finite difference disagree by more than both the
tolerance and the estimate's own bound:

    |grad - fd| > max(tol·max(1, |grad|, |fd|), bound)

error = |grad - fd| / max(1, |grad|, |fd|) is reported as before. A central difference that
fails on a kink (relu at 0) is reported with the one-sided derivatives.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

from .core import Prepared, evaluate
from .errors import MathError, UsageError

EPS = sys.float_info.epsilon
STEP: float = EPS ** (1 / 3)
TOL = 1e-6
ROUNDING = 8.0  # ulps of error assumed in each evaluation of f
SAFETY = 2.0  # the truncation term: twice the distance between the Richardson levels
TARGET = 0.01  # refine until the bound is below this fraction of the tolerance's allowance
GROW = 16.0  # step factor while rounding dominates
# steps h, h/r, h/r^2: not halved, for a quantized f (f(x + t) = x + t rounded to a grid)
# has errors that scale with t when t halves, and three halved steps agree on them
RATIO = math.sqrt(5)
FEWEST = 1e-3  # the most a step shrinks at once
DOMAIN_TRIES = 4  # central steps h0, h0/16, ... tried where f is undefined at x ± h
TRIES = 16  # steps tried after the first one
FLOOR = sys.float_info.min  # below it (x subnormal) no step relative to x is long enough


@dataclass(frozen=True)
class Estimate:
    """A derivative by finite differences: |value - f'(x)| is believed below error_bound.
    method is "central", "forward" or "backward"; step the largest h used."""

    value: float
    error_bound: float
    method: str
    step: float
    evaluations: int = 0


@dataclass
class PartialCheck:
    """One partial derivative against its finite difference. finite_difference is None
    when f is not defined on either side of x (nothing could be estimated): then it is not
    checked and counts as passing. kink: (left, right) one-sided derivatives when a failed
    central difference sits on a kink (they differ)."""

    name: str
    gradient: float
    finite_difference: float | None
    error: float | None
    ok: bool
    method: str | None = None
    step: float | None = None
    bound: float | None = None
    kink: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Candidate:
    value: float
    truncation: float
    rounding: float
    step: float
    credible: bool = True  # the plain differences converge (or agree within rounding)

    @property
    def bound(self) -> float:
        return self.truncation + self.rounding


class _Counted:
    """f, counting its calls, remembering f(x), and with non-finite results as undefined."""

    def __init__(self, f: Callable[[float], float], x: float) -> None:
        self.f, self.x, self.calls = f, x, 0
        self.at_x: float | None = None

    def __call__(self, t: float) -> float:
        if t == self.x and self.at_x is not None:
            return self.at_x
        self.calls += 1
        y = float(self.f(t))
        if not math.isfinite(y):
            raise MathError("not finite")
        if t == self.x:
            self.at_x = y
        return y


def _central(f: _Counted, x: float, h: float) -> _Candidate | None:
    """fd from D(h/r) and D(h/r^2), its truncation judged against D(h) too; None where f
    is undefined or h is too small for x."""
    if not h > 64 * math.ulp(x):
        return None
    try:
        points = [(x + h / RATIO ** k, x - h / RATIO ** k) for k in range(3)]
        values = [(f(a), f(b)) for a, b in points]
    except MathError:
        return None
    d = [(fa - fb) / (a - b) for (a, b), (fa, fb) in zip(points, values, strict=True)]
    r12, r23 = _richardson(d[0], d[1], 2), _richardson(d[1], d[2], 2)
    r = RATIO  # r23 = (r^2 D(h/r^2) - D(h/r)) / (r^2 - 1): this much per unit of rounding
    return _candidate(r23, [r12, d[2]], d, 2, (r ** 4 + r) / (r * r - 1),
                      [v for pair in values for v in pair], x, h)


def _one_sided(f: _Counted, x: float, side: float, h: float) -> _Candidate | None:
    """fd from q(t) = (f(x + s t) - f(x)) / s t at t = h, h/r, h/r^2, h/r^3 (s = side):
    two Richardson steps (errors in t, then t^2); None where f is undefined."""
    if not h > 64 * math.ulp(x):
        return None
    try:
        f0 = f(x)
        points = [x + side * h / RATIO ** k for k in range(4)]
        values = [f(t) for t in points]
    except MathError:
        return None
    q = [(v - f0) / (t - x) for t, v in zip(points, values, strict=True)]
    g = [_richardson(a, b, 1) for a, b in pairwise(q)]
    r123, r234 = _richardson(g[0], g[1], 2), _richardson(g[1], g[2], 2)
    r = RATIO  # r234 over f(x + s h/r^k), k = 3, 2, 1, and f(x): per unit of rounding
    c3, c2, c1 = r ** 6, (r * r + r) * r * r, r
    weight = (c3 + c2 + c1 + abs(c3 - c2 + c1)) / ((r - 1) * (r * r - 1))
    return _candidate(r234, [r123, g[2]], q, 1, weight, [f0, *values], x, h)


def _richardson(coarse: float, fine: float, power: int) -> float:
    """From estimates at steps t and t/RATIO whose error is ~ t^power, one that is not."""
    return fine + (fine - coarse) / (RATIO ** power - 1)


def _candidate(value: float, levels: list[float], raw: list[float], order: int,
               weight: float, samples: list[float], x: float, h: float) -> _Candidate | None:
    """value with its bound: truncation, from its distance to the estimates beside and
    below it (levels); rounding, weight δ/h with δ the error of each f(t), its own ulps
    and those of t carried through f. raw: the plain differences, at steps h, h/r, ...
    (errors ~ step^order). Where they converge slower than that, f is no power series
    there (x^1.5 at 0): the bound then adds their distance from the last one and the
    geometric tail of their convergence. Where they neither converge (as step^order, or
    at all while f changes by less than a hundredth of itself) nor agree within rounding,
    nor value with the levels to a tenth, f changes wildly within the step (a pole across
    it, oscillations shorter than it): the candidate is not credible."""
    size = max(1.0, *map(abs, samples))  # as if f's intermediate results were >= 1
    delta = ROUNDING * EPS * size + ROUNDING * EPS * (abs(x) + h) * abs(value)
    rounding = weight * (delta / h)
    truncation = SAFETY * max(abs(value - v) for v in levels)
    a, b = raw[-3] - raw[-2], raw[-2] - raw[-1]
    noise = (3 - order) * delta / h * RATIO ** (len(raw) - 1)  # of the last raw difference
    converging = b != 0 and (a > 0) == (b > 0) and a / b > 1.0
    if abs(b) > 4 * noise and converging and a / b < RATIO ** (0.9 * order):
        truncation = max(truncation, abs(value - raw[-1]) + abs(b) / (a / b - 1))
    if not (math.isfinite(value) and math.isfinite(truncation)):
        return None
    expected = converging and RATIO ** order / 2 <= a / b <= 2 * RATIO ** order
    large = truncation * h > max(map(abs, samples)) / 100  # f changes by its own size
    credible = (expected or (converging and not large) or abs(b) <= 4 * noise
                or truncation <= abs(value) / 10)
    if min(samples) == max(samples):  # flat: the step is below the resolution of f
        credible = False
    return _Candidate(value, truncation, rounding, h, credible)


def _walk(candidate: Callable[[float], _Candidate | None], first: _Candidate,
          target: float) -> _Candidate:
    """From the first step, move h towards the smallest bound; the best credible candidate
    seen (the best of all if none is). Truncation falls with h (as h^2), rounding grows
    (as 1/h): shrink while truncation dominates and falls, or until candidates become
    credible; where truncation does not fall (or a credible candidate is followed by one
    that is not), it was noise: grow instead."""
    seen = [first]
    current = first
    shrinking = first.truncation > first.rounding or not (first.credible
                                                          or first.truncation == 0)
    turned = False
    for _ in range(TRIES):
        best = _best(seen)
        if best.bound <= target and best.credible:
            break
        if shrinking:  # towards the minimum of T (h'/h)^2 + R h/h'
            factor = min(0.5, max(FEWEST, (current.rounding / (2 * current.truncation))
                                  ** (1 / 3)))
        else:
            factor = GROW
        following = candidate(current.step * factor)
        if following is None or not (shrinking or turned or _agrees(following, current)):
            break
        seen.append(following)
        if not shrinking:
            if _best(seen) is not following:  # a longer step made it no better
                break
            current = following
        elif following.credible and (following.truncation < current.truncation
                                     or not current.credible):
            if following.truncation <= following.rounding:  # down to the rounding floor
                break
            current = following
        elif not (following.credible or current.credible):  # not yet below f's scale
            current = following
        elif turned:
            break
        else:
            shrinking, turned, current = False, True, best
    return _best(seen)


def _agrees(longer: _Candidate, shorter: _Candidate) -> bool:
    """Whether a candidate at a longer step is better than one at a shorter step and agrees
    with it within their bounds (else the longer step sees what f does beyond x). Not
    asked after shorter steps proved noisy: then the shorter one is the suspect."""
    if not longer.credible:
        return False
    return not shorter.credible or (longer.bound < shorter.bound and abs(
        longer.value - shorter.value) <= longer.bound + shorter.bound)


def _best(seen: list[_Candidate]) -> _Candidate:
    credible = [c for c in seen if c.credible] or seen
    return min(credible, key=lambda c: c.bound)


def first_step(x: float) -> float:
    """STEP relative to x, or to FLOOR if x is subnormal; STEP itself at x = 0."""
    return STEP * (max(abs(x), FLOOR) if x else 1.0)


def estimate(f: Callable[[float], float], x: float, target: float = 0.0) -> Estimate | None:
    """f'(x) by finite differences, with an error bound, refined until the bound is below
    target or no longer improves. f raises MathError where it is not defined. None if f is
    not defined on either side of x."""
    g = _Counted(f, x)
    h0 = first_step(x)
    for k in range(DOMAIN_TRIES):
        first = _central(g, x, h0 / GROW ** k)
        if first is not None:
            if 0 < abs(x) < 1 and (not first.credible or (target < first.bound
                                   and first.truncation <= first.rounding)):
                unit = _central(g, x, STEP)  # too short for f, whose scale is not x's
                if unit is not None and _agrees(unit, first):
                    first = unit
            best = _walk(lambda h: _central(g, x, h), first, target)
            return Estimate(best.value, best.bound, "central", best.step, g.calls)
    for side, method in ((1.0, "forward"), (-1.0, "backward")):
        one = one_sided(g, x, side, target)
        if one is not None:
            return Estimate(one.value, one.error_bound, method, one.step, g.calls)
    return None


def one_sided(f: Callable[[float], float], x: float, side: float,
              target: float = 0.0) -> Estimate | None:
    """The right (side 1) or left (side -1) derivative of f at x, as estimate() does it."""
    g = f if isinstance(f, _Counted) else _Counted(f, x)
    h0 = first_step(x)
    for k in range(DOMAIN_TRIES):
        first = _one_sided(g, x, side, h0 / GROW ** k)
        if first is not None:
            best = _walk(lambda h: _one_sided(g, x, side, h), first, target)
            return Estimate(best.value, best.bound, "forward" if side > 0 else "backward",
                            best.step, g.calls)
    return None


def relative_error(gradient: float, fd: float) -> float:
    return abs(gradient - fd) / max(1.0, abs(gradient), abs(fd))


def check_partial(f: Callable[[float], float], x: float, name: str, gradient: float,
                  tol: float = TOL) -> PartialCheck:
    """The partial `gradient` of f at x against its finite difference."""
    allowance = tol * max(1.0, abs(gradient))
    est = estimate(f, x, TARGET * allowance)
    if est is None:
        return PartialCheck(name, gradient, None, None, True)
    fd = est.value
    ok = abs(gradient - fd) <= max(tol * max(1.0, abs(gradient), abs(fd)), est.error_bound)
    row = PartialCheck(name, gradient, fd, relative_error(gradient, fd), ok, est.method,
                       est.step, est.error_bound)
    if not ok and est.method == "central":
        row.kink = kink(f, x, TARGET * allowance)
    return row


def kink(f: Callable[[float], float], x: float, target: float = 0.0
         ) -> tuple[float, float] | None:
    """(left, right) derivatives of f at x if they differ by more than their bounds."""
    left, right = one_sided(f, x, -1.0, target), one_sided(f, x, 1.0, target)
    if left is None or right is None:
        return None
    if abs(left.value - right.value) <= left.error_bound + right.error_bound:
        return None
    return left.value, right.value


def function_of(p: Prepared, name: str) -> Callable[[float], float]:
    """The output as a function of variable `name`, the others held at p's point: one
    forward pass of the compiled graph each call (core.evaluate, no sweep)."""
    def f(t: float) -> float:
        return float(evaluate(p.at({name: t}), backward=False).value)

    return f


def check(p: Prepared, gradient: dict[str, float], tol: float = TOL) -> list[PartialCheck]:
    """Each partial in gradient (computed at p's point) against its finite difference."""
    if p.graph.makes_arrays or not all(isinstance(x, float) for x in p.point.values()):
        raise UsageError("--check works on scalar values only")
    return [check_partial(function_of(p, name), p.point[name], name, g, tol)
            for name, g in gradient.items()]
