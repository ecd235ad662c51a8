"""train-gate: gates learned by gradient descent on the engine's graph."""

from __future__ import annotations

import itertools
import json
import math
import random

import pytest
from typer.testing import CliRunner

from autodiff_cli.cli import app
from autodiff_cli.errors import MathError, UsageError
from autodiff_cli.gates import GATES, INPUTS
from autodiff_cli.render.train import train_json
from autodiff_cli.train import (
    Network,
    initial_weights,
    network_program,
    parse_hidden,
    parse_table,
    train_gate,
    weight_names,
)

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None}


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["train-gate", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


# -- learning ---------------------------------------------------------------------------------


@pytest.mark.parametrize("gate", list(GATES))
def test_every_named_gate_converges_with_the_defaults(gate: str) -> None:
    for seed in range(10):
        r = train_gate(gate, seed=seed)
        assert r.converged, (gate, seed, r.final_loss)
        assert r.accuracy == 1.0
        assert [p.predicted for p in r.predictions] == list(GATES[gate])
        assert r.final_loss < r.tol
        assert r.epochs_run < r.epochs  # stopped early


@pytest.mark.parametrize("gate", ["and", "or", "nand", "nor"])
def test_a_single_perceptron_learns_the_separable_gates(gate: str) -> None:
    r = train_gate(gate, hidden=(), seed=3)
    assert r.converged and r.accuracy == 1.0
    assert [w.name for w in r.weights] == ["w1", "w2", "b"]


@pytest.mark.parametrize("gate", ["xor", "xnor"])
def test_a_single_perceptron_cannot_learn_xor(gate: str) -> None:
    r = train_gate(gate, hidden=(), epochs=3000)
    assert not r.converged
    assert r.accuracy <= 0.75
    assert r.epochs_run == 3000
    assert not r.separable
    data = train_json(r)
    assert data["converged"] is False
    assert "cannot separate" in data["note"]


def test_the_seeds_and_gate_weights_work() -> None:
    r = train_gate("and", hidden=(), weights=(10, 10, -15), epochs=0)
    assert r.epochs_run == 0 and r.converged and r.accuracy == 1.0
    outputs = [p.output for p in r.predictions]
    expected = [sigmoid(-15), sigmoid(-5), sigmoid(-5), sigmoid(5)]
    assert outputs == pytest.approx(expected, rel=1e-12)
    assert [(w.name, w.value) for w in r.weights] == [("w1", 10), ("w2", 10), ("b", -15)]


def test_the_seeds_or_gate_weights_work() -> None:
    r = train_gate("or", hidden=(), weights=(10, 10, -5), epochs=0)
    assert r.converged and r.accuracy == 1.0
    outputs = [p.output for p in r.predictions]
    assert outputs == pytest.approx([sigmoid(-5), sigmoid(5), sigmoid(5), sigmoid(15)],
                                    rel=1e-12)
    # the AND weights are not an OR gate
    wrong = train_gate("or", hidden=(), weights=(10, 10, -15), epochs=0)
    assert wrong.accuracy == 0.5 and not wrong.converged


def test_any_truth_table_and_the_names_of_known_ones() -> None:
    r = train_gate(None, table="0,0,1,0", seed=1)
    assert r.gate == "table 0,0,1,0" and r.converged
    assert [p.target for p in r.predictions] == [0, 0, 1, 0]
    assert train_gate(None, table="0110", epochs=0).gate == "xor"


def test_deeper_networks_and_other_settings_learn_xor() -> None:
    for kwargs in ({"hidden": (4, 4)}, {"loss": "bce"}, {"activation": "sigmoid"},
                   {"hidden": (3,), "lr": 0.5, "loss": "bce"}):
        r = train_gate("xor", seed=0, **kwargs)  # type: ignore[arg-type]
        assert r.converged, kwargs


def test_converged_needs_every_row_right_not_only_a_small_loss() -> None:
    r = train_gate("xor", hidden=(), tol=0.3, epochs=300)
    assert r.final_loss < 0.3
    assert not r.converged and r.epochs_run == 300


def test_tol_zero_never_stops_early_and_history_has_one_loss_per_epoch() -> None:
    r = train_gate("and", tol=0, epochs=50)
    assert r.epochs_run == 50 and not r.converged
    assert len(r.loss_history) == 51
    assert r.loss_history[-1] == r.final_loss
    assert r.loss_history[-1] < r.loss_history[0]


def test_progress_is_called_with_epoch_and_loss() -> None:
    seen: list[tuple[int, float]] = []
    r = train_gate("xor", epochs=400, tol=0, progress=lambda e, loss: seen.append((e, loss)))
    assert seen[-1] == (400, r.final_loss)
    assert [e for e, _ in seen] == sorted(e for e, _ in seen)
    assert len(seen) > 100


def test_divergence_is_a_math_error_with_a_hint() -> None:
    with pytest.raises(MathError) as err:
        train_gate("xor", activation="relu", lr=1e200)
    assert "diverged" in err.value.message and "--lr" in err.value.hint


# -- the graph: same engine, gradients right ------------------------------------------------


def test_the_network_is_an_expression_program() -> None:
    assert network_program((2, 8, 1), "tanh", "mse") == (
        "H1 = tanh(X @ W1 + b1); Z = H1 @ W2 + b2; O = sigmoid(Z); L = mean((O - Y)^2)")
    assert network_program((2, 1), "tanh", "bce") == (
        "Z = X @ W1 + b1; O = sigmoid(Z); L = mean(softplus(Z) - Y*Z)")


def _loss_at(net: Network, weights: list[float]) -> float:
    net.set_weights(weights)
    return float(net.state.forward())


@pytest.mark.parametrize("hidden", [(), (3,), (2, 3)])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_gradient_matches_central_finite_differences(hidden: tuple[int, ...],
                                                     activation: str, loss: str) -> None:
    layers = (2, *hidden, 1)
    rng = random.Random(f"{hidden}{activation}{loss}")
    # random biases too, so no relu sits exactly on its kink
    weights = [rng.uniform(-1.5, 1.5) for _ in weight_names(layers)]
    net = Network(layers, activation, loss, [0, 1, 1, 0], weights)
    value, grad = net.loss_and_gradient()
    assert value == _loss_at(net, weights)
    h = 1e-6
    for k in range(len(weights)):
        up, down = list(weights), list(weights)
        up[k] += h
        down[k] -= h
        numeric = (_loss_at(net, up) - _loss_at(net, down)) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (k, weight_names(layers)[k])


def test_a_training_step_is_w_minus_lr_times_the_gradient() -> None:
    layers = (2, 2, 1)
    w0 = list(initial_weights(layers, 5))
    net = Network(layers, "tanh", "mse", [0, 1, 1, 0], w0)
    _, grad = net.loss_and_gradient()
    net.descend(lr=0.5, epochs=1, tol=0)
    assert net.weights() == pytest.approx([w - 0.5 * g for w, g in zip(w0, grad, strict=True)],
                                          rel=1e-14)


def test_squared_error_of_negative_arrays_differentiates() -> None:
    # d(x^y)/dy = log(x) z must not be evaluated for a constant exponent (log of a negative)
    import numpy as np

    from autodiff_cli.api import grad

    r = grad("mean((x - y)^2)", x=np.array([-1.0, 0.5]), y=np.array([1.0, 1.0]))
    assert r.gradient["x"].tolist() == [-2.0, -0.5]


# -- weights: names and order -----------------------------------------------------------------


def test_weight_names_follow_the_seed() -> None:
    assert [n for n, *_ in weight_names((2, 1))] == ["w1", "w2", "b"]
    names = [n for n, *_ in weight_names((2, 3, 1))]
    assert names[:6] == ["W^1_11", "W^1_12", "b^1_1", "W^1_21", "W^1_22", "b^1_2"]
    assert names[-4:] == ["W^2_11", "W^2_12", "W^2_13", "b^2_1"]
    assert len(names) == 3 * 3 + 4
    wide = [n for n, *_ in weight_names((2, 10, 1))]
    assert "W^1_{10,2}" in wide and "W^2_{1,10}" in wide and "b^1_10" in wide


@pytest.mark.parametrize("layers", [(2, 3, 1), (2, 9, 1), (2, 10, 1), (2, 12, 12, 1),
                                    (2, 4, 11, 1)])
def test_a_network_names_its_weights_in_one_style(layers: tuple[int, ...]) -> None:
    """Subscripts with a comma everywhere or nowhere: never W^1_11 beside W^1_{11,1}."""
    weights = [n for n, _l, _j, k in weight_names(layers) if k > 0]
    commas = {"," in n for n in weights}
    assert commas == {max(layers) > 9}
    assert all(("{" in n) == ("," in n) for n in weights)


def test_given_weights_come_back_in_the_same_order() -> None:
    layers = (2, 2, 2, 1)
    w = [float(k) / 10 for k in range(len(weight_names(layers)))]
    r = train_gate("xor", hidden=(2, 2), weights=w, epochs=0)
    assert [x.value for x in r.weights] == w
    assert r.weights[2].name == "b^1_1" and r.weights[2].value == 0.2


def test_initial_weights_are_deterministic_and_biases_zero() -> None:
    a, b = initial_weights((2, 8, 1), 7), initial_weights((2, 8, 1), 7)
    assert a == b != initial_weights((2, 8, 1), 8)
    biases = [v for v, (_n, _l, _j, k) in zip(a, weight_names((2, 8, 1)), strict=True) if k == 0]
    assert biases == [0.0] * 9


# -- options ------------------------------------------------------------------------------------


def test_option_parsers() -> None:
    assert parse_hidden("0") == () and parse_hidden("8") == (8,)
    assert parse_hidden("4, 4") == (4, 4)
    assert parse_table("0,1,1,0") == parse_table("0110") == (0, 1, 1, 0)
    for bad in ("", "0,4", "-1", "x", "4,,4", "2.5"):
        with pytest.raises(UsageError):
            parse_hidden(bad)
    for bad in ("0,1,1", "0,1,2,0", "01101", "a,b,c,d"):
        with pytest.raises(UsageError):
            parse_table(bad)


# -- JSON ----------------------------------------------------------------------------------------


def test_json_schema() -> None:
    data = train_json(train_gate("xor"))
    assert list(data) == ["gate", "architecture", "settings", "epochs_run", "converged",
                          "final_loss", "accuracy", "predictions", "weights",
                          "loss_history", "note"]
    assert data["gate"] == "xor"
    assert data["architecture"] == {"layers": [2, 8, 1], "hidden_activation": "tanh",
                                    "output_activation": "sigmoid", "loss": "mse"}
    assert data["converged"] is True and data["accuracy"] == 1.0
    assert isinstance(data["epochs_run"], int) and isinstance(data["final_loss"], float)
    assert [p["inputs"] for p in data["predictions"]] == [list(i) for i in INPUTS]
    assert [p["target"] for p in data["predictions"]] == [0, 1, 1, 0]
    for p in data["predictions"]:
        assert set(p) == {"inputs", "target", "output", "predicted"}
        assert p["predicted"] == int(p["output"] >= 0.5)
    assert list(data["weights"])[:3] == ["W^1_11", "W^1_12", "b^1_1"]
    assert len(data["weights"]) == 33
    history = data["loss_history"]
    assert history[0][0] == 0 and history[-1] == [data["epochs_run"], data["final_loss"]]
    assert data["note"] is None
    json.dumps(data, allow_nan=False)


def test_long_loss_history_is_subsampled_evenly_with_the_last_epoch() -> None:
    data = train_json(train_gate("xor", hidden=(), epochs=1000))
    epochs = [e for e, _ in data["loss_history"]]
    assert len(epochs) <= 201
    assert epochs[0] == 0 and epochs[-1] == 1000
    steps = {b - a for a, b in itertools.pairwise(epochs)}
    assert steps == {5}


# -- the command line -----------------------------------------------------------------------


def test_cli_json_and_determinism() -> None:
    code, out, err = cli("xor", "--seed", "4", "--format", "json")
    assert code == 0 and err == ""
    again = cli("xor", "--seed", "4", "--format", "json")[1]
    assert out == again
    other = cli("xor", "--seed", "5", "--format", "json")[1]
    assert json.loads(other)["weights"] != json.loads(out)["weights"]
    assert json.loads(out)["converged"] is True


def test_cli_shows_the_seeds_and_gate() -> None:
    code, out, err = cli("and", "--hidden", "0", "--weights", "10,10,-15", "--epochs", "0")
    assert code == 0 and err == ""
    assert "\x1b[" not in out
    lines = out.splitlines()
    assert "w1  w2    b" in lines and "10  10  -15" in lines
    assert "4 of 4 rows right" in out
    assert " 1   1       1  0.9933          1  ✓" in lines
    assert "x2=1 0" in out and "decision boundary" in out


def test_cli_xor_perceptron_fails_honestly_with_exit_0() -> None:
    code, out, _ = cli("xor", "--hidden", "0", "--epochs", "500")
    assert code == 0
    assert "not converged" in out and "cannot separate XOR" in out
    assert "✗" in out


def test_cli_table_output_of_a_trained_net() -> None:
    code, out, _ = cli("xor")
    assert code == 0
    assert "converged after" in out and "4 of 4 rows right" in out
    assert "layer 1 (hidden, tanh)" in out and "layer 2 (output, sigmoid)" in out
    assert "W^1_j1" in out and "b^2_j" in out
    assert "loss (log scale)" in out and "▁" in out
    board = [line[5:38] for line in out.splitlines() if line.startswith(("x2=", "     "))
             and len(line) >= 38 and set(line[5:38]) <= set("#.01")]
    assert len(board) == 17
    assert board[0][0] == "1" and board[-1][-1] == "1"  # xor's targets at (0,1) and (1,0)
    assert board[1][1] == "#" and board[1][-2] == "."  # near (0,1) says 1, near (1,1) says 0


@pytest.mark.parametrize(("args", "message"), [
    (["xr"], "did you mean xor?"),
    (["nandd"], "did you mean nand?"),
    (["--table", "0,1,2,0"], "give four bits"),
    (["xor", "--table", "0110"], "not both"),
    (["--hidden", "0,4"], "--hidden '0,4'"),
    (["--hidden", "x"], "--hidden 'x'"),
    (["and", "--hidden", "0", "--weights", "1,2"], "has 3 weights and biases (w1, w2, b), got 2"),
    (["and", "--weights", "1,2,3"], "the 2-8-1 network has 33 weights"),
    (["--weights", "1,a,3", "--hidden", "0"], "'a' is not a finite number"),
    (["--lr", "0"], "--lr 0"),
    (["--epochs", "-1"], "--epochs -1"),
    (["--tol", "-1"], "--tol -1"),
    (["--activation", "softmax"], "softmax"),
])
def test_cli_bad_options_exit_2_with_a_clear_message(args: list[str], message: str) -> None:
    code, out, err = cli(*args)
    assert code == 2
    assert out == ""
    assert message in " ".join(err.split())
    assert "Traceback" not in err


def test_cli_help_has_examples() -> None:
    result = CliRunner().invoke(app, ["train-gate", "--help"], env=ENV)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "autodiff train-gate and --hidden 0 --weights 10,10,-15 --epochs 0" in text
    assert "--hidden" in text and "--weights" in text


def test_cli_divergence_exits_1_with_a_message() -> None:
    code, out, err = cli("xor", "--activation", "relu", "--lr", "1e200")
    assert code == 1 and out == ""
    assert "training diverged" in err and "smaller --lr" in err


def test_colour_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    from rich.console import Console

    from autodiff_cli.render.table import to_rich
    from autodiff_cli.render.train import train_table

    buffer = io.StringIO()
    Console(file=buffer, force_terminal=True, color_system="standard", width=100).print(
        to_rich(train_table(train_gate("and", hidden=(), weights=(10, 10, -15), epochs=0), True),
                True, 100))
    text = buffer.getvalue()
    assert "\x1b[" in text
    assert "#" not in text  # colour, not characters, marks the regions on a terminal
    assert "\x1b[1;30;42m" in text and "\x1b[1;37;44m" in text  # the 1 and 0 regions


class _Terminal:
    """A stand-in for stderr on a terminal."""

    def __init__(self) -> None:
        import io

        self.buffer = io.StringIO()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def flush(self) -> None:
        pass


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    from autodiff_cli.render.train import progress_bar

    with progress_bar(100, "xor") as update:
        assert update is None  # pytest's stderr is not a terminal
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with progress_bar(100, "xor") as update:
        assert update is not None
        train_gate("xor", epochs=100, tol=0, progress=update)
    assert "training xor" in terminal.buffer.getvalue()
