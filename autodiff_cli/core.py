"""The one evaluation path behind every command and the library API.

    prepare(source, at, wrt)  -> Prepared     parse, lower, bind and check the values, choose
                                              the variables asked for: validated once
    evaluate(prepared)        -> Evaluation   forward, then one reverse sweep toward those
                                              variables (or forward mode: one pass of dual
                                              numbers each); tape=True records every edge

grad, trace, hessian and --order, check, --check, --batch, grade and train all call these two.
Only the partials asked for are computed, so a derivative nobody asked for need not exist.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .engine import Edge, Graph, State
from .errors import AutodiffError, ShapeError, UsageError
from .modes import MODES

if TYPE_CHECKING:
    from .limits import Budget

Value = Any  # a float, or a numpy array


@dataclass(frozen=True)
class Prepared:
    """A compiled source bound to a point: the graph, the checked values of its variables,
    the variables asked for, and how the backward sweep starts."""

    graph: Graph
    point: dict[str, Value]  # every variable's value, checked
    wrt: tuple[str, ...]  # the variables asked for, in order
    seed_grad: Value = None  # the output's gradient, if given (else a sum reduces it)
    random_seed: int = 0  # what randn(r, c) in the source draws

    @property
    def source(self) -> str:
        return self.graph.source

    def at(self, changes: Mapping[str, Value]) -> Prepared:
        """The same question at another point: changes overrides variables' values
        (trusted values, as a caller computes them: not checked again)."""
        return replace(self, point={**self.point, **changes})

    def asking(self, wrt: Iterable[str]) -> Prepared:
        """The same question about other variables (some of this one's)."""
        return replace(self, wrt=tuple(wrt))

    def with_graph(self, graph: Graph) -> Prepared:
        """The same point and variables on another graph over them (a derivative's)."""
        return replace(self, graph=graph)


@dataclass
class Evaluation:
    """One forward pass and one sweep: every node's value and, by mode, every node's
    adjoint (reverse) or every node's tangent per variable (forward)."""

    prepared: Prepared
    state: State
    value: Value
    mode: str = "reverse"
    adjoints: list[Value] | None = None  # d output / d node (reverse mode)
    tangents: dict[str, list[float]] | None = None  # d node / d variable (forward mode
    # with a tape; without one only the output's are kept, in forward_gradient)
    forward_gradient: dict[str, float] | None = None
    tape: list[Edge] | None = None  # the reverse sweep's edges as it ran them
    locals: dict[tuple[int, int], float] | None = None  # forward mode: (node, input) ->
    # the local derivative a tangent flowed through

    @property
    def graph(self) -> Graph:
        return self.prepared.graph

    @property
    def values(self) -> list[Value]:
        return self.state.values

    @property
    def gradient(self) -> dict[str, Value]:
        """d output / d variable for each variable asked for, in order."""
        graph = self.prepared.graph
        if self.forward_gradient is not None:
            return dict(self.forward_gradient)
        if self.adjoints is None:
            return {}
        return {n: plain(self.adjoints[graph.variables[n]]) for n in self.prepared.wrt}


class Cache:
    """Compiled graphs (or the error compiling gave) by (source, variables), LRU: graders
    and batch files ask the same question of many points."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.graphs: OrderedDict[tuple[str, tuple[str, ...]], Graph | AutodiffError] = \
            OrderedDict()

    def compile(self, source: str, names: tuple[str, ...]) -> Graph:
        key = (source, names)
        found = self.graphs.get(key)
        if found is None:
            try:
                found = compile(source, names)
            except AutodiffError as err:
                found = err
            self.graphs[key] = found
            if len(self.graphs) > self.size:
                self.graphs.popitem(last=False)
        else:
            self.graphs.move_to_end(key)
        if isinstance(found, AutodiffError):
            raise found
        return found


def compile(source: str, variables: Iterable[str]) -> Graph:
    """Parse and lower `source`, with `variables` as its inputs. Raises AutodiffError;
    warns (AutodiffWarning) where implicit multiplication reads ambiguously."""
    from .errors import warn
    from .lower import lower
    from .parse import ambiguities, parse

    program = parse(source)
    for problem in ambiguities(program):
        warn(problem.message, source, problem.span,
             hint="write * or parentheses to say which you mean")
    return lower(program, variables)


def prepare(source: str, at: Mapping[str, Value] | None = None,
            wrt: Iterable[str] | None = None, *, seed_grad: Value = None,
            random_seed: int = 0, cache: Cache | None = None, option: str = "--wrt",
            budget: Budget | None = None, what: str = "") -> Prepared:
    """Compile source with the names of `at` as its variables, check their values (finite
    numbers or rectangular arrays of them) and the variables asked for (all if wrt is None).
    With a budget (untrusted input), the graph's estimated work is spent from it before
    anything runs (LimitError, naming `what`, if it does not fit). Raises AutodiffError."""
    point = {name: checked(name, x) for name, x in (at or {}).items()}
    names = tuple(point)
    graph = cache.compile(source, names) if cache is not None else compile(source, names)
    if graph.defaults:  # the program's own leaves (x = -4) are variables too
        point = {n: point[n] if n in point else graph.defaults[n] for n in graph.variables}
    if budget is not None:
        from .limits import graph_work

        budget.spend(graph_work(graph, point), what)
    order = wanted(list(graph.variables), wrt, option)
    if seed_grad is not None:
        seed_grad = plain(checked("--seed-grad", seed_grad))
    return Prepared(graph, point, tuple(order), seed_grad, random_seed)


def evaluate(p: Prepared, *, mode: str = "reverse", tape: bool = False,
             backward: bool = True) -> Evaluation:
    """Forward, then (with backward) the derivatives of the variables asked for: reverse
    mode by one sweep, forward mode by one pass of dual numbers per variable. With tape,
    the sweep's edges (or forward mode's local derivatives) are kept."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; the modes are {', '.join(MODES)}")
    if mode == "forward" and p.seed_grad is not None:
        raise UsageError("--seed-grad starts the backward sweep, and forward mode has none",
                         hint="leave out --seed-grad, or use --mode reverse")
    state = p.graph.at(p.point, (p.random_seed, 0))
    value = plain(state.forward())
    e = Evaluation(p, state, value, mode)
    if not backward:
        return e
    if mode == "forward":
        from .limits import check_tangents

        if tape:
            check_tangents(len(p.wrt), len(p.graph))
        e.locals = {} if tape else None
        e.tangents = {} if tape else None
        e.forward_gradient = {}
        for n in p.wrt:  # one pass each; all of a pass is kept only for a tape
            t = state.tangents(n, e.locals)
            e.forward_gradient[n] = t[p.graph.output]
            if e.tangents is not None:
                e.tangents[n] = t
        return e
    if p.seed_grad is not None:
        _same_shape(p.seed_grad, value)
    e.tape = [] if tape else None
    e.adjoints = state.backward(p.seed_grad, p.wrt, e.tape)
    return e


def _same_shape(seed_grad: Value, value: Value) -> None:
    if is_scalar(seed_grad) and is_scalar(value):
        return
    import numpy as np

    from .arrays import shape_text

    if np.shape(seed_grad) != np.shape(value):
        def words(x: Value) -> str:
            return "is a scalar" if np.ndim(x) == 0 else f"has shape {shape_text(x)}"

        raise ShapeError(f"--seed-grad {words(seed_grad)}, but the output {words(value)}; "
                         "they must be the same")


def is_scalar(x: Value) -> bool:
    """Whether x is a plain number rather than an array (numpy is not imported for this)."""
    return isinstance(x, (int, float))


def plain(x: Value) -> Value:
    """A 0-d array or numpy scalar as a float; arrays stay arrays."""
    if is_scalar(x):
        return float(x)
    import numpy as np

    return float(x) if np.ndim(x) == 0 else x


def checked(name: str, x: Value) -> Value:
    """x as a float or a float array, if all of it is finite."""
    if isinstance(x, (int, float)):
        try:
            ok, x = math.isfinite(x), float(x)
        except OverflowError:
            ok = False
    else:
        import numpy as np

        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise UsageError(f"{name}: not a number or a rectangular array of numbers") from None
        ok = bool(np.all(np.isfinite(x)))
    if not ok:
        raise UsageError(f"{name}: values must be finite numbers (no inf or nan)")
    return x


def wanted(variables: list[str], wrt: Iterable[str] | None, option: str = "--wrt"
           ) -> list[str]:
    """The variables asked for: all of them, or those named in wrt (which must be some)."""
    if wrt is None:
        return variables
    names = list(dict.fromkeys(wrt))
    unknown = [w for w in names if w not in variables]
    if unknown:
        raise UsageError(f"{option} names {', '.join(unknown)}, which "
                         f"{'is' if len(unknown) == 1 else 'are'} not a variable; "
                         f"the variables are {', '.join(variables) or 'none'}")
    return names
