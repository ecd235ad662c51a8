"""The command line: formats, options, input sources, exit codes and error reports.

Most tests go through typer's CliRunner; a few run the installed console script.
Golden files in tests/golden/ were written and checked by hand.
"""

from __future__ import annotations

import json
import math
import shlex
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, REPO, caret_columns, subprocess_env

import autodiff_cli

DATA = Path(__file__).resolve().parent / "data"


def lines(text: str) -> list[str]:
    """Lines without trailing blanks (rich pads table lines to their width)."""
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-finite number {name} in JSON output")

    return json.loads(text, parse_constant=refuse)


def ok(result: Any) -> Any:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout
    return result


def failed(result: Any, code: int) -> str:
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert "\x1b[" not in result.stderr
    return result.stderr


SEED = ["grad", "(a+b)*(b+1)", "--at", "a=3,b=2"]


# -- the three formats ----------------------------------------------------------------------


def test_table_golden(cli: Any) -> None:
    out = ok(cli(*SEED)).stdout
    assert lines(out) == lines((GOLDEN / "grad_table.txt").read_text("utf-8"))


def test_table_is_the_default_and_equals_explicit_table(cli: Any) -> None:
    assert ok(cli(*SEED)).stdout == ok(cli(*SEED, "--format", "table")).stdout


LONG = ("a_very_long_variable_name_number_one", "a_very_long_variable_name_number_two")


def test_table_width_follows_columns(cli: Any) -> None:
    expr = "*".join(LONG)
    at = ",".join(f"{n}=2" for n in LONG)
    for width in (40, 60):
        out = ok(cli("grad", expr, "--at", at, env={"COLUMNS": str(width)})).stdout
        assert max(len(line) for line in out.splitlines()) <= width
        assert all(name in out for name in LONG)


def test_table_never_hides_which_variable_a_row_is(cli: Any) -> None:
    # a name too long for its column is folded onto the next line, never cut with '…'
    expr = "*".join(LONG)
    at = ",".join(f"{n}=2" for n in LONG)
    out = ok(cli("grad", expr, "--at", at, env={"COLUMNS": "40"})).stdout
    assert "…" not in out
    lines = [line.strip() for line in out.splitlines()]
    assert all(name in lines for name in LONG)  # each whole, on a line of its own


def test_json_golden(cli: Any) -> None:
    out = ok(cli(*SEED, "--format", "json")).stdout
    data = strict_json(out)
    golden = json.loads((GOLDEN / "grad.json").read_text("utf-8"))
    assert data == golden
    assert list(data) == ["expression", "value", "at", "gradient"]
    assert out.endswith("}\n") and out.count("\n") == 1


def test_plain_golden(cli: Any) -> None:
    out = ok(cli(*SEED, "--format", "plain")).stdout
    assert out == (GOLDEN / "grad_plain.txt").read_text("utf-8")


def test_people_get_short_numbers_and_scripts_get_exact_ones(cli: Any) -> None:
    args = ["grad", "x/3", "--at", "x=1"]
    assert "0.333333" in ok(cli(*args)).stdout
    assert "0.3333333333333333" not in ok(cli(*args)).stdout
    assert ok(cli(*args, "--format", "plain")).stdout == \
        "0.3333333333333333\nx 0.3333333333333333\n"
    data = strict_json(ok(cli(*args, "--format", "json")).stdout)
    assert data["value"] == 1 / 3
    assert data["gradient"] == {"x": 1 / 3}


def test_json_types(cli: Any) -> None:
    data = strict_json(ok(cli("grad", "2 * pi", "--format", "json")).stdout)
    assert data == {"expression": "2 * pi", "value": 2 * math.pi, "at": {}, "gradient": {}}


def test_json_keeps_unicode(cli: Any) -> None:
    out = ok(cli("grad", "θ^2", "--at", "θ=3", "--format", "json")).stdout
    assert "θ" in out
    assert strict_json(out)["gradient"] == {"θ": 6.0}


def test_an_unused_value_is_a_warning_naming_the_closest_name(cli: Any) -> None:
    r = cli("grad", "x^2 + yy", "--at", "x=1,yy=2,yz=3")
    assert r.exit_code == 0
    assert r.stderr == ("warning: yz is given a value but the expression does not use it "
                        "(its gradient is 0)\nhint: did you mean yy?\n")
    assert ok(cli("-q", "grad", "x^2 + yy", "--at", "x=1,yy=2,yz=3"))


@pytest.mark.parametrize(("expr", "reading"), [
    ("1/2x", "1/2x reads as 1/(2x)"), ("x/2x", "x/2x reads as x/(2x)"),
    ("2^3x", "2^3x reads as (2^3)*x"), ("x^-2x", "x^-2x reads as (x^-2)*x"),
    ("2e-x", "2e-x reads as 2*e - x"),
])
def test_ambiguous_implicit_products_warn_and_still_succeed(cli: Any, expr: str,
                                                            reading: str) -> None:
    r = cli("grad", expr, "--at", "x=2")
    assert r.exit_code == 0 and r.stderr.startswith(f"warning: {reading}")
    assert ok(cli("--quiet", "grad", expr, "--at", "x=2"))
    for clear in ("x/2", "(1/2)x", "1/(2x)", "2^(3x)", "2*e - x", "2e-3*x"):
        assert ok(cli("grad", clear, "--at", "x=2"))


@pytest.mark.parametrize(
    ("expr", "at", "order"),
    [
        ("(a+b)*(b+1)", "b=2,a=3", ["a", "b"]),
        ("sin(b) + a", "a=1,b=2", ["b", "a"]),
        ("q = c*b; q + a", "a=1,b=2,c=3", ["c", "b", "a"]),
        ("y", "z=1,y=2", ["y", "z"]),  # unused names come last, gradient 0
    ],
)
def test_variables_in_order_of_first_appearance(cli: Any, expr: str, at: str,
                                               order: list[str]) -> None:
    data = strict_json(ok(cli("-q", "grad", expr, "--at", at, "--format", "json")).stdout)
    assert list(data["at"]) == order
    assert list(data["gradient"]) == order
    plain = ok(cli("-q", "grad", expr, "--at", at, "--format", "plain")).stdout
    assert [line.split()[0] for line in plain.splitlines()[1:]] == order


def test_at_values_may_be_constant_expressions_and_repeat(cli: Any) -> None:
    out = ok(cli("grad", "sin(x)^2 + y", "--at", "x=pi/4", "--at", "y = -1e-1",
                 "--format", "json")).stdout
    data = strict_json(out)
    assert data["at"] == {"x": math.pi / 4, "y": -0.1}
    assert data["value"] == pytest.approx(0.5 - 0.1, rel=1e-15)
    assert data["gradient"]["x"] == pytest.approx(1.0, rel=1e-15)  # sin(2x)


def test_constants_and_at_e(cli: Any) -> None:
    data = strict_json(ok(cli("grad", "e^x", "--at", "x=1", "--format", "json")).stdout)
    assert data["value"] == pytest.approx(math.e, rel=1e-15)
    assert data["at"] == {"x": 1.0}
    data = strict_json(ok(cli("grad", "e^x", "--at", "x=1,e=2", "--format", "json")).stdout)
    assert data["value"] == 2.0
    assert data["at"] == {"e": 2.0, "x": 1.0}
    assert data["gradient"] == {"e": 1.0, "x": pytest.approx(2 * math.log(2), rel=1e-15)}


@pytest.mark.parametrize("at", [["--at", "a=1,a=2"], ["--at", "a=1", "--at", "a=2"]])
def test_a_name_given_twice_is_refused(cli: Any, at: list[str]) -> None:
    err = failed(cli("grad", "a", *at), 2)
    assert "a is given twice" in err


# -- --wrt ----------------------------------------------------------------------------------


def test_wrt_selects_and_orders(cli: Any) -> None:
    data = strict_json(ok(cli(*SEED, "--wrt", " b , a ", "--format", "json")).stdout)
    assert list(data["gradient"]) == ["b", "a"]
    assert data["gradient"] == {"b": 8.0, "a": 3.0}
    assert data["at"] == {"a": 3.0, "b": 2.0}
    assert ok(cli(*SEED, "--wrt", "b", "--format", "plain")).stdout == "15\nb 8\n"


def test_wrt_unknown_name(cli: Any) -> None:
    err = failed(cli(*SEED, "--wrt", "a,c"), 2)
    assert "c" in err
    assert "the variables are a, b" in err


# -- where the expression comes from -----------------------------------------------------


@pytest.mark.parametrize("flag", ["--file", "-f"])
def test_file(cli: Any, flag: str) -> None:
    out = ok(cli("grad", flag, str(DATA / "seed_program.txt"), "--at", "a=3",
                 "--wrt", "a", "--format", "plain")).stdout
    assert out == (GOLDEN / "seed_program_plain.txt").read_text("utf-8")


def test_file_missing(cli: Any, tmp_path: Path) -> None:
    err = failed(cli("grad", "--file", str(tmp_path / "nope.txt"), "--at", "a=1"), 2)
    assert "cannot read" in err


def test_file_not_utf8(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"\xe9 + 1")
    assert "cannot read" in failed(cli("grad", "--file", str(path)), 2)


def test_file_and_expression_together(cli: Any) -> None:
    err = failed(cli("grad", "a", "--file", str(DATA / "seed_program.txt"), "--at", "a=1"), 2)
    assert "not both" in err


def test_stdin(cli: Any) -> None:
    out = ok(cli("grad", "-", "--at", "a=2,b=5", "--format", "json",
                 input="# from a pipe\nc = a*b\nc + 1\n")).stdout
    data = strict_json(out)
    assert (data["value"], data["gradient"]) == (11.0, {"a": 5.0, "b": 2.0})


def test_stdin_error_points_into_stdin_text(cli: Any) -> None:
    err = failed(cli("grad", "-", input="a = 1\nb = a +* 2\n"), 2)
    assert "line 2, column 8" in err
    assert caret_columns(err) == [8]


def test_expression_starting_with_minus_after_double_dash(cli: Any) -> None:
    out = ok(cli("grad", "--at", "x=3", "--format", "plain", "--", "-x^2")).stdout
    assert out == "-9\nx -6\n"


def test_expression_starting_with_minus(cli: Any) -> None:
    out = ok(cli("grad", "-x^2", "--at", "x=3", "--format", "plain")).stdout
    assert out == "-9\nx -6\n"


def test_missing_expression(cli: Any) -> None:
    err = failed(cli("grad", "--at", "a=1"), 2)
    assert "missing EXPR" in err


# -- exit codes and error reports -------------------------------------------------------


def test_math_error_golden(cli: Any) -> None:
    err = failed(cli("grad", "1 + 1/x", "--at", "x=0"), 1)
    assert lines(err) == lines((GOLDEN / "error_math.txt").read_text("utf-8"))


def test_name_errors_golden(cli: Any) -> None:
    err = failed(cli("grad", "x + y*z + x"), 2)
    assert lines(err) == lines((GOLDEN / "error_names.txt").read_text("utf-8"))


@pytest.mark.parametrize(
    ("args", "code", "columns", "text"),
    [
        (["grad", "x y", "--at", "x=1,y=2"], 2, [3], "missing operator"),
        (["grad", "(a+b)*(b+1", "--at", "a=3,b=2"], 2, [11], "unexpected end of input"),
        (["grad", "1 + sinn(2)"], 2, [5], "did you mean sin(...)?"),
        (["grad", "1 + sin(1, 2)"], 2, [5], "takes 1 argument"),
        (["grad", "log(x) + 1", "--at", "x=-1"], 1, [1], "log"),
        (["grad", "2*sqrt(x)", "--at", "x=0"], 1, [3], "derivative"),
        (["grad", "a", "--at", "a=1/0"], 2, [3], "division by zero"),
        (["grad", "a", "--at", "a=3,1b=2"], 2, [5], "not a valid name"),
        (["grad", "a", "--at", "a"], 2, [1], "NAME=VALUE"),
        (["grad", "a = 1; a = 2"], 2, [8], "assigned twice"),
    ],
)
def test_errors_exit_codes_and_carets(cli: Any, args: list[str], code: int,
                                      columns: list[int], text: str) -> None:
    err = failed(cli(*args), code)
    assert err.startswith("error: ")
    assert text in err
    assert caret_columns(err) == columns


@pytest.mark.parametrize(
    "args",
    [["grad", "a", "--format", "xml"], ["grad", "a", "--nope"], ["nope"],
     ["grad", "a", "--at"]],
)
def test_command_line_usage_errors_exit_2(cli: Any, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_control_characters_are_not_echoed_raw(cli: Any) -> None:
    err = failed(cli("grad", "1 +\x1b[31m 2"), 2)
    assert "\x1b" not in err
    assert caret_columns(err) == [4]


def test_long_line_error_is_windowed_and_caret_still_points_at_it(cli: Any) -> None:
    expr = " + ".join(f"v{i}" for i in range(60)) + " + $"
    err = failed(cli("grad", expr), 2)
    echoed, caret = err.splitlines()[1:3]
    assert len(echoed) < 100
    assert echoed[caret.index("^")] == "$"


def test_caret_under_the_error_after_wide_characters(cli: Any) -> None:
    err = failed(cli("grad", "好 + $"), 2)
    echoed, caret = err.splitlines()[1:3]

    def cells(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    assert cells(caret[: caret.index("^")]) == cells(echoed[: echoed.index("$")])


def test_deep_input_through_the_cli(cli: Any) -> None:
    expr = "(" * 5000 + "a" + ")" * 5000
    data = strict_json(ok(cli("grad", "-", "--at", "a=2", "--format", "json",
                              input=expr)).stdout)
    assert data["gradient"] == {"a": 1.0}


# -- version and help ---------------------------------------------------------------------


def test_version(cli: Any) -> None:
    assert ok(cli("--version")).stdout == f"autodiff {autodiff_cli.__version__}\n"
    pyproject = (REPO / "pyproject.toml").read_text("utf-8")
    assert f'\nversion = "{autodiff_cli.__version__}"\n' in pyproject


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help(cli: Any, flag: str) -> None:
    out = ok(cli(flag)).stdout
    assert "grad" in out
    assert "--version" in out
    out = ok(cli("grad", flag)).stdout
    for option in ("--at", "--wrt", "--file", "--format", "EXPR"):
        assert option in out
    assert all(len(line) <= 100 for line in out.splitlines())


COMMANDS = ["grad", "trace", "graph", "train-gate", "hessian", "diff", "check"]
WIDTHS = ["60", "80", "200"]


def help_examples(text: str) -> list[str]:
    """The lines after "Examples:" in a command's help, stripped."""
    return [line.strip() for line in text.split("Examples:", 1)[1].splitlines() if line.strip()]


def shell_words(line: str) -> list[str]:
    """The words of a command line as a POSIX shell reads them; ( ) ; | & < > are words of
    their own where they are not quoted."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


@pytest.mark.parametrize("columns", WIDTHS)
@pytest.mark.parametrize("command", COMMANDS)
def test_help_examples_are_one_per_line_and_paste_into_a_shell(cli: Any, command: str,
                                                               columns: str) -> None:
    out = ok(cli(command, "--help", env={"COLUMNS": columns})).stdout
    assert all(line == line.rstrip() for line in out.splitlines())
    examples = help_examples(out)
    assert len(examples) >= 3
    for line in examples:
        words = shell_words(line)
        assert words[:2] == ["autodiff", command], line
        if ">" in words:  # one redirection of standard output, at the end
            assert words.index(">") == len(words) - 2, line
            words = words[:-2]
        assert not set(words) & set("();|&<>"), line  # nothing a shell would read as syntax
    wide = ok(cli(command, "--help", env={"COLUMNS": "200"})).stdout
    assert examples == help_examples(wide)  # the terminal's width never splits one


@pytest.mark.parametrize("command", COMMANDS)
def test_every_help_example_runs(cli: Any, command: str, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "houses.csv").write_bytes((REPO / "examples" / "houses.csv")
                                                       .read_bytes())
    (tmp_path / "program.txt").write_text("b = a^2\nb + 3*a\n", encoding="utf-8")
    (tmp_path / "answers.jsonl").write_text(
        '{"id": 1, "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2}}\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for line in help_examples(ok(cli(command, "--help")).stdout):
        words = shell_words(line)[1:]
        if ">" in words:
            words = words[:words.index(">")]
        if any(w.endswith(".svg") for w in words) and shutil.which("dot") is None:
            continue  # rendering needs Graphviz
        result = cli(*words)
        assert result.exit_code == 0, (line, result.stderr)


@pytest.mark.parametrize("columns", WIDTHS)
def test_the_command_list_shows_whole_sentences(cli: Any, columns: str) -> None:
    out = ok(cli("--help", env={"COLUMNS": columns})).stdout
    listing = out.split("Commands:", 1)[1].splitlines()
    for name in COMMANDS:
        [line] = [line for line in listing if line.split()[:1] == [name]]
        assert line.endswith(".") and not line.endswith("..."), line


# -- the installed console script, as a real process ---------------------------------------

SCRIPT = Path(sys.executable).parent / "autodiff"
needs_script = pytest.mark.skipif(not SCRIPT.exists(), reason=f"no console script at {SCRIPT}")


def run(*args: str, input: str | None = None, cwd: Path | None = None) -> Any:
    return subprocess.run([str(SCRIPT), *args], input=input, capture_output=True, text=True,
                          env=subprocess_env(), cwd=cwd, timeout=60)


@needs_script
def test_script_json(tmp_path: Path) -> None:
    p = run(*SEED, "--format", "json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert strict_json(p.stdout) == json.loads((GOLDEN / "grad.json").read_text("utf-8"))


@needs_script
def test_script_table_not_a_terminal(tmp_path: Path) -> None:
    p = run(*SEED, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "\x1b[" not in p.stdout
    assert lines(p.stdout) == lines((GOLDEN / "grad_table.txt").read_text("utf-8"))


@needs_script
def test_script_stdin() -> None:
    p = run("grad", "-", "--at", "a=3", "--format", "plain",
            input=(DATA / "seed_program.txt").read_text("utf-8"))
    assert (p.returncode, p.stdout) == (0, "75\na 35\n")


@needs_script
@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["grad", "1/x", "--at", "x=0"], 1, "division by zero"),
        (["grad", "x y", "--at", "x=1,y=2"], 2, "missing operator"),
        (["grad", "q"], 2, "q has no value"),
        (["grad", "a", "--format", "xml"], 2, "xml"),
    ],
)
def test_script_exit_codes(args: list[str], code: int, text: str) -> None:
    p = run(*args)
    assert p.returncode == code
    assert p.stdout == ""
    assert text in p.stderr
    assert "Traceback" not in p.stderr


@needs_script
def test_script_table_on_a_non_utf8_stdout() -> None:
    p = subprocess.run([str(SCRIPT), *SEED], capture_output=True,
                       env={**subprocess_env(), "PYTHONIOENCODING": "ascii"}, timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"15" in p.stdout


@needs_script
def test_script_version() -> None:
    p = run("--version")
    assert (p.returncode, p.stdout) == (0, f"autodiff {autodiff_cli.__version__}\n")


def test_module_entry_point() -> None:
    p = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", "grad", "2x", "--at", "x=1",
                        "--format", "plain"], capture_output=True, text=True,
                       env=subprocess_env(), timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, "2\nx 2\n", "")
