"""Gradient descent on any scalar loss a program writes: the one training loop.

`autodiff train` and `train-gate` both run `descend`: the program is prepared once (core.prepare,
the params as the variables asked for), one State holds its values, and every step is that
State's forward pass, its one reverse sweep toward the params, an optimizer update and
State.assign. The optimizers follow PyTorch's documentation (torch.optim.SGD, with momentum,
and torch.optim.Adam); docs/train.md writes their formulas out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import State
from .errors import MathError, ShapeError, UsageError
from .gates import HISTORY_POINTS, OPTIMIZERS

Value = Any  # a float, or a numpy array
Progress = Callable[[int, float], None]
Stop = Callable[[list[float], State], bool]  # (loss per epoch so far, the State) -> stop?

LR = 0.1
EPOCHS = 1000
TOL = 0.0
MOMENTUM = 0.9
BETAS = (0.9, 0.999)
EPS = 1e-8
MAX_EPOCHS = 10_000_000


@dataclass(frozen=True)
class Settings:
    lr: float = LR
    epochs: int = EPOCHS  # the most updates (full batch) or passes over the data
    optimizer: str = "sgd"
    batch_size: int = 0  # rows per step; 0: all of them (full batch)
    seed: int = 0  # randn in the values, and the order of the rows each epoch
    tol: float = TOL  # stop once the loss changes by less than this in an epoch
    momentum: float = MOMENTUM
    betas: tuple[float, float] = BETAS
    eps: float = EPS

    def check(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise UsageError(f"--lr {self.lr:g}: the learning rate must be a positive number")
        if not 0 <= self.epochs <= MAX_EPOCHS:
            raise UsageError(f"--epochs {self.epochs}: give 0 (just evaluate) up to "
                             f"{MAX_EPOCHS}")
        if not (math.isfinite(self.tol) and self.tol >= 0):
            raise UsageError(f"--tol {self.tol:g}: give a number >= 0 (0 never stops early)")
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"--optimizer {self.optimizer!r}: choose {', '.join(OPTIMIZERS)}")
        if self.batch_size < 0:
            raise UsageError(f"--batch-size {self.batch_size}: give a number of rows >= 1 "
                             "(0: all rows at once)")


@dataclass
class FitReport:
    """What `train` learned: the params after training and the loss on the whole data
    after each epoch (loss_history[e] = the loss after e epochs)."""

    program: str
    loss_name: str  # the last statement's name, if it is an assignment
    params: dict[str, Value]  # in --param order
    data: dict[str, Value]  # the --at values (the report shows their shapes)
    epochs_run: int
    final_loss: float
    loss_history: list[float]
    stopped: str  # "tol": the loss changed by less than tol; "epochs": the last epoch ran
    settings: Settings
    batch_rows: list[str] = field(default_factory=list)  # the data names batched by row
    rows: int = 0  # rows of the data, when batched

    def history_sample(self, points: int = HISTORY_POINTS) -> list[tuple[int, float]]:
        return sample(self.loss_history, points)


def sample(history: Sequence[float], points: int = HISTORY_POINTS) -> list[tuple[int, float]]:
    """(epoch, loss) at most `points` evenly spaced epochs from 0, plus the last."""
    n = len(history)
    step = max(1, math.ceil((n - 1) / points)) if n > 1 else 1
    epochs = list(range(0, n, step))
    if epochs[-1] != n - 1:
        epochs.append(n - 1)
    return [(e, history[e]) for e in epochs]


# -- optimizers: p is a float or an array (updated in place), g its gradient -------------------


class Optimizer:
    def __init__(self, s: Settings, count: int) -> None:
        self.s, self.lr = s, s.lr
        self.t = 0  # steps taken
        self.slots: list[list[Value]] = [[0.0, 0.0] for _ in range(count)]

    def begin(self) -> None:
        self.t += 1

    def step(self, k: int, p: Value, g: Value) -> Value:
        raise NotImplementedError


class SGD(Optimizer):
    def step(self, k: int, p: Value, g: Value) -> Value:
        p -= self.lr * g  # p <- p - lr * g
        return p


class Momentum(Optimizer):
    def step(self, k: int, p: Value, g: Value) -> Value:
        slot = self.slots[k]
        v = slot[0] = self.s.momentum * slot[0] + g  # v <- mu * v + g
        p -= self.s.lr * v  # p <- p - lr * v
        return p


class Adam(Optimizer):
    def step(self, k: int, p: Value, g: Value) -> Value:
        (b1, b2), slot, t = self.s.betas, self.slots[k], self.t
        m = slot[0] = b1 * slot[0] + (1 - b1) * g  # m <- b1 m + (1 - b1) g
        v = slot[1] = b2 * slot[1] + (1 - b2) * (g * g)  # v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p -= self.s.lr * m_hat / (v_hat ** 0.5 + self.s.eps)
        return p


def optimizer(s: Settings, count: int) -> Optimizer:
    kinds: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}
    return kinds[s.optimizer](s, count)


# -- the loop ------------------------------------------------------------------------------


def loss_change_below(tol: float) -> Stop:
    """Stop once an epoch changed the loss by less than tol (0: never)."""
    return lambda h, _state: len(h) > 1 and abs(h[-1] - h[-2]) < tol


def descend(state: State, params: Sequence[str], settings: Settings, stop: Stop,
            progress: Progress | None = None, batches: Batches | None = None
            ) -> tuple[int, list[float], bool]:
    """Train the params (variables of state's graph) from their current values until
    stop(history, state) or settings.epochs epochs; returns (epochs run, the loss after each
    epoch, stopped early). Every step: forward, one reverse sweep toward the params, the
    optimizer's update, State.assign. Raises MathError (divergence), ShapeError."""
    graph = state.graph
    ids = [graph.variables[n] for n in params]
    wrt, epochs = tuple(params), settings.epochs
    opt = optimizer(settings, len(ids))
    every = max(1, epochs // 200)
    history = [_first_loss(state)]
    epoch = 0
    try:
        with _float_errors(state.arrays):
            while True:
                if stop(history, state):
                    stopped = True
                    break
                if epoch == epochs:
                    stopped = False
                    break
                if batches is None:
                    _update(state, params, ids, opt, state.backward(wrt=wrt))
                else:
                    for rows in batches.epoch():
                        batches.assign(state, rows)
                        state.forward()
                        _update(state, params, ids, opt, state.backward(wrt=wrt))
                    batches.assign(state, None)
                epoch += 1
                history.append(_loss(state))
                if progress is not None and epoch % every == 0:
                    progress(epoch, history[-1])
    except (MathError, FloatingPointError) as err:
        if isinstance(err, ShapeError):
            raise
        message = err.message if isinstance(err, MathError) else "a param overflowed"
        raise MathError(f"training diverged in epoch {epoch + 1}: {message}",
                        getattr(err, "source", ""), getattr(err, "span", None),
                        hint=f"the loss or the params grew too large for floats; try a "
                        f"smaller --lr (it was {settings.lr:g})") from None
    if progress is not None:
        progress(epoch, history[-1])
    return epoch, history, stopped


def _float_errors(arrays: bool) -> Any:
    """numpy's floating-point errors raised (an update that overflows), on arrays; floats
    are checked by _update (numpy is not imported for them)."""
    if not arrays:
        from contextlib import nullcontext

        return nullcontext()
    import numpy as np

    return np.errstate(divide="raise", over="raise", invalid="raise", under="ignore")


def _first_loss(state: State) -> float:
    """The loss at the starting values: a scalar, or ShapeError."""
    from .core import plain

    value = plain(state.forward())
    if not isinstance(value, float):
        from .arrays import shape_text

        graph = state.graph
        raise ShapeError(f"the loss (the program's last statement) must be a number, but it "
                         f"has shape {shape_text(value)}", graph.source,
                         graph.spans[graph.output],
                         hint="reduce it to one number, e.g. mean((X @ w - y)^2) or sum(...)")
    return value


def _loss(state: State) -> float:
    return float(state.forward())


def _update(state: State, params: Sequence[str], ids: Sequence[int], opt: Optimizer,
            g: list[Value]) -> None:
    opt.begin()
    v, step, assign = state.values, opt.step, state.assign
    for k, i in enumerate(ids):
        p = step(k, v[i], g[i])
        if type(p) is float and not math.isfinite(p):
            raise FloatingPointError
        assign(params[k], p)


class Batches:
    """Mini-batches: the rows of every data array with the data's row count, in an order
    drawn afresh each epoch from numpy's default_rng([seed, 1])."""

    def __init__(self, data: Mapping[str, Value], size: int, seed: int) -> None:
        import numpy as np

        self.data = data
        rows = [np.shape(x)[0] for x in data.values() if np.ndim(x) >= 1]
        self.rows = max(rows, default=0)
        self.names = [n for n, x in data.items() if np.ndim(x) >= 1 and
                      np.shape(x)[0] == self.rows]
        self.size = size
        self.rng = np.random.default_rng([seed, 1])

    def epoch(self) -> list[Any]:
        order = self.rng.permutation(self.rows)
        return [order[k:k + self.size] for k in range(0, self.rows, self.size)]

    def assign(self, state: State, rows: Any) -> None:
        """The data of these rows (None: all rows) into the state."""
        for n in self.names:
            state.assign(n, self.data[n] if rows is None else self.data[n][rows])


# -- train: a program, its data and its params ------------------------------------------------


class Run:
    """A program whose last statement is the scalar loss, prepared once with its data and its
    params (name -> starting value) as variables, and the one State that training updates."""

    def __init__(self, source: str, data: Mapping[str, Value], params: Mapping[str, Value],
                 random_seed: int = 0) -> None:
        from .core import prepare

        if not params:
            raise UsageError("nothing to train: give the params and their starting values, "
                             "e.g. --param w=zeros(3,1)")
        both = [n for n in params if n in data]
        if both:
            raise UsageError(f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} given by "
                             "both --param and --at; a name is either trained (--param) or "
                             "data (--at)")
        p = prepare(source, {**data, **params}, list(params), random_seed=random_seed,
                    option="--param")
        graph = p.graph
        need = graph.sweep(p.wrt).need
        unused = [n for n in p.wrt if not need[graph.variables[n]]]
        if unused:
            raise UsageError(f"--param {', '.join(unused)}: the loss does not depend on "
                             f"{'it' if len(unused) == 1 else 'them'}",
                             hint=f"the program's variables are {', '.join(graph.variables)}")
        self.prepared = p
        self.data_names = [n for n in data]
        self.state = graph.at(p.point, (p.random_seed, 0))
        for n in p.wrt:  # trained in place: copies, so the caller's arrays stay as they are
            x = p.point[n]
            self.state.assign(n, x if isinstance(x, float) else x.copy())

    @property
    def params(self) -> dict[str, Value]:
        """The params' current values, in --param order (a number as a float)."""
        from .core import plain

        v, variables = self.state.values, self.prepared.graph.variables
        return {n: plain(v[variables[n]]) for n in self.prepared.wrt}

    def value(self, label: str) -> Value:
        """The value of the node a statement named, as of the last forward pass."""
        graph = self.prepared.graph
        return self.state.values[graph.labels.index(label)]

    def descend(self, settings: Settings, stop: Stop | None = None,
                progress: Progress | None = None) -> FitReport:
        settings.check()
        p = self.prepared
        batches = None
        if settings.batch_size:
            batches = Batches({n: p.point[n] for n in self.data_names}, settings.batch_size,
                              settings.seed)
            if not batches.names:
                raise UsageError("--batch-size takes rows of the --at arrays, and none is "
                                 "given")
            if settings.batch_size >= batches.rows:
                batches = None  # one batch of every row: the full batch
        run, history, stopped = descend(self.state, p.wrt, settings,
                                        stop or loss_change_below(settings.tol), progress,
                                        batches)
        return FitReport(
            program=p.source, loss_name=p.graph.output_name, params=self.params,
            data={n: p.point[n] for n in self.data_names},
            epochs_run=run, final_loss=history[-1], loss_history=history,
            stopped="tol" if stopped else "epochs", settings=settings,
            batch_rows=batches.names if batches else [], rows=batches.rows if batches else 0)


def fit(source: str, data: Mapping[str, Value], params: Mapping[str, Value],
        settings: Settings | None = None, *, stop: Stop | None = None,
        progress: Progress | None = None) -> FitReport:
    """Fit the params (name -> starting value) of the program `source`, whose last
    statement is the scalar loss, to the data (name -> value) by gradient descent.
    Raises UsageError, ShapeError, MathError (divergence) and the parser's errors."""
    s = settings or Settings()
    s.check()
    return Run(source, data, params, s.seed).descend(s, stop, progress)
