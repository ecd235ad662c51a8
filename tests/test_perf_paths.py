"""The start-up shortcuts change no output: the table laid out without rich is rich's text,
typer's option values arrive unchanged without pydantic, the parser's cache is used when it
can be and never needed, and a grad run imports neither numpy, pydantic nor rich's table."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import autodiff_cli
from autodiff_cli import parse as parse_module
from autodiff_cli.cli import app
from autodiff_cli.render.errors import printable
from autodiff_cli.render.table import Prose, Table, cells, lay_out, table_width, to_rich

ROOT = Path(autodiff_cli.__file__).resolve().parent.parent
ENV = {"NO_COLOR": "1", "COLUMNS": "100"}

# -- the table without rich ---------------------------------------------------------------

TEXT = st.text(alphabet="ab xyz019.-+*()[]=θ∂éЖ\t\u0301", max_size=14)


def rich_text(table: Table, width: int) -> str:
    from rich.console import Console

    out = io.StringIO()
    Console(file=out, no_color=True, color_system=None, highlight=False, emoji=False,
            markup=False, width=width).print(to_rich(table, fancy=False))
    return "".join(line.rstrip() + "\n" for line in out.getvalue().splitlines())


@st.composite
def tables(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> Table:
    n = draw(st.integers(1, 4))
    row = st.tuples(*[text] * n)
    return Table(tuple(draw(row)), tuple(draw(st.sampled_from(["left", "right"]))
                                         for _ in range(n)),
                 draw(st.lists(row, max_size=4)), draw(text), draw(text),
                 tuple(draw(st.lists(text, max_size=3))), draw(st.booleans()))


SIMPLE = st.text(alphabet="ab xyz019.-+*()[]=θ∂", max_size=8)


def _texts(table: Table) -> list[str]:
    return [table.title, table.caption, *table.above, *table.headers,
            *(c for r in table.rows for c in r)]


@settings(max_examples=400, deadline=None)
@given(tables(SIMPLE), st.integers(8, 80))
def test_a_table_that_fits_is_laid_out_as_rich_prints_it(table: Table, width: int) -> None:
    """Where rich has nothing to wrap, our layout for a pipe is rich's text, less the
    spaces rich leaves at the ends of lines."""
    assume(table_width(table) <= width)
    assume(all(len(t) <= table_width(table) for t in (table.title, table.caption)))
    assume(all(len(t) <= width and t == t.strip() for t in table.above))
    assert lay_out(table, width) == rich_text(table, width)


@settings(max_examples=400, deadline=None)
@given(tables(), st.integers(8, 80))
def test_nothing_is_cut_split_or_padded(table: Table, width: int) -> None:
    """Every word of every text comes out whole, no line ends in a space, and the page is
    wide enough for all of it unless a single word is too wide for it."""
    text = lay_out(table, width)
    joined = re.sub(r"\n *", "", text)  # a word too long for a line breaks after an operator
    given = [word for t in _texts(table) for word in printable(t).split()]
    assert all(word in joined for word in given)
    for line in text.splitlines():
        assert line == line.rstrip()
        assert cells(line) <= width or any(cells(w) > width // 3 for w in given), line


def test_a_wide_table_is_cut_into_column_groups_beside_its_first_column() -> None:
    names = [f"x{i}" for i in range(12)]
    table = Table(("variable", *names), ("left", *("right",) * 12),
                  [("row", *("123456789",) * 12)], pad_edge=False)
    text = lay_out(table, 60)
    groups = [block.splitlines() for block in text.strip().split("\n\n")]
    assert len(groups) == 3 and all(g[0].startswith("variable") for g in groups)
    assert all(len(line) <= 60 for g in groups for line in g)
    assert sum(line.count("123456789") for g in groups for line in g) == 12


def test_where_no_column_fits_beside_the_first_each_row_is_its_own_list() -> None:
    table = Table(("name", "value", "note"), ("left", "right", "left"),
                  [("x", "1.5", "a note " * 12), ("y", "2", "short")], pad_edge=False)
    assert lay_out(table, 40).startswith("name x\n  value  1.5\n  note   a note")


def test_a_long_word_breaks_after_an_operator_never_inside_a_name_or_number() -> None:
    text = "alpha_one*beta_two+1e-5*gamma_three-2.5e+7/delta"
    lines = lay_out(text, 12).splitlines()
    assert lines == ["alpha_one*", "  beta_two+", "  1e-5*", "  gamma_three-", "  2.5e+7/",
                     "  delta"]


def test_a_program_wraps_between_its_statements() -> None:
    line = "graph: H1 = tanh(X @ W1 + b1); Z = H1 @ W2 + b2; O = sigmoid(Z); L = mean((O - Y)^2)"
    assert lay_out(Prose(line, wrap="parts"), 60) == (
        "graph: H1 = tanh(X @ W1 + b1);\n       Z = H1 @ W2 + b2;\n       O = sigmoid(Z);\n"
        "       L = mean((O - Y)^2)\n")


def test_grad_table_on_a_pipe_is_rich_text() -> None:
    result = CliRunner().invoke(app, ["grad", "(a+b)*(b+1)", "--at", "a=3,b=2"], env=ENV)
    assert result.exit_code == 0
    golden = Path(__file__).parent / "golden" / "grad_table.txt"
    assert result.output == golden.read_text("utf-8")


# -- option values without pydantic -------------------------------------------------------

@pytest.mark.parametrize(("args", "code", "wanted"), [
    (["--at", "a=3", "--at", "b=2", "--format", "plain"], 0, "15\na 3\nb 8\n"),
    (["--at", "a=3,b=2", "--wrt", "b", "--format", "plain"], 0, "15\nb 8\n"),
    (["--at", "a=3,b=2", "--format", "PLAIN"], 2, "'PLAIN' is not one of"),
    (["--at", "a=3,b=2", "--format", "xml"], 2, "'xml' is not one of"),
])
def test_option_values(args: list[str], code: int, wanted: str) -> None:
    result = CliRunner().invoke(app, ["grad", "(a+b)*(b+1)", *args], env=ENV)
    assert result.exit_code == code
    assert wanted in result.output


def test_file_option_is_read_by_us(tmp_path: Path) -> None:
    program = tmp_path / "p.txt"
    program.write_text("b = 4*a; c = b + 3; d = a + 2; e = c*d\n")
    result = CliRunner().invoke(app, ["grad", "--file", str(program), "--at", "a=3",
                                      "--format", "plain"], env=ENV)
    assert (result.exit_code, result.output) == (0, "75\na 35\n")
    result = CliRunner().invoke(app, ["grad", "--file", str(tmp_path), "--at", "a=3"], env=ENV)
    assert result.exit_code == 2 and "cannot read" in result.output  # a directory


def imported(argv: list[str], heavy: list[str], stdin: str | None = None) -> list[str]:
    """Which of `heavy` a run of `autodiff *argv` (main(), in a fresh process) imports."""
    code = ("import json, sys\nfrom autodiff_cli.cli import main\n"
            f"sys.argv = ['autodiff', *{argv!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), **ENV}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True, input=stdin)
    return list(json.loads(done.stdout.splitlines()[-1]))


HEAVY = ["numpy", "pydantic", "rich.table", "rich.console", "sympy"]


def test_grad_imports_only_what_it_needs() -> None:
    assert imported(["grad", "(a+b)*(b+1)", "--at", "a=3,b=2"], HEAVY) == []


def test_grad_from_a_file_or_stdin_imports_no_more_than_from_expr(tmp_path: Path) -> None:
    program = tmp_path / "prog.txt"
    program.write_text("b = 4*a; c = b + 3; d = a + 2; e = c*d\n", encoding="utf-8")
    assert imported(["grad", "--file", str(program), "--at", "a=3"], HEAVY) == []
    assert imported(["grad", "-f", str(program), "--at", "a=3", "--format", "json"],
                    HEAVY) == []
    assert imported(["grad", "-", "--at", "a=3"], HEAVY, stdin=program.read_text()) == []


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["grad", "--help"], ["trace", "-h"],
                                  ["check", "--help"], []])
def test_help_loads_no_parser_numpy_or_rich(argv: list[str]) -> None:
    """Help is plain text, written before anything that computes is imported."""
    heavy = [*HEAVY, "lark", "rich", "autodiff_cli.parse", "autodiff_cli.engine"]
    assert imported(argv, heavy) == []


# -- the parser's cache -------------------------------------------------------------------

@pytest.fixture
def fresh_parser(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    """_parser() built anew under the environment the test sets up, and again afterwards."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    parse_module._parser.cache_clear()
    yield parse_module
    parse_module._parser.cache_clear()


def build(module, caplog: pytest.LogCaptureFixture) -> str:  # type: ignore[no-untyped-def]
    """Build the parser afresh, parse with it, and return Lark's log."""
    module._parser.cache_clear()
    caplog.clear()
    lark_log = logging.getLogger("lark")
    level = lark_log.level
    lark_log.setLevel(logging.DEBUG)
    try:
        with caplog.at_level(logging.DEBUG, logger="lark"):
            program = module.parse("(a+b)*(b+1)")
    finally:
        lark_log.setLevel(level)
    assert len(program.stmts) == 1
    return caplog.text


def test_cache_is_written_then_used(fresh_parser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert "Saving grammar to cache" in build(fresh_parser, caplog)
    files = list((tmp_path / "cache" / "autodiff-cli").iterdir())
    assert len(files) == 1
    assert "Loading grammar from cache" in build(fresh_parser, caplog)


def test_nothing_is_made_outside_existing_directories(
        fresh_parser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "no-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "no-home"))
    found = fresh_parser.cache_file(fresh_parser.grammar_text())
    assert found is not None and found.parent.parent == tmp_path / "tmp"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


def test_unwritable_places_mean_no_cache_but_a_parser(
        fresh_parser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker / "cache"))
    monkeypatch.setenv("HOME", str(blocker / "home"))
    monkeypatch.setattr("tempfile.tempdir", str(blocker / "tmp"))
    assert fresh_parser.cache_file(fresh_parser.grammar_text()) is None
    assert "cache" not in build(fresh_parser, caplog)


def test_a_directory_others_can_write_is_not_used(
        fresh_parser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "cache" / "autodiff-cli"
    shared.mkdir(parents=True)
    shared.chmod(0o777)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    found = fresh_parser.cache_file(fresh_parser.grammar_text())
    assert found is not None and shared not in found.parents
    if hasattr(os, "getuid"):
        assert found.parent.name == "autodiff-cli" and found.parent.stat().st_mode & 0o777 == 0o700


def test_a_corrupt_cache_is_rebuilt(fresh_parser, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch,
                                    caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "cache").mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = fresh_parser.cache_file(fresh_parser.grammar_text())
    path.write_bytes(b"not a pickle")
    build(fresh_parser, caplog)
    assert "Loading grammar from cache" in build(fresh_parser, caplog)


@pytest.mark.parametrize("annotation", [int, float, str, list[str]])
def test_plain_coercion_agrees_with_typers_own(annotation: type) -> None:
    coercion = pytest.importorskip("typer._coercion")
    from typer import core
    from typer.models import OptionInfo

    if core.build_runtime_param is coercion.build_runtime_param:
        pytest.skip("this typer coerces without pydantic anyway")
    descriptor = coercion.resolve_type_descriptor(annotation, OptionInfo())
    ours, typers = core.build_runtime_param(descriptor), coercion.build_runtime_param(descriptor)
    samples = ["007", "-3", "+4", "1e3", "1.5", ".5", "5.", "-0", "1E+2", "9" * 30, "x", "", 7,
               2.5, "٣"]
    for value in ([samples] if annotation == list[str] else samples):
        try:
            wanted = typers._coerce_value(value, param=None, ctx=None)
        except Exception as err:
            with pytest.raises(type(err)):
                ours._coerce_value(value, param=None, ctx=None)
            continue
        got = ours._coerce_value(value, param=None, ctx=None)
        assert (got, type(got)) == (wanted, type(wanted))


def test_a_named_command_builds_alone_and_every_command_is_reachable() -> None:
    from autodiff_cli.cli import _command_name, app, app_for

    names = [_command_name(c) for c in app.registered_commands]
    assert {"grad", "trace", "graph", "train-gate", "hessian", "diff", "check"} <= set(names)
    for name in names:
        one = app_for([name, "--help"])
        assert [_command_name(c) for c in one.registered_commands] == [name]
    assert app_for(["--version"]) is app
    assert app_for(["no-such-command"]) is app
    assert app_for([]) is app
