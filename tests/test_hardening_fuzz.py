"""Fuzzing every command with what graders feed the tool (tests/strategies.py): valid and
mutated expressions and programs, random --at strings, random options.

Invariants, through the library and through the CLI entry point (CliRunner):
- no traceback, no "internal error"; the library raises only AutodiffError;
- exit code 0, 1 or 2;
- exit 0: nothing on stderr, and with --format json one line of valid JSON whose numbers
  are all finite;
- an error names a column wherever it has a place in the text it is about: parse, name,
  arity, math and shape errors always (their span is in EXPR), usage errors about an --at
  value too; usage errors about options, files and limits have no column (docs/limits.md: Errors);
- nothing written to stdout or stderr can act on a terminal (no ESC, no C1 control, no
  bidirectional override), whatever the input held.

This file is bounded for CI (about 2 500 examples, well under a minute);
HYPOTHESIS_PROFILE=long runs fifty times as many. All of it is `slow` (the everyday loop,
-m "not slow", leaves it to CI).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from conftest import without_warnings
from hypothesis import event, given, note
from hypothesis import strategies as st
from strategies import (
    POINT,
    VARIABLES,
    at_lists,
    at_specs,
    edge_expressions,
    finite_numbers,
    fuzz,
    texts,
    unsafe_for_terminal,
)

from autodiff_cli import AutodiffError
from autodiff_cli.errors import column_of
from autodiff_cli.render.errors import format_error

pytestmark = pytest.mark.slow

KINDS = {"parse", "name", "arity", "usage", "math", "shape", "limit", "input"}
OPTION_LIKE = re.compile(r"--[A-Za-z][-\w]*(=|\Z)")
LOCATED = {"parse", "name", "arity", "math", "shape"}  # always have a span in their source


def check_error(err: AutodiffError) -> None:
    """An AutodiffError as docs/limits.md promises it: a known kind and exit code, a span
    inside its source, and a printable report that names the column."""
    assert err.kind in KINDS, err.kind
    assert err.exit_code == (1 if err.kind in ("math", "shape") else 2), err
    if err.kind in LOCATED:
        assert err.span is not None, (err.kind, err.message)
    for problem in err.problems:
        if problem.span is not None:
            start, end = problem.span
            assert 0 <= start <= len(err.source) and start <= end <= len(err.source) + 1
    report = format_error(err)
    assert report.startswith("error: ")
    assert all(c == "\n" or c.isprintable() for c in report), repr(report)
    if err.span is not None and err.source:
        assert err.column == column_of(err.source, err.span[0]) >= 1
        assert "column" in report.splitlines()[0]


def finite(x: Any) -> bool:
    if isinstance(x, (int, float)):
        return math.isfinite(x)
    import numpy as np

    return bool(np.isfinite(np.asarray(x, dtype=float)).all())


def library_calls(text: str, at: dict[str, Any]) -> list[Callable[[], Any]]:
    from autodiff_cli.api import grad
    from autodiff_cli.grading import check_answers
    from autodiff_cli.gradoptions import grad_report
    from autodiff_cli.higher import hessian
    from autodiff_cli.render.diff import diff_json
    from autodiff_cli.symbolic import derivative
    from autodiff_cli.trace import trace

    return [
        lambda: grad(text, at).gradient,
        lambda: trace(text, at).gradient,
        lambda: diff_json(derivative(text))["derivative"],
        lambda: hessian(text, at).hessian,
        lambda: grad_report(text, at, mode="forward").result.gradient,
        lambda: [c.gradient for c in grad_report(text, at, check_fd=True).checks or []],
        lambda: grad_report(text, at, order=2).derivative,
        lambda: [a.got for a in check_answers(text, at, {"x": 1.0}).answers],
    ]


@fuzz(500)
@given(text=texts, call=st.integers(0, 7))
def test_library_raises_only_located_autodiff_errors(text: str, call: int) -> None:
    from autodiff_cli.inputs import parse_at

    note(repr(text))
    try:
        result = library_calls(text, parse_at([POINT]))[call]()
    except AutodiffError as err:
        event(f"call {call}: {err.kind}")
        check_error(err)
        return
    event(f"call {call}: ok")
    values = result.values() if isinstance(result, dict) else result
    for v in values:
        assert isinstance(v, str) or (finite(v) if not isinstance(v, dict)
                                      else all(map(finite, v.values()))), (text, result)


@fuzz(300)
@given(specs=st.lists(at_specs(), max_size=3))
def test_at_strings_parse_or_fail_with_a_column(specs: list[str]) -> None:
    from autodiff_cli.inputs import parse_at

    note(repr(specs))
    try:
        values = parse_at(specs)
    except AutodiffError as err:
        check_error(err)
        assert err.kind in ("usage", "limit")
        if err.message.startswith("--at "):  # about the text of one value: it has a place
            assert err.span is not None
        return
    assert all(map(finite, values.values()))


# -- the CLI ----------------------------------------------------------------------------------

FORMATS = {"grad": ["table", "json", "plain"], "trace": ["table", "json", "plain"],
           "hessian": ["table", "json", "plain"], "check": ["table", "json", "plain"],
           "diff": ["text", "latex", "json"], "graph": ["dot", "mermaid"]}


@st.composite
def command(draw: st.DrawFn) -> tuple[list[str], str | None, str]:
    """(args, stdin, format) of one command line with a fuzzed EXPR and --at."""
    name = draw(st.sampled_from(["grad", "grad", "grad", "trace", "graph", "hessian", "diff",
                                 "check"]))
    text = draw(texts)
    fmt = draw(st.sampled_from(FORMATS[name]))
    stdin = draw(st.booleans())
    args = [name, "-" if stdin else text, "--format", fmt]
    if name != "diff":
        for spec in draw(at_lists):
            args += ["--at", spec]
    extra = {
        "grad": st.sampled_from([[], [], ["--mode", "forward"], ["--mode", "reverse"],
                                 ["--check"], ["--order", "2"], ["--wrt", "x"],
                                 ["--wrt", "q"], ["--seed-grad", "2"], ["--seed", "7"]]),
        "trace": st.sampled_from([[], ["--graph"], ["--max-rows", "3"], ["--mode", "forward"]]),
        "graph": st.just([]),
        "hessian": st.sampled_from([[], ["--wrt", "x"]]),
        "diff": st.sampled_from([[], ["--wrt", "x"], ["--order", "2"], ["--expand"]]),
        "check": st.sampled_from([["--expect", "x=1"], ["--value", "1", "--expect", "a=0"],
                                  ["--expect", "x=1/3", "--tol", "1e-3"]]),
    }[name]
    args += draw(extra)
    return args, text if stdin else None, fmt


def _bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def check_run(cli: Any, args: list[str], stdin: str | None, fmt: str) -> Any:
    """Run a command line; stdin as the bytes a shell would pass (a lone surrogate from
    bytes that are not UTF-8 goes back to those bytes, or is written as UTF-8 would not)."""
    data = None if stdin is None else _bytes(stdin)
    result = cli(*args, input=data)
    event(f"{args[0]} exit {result.exit_code}")
    note(repr((args, stdin, result.exit_code, result.stdout[:2000], result.stderr[:2000])))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert result.exit_code in {0, 1, 2}
    assert "Traceback" not in result.output and "internal error" not in result.stderr
    assert not unsafe_for_terminal(result.stdout), unsafe_for_terminal(result.stdout)
    assert not unsafe_for_terminal(result.stderr), unsafe_for_terminal(result.stderr)
    if result.exit_code == 0:
        assert without_warnings(result.stderr) == ""
        if fmt in ("json", "jsonl"):  # jsonl: JSON lines, maybe none
            lines = result.stdout.splitlines()
            assert lines or fmt == "jsonl"
            assert all(finite_numbers(json.loads(line)) for line in lines)
    elif without_warnings(result.stderr):
        assert without_warnings(result.stderr).startswith("error: ")
    return result


@fuzz(800)
@given(cmd=command())
def test_every_command_exits_cleanly(cli: Any, cmd: tuple[list[str], str | None, str]) -> None:
    args, stdin, fmt = cmd
    result = check_run(cli, args, stdin, fmt)
    if args[0] == "grad" and len(args) == 4 + 2 * args.count("--at") and result.exit_code:
        # plain grad: the error has a column exactly when the library's error has a span
        from autodiff_cli.api import grad
        from autodiff_cli.inputs import parse_at

        source = stdin if stdin is not None else args[1]
        not_utf8 = stdin is not None and _bytes(stdin) != stdin.encode("utf-8", "replace")
        if OPTION_LIKE.match(source) or source in ("-", "--") or not_utf8:
            return  # the CLI's own reading of "--x", "--" (docs/limits.md: put "--" before such an
            # EXPR) and "-" (standard input); stdin that is not UTF-8, refused before --at
        try:
            grad(source, parse_at([a for k, a in itertools.pairwise(args) if k == "--at"]))
        except AutodiffError as err:
            located = err.span is not None and err.source != ""  # empty input: no column
            assert ("column" in without_warnings(result.stderr).splitlines()[0]) == located, \
                (err.message, result.stderr)


@fuzz(300)
@given(text=edge_expressions(), x=st.sampled_from(["1", "0", "-0", "-1", "1e308", "-1e308",
                                                   "5e-324", "1e-200", "710", "0.5"]),
       cmd=st.sampled_from([["grad", "--format", "json"], ["grad", "--mode", "forward"],
                            ["grad", "--check"], ["grad", "--order", "2"], ["trace"],
                            ["trace", "--format", "json"], ["graph"], ["hessian"],
                            ["check", "--expect", "x=1"], ["diff", "--format", "json"]]))
def test_numeric_edges_are_numbers_or_located_math_errors(cli: Any, text: str, x: str,
                                                          cmd: list[str]) -> None:
    """Every op at the edges of its domain and of the floats: a finite number, or exit 1
    with an error that names the operation and its column (docs/limits.md: Numeric policy)."""
    fmt = "json" if "json" in cmd else "table"
    at = [] if cmd[0] == "diff" else ["--at", f"{POINT},x={x}"]
    result = check_run(cli, [*cmd, text, *at], None, fmt)
    said = without_warnings(result.stderr)
    first = said.splitlines()[0] if said else ""
    if result.exit_code == 1 and first.startswith("error: ") and cmd[0] != "check" and \
            "gradient check failed" not in first:
        assert "column" in first or first.startswith("error: a higher derivative"), first


@fuzz(150)
@given(lines=st.lists(st.one_of(
    st.builds(lambda t, at: json.dumps({"id": t[:20], "expr": t, "at": at}),
              texts, st.sampled_from([POINT, {"x": 1}, {"x": "pi/4"}, {"x": 1e308},
                                      {"x": "inf"}, {"x": [1]}, "x=", {"[red]": 1}])),
    st.builds(lambda t: json.dumps({"id": [t], "expr": "x", "at": {"x": 1}}), texts),
    st.text(st.sampled_from('{}[]":,1x \\'), max_size=30),
), min_size=1, max_size=6), mode=st.sampled_from([[], ["--mode", "forward"]]))
def test_batch_answers_every_line(cli: Any, lines: list[str], mode: list[str]) -> None:
    result = check_run(cli, ["grad", "--batch", "-", *mode, "--format", "json"],
                       "\n".join(lines) + "\n", "jsonl")
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == sum(1 for line in lines if line.strip())
    assert result.exit_code == (0 if all("error" not in o for o in out) else 1)
    for o in out:
        assert finite_numbers(o)
        if "error" in o:
            assert set(o["error"]) == {"kind", "message", "column"}
            assert o["error"]["kind"] in KINDS | {"json"}


@fuzz(100)
@given(gate=st.one_of(st.sampled_from(["and", "xor", "XNOR", "nand ", "x0r", "[red]", "-1"]),
                      st.text(max_size=6)),
       options=st.lists(st.sampled_from([
           ["--hidden", "0"], ["--hidden", "2,2"], ["--hidden", "-1"], ["--hidden", "x"],
           ["--lr", "nan"], ["--lr", "1e308"], ["--lr", "-1"], ["--lr", "0.5"],
           ["--epochs", "0"], ["--epochs", "-3"], ["--epochs", "12"], ["--tol", "inf"],
           ["--seed", "3"], ["--weights", "10,10,-15"], ["--weights", "1e999,1,1"],
           ["--weights", "[red],\x1b"], ["--table", "0,1,1,0"], ["--table", "2"],
           ["--activation", "relu"], ["--loss", "bce"], ["--format", "json"]]),
           max_size=4))
def test_train_gate_exits_cleanly(cli: Any, gate: str, options: list[list[str]]) -> None:
    args = ["train-gate", gate, "--epochs", "30"] + [w for o in options for w in o]
    check_run(cli, args, None, "json" if "json" in args else "table")


@fuzz(150)
@given(words=st.lists(st.one_of(
    st.sampled_from(["grad", "trace", "graph", "hessian", "diff", "check", "train-gate",
                     "--at", "--format", "--wrt", "--mode", "--order", "--file", "-f", "-",
                     "--", "-x", "-1", "--help", "-h", "--version", "--nope", "--seed",
                     "--max-rows", "--output", "--expect", "--batch", "x=1", "json", "x"]),
    st.text(max_size=8)), max_size=7))
def test_any_command_line_exits_cleanly(cli: Any, words: list[str]) -> None:
    """Words in any order: Typer's own usage errors are short, printable messages too."""
    args = [w for w in words if w not in ("--output", "--file", "-f", "--batch")] or ["grad"]
    check_run(cli, args, "x", "table")


@fuzz(100)
@given(text=texts, fmt=st.sampled_from(["table", "json", "plain"]))
def test_terminal_never_receives_control_characters(cli: Any, text: str, fmt: str) -> None:
    """A comment, a name or a stray character holding ESC, CSI or a bidirectional override
    reaches neither stdout nor stderr (check_run asserts it)."""
    for payload in ("# \x1b[31m[red]x\x9b2J\u202e", f"# {text}"):
        source = f"x + a {payload}\n{text}" if "\n" not in text else f"{text} {payload}"
        check_run(cli, ["grad", source, "--at", POINT, "--format", fmt], None, fmt)
        check_run(cli, ["trace", source, "--at", POINT, "--graph"], None, "table")


def test_fuzz_alphabet_reaches_the_variables() -> None:
    assert set(VARIABLES) <= {p.split("=")[0] for p in POINT.split(",")}
