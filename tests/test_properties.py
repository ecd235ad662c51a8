"""Property tests: random expressions from the grammar, differentiated by the engine, by SymPy
and by central finite differences."""

from __future__ import annotations

import math

import pytest
import sympy as sp
from conftest import FUNCTION_FORMS, SYMBOLS, VARS, Gen, expressions, points, programs
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from autodiff_cli import MathError, grad
from autodiff_cli.ops import FUNCTIONS

DIGITS = 40


def exact(expr: sp.Expr, point: dict[str, float]) -> float:
    """expr at point, computed with 40 digits from the exact binary values of the floats."""
    subs = {SYMBOLS[n]: sp.Rational(x) for n, x in point.items()}
    value = sp.N(expr.subs(subs), DIGITS)
    assert value.is_real, f"{expr} is not real at {point}: {value}"
    return float(value)


def our_grad(text: str, point: dict[str, float]) -> tuple[float, dict[str, float]]:
    try:
        r = grad(text, point)
    except MathError:
        assume(False)
        raise  # unreachable: assume(False) raises
    return r.value, r.gradient


def away_from_kinks(g: Gen, point: dict[str, float], margin: float = 1e-6) -> bool:
    return all(abs(exact(k, point)) > margin for k in g.kinks)


def magnitude(expr: sp.Expr, point: dict[str, float]) -> float:
    """Sum of the absolute values of expr's top-level terms: the scale that rounding errors
    in a sum of terms are relative to."""
    return sum(abs(exact(t, point)) for t in sp.Add.make_args(sp.expand(expr, deep=False)))


def tolerance(expr: sp.Expr, point: dict[str, float], ref: float) -> float:
    """1e-9 relative to the larger of the result and its terms, and a floor for results
    that cancel to (nearly) 0 in the reference but not in floating point."""
    return 1e-9 * max(abs(ref), magnitude(expr, point)) + 1e-10


def test_every_function_has_a_sympy_form() -> None:
    """New rows in the op table must also get a SymPy counterpart here (conftest.py)."""
    named = {op.name for arities in FUNCTIONS.values() for op in arities.values()
             if not op.vjp}  # array ops are tested on arrays in test_matrices.py
    assert named - set(FUNCTION_FORMS) == set()


@settings(max_examples=150, deadline=None)
@given(g=programs, point=points)
def test_gradient_matches_sympy(g: Gen, point: dict[str, float]) -> None:
    note(f"expression: {g.text!r}\nsympy: {g.sym}")
    value, gradient = our_grad(g.text, point)
    assume(away_from_kinks(g, point))
    assert set(VARS) <= set(gradient)  # every given name, used or not (and a program's
    # own leaves: s = 1 makes s a variable, as micrograd's Value(1))
    ref = exact(g.sym, point)
    assert abs(value - ref) <= tolerance(g.sym, point, ref), (value, ref)
    for name in VARS:
        d = sp.diff(g.sym, SYMBOLS[name])
        ref = exact(d, point)
        assert abs(gradient[name] - ref) <= tolerance(d, point, ref), (name, str(d), ref)


def central_difference(text: str, point: dict[str, float], name: str, h: float) -> float:
    up, down = dict(point), dict(point)
    up[name] += h
    down[name] -= h
    try:
        return (grad(text, up).value - grad(text, down).value) / (2 * h)
    except MathError:
        return math.nan


@settings(max_examples=100, deadline=None)
@given(g=programs, point=points)
def test_gradient_matches_finite_differences(g: Gen, point: dict[str, float]) -> None:
    note(f"expression: {g.text!r}")
    value, gradient = our_grad(g.text, point)
    assume(away_from_kinks(g, point, margin=1e-3))
    for name in point:
        ours = gradient[name]
        h = 1e-5 * max(1.0, abs(point[name]))
        coarse = central_difference(g.text, point, name, h)
        fine = central_difference(g.text, point, name, h / 4)
        # Rounding noise of a difference quotient: eps |f| / h. Where it or the truncation
        # error (seen as the two estimates disagreeing) is large, the function is badly
        # conditioned here (a kink, a pole, an overflow) and neither estimate says anything.
        scale = max(1.0, abs(fine))
        noise = 1e-14 * max(1.0, abs(value)) / h
        if not (math.isfinite(coarse) and math.isfinite(fine)) or \
                abs(coarse - fine) > 1e-6 * scale or noise > 1e-6 * scale:
            continue
        assert abs(ours - fine) <= 1e-5 * scale, (name, ours, fine)


@settings(max_examples=60, deadline=None)
@given(g=expressions, point=points, scale=st.sampled_from([2.0, -1.0, 0.5]))
def test_gradient_is_linear_in_the_output(g: Gen, point: dict[str, float], scale: float) -> None:
    """d(k*f) = k*df, and d(f + f) = 2 df: two more programs, no reference needed."""
    _, base = our_grad(g.text, point)
    _, scaled = our_grad(f"{scale!r}*({g.text})", point)
    _, doubled = our_grad(f"f = {g.text}; f + f", point)
    for name, d in base.items():
        assert scaled[name] == pytest.approx(scale * d, rel=1e-12, abs=1e-300)
        assert doubled[name] == pytest.approx(2 * d, rel=1e-12, abs=1e-300)
