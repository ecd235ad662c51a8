"""autodiff train: gradient descent on any scalar loss, through the engine's one loop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from autodiff_cli.cli import app
from autodiff_cli.errors import MathError, ShapeError, UsageError
from autodiff_cli.train_loop import Settings, fit

ENV = {"NO_COLOR": "1", "COLUMNS": "100", "FORCE_COLOR": None}
EXAMPLES = Path(__file__).parent.parent / "examples"
REGRESSION = "E = X @ w + b - y; L = mean(E^2)"
LOGISTIC = "Z = X @ w + b; L = mean(softplus(Z) - y*Z)"


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["train", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def regression_data(n: int = 100, k: int = 3, seed: int = 0) -> tuple[Any, Any]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, k))
    y = x @ rng.normal(size=(k, 1)) + 0.5 + 0.1 * rng.normal(size=(n, 1))
    return x, y


def lstsq(x: Any, y: Any) -> tuple[Any, float]:
    coef = np.linalg.lstsq(np.c_[x, np.ones(len(x))], y, rcond=None)[0]
    return coef[:-1], float(coef[-1, 0])


# -- learning ------------------------------------------------------------------------------


def test_linear_regression_converges_to_least_squares() -> None:
    x, y = regression_data()
    r = fit(REGRESSION, {"X": x, "y": y}, {"w": np.zeros((3, 1)), "b": 0.0},
            Settings(lr=0.1, epochs=2000))
    w, b = lstsq(x, y)
    assert np.abs(r.params["w"] - w).max() < 1e-6
    assert abs(r.params["b"] - b) < 1e-6
    assert r.epochs_run == 2000 and r.stopped == "epochs"
    assert len(r.loss_history) == 2001 and r.final_loss == r.loss_history[-1]


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_the_other_optimizers_reach_least_squares_too(optimizer: str) -> None:
    x, y = regression_data(seed=1)
    r = fit(REGRESSION, {"X": x, "y": y}, {"w": np.zeros((3, 1)), "b": 0.0},
            Settings(lr=0.05 if optimizer == "momentum" else 0.02, epochs=3000,
                     optimizer=optimizer))
    w, b = lstsq(x, y)
    assert np.abs(r.params["w"] - w).max() < 1e-6 and abs(r.params["b"] - b) < 1e-6


def test_the_example_regression_through_the_command_matches_least_squares() -> None:
    code, out, err = cli("--file", str(EXAMPLES / "regression.txt"),
                         "--at", f"X={EXAMPLES / 'house_sales.csv'}",
                         "--at", f"y={EXAMPLES / 'house_prices.csv'}",
                         "--param", "w=zeros(3,1)", "--param", "b=0",
                         "--lr", "0.05", "--epochs", "5000", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    x = np.loadtxt(EXAMPLES / "house_sales.csv", delimiter=",", skiprows=1)
    y = np.loadtxt(EXAMPLES / "house_prices.csv", skiprows=1).reshape(-1, 1)
    w, b = lstsq(x, y)
    assert np.abs(np.array(data["params"]["w"]["data"]) - w).max() < 1e-6
    assert abs(data["params"]["b"] - b) < 1e-6


def test_a_logistic_fit_is_the_same_loop_written_in_numpy() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(80, 2))
    y = (x[:, :1] - 0.5 * x[:, 1:] + 0.3 * rng.normal(size=(80, 1)) > 0).astype(float)
    r = fit(LOGISTIC, {"X": x, "y": y}, {"w": np.zeros((2, 1)), "b": 0.0},
            Settings(lr=0.5, epochs=300))
    w, b = np.zeros((2, 1)), 0.0
    for _ in range(300):
        z = x @ w + b
        dz = (1 / (1 + np.exp(-z)) - y) / len(x)
        w, b = w - 0.5 * (x.T @ dz), b - 0.5 * float(dz.sum())
    np.testing.assert_allclose(r.params["w"], w, rtol=1e-10)
    assert r.params["b"] == pytest.approx(b, rel=1e-10)


def test_scalar_params_and_scalar_data_train_on_the_float_path() -> None:
    r = fit("L = (a*x - y)^2 + (a - 1)^2", {"x": 2.0, "y": 6.0}, {"a": 0.0},
            Settings(lr=0.05, epochs=500))
    assert type(r.params["a"]) is float
    assert r.params["a"] == pytest.approx(13 / 5, rel=1e-9)  # d/da = 0 at a = 13/5


def test_epochs_0_only_evaluates_and_tol_stops_on_a_small_change() -> None:
    x, y = regression_data()
    start = {"w": np.zeros((3, 1)), "b": 0.0}
    r = fit(REGRESSION, {"X": x, "y": y}, start, Settings(epochs=0))
    assert r.epochs_run == 0 and r.loss_history == [float(np.mean(y ** 2))]
    assert (r.params["w"] == 0).all()
    r = fit(REGRESSION, {"X": x, "y": y}, start, Settings(lr=0.1, epochs=10_000, tol=1e-12))
    assert r.stopped == "tol" and r.epochs_run < 10_000
    assert abs(r.loss_history[-1] - r.loss_history[-2]) < 1e-12
    assert all(abs(a - b) >= 1e-12 for a, b in zip(r.loss_history[:-2], r.loss_history[1:-1],
                                                   strict=True))
    assert (start["w"] == 0).all()  # the caller's starting values are not trained in place


# -- one step of each optimizer, by hand ----------------------------------------------------------


def _grads(x: Any, y: Any, w: Any, b: float) -> tuple[Any, float]:
    e = x @ w + b - y
    return 2 * x.T @ e / e.size, 2 * float(e.sum()) / e.size


def _by_hand(optimizer: str, x: Any, y: Any, steps: int, lr: float) -> tuple[Any, float]:
    w, b = np.array([[0.3], [-0.2], [0.1]]), 0.25
    mw, mb, vw, vb = np.zeros_like(w), 0.0, np.zeros_like(w), 0.0
    for t in range(1, steps + 1):
        gw, gb = _grads(x, y, w, b)
        if optimizer == "sgd":  # p <- p - lr g
            w, b = w - lr * gw, b - lr * gb
        elif optimizer == "momentum":  # v <- mu v + g; p <- p - lr v  (torch.optim.SGD)
            mw, mb = 0.9 * mw + gw, 0.9 * mb + gb
            w, b = w - lr * mw, b - lr * mb
        else:  # torch.optim.Adam
            mw, mb = 0.9 * mw + 0.1 * gw, 0.9 * mb + 0.1 * gb
            vw, vb = 0.999 * vw + 0.001 * gw ** 2, 0.999 * vb + 0.001 * gb ** 2
            c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
            w = w - lr * (mw / c1) / (np.sqrt(vw / c2) + 1e-8)
            b = b - lr * (mb / c1) / (np.sqrt(vb / c2) + 1e-8)
    return w, b


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("steps", [1, 3])
def test_a_step_of_each_optimizer_is_its_formula(optimizer: str, steps: int) -> None:
    x, y = regression_data(n=20)
    start = {"w": np.array([[0.3], [-0.2], [0.1]]), "b": 0.25}
    r = fit(REGRESSION, {"X": x, "y": y}, start,
            Settings(lr=0.1, epochs=steps, optimizer=optimizer))
    w, b = _by_hand(optimizer, x, y, steps, 0.1)
    np.testing.assert_allclose(r.params["w"], w, rtol=1e-13, atol=1e-15)
    assert r.params["b"] == pytest.approx(b, rel=1e-13)


# -- mini-batches ------------------------------------------------------------------------------


def test_mini_batches_are_the_rows_in_a_seeded_order_each_epoch() -> None:
    x, y = regression_data(n=10)
    start = {"w": np.zeros((3, 1)), "b": 0.0}
    r = fit(REGRESSION, {"X": x, "y": y, "c": 2.0}, start,
            Settings(lr=0.1, epochs=2, batch_size=4, seed=7))
    assert r.batch_rows == ["X", "y"] and r.rows == 10
    rng = np.random.default_rng([7, 1])
    w, b = np.zeros((3, 1)), 0.0
    for _ in range(2):
        order = rng.permutation(10)
        for k in range(0, 10, 4):  # batches of 4, 4 and 2 rows
            rows = order[k:k + 4]
            gw, gb = _grads(x[rows], y[rows], w, b)
            w, b = w - 0.1 * gw, b - 0.1 * gb
    np.testing.assert_allclose(r.params["w"], w, rtol=1e-13)
    assert r.params["b"] == pytest.approx(b, rel=1e-13)
    assert r.final_loss == pytest.approx(float(np.mean((x @ w + b - y) ** 2)), rel=1e-13)
    other = fit(REGRESSION, {"X": x, "y": y}, start, Settings(lr=0.1, epochs=2, batch_size=4,
                                                              seed=8))
    assert not np.array_equal(other.params["w"], r.params["w"])
    full = fit(REGRESSION, {"X": x, "y": y}, start, Settings(lr=0.1, epochs=2))
    whole = fit(REGRESSION, {"X": x, "y": y}, start, Settings(lr=0.1, epochs=2,
                                                              batch_size=10))
    assert np.array_equal(full.params["w"], whole.params["w"]) and whole.batch_rows == []


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("program", "data", "params", "error", "words"), [
    ("X @ w", {"X": np.ones((3, 2))}, {"w": np.ones((2, 1))}, ShapeError, "must be a number"),
    ("mean((X @ w - y)^2)", {"X": np.ones((3, 2)), "y": np.ones((3, 1))},
     {"w": np.ones((3, 1))}, ShapeError, "shapes do not fit"),
    ("mean(w^2)", {}, {"w": 1.0, "v": 2.0}, UsageError, "--param v: the loss does not depend"),
    ("mean((w - y)^2)", {"y": 1.0, "w": 2.0}, {"w": 1.0}, UsageError,
     "w is given by both --param and --at"),
    ("mean(y^2)", {"y": 1.0}, {}, UsageError, "nothing to train"),
])
def test_errors_of_the_library(program: str, data: dict[str, Any], params: dict[str, Any],
                               error: type[Exception], words: str) -> None:
    with pytest.raises(error) as err:
        fit(program, data, params)
    assert words in str(err.value)


def test_an_overflowing_loss_says_try_a_smaller_lr() -> None:
    x, y = regression_data()
    with pytest.raises(MathError) as err:
        fit(REGRESSION, {"X": x, "y": y}, {"w": np.zeros((3, 1)), "b": 0.0},
            Settings(lr=1e3, epochs=1000))
    assert "training diverged in epoch" in err.value.message
    assert "smaller --lr" in err.value.hint
    with pytest.raises(MathError) as err:
        fit("L = (w - 3)^2", {}, {"w": 0.0}, Settings(lr=1e3, epochs=1000))
    assert "smaller --lr" in err.value.hint


@pytest.mark.parametrize(("args", "code", "words"), [
    (["X @ w", "--at", "X=[[1,2]]", "--param", "w=[[1],[2]]"], 1, "must be a number"),
    (["mean(X @ w)", "--at", "X=[[1,2]]", "--param", "w=[[1],[2],[3]]"], 1,
     "shapes do not fit"),
    (["mean(w^2)", "--param", "w=1,v=2"], 2, "the loss does not depend on it"),
    (["mean((w-y)^2)", "--param", "w=1", "--at", "w=2,y=1"], 2, "both --param and --at"),
    (["(w-3)^2", "--param", "w=0", "--lr", "1e3"], 1, "smaller --lr"),
    (["(w-3)^2", "--param", "w=0", "--optimizer", "rmsprop"], 2, "rmsprop"),
    (["(w-3)^2", "--param", "w=0", "--batch-size", "2"], 2, "--batch-size takes rows"),
    (["(w-3)^2", "--param", "w=0", "--lr", "0"], 2, "--lr 0"),
    (["(w-3)^2", "--param", "w=0", "--epochs", "-1"], 2, "--epochs -1"),
    (["(w-3)^2", "--param", "w=0", "--tol", "-1"], 2, "--tol -1"),
    (["(w-3)^2"], 2, "nothing to train"),
    (["(w-3)^2", "--param", "w=1/0"], 2, "--param w:"),
    (["(w-3)^2", "--param", "w"], 2, "--param expects NAME=VALUE"),
    (["(w-3)^2 +", "--param", "w=0"], 2, ""),
    (["(w-3)^2", "--param", "@/nonexistent/p.json"], 2, "no such file"),
])
def test_errors_of_the_command(args: list[str], code: int, words: str) -> None:
    got, out, err = cli(*args)
    assert got == code, err
    assert out == "" and "Traceback" not in err
    assert words in " ".join(err.split())


# -- output ----------------------------------------------------------------------------------------


def test_json_schema_and_the_same_seed_prints_the_same_bytes() -> None:
    args = ["L = mean((X @ w + b - y)^2)", "--at", "X=randn(30,2)", "--at", "y=randn(30,1)",
            "--param", "w=0.1*randn(2,1)", "--param", "b=0", "--batch-size", "8",
            "--optimizer", "adam", "--epochs", "50", "--format", "json"]
    code, out, err = cli(*args, "--seed", "4")
    assert code == 0 and err == ""
    assert cli(*args, "--seed", "4")[1] == out
    assert cli(*args, "--seed", "5")[1] != out
    data = json.loads(out)
    assert list(data) == ["program", "params", "epochs_run", "final_loss", "loss_history",
                          "settings", "stopped"]
    assert data["program"] == "L = mean((X @ w + b - y)^2)"
    assert data["params"]["w"]["shape"] == [2, 1] and isinstance(data["params"]["b"], float)
    assert data["epochs_run"] == 50 and data["loss_history"][-1] == [50, data["final_loss"]]
    assert data["loss_history"][0][0] == 0 and len(data["loss_history"]) == 51
    assert data["settings"] == {"optimizer": "adam", "lr": 0.1, "epochs": 50, "batch_size": 8,
                                "seed": 4, "tol": 0.0, "betas": [0.9, 0.999], "eps": 1e-8}
    assert data["stopped"] == "epochs"


def test_table_shows_the_params_as_matrices_and_the_loss_curve() -> None:
    code, out, err = cli("--file", str(EXAMPLES / "house_network.txt"),
                         "--at", f"X={EXAMPLES / 'house_sales.csv'}",
                         "--at", f"y={EXAMPLES / 'house_prices.csv'}",
                         "--param", "W=0.1*randn(3,3)", "--param", "b=zeros(1,3)",
                         "--optimizer", "adam", "--epochs", "200")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "train: P = mean(sigmoid(X @ W + b), 1)"  # comment lines left out
    assert "params: W (3x3), b (1x3); data: X (200x3), y (200x1)" in lines
    assert "adam (betas 0.9, 0.999, eps 1e-08), lr 0.1, full batch" in lines
    assert any(line.startswith("after 200 epochs: L = ") for line in lines)
    assert "W (3x3)" in lines and "b (1x3)" in lines
    assert any(line.startswith("loss (log scale): ") for line in lines)


def test_save_writes_params_that_at_file_reads_back(tmp_path: Path) -> None:
    saved = tmp_path / "trained.json"
    code, out, _ = cli("L = mean((X @ w + b - y)^2)", "--at", "X=[[1,2],[3,4],[5,7]]",
                       "--at", "y=[[1],[2],[4]]", "--param", "w=zeros(2,1)", "--param", "b=0",
                       "--epochs", "30", "--lr", "0.01", "--save", str(saved),
                       "--format", "json")
    assert code == 0
    params = json.loads(out)["params"]
    assert json.loads(saved.read_text()) == params
    # traced at the trained values, and trained further from them
    result = CliRunner().invoke(app, ["grad", "X @ w + b", "--at", "X=[[1,2]]", "--at",
                                      f"@{saved}", "--format", "json"], env=ENV)
    assert result.exit_code == 0, result.stderr
    w = np.array(params["w"]["data"])
    np.testing.assert_allclose(json.loads(result.stdout)["value"]["data"],
                               np.array([[1, 2]]) @ w + params["b"], rtol=1e-15)
    again = cli("L = mean((X @ w + b - y)^2)", "--at", "X=[[1,2],[3,4],[5,7]]",
                "--at", "y=[[1],[2],[4]]", "--param", f"@{saved}", "--epochs", "0",
                "--format", "json")
    assert json.loads(again[1])["final_loss"] == json.loads(out)["final_loss"]


@pytest.mark.parametrize(("text", "words"), [
    ("[1, 2]", "one JSON object"),
    ("{", "is not JSON"),
    ('{"w": NaN}', "NaN is not a finite number"),
    ('{"2w": 1}', "'2w' is not a valid name"),
    ('{"w": {"shape": [2, 2], "data": [1, 2]}}', 'has "shape" [2, 2], but its data has shape [2]'),
    ('{"w": [[1, 2], [3]]}', "not a number, a rectangular array"),
    ('{"w": "x"}', "not a number"),
    ('{"w": true}', "not a number"),
])
def test_at_file_errors(tmp_path: Path, text: str, words: str) -> None:
    from autodiff_cli.inputs import parse_at

    path = tmp_path / "v.json"
    path.write_text(text)
    with pytest.raises(UsageError) as err:
        parse_at([f"@{path}"], files=True)
    assert words in err.value.message


def test_at_file_is_for_the_command_line_only() -> None:
    from autodiff_cli.inputs import parse_at

    with pytest.raises(UsageError):
        parse_at(["@values.json"])  # a batch line's "at" reads no files of values


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("TERM", "xterm-256color")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    from autodiff_cli.render.train import progress_bar

    seen: list[tuple[int, float]] = []
    with progress_bar(300, "the program") as update:
        assert update is not None

        def both(epoch: int, loss: float) -> None:
            seen.append((epoch, loss))
            update(epoch, loss)

        r = fit("L = (w - 3)^2", {}, {"w": 0.0}, Settings(epochs=300), progress=both)
    assert "training the program" in terminal.getvalue()
    assert seen[-1] == (300, r.final_loss) and len(seen) > 100


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_the_command_prints_the_same_bytes_in_every_process_and_hash_seed(fmt: str) -> None:
    import subprocess
    import sys

    from conftest import subprocess_env

    args = [sys.executable, "-m", "autodiff_cli.cli", "train",
            "--file", str(EXAMPLES / "house_network.txt"),
            "--at", f"X={EXAMPLES / 'house_sales.csv'}", "--at",
            f"y={EXAMPLES / 'house_prices.csv'}", "--param", "W=0.1*randn(3,3)",
            "--param", "b=zeros(1,3)", "--optimizer", "momentum", "--batch-size", "32",
            "--epochs", "20", "--seed", "2", "--format", fmt]
    outs = [subprocess.run(args, capture_output=True, timeout=120, check=False,
                           env={**subprocess_env(), "PYTHONHASHSEED": h, "NO_COLOR": "1",
                                "COLUMNS": "100"}) for h in ("0", "0", "4242")]
    assert outs[0].returncode == 0 and outs[0].stderr == b"", outs[0].stderr
    assert outs[0].stdout == outs[1].stdout == outs[2].stdout


def test_an_error_from_the_command_in_a_process_has_no_traceback() -> None:
    import subprocess
    import sys

    from conftest import subprocess_env

    p = subprocess.run([sys.executable, "-m", "autodiff_cli.cli", "train", "(w - 3)^2",
                        "--param", "w=0", "--lr", "1e3"], capture_output=True, timeout=120,
                       check=False, env=subprocess_env())
    assert p.returncode == 1 and p.stdout == b""
    assert b"training diverged" in p.stderr and b"smaller --lr" in p.stderr
    assert b"Traceback" not in p.stderr


def test_a_scalar_program_trains_without_numpy() -> None:
    import subprocess
    import sys

    from conftest import subprocess_env

    code = ("import sys; from autodiff_cli.train_loop import fit, Settings; "
            "r = fit('L = (w - 3)^2 + (v + 1)^2', {}, {'w': 0.0, 'v': 0.0}, "
            "Settings(epochs=200)); print(round(r.params['w'], 6), round(r.params['v'], 6), "
            "'numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True, env=subprocess_env()).stdout
    assert out.split() == ["3.0", "-1.0", "False"]


def test_a_number_param_of_an_array_program_comes_back_as_a_float() -> None:
    x, y = regression_data(n=10)
    r = fit(REGRESSION, {"X": x, "y": y}, {"w": np.zeros((3, 1)), "b": 0.0},
            Settings(epochs=3, optimizer="adam"))
    assert type(r.params["b"]) is float


def test_the_generator_writes_the_example_files_byte_for_byte(tmp_path: Path) -> None:
    import runpy
    import shutil

    script = tmp_path / "make_house_prices.py"
    shutil.copy(EXAMPLES / "make_house_prices.py", script)
    runpy.run_path(str(script), run_name="__main__")
    for name in ("house_sales.csv", "house_prices.csv"):
        assert (tmp_path / name).read_bytes() == (EXAMPLES / name).read_bytes(), name
