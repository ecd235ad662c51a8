"""Hypothesis strategies for the hardening suite: what graders feed the tool.

(a) valid expressions and programs: generated from the grammar, and seeds (conftest's
    VALID_SEEDS, array and toolkit examples),
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

from conftest import VALID_SEEDS
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


def _calls() -> list[tuple[str, int]]:
    from autodiff_cli.ops import FUNCTIONS

    return sorted((name, n) for name, arities in FUNCTIONS.items() for n in arities)


NUMBERS = ("0", "1", "2", "3", "0.5", ".5", "10", "1e-3", "2.5E+4", "1e308", "5e-324")
leaves = st.one_of(st.sampled_from(VARIABLES), st.sampled_from(NUMBERS),
                   st.sampled_from(["pi", "e"]))


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One more level of the grammar over inner terms (conftest's generator builds the
    SymPy tree too, which itself fails on some inputs, e.g. max(1/0, x); this one is text)."""
    call = st.sampled_from(_calls()).flatmap(
        lambda fn: st.lists(inner, min_size=fn[1], max_size=fn[1]).map(
            lambda args: f"{fn[0]}({', '.join(args)})"))
    return st.one_of(
        st.tuples(inner, st.sampled_from([" + ", "-", "*", " / ", "^", "**", " @ "]), inner
                  ).map(lambda t: f"({t[0]}){t[1]}({t[2]})" if "^" in t[1] else "".join(t)),
        call, call,
        inner.map(lambda t: f"-{t}"), inner.map(lambda t: f"({t})"),
        st.tuples(st.sampled_from(["2", "3 ", "(a+b)"]), inner).map(lambda t: f"{t[0]}({t[1]})"),
        inner.map(lambda t: f"2{t}" if t[:1].isalpha() and t[:1] not in "eE" else f"2*{t}"),
        st.lists(inner, min_size=1, max_size=3).map(lambda ts: f"[{', '.join(ts)}]"),
        inner.map(lambda t: f"({t}).T"),
    )


grammar_expressions = st.recursive(leaves, _grow, max_leaves=10)


@st.composite
def grammar_programs(draw: st.DrawFn) -> str:
    """Statements separated by ';', new lines or continued lines, with comments."""
    names = ["t", "u", "out"]
    stmts = [f"{name} = {draw(grammar_expressions)}" for name in
             names[:draw(st.integers(0, 2))]]
    stmts.append(draw(st.one_of(grammar_expressions, st.sampled_from(names))))
    seps = [draw(st.sampled_from(["; ", "\n", " # note\n", "\n\n"])) for _ in stmts]
    text = "".join(s + sep for s, sep in zip(stmts, seps, strict=True)).rstrip("; \n")
    return text.replace(" + ", " + \\\n", 1) if draw(st.booleans()) else text


valid = st.one_of(st.sampled_from(SEEDS), grammar_expressions, grammar_programs())

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
