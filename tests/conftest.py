"""Shared fixtures and Hypothesis strategies for the autodiff test suite.

The strategies build an expression's text and its SymPy counterpart together, so the
reference derivative never goes through our own parser.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import settings
from hypothesis import strategies as st

import autodiff_cli

# Every run tries the same examples, so a red build is a regression anyone can reproduce;
# HYPOTHESIS_PROFILE=long (strategies.py) explores at random, 50 times as many.
settings.register_profile("ci", derandomize=True)
if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
# The directory whose autodiff_cli this test run imports; subprocesses get it on PYTHONPATH.
CODE_ROOT = Path(autodiff_cli.__file__).resolve().parent.parent

CLI_ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None, "TERM": "dumb"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-docs", action="store_true", default=False,
                     help="test_docs.py: rewrite the output of each console block of "
                          "README.md and docs/*.md to what the command prints now")


@pytest.fixture(autouse=True)
def _plain_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rendering must not depend on the terminal the suite happens to run in."""
    for name, value in CLI_ENV.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.fixture
def cli() -> Callable[..., object]:
    """invoke(*args, input=None, env=None) -> typer.testing Result, stdout and stderr apart."""
    from typer.testing import CliRunner

    from autodiff_cli.cli import app

    runner = CliRunner(env=CLI_ENV)

    def invoke(*args: str, input: str | None = None,
               env: dict[str, str | None] | None = None) -> object:
        return runner.invoke(app, list(args), input=input, env={**CLI_ENV, **(env or {})})

    return invoke


def subprocess_env() -> dict[str, str]:
    """Environment for running the console script on the code under test."""
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    env.update({k: v for k, v in CLI_ENV.items() if v is not None})
    env["PYTHONPATH"] = str(CODE_ROOT)
    return env


def caret_columns(text: str) -> list[int]:
    """1-based columns of the carets under each echoed source line of an error report.

    format_error indents the source line and the caret line by two spaces.
    """
    cols = []
    for line in text.splitlines():
        m = re.fullmatch(r"  ( *)\^+", line)
        if m:
            cols.append(len(m.group(1)) + 1)
    return cols


# -- expression strategies ---------------------------------------------------------------

VARS = ("a", "b", "c")
SYMBOLS = {name: sp.Symbol(name, real=True) for name in VARS}

# Precedence levels of the grammar, loosest first (grammars/expr.lark):
SUM, PRODUCT, UNARY, IMPLICIT, POWER, ATOM = 1, 2, 3, 4, 5, 9


@dataclass(frozen=True)
class Gen:
    """A generated expression: its text, its SymPy tree and how it sits in the grammar."""

    text: str
    sym: sp.Expr
    level: int
    ends_with_name: bool = False  # the last token is a bare name (x, not 2 or ')')
    starts_with_digit: bool = False  # the first token is a number
    is_number: bool = False  # a literal, possibly negated or in parentheses
    kinks: tuple[sp.Expr, ...] = field(default=())  # where |.| = 0 is a kink or a jump


def paren(g: Gen) -> Gen:
    return Gen(f"({g.text})", g.sym, ATOM, is_number=g.is_number, kinks=g.kinks)


def at_least(g: Gen, level: int) -> Gen:
    return g if g.level >= level else paren(g)


def _kinks(*gs: Gen) -> tuple[sp.Expr, ...]:
    return tuple(k for g in gs for k in g.kinks)


NUMBERS = ("1", "2", "3", "0.5", ".5", "2.5", "1.5", "10", "1e-1", "2.5E+0")


def number(text: str) -> Gen:
    return Gen(text, sp.Rational(float(text)), ATOM, starts_with_digit=True, is_number=True)


def variable(name: str) -> Gen:
    return Gen(name, SYMBOLS[name], ATOM, ends_with_name=True)


leaves = st.one_of(
    st.sampled_from(VARS).map(variable),
    st.sampled_from(VARS).map(variable),
    st.sampled_from(NUMBERS).map(number),
    # the constants are the floats math.pi and math.e, so the reference uses those values
    st.sampled_from([Gen("pi", sp.Rational(math.pi), ATOM, ends_with_name=True),
                     Gen("e", sp.Rational(math.e), ATOM, ends_with_name=True)]),
)


def _binary(op: str, left: Gen, right: Gen, spaced: bool) -> Gen:
    sep = f" {op} " if spaced or op in "+-" else op
    if op in "+-":
        left, right, level = at_least(left, SUM), at_least(right, PRODUCT), SUM
    else:
        left, right, level = at_least(left, PRODUCT), at_least(right, UNARY), PRODUCT
    sym = {"+": left.sym + right.sym, "-": left.sym - right.sym,
           "*": left.sym * right.sym, "/": left.sym / right.sym}[op]
    return Gen(f"{left.text}{sep}{right.text}", sym, level,
               ends_with_name=right.ends_with_name, starts_with_digit=left.starts_with_digit,
               kinks=_kinks(left, right))


def _neg(g: Gen) -> Gen:
    g = at_least(g, UNARY)
    return Gen(f"-{g.text}", -g.sym, UNARY, ends_with_name=g.ends_with_name,
               is_number=g.is_number, kinks=g.kinks)


def _implicit(left: Gen, right: Gen, spaced: bool) -> Gen:
    """Juxtaposition, where the language allows it: after a number or ')', before a term
    that does not start with a number."""
    left = at_least(left, IMPLICIT)
    if left.ends_with_name:
        left = paren(left)
    right = at_least(right, POWER)
    if right.is_number:  # '2(3)' is refused by the current parser (see test_parse)
        return _binary("*", left, right, spaced)
    if right.starts_with_digit:
        right = paren(right)
    if left.text[-1].isdigit() and right.text[0] in "eE":
        spaced = True  # '2e' then '-1' would lex as the number 2e-1
    return Gen(f"{left.text}{' ' if spaced else ''}{right.text}", left.sym * right.sym,
               IMPLICIT, ends_with_name=right.ends_with_name,
               starts_with_digit=left.starts_with_digit, kinks=_kinks(left, right))


def _power(base: Gen, exponent: int, star: bool) -> Gen:
    base = at_least(base, ATOM)
    return Gen(f"{base.text}{'**' if star else '^'}{exponent}", base.sym ** exponent, POWER,
               starts_with_digit=base.starts_with_digit, kinks=base.kinks)


def _call(name: str, *args: Gen) -> str:
    return f"{name}({', '.join(a.text for a in args)})"


def _a(g: Gen) -> str:  # an operand of ^ inside a template
    return at_least(g, ATOM).text


def _sigmoid(x: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-x))


# name -> (arity, text of an in-domain application, its SymPy tree, kink arguments)
# Arguments are reshaped so any real input is in the domain: log(1 + u^2), sqrt(2 + sin(u)).
FUNCTION_FORMS: dict[str, tuple[int, Callable[..., str], Callable[..., sp.Expr],
                                Callable[..., tuple[sp.Expr, ...]]]] = {
    "sin": (1, lambda u: _call("sin", u), sp.sin, lambda u: ()),
    "cos": (1, lambda u: _call("cos", u), sp.cos, lambda u: ()),
    "tan": (1, lambda u: f"tan(sin({u.text}))", lambda u: sp.tan(sp.sin(u)), lambda u: ()),
    "asin": (1, lambda u: f"asin(tanh({u.text})/2)", lambda u: sp.asin(sp.tanh(u) / 2),
             lambda u: ()),
    "acos": (1, lambda u: f"acos(cos({u.text})/2)", lambda u: sp.acos(sp.cos(u) / 2),
             lambda u: ()),
    "atan": (1, lambda u: _call("atan", u), sp.atan, lambda u: ()),
    "atan2": (2, lambda u, v: f"atan2({u.text}, 2 + sin({v.text}))",
              lambda u, v: sp.atan2(u, 2 + sp.sin(v)), lambda u, v: ()),
    "sinh": (1, lambda u: _call("sinh", u), sp.sinh, lambda u: ()),
    "cosh": (1, lambda u: _call("cosh", u), sp.cosh, lambda u: ()),
    "tanh": (1, lambda u: _call("tanh", u), sp.tanh, lambda u: ()),
    "exp": (1, lambda u: _call("exp", u), sp.exp, lambda u: ()),
    "log": (1, lambda u: f"log(1 + {_a(u)}^2)", lambda u: sp.log(1 + u**2), lambda u: ()),
    "logb": (2, lambda u, v: f"log(1 + {_a(u)}^2, 3 + sin({v.text}))",
             lambda u, v: sp.log(1 + u**2) / sp.log(3 + sp.sin(v)), lambda u, v: ()),
    "log2": (1, lambda u: f"log2(2 + cos({u.text}))", lambda u: sp.log(2 + sp.cos(u), 2),
             lambda u: ()),
    "log10": (1, lambda u: f"log10(1 + {_a(u)}**2)", lambda u: sp.log(1 + u**2, 10),
              lambda u: ()),
    "sqrt": (1, lambda u: f"sqrt(2 + sin({u.text}))", lambda u: sp.sqrt(2 + sp.sin(u)),
             lambda u: ()),
    "abs": (1, lambda u: _call("abs", u), sp.Abs, lambda u: (u,)),
    "sigmoid": (1, lambda u: _call("sigmoid", u), _sigmoid, lambda u: ()),
    "relu": (1, lambda u: _call("relu", u), lambda u: sp.Max(u, 0), lambda u: (u,)),
    "softplus": (1, lambda u: _call("softplus", u), lambda u: sp.log(1 + sp.exp(u)),
                 lambda u: ()),
    "xlogy": (2, lambda u, v: f"xlogy({u.text}, 2 + cos({v.text}))",
              lambda u, v: u * sp.log(2 + sp.cos(v)), lambda u, v: ()),
    "sign": (1, lambda u: _call("sign", u), sp.sign, lambda u: (u,)),
    "step": (1, lambda u: _call("step", u), sp.Heaviside, lambda u: (u,)),
    "max": (2, lambda u, v: _call("max", u, v), sp.Max, lambda u, v: (u - v,)),
    "min": (2, lambda u, v: _call("min", u, v), sp.Min, lambda u, v: (u - v,)),
    "pow": (2, lambda u, v: f"pow(2 + sin({u.text}), {v.text})",
            lambda u, v: (2 + sp.sin(u)) ** v, lambda u, v: ()),
}


def _function(name: str, args: Sequence[Gen]) -> Gen:
    arity, text, sym, kinks = FUNCTION_FORMS[name]
    args = list(args[:arity])
    syms = [g.sym for g in args]
    return Gen(text(*args), sym(*syms), ATOM,
               kinks=(*_kinks(*args), *kinks(*syms)))


def _extend(children: st.SearchStrategy[Gen]) -> st.SearchStrategy[Gen]:
    pair = st.tuples(children, children)
    binary = st.builds(_binary, st.sampled_from("+-*/"), children, children, st.booleans())
    function = st.builds(_function, st.sampled_from(sorted(FUNCTION_FORMS)), pair)
    return st.one_of(
        binary,
        function,
        binary,
        function,
        st.builds(_neg, children),
        st.builds(_implicit, children, children, st.booleans()),
        st.builds(_power, children, st.integers(-2, 3), st.booleans()),
        children.map(paren),  # redundant parentheses
    )


# deferred: a short repr instead of the whole recursive strategy in Hypothesis' reports
expressions: st.SearchStrategy[Gen] = st.deferred(
    lambda: st.recursive(leaves, _extend, max_leaves=8))


def _program(u: Gen, v: Gen) -> Gen:
    """A program whose intermediate t is used three times."""
    text = f"t = {u.text}\ns = {v.text} # comment\nt*s - sin(t) + t^2/2"
    sym = u.sym * v.sym - sp.sin(u.sym) + u.sym**2 / 2
    return Gen(text, sym, SUM, kinks=_kinks(u, v))


programs: st.SearchStrategy[Gen] = st.deferred(
    lambda: st.one_of(expressions, expressions, st.builds(_program, expressions, expressions)))

# Away from 0 (but 0 itself): near 0, terms like 1/b and -b/b^2 grow without bound and the
# rounding error of their sum with them, which no tolerance can follow.
coordinates = st.one_of(
    st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0]),
    st.floats(0.05, 3.0),
    st.floats(-3.0, -0.05),
)
points = st.fixed_dictionaries({name: coordinates for name in VARS})

VALID_SEEDS = (
    "(a+b)*(b+1)",
    "b = 4*a; c = b + 3; d = a + 2; e = c*d",
    "sin(a)^2 + cos(b)^2",
    "log(1 + a^2)/sqrt(2 + sin(b))",
    "max(a, b) - min(a, 2) + abs(c)",
    "2a + 3(b - 1) + (a+b)(c-1)",
    "a^-2 + 2^3^2 - -a",
    "log(a^2 + 1, 2) + log10(b^2 + 1)",
    "t = sigmoid(a)\nu = tanh(t) # comment\nt*u",
    "exp(a) / (1 + e^b) * pi",
)


def without_warnings(stderr: str) -> str:
    """stderr less the warnings a command may print before its result or error (a
    "warning:" line, the source and caret lines under it, its hint)."""
    kept, skipping = [], False
    for line in stderr.splitlines(keepends=True):
        if line.startswith("warning: "):
            skipping = True
        elif skipping and not line.startswith(("  ", "hint: ")):
            skipping = False
        if not skipping:
            kept.append(line)
    return "".join(kept)
