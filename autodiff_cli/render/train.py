"""The reports of train and train-gate: JSON data, the rich reports (train: summary, params,
loss curve; train-gate: summary, truth table, weights, loss curve, decision boundary) and the
live progress bar. Data in, text out; nothing is computed here."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..train import TrainResult, Weight
from ..train_loop import FitReport, Progress
from .numbers import human
from .table import Block, Prose, Table, styled

SPARK = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60


def note(r: TrainResult) -> str | None:
    """Why training ended the way it did, in a sentence, when there is something to say."""
    if len(r.layers) == 2 and not r.separable:
        return (f"A single perceptron cannot separate {r.gate.upper()}: it draws one straight "
                "line across the square, and no line puts 01 and 10 on one side and 00 and 11 "
                "on the other. Add a hidden layer (e.g. --hidden 2, or the default).")
    if not r.converged and r.epochs_run == r.epochs and r.epochs > 0:
        return (f"Not converged in {r.epochs} epochs; try more --epochs, another --seed or "
                "another --lr.")
    return None


def train_json(r: TrainResult) -> dict[str, Any]:
    return {
        "gate": r.gate,
        "architecture": {
            "layers": list(r.layers),
            "hidden_activation": r.activation if len(r.layers) > 2 else None,
            "output_activation": "sigmoid",
            "loss": r.loss,
        },
        "settings": {"lr": r.lr, "epochs": r.epochs, "seed": r.seed, "tol": r.tol,
                     "initial": r.initial},
        "epochs_run": r.epochs_run,
        "converged": r.converged,
        "final_loss": r.final_loss,
        "accuracy": r.accuracy,
        "predictions": [{"inputs": list(p.inputs), "target": p.target, "output": p.output,
                         "predicted": p.predicted} for p in r.predictions],
        "weights": {w.name: w.value for w in r.weights},
        "loss_history": [[epoch, loss] for epoch, loss in r.history_sample()],
        "note": note(r),
    }


def train_table(r: TrainResult, fancy: bool = False) -> list[Block]:
    parts: list[Block] = [*_summary(r), "", _truth_table(r), "", *_weight_tables(r), "",
                          *_loss_curve(r.history_sample()), "", *_boundary(r, fancy)]
    said = note(r)
    if said:
        parts += ["", Prose(said, "bold")]
    return parts


def _summary(r: TrainResult) -> list[Block]:
    if len(r.layers) == 2:
        net = "a single perceptron (2-1, sigmoid output)"
    else:
        net = f"a {r.architecture} network ({r.activation} hidden, sigmoid output)"
    right = sum(p.predicted == p.target for p in r.predictions)
    if r.converged and r.epochs_run == 0:
        status = (f"the starting weights already work: loss {human(r.final_loss)} < tol "
                  f"{human(r.tol)}, {right} of 4 rows right")
        style = "bold green"
    elif r.converged:
        status = (f"converged after {r.epochs_run} epoch{'s' if r.epochs_run != 1 else ''}: "
                  f"loss {human(r.final_loss)} < tol {human(r.tol)}, {right} of 4 rows right")
        style = "bold green"
    else:
        status = (f"not converged after {r.epochs_run} epoch{'s' if r.epochs_run != 1 else ''}:"
                  f" loss {human(r.final_loss)} (tol {human(r.tol)}), {right} of 4 rows right")
        style = "bold red"
    return [Prose(f"{r.gate}: {net}, {r.loss} loss, lr {human(r.lr)}", "bold"),
            f"start: {r.initial}", Prose(f"graph: {r.program}", "dim", "parts"),
            Prose(status, style)]


def _truth_table(r: TrainResult) -> Table:
    rows = [(str(p.inputs[0]), str(p.inputs[1]), str(p.target), f"{p.output:.4f}",
             str(p.predicted), styled("✓", "green") if p.predicted == p.target else
             styled("✗", "bold red")) for p in r.predictions]
    return Table(("x1", "x2", "target", "output", "predicted", ""), ("right",) * 5 + ("left",),
                 rows, pad_edge=False)


def _weight_tables(r: TrainResult) -> list[Block]:
    if len(r.layers) == 2:
        return ["weights (the seed's w1, w2 and bias b)",
                Table(tuple(w.name for w in r.weights), ("right",) * len(r.weights),
                      [tuple(human(w.value) for w in r.weights)], pad_edge=False)]
    out: list[Block] = ["weights: W^l_jk is layer l's weight into neuron j from input k; "
                        "b^l_j is neuron j's bias"]
    last = len(r.layers) - 1
    wide = max(r.layers) > 9  # the style of weight_names: W^l_{j,k}
    for layer in range(1, last + 1):
        weights = [w for w in r.weights if w.layer == layer]
        kind = f"hidden, {r.activation}" if layer < last else "output, sigmoid"
        out.append(Prose(f"layer {layer} ({kind})", "bold"))
        headers = ["neuron j", *(_column(w, wide) for w in weights if w.neuron == 1)]
        rows = [(str(j), *(human(w.value) for w in weights if w.neuron == j))
                for j in range(1, r.layers[layer] + 1)]
        out.append(Table(tuple(headers), ("right",) * len(headers), rows, pad_edge=False))
    return out


def _column(w: Weight, wide: bool) -> str:
    if w.input == 0:
        return f"b^{w.layer}_j"
    return f"W^{w.layer}_{{j,{w.input}}}" if wide else f"W^{w.layer}_j{w.input}"


def _loss_curve(sample: list[tuple[int, float]]) -> list[Block]:
    """The loss at the sampled epochs as a sparkline, log scale."""
    if len(sample) > SPARK_WIDTH:
        step = (len(sample) - 1) / (SPARK_WIDTH - 1)
        sample = [sample[round(k * step)] for k in range(SPARK_WIDTH)]
    logs = [math.log10(max(loss, 1e-300)) for _e, loss in sample]
    lo, hi = min(logs), max(logs)
    span = hi - lo
    bars = "".join(SPARK[0 if span == 0 else round((x - lo) / span * (len(SPARK) - 1))]
                   for x in logs)
    first, last = sample[0], sample[-1]
    return [f"loss (log scale): {human(first[1])} at epoch {first[0]} → {human(last[1])} "
            f"at epoch {last[0]}", Prose(bars, "cyan", "none")]


def _boundary(r: TrainResult, fancy: bool) -> list[Block]:
    b = r.boundary
    rows, cols = len(b.predicted), len(b.predicted[0])
    corners = {(rows - 1, 0): 0, (rows - 1, cols - 1): 2, (0, 0): 1, (0, cols - 1): 3}
    targets = [p.target for p in r.predictions]
    legend = ("decision boundary (green: the network says 1, blue: 0; corners: the targets)"
              if fancy else
              "decision boundary ('#': the network says 1, '.': 0; corners: the targets)")
    lines: list[Block] = [legend]
    for i, row in enumerate(b.predicted):
        label = "x2=1 " if i == 0 else "x2=0 " if i == rows - 1 else "     "
        cells = [str(targets[corners[i, j]]) if (i, j) in corners
                 else " " if fancy else "#" if bit else "." for j, bit in enumerate(row)]
        spans = []
        start = 0
        for j in range(1, cols + 1):  # one span per run of equal bits
            if j == cols or row[j] != row[start]:
                spans.append((len(label) + start, len(label) + j,
                              "bold black on green" if row[start] else "bold white on blue"))
                start = j
        lines.append(Prose(label + "".join(cells), wrap="none", spans=tuple(spans)))
    lines.append(Prose("     x1=0" + " " * (cols - 8) + "x1=1", wrap="none"))
    return lines


# -- train ------------------------------------------------------------------------------------


def params_json(r: FitReport) -> dict[str, Any]:
    """The trained params as train --save writes them and --at @FILE reads them back."""
    from .matrix import to_json

    return {name: to_json(x) for name, x in r.params.items()}


def settings_json(r: FitReport) -> dict[str, Any]:
    s = r.settings
    out: dict[str, Any] = {"optimizer": s.optimizer, "lr": s.lr, "epochs": s.epochs,
                           "batch_size": s.batch_size or None, "seed": s.seed, "tol": s.tol}
    if s.optimizer == "momentum":
        out["momentum"] = s.momentum
    elif s.optimizer == "adam":
        out.update(betas=list(s.betas), eps=s.eps)
    return out


def fit_json(r: FitReport) -> dict[str, Any]:
    return {
        "program": r.program,
        "params": params_json(r),
        "epochs_run": r.epochs_run,
        "final_loss": r.final_loss,
        "loss_history": [[epoch, loss] for epoch, loss in r.history_sample()],
        "settings": settings_json(r),
        "stopped": r.stopped,
    }


def fit_table(r: FitReport, fancy: bool = False) -> list[Block]:
    from .matrix import is_array, matrix_table

    parts: list[Block] = [*_fit_summary(r)]
    scalars = {n: x for n, x in r.params.items() if not is_array(x)}
    if scalars:
        parts += ["", Table(tuple(scalars), ("right",) * len(scalars),
                            [tuple(human(x) for x in scalars.values())], pad_edge=False)]
    for name, x in r.params.items():
        if is_array(x):
            parts += ["", *matrix_table(name, x)]
    return [*parts, "", *_loss_curve(r.history_sample())]


def _fit_summary(r: FitReport) -> list[Block]:
    from . import source_text
    from .matrix import is_array, shape_text

    def named(values: dict[str, Any]) -> str:
        return ", ".join(f"{n} {shape_text(x)}" if is_array(x) else n for n, x in values.items())

    s = r.settings
    code = [line for line in r.program.splitlines() if line.strip()
            and not line.lstrip().startswith("#")]  # the statements, without comment lines
    how = {"sgd": "gradient descent (sgd)", "momentum": f"momentum {human(s.momentum)}",
           "adam": f"adam (betas {human(s.betas[0])}, {human(s.betas[1])}, eps "
                   f"{human(s.eps)})"}[s.optimizer]
    batch = (f"batches of {s.batch_size} of the {r.rows} rows of {', '.join(r.batch_rows)}, "
             f"shuffled by seed {s.seed}") if r.batch_rows else "full batch"
    epochs = f"{r.epochs_run} epoch{'s' if r.epochs_run != 1 else ''}"
    loss = r.loss_name or "the loss"
    if r.stopped == "tol":
        status = (f"stopped after {epochs}, {loss} changing by less than tol {human(s.tol)}: "
                  f"{loss} = {human(r.final_loss)}")
    else:
        status = f"after {epochs}: {loss} = {human(r.final_loss)}"
    return [Prose("train: " + source_text("\n       ".join(code), 400), wrap="parts"),
            f"params: {named(r.params)}" + (f"; data: {named(r.data)}" if r.data else ""),
            f"{how}, lr {human(s.lr)}, {batch}", Prose(status, "bold")]


@contextmanager
def progress_bar(total: int, label: str) -> Iterator[Progress | None]:
    """A live bar with epoch and loss on stderr when it is a terminal; otherwise nothing."""
    if total <= 0 or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    console = Console(file=sys.stderr)
    columns = (TextColumn("training {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("epochs  loss {task.fields[loss]}"), TimeElapsedColumn())
    with Bar(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total, loss="-")

        def update(epoch: int, loss: float) -> None:
            bar.update(task, completed=epoch, loss=human(loss))

        yield update

