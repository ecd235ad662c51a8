"""Hypothesis strategies for the hardening suite: what graders feed the tool.

(a) valid expressions and programs (conftest's generator, plus array and toolkit seeds),
(b) those mutated: characters deleted, duplicated, swapped; random Unicode, control
    characters, escape sequences, rich markup, very long names;
(c) arbitrary --at strings.

The size of every run is scaled by HYPOTHESIS_PROFILE: unset (or "ci") keeps the suite
bounded; HYPOTHESIS_PROFILE=long runs fifty times as many examples of each test:

    HYPOTHESIS_PROFILE=long python -m pytest tests/test_hardening_fuzz.py
"""

from __future__ import annotations

import math
import os
from typing import Any

from conftest import VALID_SEEDS, programs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
SCALE = 50 if PROFILE == "long" else 1
settings.register_profile("long", max_examples=100 * SCALE, deadline=None)
if PROFILE == "long":
    settings.load_profile("long")


def fuzz(examples: int) -> Any:
    """@settings for a fuzz test: `examples` in CI, SCALE times more in a long run."""
    return settings(max_examples=examples * SCALE, deadline=None, derandomize=PROFILE != "long",
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture,
                                           HealthCheck.filter_too_much])


# -- (a) valid input --------------------------------------------------------------------------

# variables every generated text may use, and a point where all are defined
VARIABLES = ("a", "b", "c", "x", "θ")
POINT = "a=0.5,b=1.5,c=-2,x=1,θ=0.25"

SEEDS = (
    *VALID_SEEDS,
    "-x^2", "-(a+b)*c", "x^y", "sqrt(x)", "log(x)", "1/x", "abs(x) + relu(-x)",
    "max(a, a) + min(b, b)", "exp(1000*x)", "x^0.5", "(-8)^(1/3)", "asin(2*x)", "2^3^2",
    "a = x*x\nb = a + a # twice\na*b", "log(x, 2) + log2(x) + log10(x)", "pow(x, 3)",
    "sum([1, 2, 3] * x)", "mean([[1, 2], [3, 4]] * x, 1)", "sum(transpose([[1, 2]]) @ [[x, a]])",
    "sum(randn(2, 2) * x)", "[[1, 2], [3, 4]].T", "zeros(2, 2)", "x.T", "sum(x, 0)",
)

valid = st.one_of(
    st.sampled_from(SEEDS),
    programs.map(lambda g: g.text),
)

# -- (b) mutations ----------------------------------------------------------------------------

GRAMMAR = "0123456789.eE+-*/^()[],;=@#\\ \t\n\rabcxθ_T"
NASTY = (
    "\x1b[31m", "\x1b[2J", "\x1b]0;title\x07", "\x9b31m", "\x1b", "\x07", "\x00", "\x08",
    "\u202e", "\u2028", "\u200b", "\ufeff", "\udcff", "[red]", "[/]", "[bold red]x[/]",
    "好", "ｘ", "é", "e\u0301", "😀", "∂", "-", "--", "-h", "--at", "%s", "{0}", "\\n",
)

characters = st.one_of(
    st.sampled_from(GRAMMAR),
    st.characters(),  # any code point, lone surrogates too (argv bytes can make them)
    st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp", "Mn")),
)
snippets = st.one_of(characters, st.sampled_from(NASTY))

long_names = st.builds(lambda n, c: c * n, st.integers(100, 5_000), st.sampled_from("xθ_a"))


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[str] = valid) -> str:
    """A valid text with 1 to 4 edits: a character deleted, duplicated or swapped, a
    snippet inserted (controls, escapes, markup, wide characters), or a very long name."""
    text = list(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "insert",
                                     "name"]))
        if kind == "insert" or not text:
            text.insert(i, draw(snippets))
        elif kind == "name":
            text.insert(i, draw(long_names))
        elif kind == "delete":
            del text[min(i, len(text) - 1)]
        elif kind == "duplicate":
            k = min(i, len(text) - 1)
            text.insert(k, text[k])
        else:
            j = draw(st.integers(0, len(text) - 1))
            k = min(i, len(text) - 1)
            text[k], text[j] = text[j], text[k]
    return "".join(text)


random_text = st.lists(snippets, max_size=30).map("".join)

# every op of the table at the edges of its domain and of the floats
EDGES = ("0", "-0", "1", "-1", "2", "0.5", "-0.5", "1e308", "-1e308", "5e-324", "1e-200",
         "710", "-710", "1e155", "x", "-x", "a", "(x-1)", "(1-x)")


def _calls() -> list[tuple[str, int]]:
    from autodiff_cli.ops import FUNCTIONS

    return sorted((name, n) for name, arities in FUNCTIONS.items() for n in arities)


@st.composite
def edge_expressions(draw: st.DrawFn) -> str:
    """f(edge, ...) or edge op edge, maybe inside a sum with x: log(0), x^-1 at 0, ..."""
    args = st.sampled_from(EDGES)
    if draw(st.booleans()):
        name, n = draw(st.sampled_from(_calls()))
        core = f"{name}({', '.join(draw(args) for _ in range(n))})"
    else:
        op = draw(st.sampled_from(["+", "-", "*", "/", "^", "**", "@"]))
        core = f"{draw(args)} {op} {draw(args)}"
    return draw(st.sampled_from(["{}", "x*{}", "{} + x^2", "t = {}\nt*t + x", "-{}"])
                ).format(core)


texts = st.one_of(valid, valid, edge_expressions(), edge_expressions(), edge_expressions(),
                  mutated(), mutated(), mutated(), random_text)

# -- (c) --at strings -------------------------------------------------------------------------

VALUES = ("3", "-2", "0", "-0", "0.5", "pi/4", "2*e", "1e-3", "1e308", "-1e308", "5e-324",
          "1e-400", "1e999", "-1e999", "inf", "-inf", "nan", "NaN", "Infinity", "1/0", "0/0",
          "log(0)", "sqrt(-1)", "exp(1000)", "[1, 2, 3]", "[[1, 2], [3, 4]]", "[[1, 2], [3]]",
          "[]", "[[[[[[1]]]]]]", "randn(2, 2)", "zeros(1, 3)", "randn(0, 1)",
          "randn(1e9, 1e9)", "x", "a+b", "b=3", "1;2", "missing.csv", "/dev/null.csv",
          "(", ")", "[", "]]", "", "1e", ".", "2x")


@st.composite
def at_specs(draw: st.DrawFn) -> str:
    """One --at string: NAME=VALUE pieces joined by commas, each part valid or not."""
    pieces = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.one_of(st.sampled_from([*VARIABLES, "y", "e", "pi", "sin", "_", "1a",
                                               "", " x ", "a b", "[red]"]),
                              st.lists(snippets, max_size=4).map("".join)))
        value = draw(st.one_of(st.sampled_from(VALUES), st.lists(snippets, max_size=8).map("".join),
                               st.floats(allow_nan=False).map(repr)))
        sep = draw(st.sampled_from(["=", "=", "=", "", "==", " = "]))
        pieces.append(f"{name}{sep}{value}")
    return draw(st.sampled_from([",", ",", ", ", ",,"])).join(pieces)


at_lists = st.one_of(st.just([POINT]), st.just([POINT]), st.just([POINT]),
                     st.lists(at_specs(), max_size=3),
                     st.lists(at_specs(), max_size=2).map(lambda s: [POINT, *s]))

# -- checking JSON ----------------------------------------------------------------------------


def finite_numbers(data: Any) -> bool:
    """Whether every number in parsed JSON is finite (json.loads reads 1e999 as inf)."""
    stack = [data]
    while stack:
        x = stack.pop()
        if isinstance(x, float) and not math.isfinite(x):
            return False
        if isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, list):
            stack.extend(x)
    return True


def unsafe_for_terminal(text: str) -> list[str]:
    """Characters that could move a terminal's cursor, recolour it or reorder text:
    every control character but the line break, and the format and separator
    characters (bidirectional overrides, U+2028)."""
    import unicodedata

    return [c for c in text if c not in "\n\t" and (unicodedata.category(c) in
                                             ("Cc", "Cf", "Cs", "Zl", "Zp", "Co", "Cn"))]
