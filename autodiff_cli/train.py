"""Logic gates learned by gradient descent on the engine.

The network and its loss are one expression program, compiled once into a Graph; the four
rows of the truth table go through it together as a 4x2 matrix. Every epoch re-runs that
graph's forward pass, takes the gradient from its reverse sweep and updates the weights in place,
W <- W - lr * dL/dW: train_loop's one training loop (the one `autodiff train` runs), with the
gate's stopping rule (every row right and the loss below tol).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import UsageError
from .gates import (
    ACTIVATION,
    ACTIVATIONS,
    EPOCHS,
    GATES,
    GRID,
    HIDDEN,
    HISTORY_POINTS,
    INPUTS,
    LOSS,
    LOSSES,
    LR,
    NOT_SEPARABLE,
    SEED,
    TOL,
)
from .train_loop import Progress


@dataclass(frozen=True)
class Prediction:
    inputs: tuple[int, int]
    target: int
    output: float
    predicted: int


@dataclass(frozen=True)
class Weight:
    """One weight W^layer_{neuron,input} (input 0: the bias b^layer_neuron)."""

    name: str
    layer: int
    neuron: int
    input: int
    value: float


@dataclass(frozen=True)
class Boundary:
    """The network's output on a grid over the unit square; row 0 is x2 = 1 (the top)."""

    x1: list[float]
    x2: list[float]
    outputs: list[list[float]]
    predicted: list[list[int]]


@dataclass
class TrainResult:
    gate: str
    table: tuple[int, ...]
    layers: tuple[int, ...]  # (2, 8, 1): inputs, hidden sizes, output
    activation: str
    loss: str
    lr: float
    epochs: int  # the most allowed
    seed: int
    tol: float
    epochs_run: int
    converged: bool
    final_loss: float
    accuracy: float
    predictions: list[Prediction]
    weights: list[Weight]
    loss_history: list[float]  # loss_history[e] = loss after e updates
    boundary: Boundary
    program: str  # the network and its loss as an expression program
    separable: bool  # whether one perceptron can represent the table
    initial: str  # where the starting weights came from

    @property
    def architecture(self) -> str:
        return "-".join(str(n) for n in self.layers)

    def history_sample(self, points: int = HISTORY_POINTS) -> list[tuple[int, float]]:
        """(epoch, loss) at most `points` evenly spaced epochs from 0, plus the last."""
        from .train_loop import sample

        return sample(self.loss_history, points)

    def _repr_html_(self) -> str:
        """Jupyter shows the result as the page of train-gate --format html."""
        from .render.html import notebook, train_page

        return notebook(train_page(self))


# -- options ----------------------------------------------------------------------------


def resolve_gate(gate: str | None, table: str | None) -> tuple[str, tuple[int, ...]]:
    """The gate's name and its outputs for inputs 00, 01, 10, 11."""
    if gate is not None and table is not None:
        raise UsageError("give a GATE or --table, not both")
    if table is not None:
        bits = parse_table(table)
        named = [name for name, t in GATES.items() if t == bits]
        return (named[0] if named else "table " + ",".join(map(str, bits))), bits
    name = (gate or "xor").strip().lower()
    if name not in GATES:
        import difflib

        close = difflib.get_close_matches(name, list(GATES), n=1)
        hint = (f"did you mean {close[0]}? " if close else "") + \
            "or give any table as --table 0,1,1,0 (outputs for inputs 00, 01, 10, 11)"
        raise UsageError(f"unknown gate {gate!r}; the gates are {', '.join(GATES)}", hint=hint)
    return name, GATES[name]


def parse_table(text: str) -> tuple[int, ...]:
    parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
    if len(parts) == 1 and len(parts[0]) == 4:
        parts = list(parts[0])  # --table 0110
    if len(parts) != 4 or any(p not in ("0", "1") for p in parts):
        raise UsageError(f"--table {text!r}: give four bits, the outputs for inputs "
                         "00, 01, 10, 11, e.g. --table 0,1,1,0")
    return tuple(int(p) for p in parts)


def parse_hidden(text: str) -> tuple[int, ...]:
    """'0' -> () (one perceptron), '8' -> (8,), '4,4' -> (4, 4)."""
    parts = [p.strip() for p in text.split(",")]
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if not sizes or any(n < 0 for n in sizes) or (0 in sizes and sizes != [0]) \
            or any(n > 1000 for n in sizes) or len(sizes) > 10:
        raise UsageError(f"--hidden {text!r}: give 0 (a single perceptron) or the sizes of the "
                         "hidden layers, e.g. --hidden 8 or --hidden 4,4 (1..1000 neurons, "
                         "at most 10 layers)")
    return () if sizes == [0] else tuple(sizes)


def parse_weights(text: str) -> tuple[float, ...]:
    """'10,10,-15' -> (10.0, 10.0, -15.0); entries may be constant expressions (pi/4)."""
    from .errors import AutodiffError
    from .inputs import constant

    values = []
    for part in text.split(","):
        piece = part.strip()
        try:
            x = float(piece)
        except ValueError:
            try:
                x = constant(piece) if piece else math.nan
            except AutodiffError:
                x = math.nan
        if not math.isfinite(x):
            raise UsageError(f"--weights: {piece!r} is not a finite number",
                             hint="give numbers separated by commas, e.g. --weights 10,10,-15")
        values.append(x)
    return tuple(values)


def weight_names(layers: Sequence[int]) -> list[tuple[str, int, int, int]]:
    """(name, layer, neuron, input) in --weights order: layer by layer, neuron by neuron, each
    neuron's weights from inputs 1, 2, ... then its bias. The seed's names: W^l_jk is layer l's
    weight into neuron j from input k, b^l_j neuron j's bias; a lone perceptron's w1, w2, b."""
    if len(layers) == 2:
        return [("w1", 1, 1, 1), ("w2", 1, 1, 2), ("b", 1, 1, 0)]
    names = []
    sep = "," if max(layers) > 9 else ""  # one style in a network: W^1_{10,2} beside W^1_{1,2}
    for layer in range(1, len(layers)):
        fan_in, fan_out = layers[layer - 1], layers[layer]
        for j in range(1, fan_out + 1):
            for k in range(1, fan_in + 1):
                sub = f"{j}{sep}{k}"
                names.append((f"W^{layer}_{{{sub}}}" if sep else f"W^{layer}_{sub}",
                               layer, j, k))
            names.append((f"b^{layer}_{j}", layer, j, 0))
    return names


# -- the network as a program of the engine ------------------------------------------------


def network_program(layers: Sequence[int], activation: str, loss: str | None) -> str:
    """E.g. 'H1 = tanh(X @ W1 + b1); Z = H1 @ W2 + b2; O = sigmoid(Z); L = mean((O - Y)^2)'.
    Without a loss, the program ends at O (used to draw the decision boundary)."""
    stmts, prev = [], "X"
    for layer in range(1, len(layers) - 1):
        stmts.append(f"H{layer} = {activation}({prev} @ W{layer} + b{layer})")
        prev = f"H{layer}"
    last = len(layers) - 1
    stmts += [f"Z = {prev} @ W{last} + b{last}", "O = sigmoid(Z)"]
    if loss == "mse":
        stmts.append("L = mean((O - Y)^2)")
    elif loss == "bce":
        # binary cross-entropy from the logit Z: -y log(s(z)) - (1-y) log(1-s(z))
        stmts.append("L = mean(softplus(Z) - Y*Z)")
    return "; ".join(stmts)


def initial_weights(layers: Sequence[int], seed: int) -> tuple[float, ...]:
    """Glorot-uniform weights (limit sqrt(6 / (fan_in + fan_out))) and zero biases, drawn in
    --weights order from Python's random.Random(seed), the same on every platform."""
    import random

    rng = random.Random(seed)
    values = []
    for _name, layer, _j, k in weight_names(layers):
        limit = math.sqrt(6.0 / (layers[layer - 1] + layers[layer]))
        values.append(rng.uniform(-limit, limit) if k else 0.0)
    return tuple(values)


def _matrices(layers: Sequence[int], flat: Sequence[float]) -> dict[str, Any]:
    """W{l} (fan_in x fan_out, so that X @ W works: W^l_jk is W{l}[k-1, j-1]) and b{l}."""
    import numpy as np

    out: dict[str, Any] = {}
    pos = 0
    for layer in range(1, len(layers)):
        fan_in, fan_out = layers[layer - 1], layers[layer]
        block = np.array(flat[pos:pos + fan_out * (fan_in + 1)], dtype=float)
        block = block.reshape(fan_out, fan_in + 1)
        out[f"W{layer}"] = np.ascontiguousarray(block[:, :fan_in].T)
        out[f"b{layer}"] = block[:, fan_in:].T.copy()
        pos += fan_out * (fan_in + 1)
    return out


def _flatten(layers: Sequence[int], params: dict[str, Any]) -> list[float]:
    flat: list[float] = []
    for layer in range(1, len(layers)):
        w, b = params[f"W{layer}"], params[f"b{layer}"]
        for j in range(layers[layer]):
            flat.extend(float(x) for x in w[:, j])
            flat.append(float(b[0, j]))
    return flat


# -- training ---------------------------------------------------------------------------------


def check_settings(activation: str, loss: str, lr: float, epochs: int, tol: float) -> None:
    if activation not in ACTIVATIONS:
        raise UsageError(f"--activation {activation!r}: choose {', '.join(ACTIVATIONS)}")
    if loss not in LOSSES:
        raise UsageError(f"--loss {loss!r}: choose {', '.join(LOSSES)}")
    from .train_loop import Settings

    Settings(lr=lr, epochs=epochs, tol=tol).check()


class Network:
    """A 2-input network and its loss on a truth table, as one engine graph built once.
    The weights live in the graph's values and are updated there, in place."""

    def __init__(self, layers: Sequence[int], activation: str, loss: str,
                 table: Sequence[int], weights: Sequence[float]) -> None:
        import numpy as np

        from .train_loop import Run

        self.layers = tuple(layers)
        self.activation = activation
        self.program = network_program(self.layers, activation, loss)
        params = _matrices(self.layers, weights)
        self.target = np.array(table, dtype=float).reshape(4, 1)
        self.run = Run(self.program, {"X": np.array(INPUTS, dtype=float), "Y": self.target},
                       params)
        p = self.prepared = self.run.prepared
        self.state = self.run.state
        self.params = {k: p.graph.variables[k] for k in params}  # name -> node
        self.out = p.graph.labels.index("O")

    def matrices(self) -> dict[str, Any]:
        return {k: self.state.values[i] for k, i in self.params.items()}

    def weights(self) -> list[float]:
        """The weights and biases in --weights order."""
        return _flatten(self.layers, self.matrices())

    def set_weights(self, weights: Sequence[float]) -> None:
        for k, m in _matrices(self.layers, weights).items():
            self.state.assign(k, m)

    def outputs(self) -> list[float]:
        """The network's output per row, as of the last forward pass."""
        return [float(o) for o in self.state.values[self.out].ravel()]

    def loss_and_gradient(self) -> tuple[float, list[float]]:
        """The loss and dL/d(each weight), in --weights order: one forward, one reverse sweep."""
        loss = float(self.state.forward())
        g = self.state.backward(wrt=self.prepared.wrt)
        return loss, _flatten(self.layers, {k: g[i] for k, i in self.params.items()})

    def descend(self, lr: float, epochs: int, tol: float, progress: Progress | None = None
                ) -> tuple[int, list[float], bool]:
        """Gradient descent, W <- W - lr * dL/dW, until every row is right and the loss is
        below tol, or for `epochs` updates: train_loop's one loop, with the gate's stopping
        rule. Returns (updates made, loss per epoch, converged)."""
        from .train_loop import Settings

        out, target = self.out, self.target >= 0.5

        def converged(history: list[float], state: Any) -> bool:
            return history[-1] < tol and bool(((state.values[out] >= 0.5) == target).all())

        r = self.run.descend(Settings(lr=lr, epochs=epochs, tol=tol), converged, progress)
        return r.epochs_run, r.loss_history, r.stopped == "tol"


def train_gate(gate: str | None = "xor", *, table: str | None = None,
               hidden: tuple[int, ...] = HIDDEN, activation: str = ACTIVATION,
               loss: str = LOSS, lr: float = LR, epochs: int = EPOCHS, seed: int = SEED,
               tol: float = TOL, weights: Sequence[float] | None = None,
               progress: Progress | None = None, grid: tuple[int, int] = GRID) -> TrainResult:
    """Train a 2-input network on a gate by gradient descent and report what it learned.

    Converged means every row is right (output >= 0.5 predicts 1) and the loss is below tol;
    training stops at the first such epoch. Raises UsageError, MathError (divergence)."""
    name, bits = resolve_gate(gate, table)
    check_settings(activation, loss, lr, epochs, tol)
    layers = (2, *hidden, 1)
    names = weight_names(layers)
    initial = "given (--weights)"
    if weights is None:
        initial = f"Glorot-uniform weights, zero biases (seed {seed})"
        weights = initial_weights(layers, seed)
    elif len(weights) != len(names):
        order = ", ".join(n for n, *_ in names[:6]) + (", ..." if len(names) > 6 else "")
        raise UsageError(f"--weights: the {'-'.join(map(str, layers))} network has "
                         f"{len(names)} weights and biases ({order}), got {len(weights)}",
                         hint="the order is layer by layer, neuron by neuron: each neuron's "
                         "weights from inputs 1, 2, ... then its bias")

    net = Network(layers, activation, loss, bits, weights)
    run, history, converged = net.descend(lr, epochs, tol, progress)
    predictions = [Prediction(i, t, o, int(o >= 0.5))
                   for i, t, o in zip(INPUTS, bits, net.outputs(), strict=True)]
    right = sum(p.predicted == p.target for p in predictions)
    return TrainResult(
        gate=name, table=bits, layers=layers, activation=activation, loss=loss, lr=lr,
        epochs=epochs, seed=seed, tol=tol, epochs_run=run, converged=converged,
        final_loss=history[-1], accuracy=right / 4, predictions=predictions,
        weights=[Weight(n, layer, j, k, v)
                 for (n, layer, j, k), v in zip(names, net.weights(), strict=True)],
        loss_history=history, boundary=boundary(layers, activation, net.matrices(), grid),
        program=net.program, separable=bits not in NOT_SEPARABLE, initial=initial)


def boundary(layers: Sequence[int], activation: str, params: dict[str, Any],
             grid: tuple[int, int] = GRID) -> Boundary:
    """The network's output at each point of a grid over [0, 1] x [0, 1], by the same engine."""
    import numpy as np

    cols, rows = grid
    x1 = [c / (cols - 1) for c in range(cols)]
    x2 = [1 - r / (rows - 1) for r in range(rows)]
    points = np.array([(a, b) for b in x2 for a in x1], dtype=float)
    from .core import evaluate, prepare

    p = prepare(network_program(layers, activation, None), {"X": points, **params})
    out = np.asarray(evaluate(p, backward=False).value).reshape(rows, cols)
    outputs = [[float(o) for o in row] for row in out]
    return Boundary(x1, x2, outputs, [[int(o >= 0.5) for o in row] for row in outputs])
