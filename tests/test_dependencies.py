"""The dependencies: the floors pyproject.toml declares are the versions .ci/floors.txt pins
(CI's second step installs those and runs the everyday tests), and where the CLI reaches
past a library's public names the shape is checked, so another version degrades instead of
failing at import."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace
from typing import Any

import pytest
import typer
from conftest import REPO
from packaging.requirements import Requirement
from packaging.version import Version

from autodiff_cli import argv, coercion
from autodiff_cli.render import _clean_cells

FLOORS = REPO / ".ci" / "floors.txt"


def declared() -> dict[str, Version]:
    """name -> the floor of each dependency in pyproject.toml (each has exactly one, >=)."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["project"]
    floors = {}
    for line in project["dependencies"]:
        req = Requirement(line)
        [spec] = req.specifier
        assert spec.operator == ">=", line
        floors[req.name] = Version(spec.version)
    return floors


def pinned() -> dict[str, Version]:
    pins = {}
    for line in FLOORS.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()  # type: ignore[union-attr]
            pins[name] = Version(version)
    return pins


def test_floors_txt_pins_exactly_the_declared_floors() -> None:
    assert pinned() == declared()
    assert {"typer", "rich", "lark", "numpy"} <= set(declared())


def test_ci_runs_the_everyday_tests_at_the_floors() -> None:
    script = (REPO / ".ci" / "run").read_text("utf-8")
    assert "-c .ci/floors.txt" in script and '-m "not slow and not numpy_digits"' in script


# -- click, found from typer's public names -------------------------------------------------

def test_click_exception_is_the_base_of_typers_usage_errors() -> None:
    base = argv.ClickException
    assert issubclass(typer.BadParameter, base) and base is not Exception
    assert {"format_message", "exit_code"} <= set(dir(base))


def test_a_usage_error_and_no_arguments_go_through_run(capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    from autodiff_cli.cli import app

    def main(args: list[str]) -> Any:
        return lambda: app(args, prog_name="autodiff", standalone_mode=False)

    assert argv.run(main(["grad", "--nope"])) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No such option: --nope") and "autodiff grad --help" in err
    assert argv.run(main([])) in (0, 2)  # click < 8.2 exits 0 after the help
    out = capsys.readouterr().out
    assert out.startswith("Usage: ") and "grad" in out


def test_a_bad_option_value_is_said_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    """At the floors (typer 0.21, click 8.2) click adds "(env var: 'None')" to every bad
    value; the message is the option and the value, whatever the versions."""
    from autodiff_cli.cli import app

    for args in (["grad", "x", "--at", "x=1", "--mode", "bogus"],
                 ["trace", "x", "--at", "x=1", "--max-rows", "-1"]):
        assert argv.run(lambda a=args: app(a, prog_name="autodiff", standalone_mode=False)) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: Invalid value for '--") and "env var" not in err, err


# -- typer's coercion internals, patched only in the shape they are written for --------------

def test_coercion_patch_needs_the_shape_it_was_written_for() -> None:
    @dataclasses.dataclass(frozen=True)
    class Param:
        parameter_info: Any
        annotation: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            return value

    @dataclasses.dataclass(frozen=True)
    class Descriptor:
        annotation: Any
        parameter_info: Any
        file_annotation: Any

    @dataclasses.dataclass(frozen=True)
    class Other:
        annotation: Any

    assert coercion.fits(Param, Descriptor)
    assert not coercion.fits(Other, Descriptor)
    assert not coercion.fits(Param, Other)
    assert not coercion.fits(object, object)


def test_coercion_is_installed_only_where_typer_has_the_internals() -> None:
    from typer import core

    internals = pytest.importorskip("typer._coercion", reason="this typer has no coercion layer")
    if coercion.fits(internals.RuntimeParam, internals.TypeDescriptor):
        assert core.build_runtime_param is not internals.build_runtime_param  # type: ignore[attr-defined]
    else:
        assert core.build_runtime_param is internals.build_runtime_param  # type: ignore[attr-defined]


# -- rich's cells -------------------------------------------------------------------------------

def test_cells_are_cleaned_in_rich_columns_and_without_their_private_list() -> None:
    from rich.table import Table
    from rich.text import Text

    def clean(item: Any) -> Any:
        if isinstance(item, Text):
            item.plain = item.plain.upper()
            return item
        return item.upper() if isinstance(item, str) else item

    table = Table()
    table.add_column("c")
    table.add_row("a")
    table.add_row(Text("b"))
    _clean_cells(table.columns[0], clean)
    assert [str(cell) for cell in table.columns[0].cells] == ["A", "B"]
    other = SimpleNamespace(cells=("c", Text("d")))  # a rich without Column._cells
    _clean_cells(other, clean)
    assert [str(cell) for cell in other.cells] == ["c", "D"]
