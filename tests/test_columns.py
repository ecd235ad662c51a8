"""Every command's table output fits the page: at 60, 80 and 200 columns no line is wider
than the page (unless one word is), none ends in a space, and every number the JSON reports
appears whole in the text (a table too wide changes its layout instead of splitting them)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from autodiff_cli.cli import app
from autodiff_cli.render.numbers import human

HOUSES = ["--at", "X=examples/houses.csv", "--at", "W=[[1,2,3],[4,5,6],[7,8,9]]"]
TWELVE = ",".join(f"{chr(97 + i)}={i + 1}" for i in range(12))
COMMANDS = {
    "grad": ["grad", "(a+b)*(b+1)", "--at", "a=3,b=2"],
    "grad-long-names": ["grad", "a_very_long_variable_name_number_one*"
                        "a_very_long_variable_name_number_two", "--at",
                        "a_very_long_variable_name_number_one=1.2345678,"
                        "a_very_long_variable_name_number_two=2.5"],
    "grad-check": ["grad", "sin(x)*exp(y)", "--at", "x=0.5,y=1", "--check"],
    "grad-houses": ["grad", "mean(sigmoid(X @ W), 1)", *HOUSES],
    "hessian-12": ["hessian", "*".join(chr(97 + i) for i in range(12)), "--at", TWELVE],
    "check": ["check", "(a+b)*(b+1)", "--at", "a=3,b=2", "--expect", "a=3.0000001,b=7",
              "--value", "15"],
    "trace": ["trace", "b = 4*a; c = b + 3; d = a + 2; e = c*d", "--at", "a=3"],
    "trace-houses": ["trace", "mean(sigmoid(X @ W), 1)", *HOUSES],
    "train-gate": ["train-gate", "xor"],
    "train-gate-12": ["train-gate", "xor", "--hidden", "12"],
}


def run(args: list[str], width: int) -> tuple[int, str]:
    r = CliRunner().invoke(app, args, env={"COLUMNS": str(width), "NO_COLOR": "1"})
    return r.exit_code, r.stdout


def numbers(data: object) -> list[float]:
    """Every number in JSON data."""
    out, todo = [], [data]
    while todo:
        x = todo.pop()
        if isinstance(x, dict):
            todo += x.values()
        elif isinstance(x, list):
            todo += x
        elif isinstance(x, (int, float)) and not isinstance(x, bool):
            out.append(float(x))
    return out


@pytest.mark.parametrize("width", [60, 80, 200])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_output_fits_the_page(name: str, width: int) -> None:
    code, text = run(COMMANDS[name], width)
    assert code in (0, 1), text
    words = text.split()
    for line in text.splitlines():
        assert line == line.rstrip(), f"trailing space: {line!r}"
        assert len(line) <= width or any(len(w) > width // 2 for w in line.split()), line
    if name.startswith(("grad", "hessian")):  # every value and derivative, whole
        _, data = run([*COMMANDS[name], "--format", "json"], 200)
        tokens = {t.strip("[]⎡⎢⎣⎤⎥⎦(),") for t in words}
        data = json.loads(data)
        for x in numbers([data["value"], data["gradient"], data.get("hessian", {})]):
            assert human(x) in tokens, (human(x), name, width)


def test_a_wide_weight_table_keeps_each_number_whole() -> None:
    """The bug this started from: at 80 columns the output layer's 2.75104 came out as
    2.7510 on one line and 4 on the next."""
    _, text = run(["train-gate", "xor"], 80)
    data = json.loads(run(["train-gate", "xor", "--format", "json"], 80)[1])
    for name, value in data["weights"].items():
        if name.startswith("W^2"):
            assert re.search(rf"(?<![\d.]){re.escape(human(value))}(?![\d.])", text), name
