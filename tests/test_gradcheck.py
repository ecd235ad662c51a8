"""grad --check: the finite-difference estimate, its error bound, and the verdict."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st
from toolkit_helpers import SYM, VARS, Expr, expressions, invoke

from autodiff_cli import MathError
from autodiff_cli.api import grad
from autodiff_cli.core import prepare
from autodiff_cli.derivatives import scalar_partials
from autodiff_cli.gradcheck import TOL, Estimate, check_partial, estimate, function_of
from autodiff_cli.ops import OPS

# the cases that failed correct gradients when h was 6e-6·max(1, |x|): near a pole (even
# across it), near a domain edge, fast-varying, huge
HARD = [("log(x)", 0.001), ("1/x", 1e-6), ("sqrt(x)", 0.001), ("x^-3", 0.01),
        ("sin(1000*x)", 1.0), ("sigmoid(1000*x)", 0.001), ("exp(x)", 500.0),
        ("1/(x-1)", 1.0001), ("tan(x)", 1.57)]
MORE = [("1/(x-1)", 1.000001), ("exp(x)", 1e-6), ("exp(x)", 709.0), ("sin(x)", 1e6),
        ("sqrt(x)", 1e-12), ("log(x)", 1e300), ("cos(x)", 0.0), ("(x + 1e8) - 1e8", 1.0),
        ("atan(x)", -3e5), ("x^1.5", 0.0), ("x^2.5 + 1", 0.0)]


def exact(text: str, x: float) -> float:
    """The derivative at the float x (not at the decimal it was written as)."""
    s = sp.sympify(text.replace("^", "**").replace("sigmoid", "S"),
                   locals={"x": SYM["x"], "S": lambda a: 1 / (1 + sp.exp(-a))})
    return float(sp.diff(s, SYM["x"]).subs(SYM["x"], sp.Rational(x)).evalf(40))


def function(text: str, x: float) -> Callable[[float], float]:
    return function_of(prepare(text, {"x": x}), "x")


# -- the estimate, on plain callables ---------------------------------------------------------


def _sqrt(t: float) -> float:
    if t < 0:
        raise MathError("sqrt of a negative number")
    return math.sqrt(t)


@pytest.mark.parametrize(("f", "df", "x"), [
    (math.log, lambda t: 1 / t, 1e-3), (lambda t: 1 / t, lambda t: -1 / t ** 2, 1e-6),
    (math.exp, math.exp, 500.0), (math.tan, lambda t: 1 / math.cos(t) ** 2, 1.57),
    (lambda t: math.sin(1000 * t), lambda t: 1000 * math.cos(1000 * t), 1.0),
    (lambda t: 1 / (t - 1), lambda t: -1 / (t - 1) ** 2, 1.000001),
    (math.cos, lambda t: -math.sin(t), 0.0), (lambda t: t * t, lambda t: 2 * t, 3.0),
])
def test_estimate_is_within_its_bound_and_the_bound_is_small(
        f: Callable[[float], float], df: Callable[[float], float], x: float) -> None:
    est = estimate(f, x)
    assert est is not None and est.method == "central"
    want = df(x)
    # (within 1e-5: next to a pole the rounding term, which assumes the ulps of x are
    # carried through f, is pessimistic: x - 1 is exact)
    assert abs(est.value - want) <= est.error_bound <= 1e-5 * max(1.0, abs(want))
    assert est.step > 0 and est.evaluations <= 120


def test_the_step_is_relative_to_x() -> None:
    est = estimate(lambda t: 1 / t, 1e-6, 1e-8 * 1e12)  # 6e-6 would straddle the pole
    assert est is not None and est.step < 1e-10 and est.value < 0
    assert est.evaluations == 6  # one try: h, h/√5, h/5 on both sides


def test_one_sided_at_a_domain_edge() -> None:
    def f(t: float) -> float:  # t^1.5: defined for t >= 0, derivative 0 at 0
        return _sqrt(t) ** 3

    # the differences converge like sqrt(t), not t: the bound says so (and is honest)
    right = estimate(f, 0.0)
    assert right is not None and right.method == "forward"
    assert abs(right.value) <= right.error_bound < 1e-4

    left = estimate(lambda t: f(-t), 0.0)
    assert left is not None and left.method == "backward"
    assert abs(left.value) <= left.error_bound < 1e-4


def test_defined_on_neither_side() -> None:
    def point(t: float) -> float:
        if t != 0:
            raise MathError("only at 0")
        return 0.0

    assert estimate(point, 0.0) is None
    assert estimate(lambda t: math.nan if t != 1 else 1.0, 1.0) is None  # non-finite too


def test_a_target_stops_the_refinement() -> None:
    loose = estimate(math.exp, 500.0, target=math.inf)
    fine = estimate(math.exp, 500.0)
    assert loose is not None and fine is not None
    assert loose.evaluations == 6 < fine.evaluations
    assert fine.error_bound < loose.error_bound


def test_estimate_is_deterministic() -> None:
    assert estimate(math.tan, 1.57) == estimate(math.tan, 1.57)


def test_the_rounding_weights_are_the_sums_of_the_coefficients(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """fd is linear in the values of f: the rounding term's weight must be the sum of the
    absolute values of their coefficients (times h)."""
    from autodiff_cli import gradcheck as gc

    seen: list[float] = []
    monkeypatch.setattr(gc, "_candidate", lambda value, *a: seen.append(value) or
                        gc._Candidate(value, 0.0, 0.0, 1.0))
    x, h = 0.7, 1e-3
    for weight, run in [((gc.RATIO ** 4 + gc.RATIO) / (gc.RATIO ** 2 - 1),
                         lambda g: gc._central(g, x, h)),
                        (None, lambda g: gc._one_sided(g, x, 1.0, h))]:
        points: list[float] = []
        run(gc._Counted(lambda t, points=points: points.append(t) or 0.0, x))
        total = 0.0
        for p in dict.fromkeys(sorted(points)):
            seen.clear()
            run(gc._Counted(lambda t, p=p: 1.0 if t == p else 0.0, x))
            total += abs(seen[0]) * h
        if weight is None:  # the one-sided weight, written out in _one_sided
            r = gc.RATIO
            c3, c2, c1 = r ** 6, (r * r + r) * r * r, r
            weight = (c3 + c2 + c1 + abs(c3 - c2 + c1)) / ((r - 1) * (r * r - 1))
        assert total == pytest.approx(weight, rel=1e-6)


# -- through the CLI: correct gradients pass, at hard points too -----------------------------


@pytest.mark.parametrize(("expr", "x"), HARD + MORE)
def test_correct_gradients_pass(expr: str, x: float) -> None:
    r = invoke("grad", expr, "--at", f"x={x!r}", "--check", "--format", "json")
    assert r.exit_code == 0, (r.stdout, r.stderr)
    data = json.loads(r.stdout)
    c = data["check"]["partials"]["x"]
    assert c["ok"] and c["method"] in ("central", "forward") and c["step"] > 0
    g = data["gradient"]["x"]
    assert abs(g - exact(expr, x)) <= 1e-12 * max(1.0, abs(g))  # our gradient is right
    assert abs(c["finite_difference"] - g) <= max(c["bound"], TOL * max(1.0, abs(g)))


def test_the_issue_cases_through_a_process() -> None:
    for expr, x in HARD:
        p = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", "grad", expr, "--at",
                            f"x={x!r}", "--check", "--format", "plain"],
                           capture_output=True, text=True, timeout=60, check=False)
        assert p.returncode == 0 and p.stderr == "", (expr, p.stdout, p.stderr)
        assert p.stdout.splitlines()[1].endswith(" ok")


def test_json_keeps_its_keys_and_adds_method_step_bound() -> None:
    r = invoke("grad", "sin(x)*exp(y)", "--at", "x=0.5,y=1", "--check", "--format", "json")
    check = json.loads(r.stdout)["check"]
    assert list(check) == ["ok", "tol", "step", "partials"]
    for c in check["partials"].values():
        assert list(c) == ["finite_difference", "error", "ok", "method", "step", "bound",
                           "kink"]
        assert c["method"] == "central" and 0 < c["bound"] < 1e-7 and c["kink"] is None


def test_the_table_shows_bound_and_method() -> None:
    out = invoke("grad", "x^1.5 + log(y)", "--at", "x=0,y=0.001", "--check").stdout
    header, x_row, y_row = out.splitlines()[3:6]
    assert header.split()[3:] == ["finite", "difference", "bound", "method", "error", "check"]
    assert x_row.split()[-3] == "forward" and y_row.split()[-3] == "central"
    assert "forward/backward: one-sided" in out and "above its bound" in out


# -- wrong gradients still fail ---------------------------------------------------------------


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """plant(op, rule): op's derivative becomes rule (an expression over x, y, z)."""
    def plant(op: str, rule: str) -> None:
        rules = (rule, *OPS[op].rules[1:])  # the first input's
        monkeypatch.setitem(OPS, op, dataclasses.replace(OPS[op], rules=rules))
        scalar_partials.cache_clear()

    yield plant
    monkeypatch.undo()
    scalar_partials.cache_clear()


@pytest.mark.parametrize("factor", ["1.01", "1.001", "0.999"])
@pytest.mark.parametrize(("op", "rule", "expr", "x"), [
    ("sin", "cos(x)", "sin(x)", 0.5), ("sin", "cos(x)", "sin(1000*x)", 1.0),
    ("sin", "cos(x)", "sin(x)*exp(x)", -2.0), ("log", "1/x", "log(x)", 0.001),
    ("tan", "1 + z*z", "tan(x)", 1.57), ("exp", "z", "exp(x)", 500.0),
    ("div", "1/y", "x/3", 1e-6), ("sigmoid", "z*(1 - z)", "sigmoid(1000*x)", 0.001),
    ("sqrt", "1/(2*z)", "sqrt(x)", 0.001), ("pow", "y*x^(y - 1)", "x^-3", 0.01),
    ("sub", "1", "1/(x-1)", 1.0001),
])
def test_a_planted_wrong_rule_fails(planted: Callable[[str, str], None], factor: str,
                                    op: str, rule: str, expr: str, x: float) -> None:
    assert invoke("grad", expr, "--at", f"x={x!r}", "--check").exit_code == 0
    planted(op, f"{factor}*({rule})")
    r = invoke("grad", expr, "--at", f"x={x!r}", "--check", "--format", "json")
    assert r.exit_code == 1, r.stdout
    assert "the gradient check failed for x" in r.stderr
    assert json.loads(r.stdout)["check"]["partials"]["x"]["ok"] is False


def test_a_planted_rule_is_undone(planted: Callable[[str, str], None]) -> None:
    planted("sin", "2*cos(x)")
    assert grad("sin(x)", {"x": 0.0}).gradient == {"x": 2.0}


def test_relu_at_its_kink_fails_and_is_called_a_kink() -> None:
    r = invoke("grad", "relu(x)", "--at", "x=0", "--check", "--format", "json")
    assert r.exit_code == 1
    c = json.loads(r.stdout)["check"]["partials"]["x"]
    assert c["finite_difference"] == 0.5 and c["ok"] is False
    assert c["kink"] == {"left": 0.0, "right": 1.0}
    smooth = invoke("grad", "relu(x)", "--at", "x=0.5", "--check", "--format", "json")
    assert smooth.exit_code == 0
    assert json.loads(smooth.stdout)["check"]["partials"]["x"]["kink"] is None


# -- properties -----------------------------------------------------------------------------


def _value(e: sp.Expr, at: dict[str, float]) -> float:
    return float(e.subs({SYM[v]: sp.Rational(x) for v, x in at.items()}).evalf(40))


scales = st.sampled_from([1.0, 1.0, 1e-3, 1e-6, 1e3])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions, st.fixed_dictionaries({v: st.floats(-2, 2) for v in VARS}), scales)
def test_random_smooth_expressions_pass_and_are_within_the_bound(
        e: Expr, base: dict[str, float], scale: float) -> None:
    """Against SymPy's derivative (not ours: where its chain rule cancels, rounding can put
    ours far off, and --check is right to say so): the estimate is within its bound (or
    the tolerance), the check passes the right derivative, and fails one 0.1% off where
    the bound is tight."""
    at = {v: x * scale for v, x in base.items()}
    try:
        grad(e.text, at)
    except MathError:
        assume(False)
        return
    prepared = prepare(e.text, at)
    for name in at:
        want = _value(sp.diff(e.sym, SYM[name]), at)
        assume(math.isfinite(want))
        note(f"{e.text} at {at}, d/d{name} = {want}")
        f = function_of(prepared, name)
        row = check_partial(f, at[name], name, want)
        assert row.ok, row
        est = estimate(f, at[name], 0.01 * TOL * max(1.0, abs(want)))
        assert isinstance(est, Estimate)
        assert abs(est.value - want) <= max(est.error_bound, TOL * max(1.0, abs(want)))
        if est.error_bound < 1e-4 * max(1.0, abs(want)):
            wrong = want + 1e-3 * max(1.0, abs(want))
            assert not check_partial(f, at[name], name, wrong).ok
