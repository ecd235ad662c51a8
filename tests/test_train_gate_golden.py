"""train-gate runs on train_loop's one training loop: the same numbers as before the move
(goldens captured from the command before it), to the last bit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autodiff_cli.cli import app
from autodiff_cli.train import train_gate

GOLDEN = Path(__file__).parent / "golden" / "train_gate"
ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None}
CASES = {
    "xor.json": ["xor"],
    "xor_hidden4.json": ["xor", "--hidden", "4"],
    "xor_sigmoid_mse.json": ["xor", "--activation", "sigmoid", "--loss", "mse"],
    "xor_seed3.json": ["xor", "--seed", "3"],
    "and.json": ["and"],
    "or.json": ["or"],
    "and_perceptron_seed3.json": ["and", "--hidden", "0", "--seed", "3"],
    "xor_perceptron_300.json": ["xor", "--hidden", "0", "--epochs", "300"],
    "xor_bce_44.json": ["xor", "--loss", "bce", "--hidden", "4,4"],
    "xor_relu.json": ["xor", "--activation", "relu", "--lr", "0.5", "--seed", "2"],
}
TABLES = {
    "xor_table.txt": ["xor"],
    "and_weights_table.txt": ["and", "--hidden", "0", "--weights", "10,10,-15", "--epochs", "0"],
}


def run(args: list[str]) -> str:
    result = CliRunner().invoke(app, ["train-gate", *args], env=ENV)
    assert result.exit_code == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("name", list(CASES))
def test_json_is_byte_for_byte_what_it_was(name: str) -> None:
    assert run([*CASES[name], "--format", "json"]) == (GOLDEN / name).read_text()


@pytest.mark.parametrize("name", list(TABLES))
def test_tables_are_what_they_were(name: str) -> None:
    assert run(TABLES[name]) == (GOLDEN / name).read_text()


def test_every_epochs_loss_and_the_weights_are_exactly_what_they_were() -> None:
    cases = json.loads((GOLDEN / "histories.json").read_text())
    for name, want in cases.items():
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in want["kwargs"].items()}
        r = train_gate("and" if name.startswith("and") else "xor", **kwargs)
        assert r.epochs_run == want["epochs_run"], name
        assert r.loss_history == want["loss_history"], name
        assert [w.value for w in r.weights] == want["weights"], name
