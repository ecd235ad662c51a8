"""Fuzzing: whatever the text, the library raises only AutodiffError and the CLI exits 0, 1
or 2 without a traceback."""

from __future__ import annotations

import json
import math
from typing import Any

from conftest import VALID_SEEDS
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from autodiff_cli import AutodiffError, grad
from autodiff_cli.render.errors import format_error

POINT = {"a": 0.5, "b": 1.5, "c": -2.0, "x": 1.0, "θ": 0.25}
GRAMMAR_CHARS = "0123456789.eE+-*/^()[],;=@#\\ \t\n\rabcxθ_"

characters = st.one_of(
    st.sampled_from(GRAMMAR_CHARS),
    st.characters(exclude_categories=("Cs",)),  # any printable or not, no lone surrogates
    st.characters(categories=("Cc", "Cf", "Zs", "Zl", "Zp")),  # controls, format, spaces
)
random_text = st.text(characters, max_size=40)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid program with characters deleted, duplicated, swapped or inserted."""
    text = list(draw(st.sampled_from(VALID_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        i = draw(st.integers(0, len(text) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "insert"]))
        if kind == "delete":
            del text[i]
        elif kind == "duplicate":
            text.insert(i, text[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(text) - 1))
            text[i], text[j] = text[j], text[i]
        else:
            text.insert(i, draw(characters))
    return "".join(text)


long_names = st.builds(
    lambda n, c, tail: c * n + tail,
    st.integers(100, 20_000), st.sampled_from("xθ_"), st.sampled_from(["", " + 1", "(2)", " y"]))

inputs = st.one_of(random_text, mutated(), mutated(), long_names)


def check_error(err: AutodiffError, text: str) -> None:
    assert err.kind in {"parse", "name", "arity", "usage", "math"}
    assert err.exit_code == (1 if err.kind == "math" else 2)
    for problem in err.problems:
        if problem.span is not None:
            start, end = problem.span
            assert 0 <= start <= len(text)
            assert start <= end <= len(text) + 1
    if err.span is not None:
        assert err.column is not None and err.column >= 1
    report = format_error(err)
    assert report.startswith("error: ")
    assert all(c == "\n" or c.isprintable() for c in report), repr(report)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=inputs)
def test_library_raises_only_autodiff_errors(text: str) -> None:
    note(repr(text))
    try:
        r = grad(text, POINT)
    except AutodiffError as err:
        check_error(err, text)
        return
    assert math.isfinite(r.value)
    assert all(math.isfinite(g) for g in r.gradient.values())
    assert list(r.gradient) == list(r.at)


at_specs = st.one_of(
    st.just("a=0.5,b=1.5,c=-2,x=1"),
    st.just("a=0.5,b=1.5,c=-2,x=1,θ=0.25,y=3"),
    random_text.map(lambda t: "a=" + t),
    random_text,
)


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-finite number {name} in JSON output")

    return json.loads(text, parse_constant=refuse)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=inputs, at=at_specs, fmt=st.sampled_from(["table", "json", "plain"]),
       stdin=st.booleans())
def test_cli_exits_cleanly(cli: Any, text: str, at: str, fmt: str, stdin: bool) -> None:
    args = ["grad", "-" if stdin else text, "--at", at, "--format", fmt]
    result = cli(*args, input=text if stdin else None)
    note(repr((args, result.exit_code, result.stdout, result.stderr)))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code in {0, 1, 2}
    assert "Traceback" not in result.output
    if result.exit_code == 0:
        assert all(line.startswith(("warning: ", "hint: ", "  "))
                   for line in result.stderr.splitlines()), result.stderr
        if fmt == "json":
            data = strict_json(result.stdout)
            assert list(data) == ["expression", "value", "at", "gradient"]
            numbers = [data["value"], *data["at"].values(), *data["gradient"].values()]
            assert all(isinstance(n, float) and math.isfinite(n) for n in numbers)
    else:
        assert result.stdout == ""  # no half-written report
