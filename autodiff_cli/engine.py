"""The graph and its interpreters: nodes in creation (= topological) order; forward is a loop
over the list, backward one reverse sweep over the edges that carry a gradient, and forward
mode one pass of dual numbers per variable. Iterative, so any depth works.

A Graph is only structure: built by lower (or symbolic's Builder) through its methods, frozen
when it is first evaluated, never changed afterwards. A State holds the values of one
evaluation at one point. Values are floats (the fast path) or numpy arrays (then numpy is
imported and the ops that are not element-wise use their vector-Jacobian products)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .derivatives import Local, array_partials, evaluate, scalar_partials
from .errors import LimitError, MathError, ShapeError, Span, UsageError, columns
from .gcpause import paused_gc
from .ops import CONST, VAR, Op

Value = Any  # float, or a numpy array
_ZERO = 0.0  # the adjoint of a node no gradient has reached yet (compared by identity)


class Node(NamedTuple):  # not a dataclass: making one costs start-up time
    """A read-only view of one node, for reports and renderers."""

    id: int
    op: Op
    args: tuple[int, ...]
    label: str
    span: Span | None


class Edge(NamedTuple):
    """One edge of a recorded sweep: what node sent back to its input at `position`.
    local is d node / d input (None for a vector-Jacobian product), contribution the
    gradient * local the input received (summed back to its shape), broadcast the shape
    gradient * local had before that, where broadcasting made it larger."""

    node: int
    position: int
    input: int
    local: Value
    contribution: Value
    broadcast: tuple[int, ...] | None = None


class Sweep(NamedTuple):
    """Which nodes a reverse sweep reaches and the edges it runs, in the order it runs them."""

    need: list[bool]  # depends on a variable asked for, and the output depends on it
    edges: list[tuple[int, int, int]]  # (node, position, input), nodes in reverse order


class Graph:
    """A computation graph. Node i's inputs all have ids below i. Read its lists, never
    write them: build with add/variable/constant/name/set_output, then freeze()."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.ops: list[Op] = []
        self.args: list[tuple[int, ...]] = []
        self.labels: list[str] = []
        self.spans: list[Span | None] = []
        self.consts: list[Value] = []  # the value of each constant node (0.0 elsewhere)
        self.variables: dict[str, int] = {}  # name -> node, in order of first appearance
        self.defaults: dict[str, Value] = {}  # the values a program assigns its leaves
        self._output = -1
        self._output_name = ""
        self.makes_arrays = False  # an op makes an array, or a constant is one
        self._frozen = False
        self._only_needed = False  # forward evaluates only what the output depends on
        self._plans: dict[Any, Any] = {}

    # -- building -----------------------------------------------------------------------

    def _building(self) -> None:
        if self._frozen:
            raise RuntimeError("a graph is not changed once it is frozen")

    def add(self, op: Op, args: tuple[int, ...] = (), span: Span | None = None,
            label: str = "", value: Value = 0.0) -> int:
        self._building()
        self.ops.append(op)
        self.args.append(args)
        self.labels.append(label)
        self.spans.append(span)
        self.consts.append(value)
        if op.creates:
            self.makes_arrays = True
        return len(self.ops) - 1

    def variable(self, name: str, span: Span | None = None, value: Value = None) -> int:
        """The node of variable `name`; with a value, the one it has unless a point gives
        another (a program's x = -4)."""
        if name not in self.variables:
            self.variables[name] = self.add(VAR, (), span, name)
            if value is not None:
                self.defaults[name] = value
                if not isinstance(value, float):
                    self.makes_arrays = True
        return self.variables[name]

    def constant(self, value: Value, span: Span | None = None, label: str = "") -> int:
        if not isinstance(value, float):
            self.makes_arrays = True
        return self.add(CONST, (), span, label, value)

    def name(self, i: int, label: str) -> None:
        """Give node i the name a program assigns it (if it has none yet)."""
        self._building()
        if not self.labels[i]:
            self.labels[i] = label

    def set_output(self, i: int, name: str = "") -> None:
        self._building()
        self._output, self._output_name = i, name

    def order_variables(self, names: Iterable[str]) -> None:
        """Report the variables in this order (all of them, each once)."""
        self._building()
        self.variables = {n: self.variables[n] for n in names}

    def freeze(self) -> Graph:
        self._frozen = True
        return self

    def extended(self) -> Graph:
        """A new graph, still being built, that starts with this one's nodes (same ids)."""
        g = Graph(self.source)
        g.ops, g.args, g.labels = list(self.ops), list(self.args), list(self.labels)
        g.spans, g.consts = list(self.spans), list(self.consts)
        g.variables, g.makes_arrays = dict(self.variables), self.makes_arrays
        g.defaults = dict(self.defaults)
        g._output, g._output_name = self._output, self._output_name
        return g

    def with_output(self, i: int, only_needed: bool = False) -> Graph:
        """The same frozen nodes with node i as the output: a view, with plans of its own.
        With only_needed, forward evaluates only the nodes node i depends on (a derivative's
        graph keeps nodes its simplification made unneeded: x^(y - 1) beside 0*x^(y - 1))."""
        g = Graph(self.source)
        g.__dict__.update(self.freeze().__dict__)
        g._output, g._plans, g._only_needed = i, {}, only_needed
        return g

    def _needed(self) -> list[bool]:
        """The nodes the output depends on (itself included): a walk with a stack."""
        needed = [False] * len(self.ops)
        stack = [self._output]
        while stack:
            i = stack.pop()
            if not needed[i]:
                needed[i] = True
                stack.extend(self.args[i])
        return needed

    # -- reading ------------------------------------------------------------------------

    @property
    def output(self) -> int:
        return self._output

    @property
    def output_name(self) -> str:
        """The name of the last statement, if it is an assignment."""
        return self._output_name

    def __len__(self) -> int:
        return len(self.ops)

    def node(self, i: int) -> Node:
        return Node(i, self.ops[i], self.args[i], self.labels[i], self.spans[i])

    def text(self, i: int) -> str:
        span = self.spans[i]
        return self.source[span[0]:span[1]] if span else self.labels[i]

    def at(self, point: Mapping[str, Value], random_key: tuple[int, ...] = (0, 0)) -> State:
        """The graph's values at a point (every variable given): ready for forward()."""
        return State(self.freeze(), point, random_key)

    def gradient(self, point: Mapping[str, Value], seed: Value = None
                 ) -> tuple[Value, dict[str, Value]]:
        """The output's value and its partial derivative with respect to every variable:
        one forward pass and one reverse sweep."""
        state = self.at(point)
        value = state.forward()
        g = state.backward(seed)
        return value, {name: g[i] for name, i in self.variables.items()}

    # -- plans: derived once from the frozen structure ----------------------------------

    def _plan(self, key: Any, build: Callable[[], Any]) -> Any:
        plan = self._plans.get(key)
        if plan is None:
            self.freeze()
            with paused_gc():
                plan = self._plans[key] = build()
        return plan

    def sweep(self, wrt: Iterable[str] | None = None) -> Sweep:
        """The reverse sweep toward the variables in wrt (None: all): the one walk from the
        output back to the inputs. Every backward interpreter (numbers, arrays, the
        recorded tape, symbolic derivatives) runs these edges in this order."""
        active = None if wrt is None else frozenset(wrt)
        return self._plan(("sweep", active), lambda: self._build_sweep(active))  # type: ignore[no-any-return]

    def _build_sweep(self, active: frozenset[str] | None) -> Sweep:
        ops, args, n = self.ops, self.args, len(self.ops)
        depends = [op is VAR and (active is None or self.labels[i] in active)
                   for i, op in enumerate(ops)]
        for i, a in enumerate(args):
            if a and (depends[a[0]] or depends[a[-1]]):
                depends[i] = True
        # an input's consumers all come later, so need[i] is settled when the sweep gets to i
        need = [False] * n
        if 0 <= self._output < n:
            need[self._output] = depends[self._output]
        edges = []
        for i in range(n - 1, -1, -1):
            if need[i]:
                for k, t in enumerate(args[i]):
                    if depends[t]:
                        need[t] = True
                        edges.append((i, k, t))
        return Sweep(need, edges)

    def needs_grad(self, wrt: Iterable[str] | None = None) -> list[bool]:
        return self.sweep(wrt).need

    def _steps(self) -> list[tuple[int, Any, int, int]]:
        """Forward steps on floats: (node, forward function, x, y or -1)."""
        return self._plan("steps", self._build_steps)  # type: ignore[no-any-return]

    def _build_steps(self) -> list[tuple[int, Any, int, int]]:
        needed = self._needed() if self._only_needed else None
        return [(i, op.forward, a[0], a[1] if len(a) > 1 else -1)
                for i, (op, a) in enumerate(zip(self.ops, self.args, strict=True))
                if a and (needed is None or needed[i])]

    def _array_steps(self, random_key: tuple[int, ...]) -> list[tuple[int, Any, int, int]]:
        return self._plan(("array steps", random_key),  # type: ignore[no-any-return]
                          lambda: self._build_array_steps(random_key))

    def _build_array_steps(self, random_key: tuple[int, ...]) -> list[tuple[int, Any, int, int]]:
        """numpy's function for every node; randn(r, c) draws from stream (*random_key, k)
        for the k-th array-making node, so each call has its own generator. A binary op
        first checks that its result fits limits.MAX_ENTRIES."""
        from .arrays import implementation, sized

        steps, k = [], 0
        for i, (op, a) in enumerate(zip(self.ops, self.args, strict=True)):
            if op.creates:
                k += 1
            if not a:
                continue
            f = implementation(op)
            if op.creates:
                f = _drawing(f, (*random_key, k))
            elif len(a) == 2:
                f = sized(op, f)
            steps.append((i, f, a[0], a[1] if len(a) > 1 else -1))
        return steps

    def _entries(self, wrt: frozenset[str] | None, kind: str) -> list[tuple[int, int, int, Any]]:
        """The sweep's edges compiled for Backward: (node, code, input, payload)."""
        return self._plan(("entries", wrt, kind),  # type: ignore[no-any-return]
                          lambda: _compile(self, self.sweep(wrt).edges, kind))


def _no_broadcast(g: Value, shape: tuple[int, ...]) -> Value:
    return g  # floats have no shape to sum back to


def _drawing(f: Callable[..., Value], stream: tuple[int, ...]) -> Callable[..., Value]:
    return lambda *args: f(*args, stream=stream)


class State:
    """The values of every node of a frozen graph at one point; forward() fills them in."""

    def __init__(self, graph: Graph, point: Mapping[str, Value],
                 random_key: tuple[int, ...] = (0, 0)) -> None:
        self.graph = graph
        self.random_key = random_key
        self.values: list[Value] = list(graph.consts)
        arrays = graph.makes_arrays
        for name, i in graph.variables.items():
            x = point[name] if name in point else graph.defaults[name]
            if isinstance(x, (int, float)):
                self.values[i] = float(x)
            else:
                self.values[i] = x
                arrays = True
        self.arrays = arrays

    def assign(self, name: str, value: Value) -> None:
        """Give variable `name` another value (of the same kind), e.g. a trained weight;
        forward() again before backward()."""
        self.values[self.graph.variables[name]] = value

    # -- forward ------------------------------------------------------------------------

    def forward(self) -> Value:
        """Evaluate every node; returns the output's value. Raises MathError."""
        if self.arrays:
            return self._forward_arrays()
        v = self.values
        i = -1
        try:
            for i, f, a, b in self.graph._steps():
                v[i] = f(v[a]) if b < 0 else f(v[a], v[b])
        except (ArithmeticError, ValueError) as exc:
            if not all(math.isfinite(v[a]) for a in self.graph.args[i]):
                self._check_finite_values()  # blame the op that overflowed, not its user
            raise self._forward_error(i, exc) from None
        except TypeError:  # an array where only a number will do
            self.arrays = True
            return self._forward_arrays()
        if not math.isfinite(sum(v)):
            self._check_finite_values()
        return v[self.graph.output]

    def _forward_arrays(self) -> Value:
        """Every floating-point error raises inside numpy (errstate), so with finite leaves
        all values are finite; only a non-finite output is diagnosed node by node."""
        import numpy as np

        from .limits import MAX_TOTAL_ENTRIES

        v, graph = self.values, self.graph
        i = -1
        total = sum(getattr(x, "size", 1) for x in v)  # entries, before the ops are run
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            try:
                for i, f, a, b in graph._array_steps(self.random_key):
                    x = v[i] = f(v[a]) if b < 0 else f(v[a], v[b])
                    if type(x) is not float:
                        total += x.size
                        if total > MAX_TOTAL_ENTRIES:
                            raise self._too_large(i, MAX_TOTAL_ENTRIES)
            except (ArithmeticError, ValueError, IndexError) as exc:
                raise self._forward_error(i, exc) from None
            except LimitError as err:
                if err.span is None:  # from arrays.sized: say which op
                    err.message = f"{self._where(i)}: {err.message}"
                    err.source, err.span = graph.source, graph.spans[i]
                raise
        out = v[graph.output]
        if not (math.isfinite(out) if np.ndim(out) == 0 else np.isfinite(out).all()):
            self._check_finite_arrays()
        return out

    # -- the reverse sweep --------------------------------------------------------------

    def backward(self, seed: Value = None, wrt: Iterable[str] | None = None,
                 tape: list[Edge] | None = None) -> list[Value]:
        """d output / d node for every node, in one reverse sweep toward the variables in
        wrt (None: all; the others' derivatives are not computed, and read as 0). Call
        forward() first. A non-scalar output is reduced by its sum unless `seed` gives its
        gradient. With a tape, every edge is appended to it as it is run. Arrays in the
        result may share memory with each other: treat them as read-only."""
        graph, v = self.graph, self.values
        active = None if wrt is None else frozenset(wrt)
        g: list[Value] = [_ZERO] * len(v)
        g[graph.output] = self._seed(seed)
        kind = "array" if self.arrays else "tape" if tape is not None else "scalar"
        entries = graph._entries(active, kind)
        if self.arrays:
            import numpy as np

            from .arrays import unbroadcast

            guard: Any = np.errstate(divide="raise", over="raise", invalid="raise",
                                     under="ignore")
        else:
            from contextlib import nullcontext

            guard, unbroadcast = nullcontext(), _no_broadcast
        record = tape.append if tape is not None else None
        start = len(tape) if tape is not None else 0
        failed = False

        def send(i: int, k: int, t: int, local: Value, part: Value) -> None:
            """Arrays: input t of node i receives part, summed back to t's shape."""
            want = getattr(v[t], "shape", ())
            wide = getattr(part, "shape", ())
            if wide != want:
                part = unbroadcast(part, want)
            g[t] = part if g[t] is _ZERO else g[t] + part
            if record:
                record(Edge(i, k, t, local, part, wide if wide != want else None))
        mul, add, times_value, plus, call, sub, minus, times_const, recorded, elementwise = (
            MUL, ADD, TIMES_VALUE, PLUS, CALL, SUB, MINUS, TIMES_CONST, RECORDED, ELEMENTWISE)
        i = -1
        with guard:
            try:
                for i, code, t, p in entries:
                    if code == mul:
                        gi = g[i]
                        g[t] += gi * v[p]
                        g[p] += gi * v[t]
                    elif code == add:
                        gi = g[i]
                        g[t] += gi
                        g[p] += gi
                    elif code == times_value:
                        g[t] += g[i] * v[p]
                    elif code == plus:
                        g[t] += g[i]
                    elif code == call:
                        f, x, y = p
                        g[t] += g[i] * f(v[x], v[y], v[i])
                    elif code == sub:
                        gi = g[i]
                        g[t] += gi
                        g[p] -= gi
                    elif code == minus:
                        g[t] -= g[i]
                    elif code == times_const:
                        g[t] += g[i] * p
                    elif code == recorded:  # floats, with a tape: the same products, kept
                        k, f, x, y = p
                        local = evaluate(f, v[x], v[y], v[i])
                        part = g[i] * local
                        g[t] += part
                        record(Edge(i, k, t, local, part))  # type: ignore[misc]
                    elif code == elementwise:  # arrays
                        k, f, x, y = p
                        local = evaluate(f, v[x], v[y], v[i])
                        send(i, k, t, local, g[i] * local)
                    else:  # VJP: arrays, every input's part at once
                        fn, args, wanted = p
                        parts = fn(g[i], *(v[a] for a in args), v[i], wanted)
                        for k, (a, part) in enumerate(zip(args, parts, strict=True)):
                            if wanted[k]:
                                send(i, k, a, None, part)
            except (ArithmeticError, ValueError):
                if self.arrays:
                    raise self._derivative_error(i, active) from None
                failed = True
        if not self.arrays:
            if failed or not math.isfinite(sum(g)):
                if tape is not None:
                    del tape[start:]
                return self._careful_backward(g[graph.output], active, tape)
            return g
        self._finite_gradients(g, active)
        return g

    def _careful_backward(self, seed: float, active: frozenset[str] | None,
                          tape: list[Edge] | None, skip: frozenset[int] = frozenset()
                          ) -> list[Value]:
        """The sweep on floats again, edge by edge, once the fast one met a local derivative
        that is not finite (or an overflow). An edge's part of the gradient is adjoint *
        local * tangent (d output/d node, d node/d input, d input/d variable), and a zero
        factor wins: an infinite adjoint sent along a local derivative of exactly 0 sends
        0 (sqrt(0*x) has gradient 0, as forward mode finds from the other end). A gradient
        asked for that is still not finite is an error at the leftmost node whose local
        derivative is not finite where the adjoint into it and the tangent out of it (for
        some variable asked for) are both nonzero, as in forward mode; where there is no
        such node (the tangent is 0 by cancellation: sqrt(x - x)), the sweep is run once
        more without those edges (`skip`), which then send 0."""
        graph = self.graph
        g: list[float] = [0.0] * len(self.values)
        g[graph.output] = seed
        suspects = []
        for n, (i, k, t) in enumerate(graph.sweep(active).edges):
            gi = g[i]
            local = self._local_or_nan(i, k)
            part = 0.0 if gi == 0.0 or local == 0.0 or n in skip else gi * local
            if not math.isfinite(local) and gi != 0.0:
                suspects.append((n, i, t))
            g[t] += part
            if tape is not None:
                tape.append(Edge(i, k, t, local, part))
        names = [n for n in graph.variables if active is None or n in active]
        if all(math.isfinite(g[graph.variables[n]]) for n in names):
            return g
        if suspects and not skip:
            still = self._zero_tangents(names)
            bad = [i for _n, i, t in suspects if not still[t]]
            if bad:
                raise self._derivative_error(min(bad), active)
            if tape is not None:
                del tape[len(tape) - len(graph.sweep(active).edges):]
            return self._careful_backward(seed, active, tape,
                                          frozenset(n for n, _i, _t in suspects))
        for name in names:
            if not math.isfinite(g[graph.variables[name]]):
                raise self._overflow(name, graph.variables[name])
        raise AssertionError("unreachable")  # pragma: no cover

    def _local_or_nan(self, i: int, k: int) -> float:
        try:
            return float(self.local(i, k))
        except (ArithmeticError, ValueError):
            return math.nan

    def _zero_tangents(self, names: Iterable[str]) -> list[bool]:
        """For each node, whether d node / d variable is exactly 0 for every variable in
        names: forward passes in which a local derivative that is not finite gives NaN, and
        a zero factor (tangent or local derivative) gives 0."""
        still = [True] * len(self.values)
        for name in names:
            for j, x in enumerate(self._tangent_pass(name, None)):
                if x != 0.0:
                    still[j] = False
        return still

    def _zero_adjoints(self) -> list[bool]:
        """For each node, whether d output / d node is exactly 0: a reverse pass in which
        a local derivative that is not finite gives NaN, and a zero factor gives 0."""
        g = [0.0] * len(self.values)
        g[self.graph.output] = 1.0
        for i, k, t in self.graph.sweep(None).edges:
            if g[i] != 0.0:
                local = self._local_or_nan(i, k)
                if local != 0.0:
                    g[t] += g[i] * local
        return [x == 0.0 for x in g]

    def _seed(self, seed: Value) -> Value:
        out = self.values[self.graph.output]
        if not self.arrays:
            return 1.0 if seed is None else float(seed)
        import numpy as np

        if seed is None:
            return np.ones_like(out, dtype=float) if np.ndim(out) else 1.0
        if np.shape(seed) != np.shape(out):
            from .arrays import shape_text

            raise ShapeError(f"--seed-grad has shape {shape_text(seed)}, the output has "
                             f"shape {shape_text(out)}", self.graph.source,
                             self.graph.spans[self.graph.output])
        if not np.isfinite(seed).all():
            raise MathError("the output's gradient (--seed-grad) must be finite",
                            self.graph.source, self.graph.spans[self.graph.output])
        return seed

    def _finite_gradients(self, g: list[Value], active: frozenset[str] | None) -> None:
        """Arrays: each asked-for variable's gradient, of its shape, and finite."""
        graph = self.graph
        import numpy as np

        for name, j in graph.variables.items():
            if active is not None and name not in active:
                continue  # not asked for: read as 0
            if g[j] is _ZERO or np.shape(g[j]) != np.shape(self.values[j]):  # not reached
                g[j] = np.zeros(np.shape(self.values[j])) if np.ndim(self.values[j]) else 0.0
            elif not np.isfinite(g[j]).all():
                raise self._overflow(name, j)

    def _overflow(self, name: str, j: int) -> MathError:
        return MathError(f"overflow: the derivative with respect to {name} is too large for "
                         "a float", self.graph.source, self.graph.spans[j])

    # -- forward mode -------------------------------------------------------------------

    def tangents(self, name: str, tape: dict[tuple[int, int], float] | None = None
                 ) -> list[float]:
        """Forward mode: d node / d variable `name` for every node, in one forward pass
        of dual numbers (value, tangent). Call forward() first; floats only. With a tape,
        the local derivative of every edge a tangent flows along is kept in it."""
        if self.arrays:
            raise UsageError("forward mode works on scalar values only; use reverse mode")
        try:
            t = self._tangent_pass(name, tape, fast=True)
            if math.isfinite(t[self.graph.output]) and math.isfinite(sum(t)):
                return t
        except (ArithmeticError, ValueError):
            pass
        if tape is not None:
            tape.clear()
        return self._careful_tangents(name, tape)

    def _careful_tangents(self, name: str, tape: dict[tuple[int, int], float] | None
                          ) -> list[float]:
        """The tangents again, edge by edge, once the fast pass met a local derivative that
        is not finite (or an overflow): the rule of _careful_backward from the other end. A
        zero factor wins; a gradient still not finite is an error at the leftmost node whose
        local derivative is not finite where the tangent into it and the adjoint out of it
        are both nonzero; where there is none (the adjoint is 0 by cancellation: u - u),
        the pass is run once more without those edges."""
        graph = self.graph
        suspects: list[tuple[int, int]] = []
        t = self._tangent_pass(name, tape, suspects=suspects)
        if math.isfinite(t[graph.output]):
            return t
        if suspects:
            quiet = self._zero_adjoints()
            bad = [i for i, _k in suspects if not quiet[i]]
            if bad:
                raise self._derivative_error(min(bad), frozenset((name,)))
            if tape is not None:
                tape.clear()
            t = self._tangent_pass(name, tape, skip=frozenset(suspects))
            if math.isfinite(t[graph.output]):
                return t
        worst = next(i for i, x in enumerate(t) if not math.isfinite(x))
        raise MathError(f"{self._where(worst)}: overflow: the derivative with respect to "
                        f"{name} is too large for a float here", graph.source,
                        graph.spans[worst])

    def _tangent_pass(self, name: str, tape: dict[tuple[int, int], float] | None,
                      fast: bool = False, suspects: list[tuple[int, int]] | None = None,
                      skip: frozenset[tuple[int, int]] = frozenset()) -> list[float]:
        """One forward pass of tangents d node / d name. fast: a local derivative that is
        not finite raises, or leaves an infinite tangent. Else a local derivative that is
        not finite gives NaN (and is listed in suspects where a nonzero tangent meets it),
        a zero local derivative sends 0 whatever the tangent, and the edges in skip send 0."""
        v, graph = self.values, self.graph
        ops = graph.ops
        t = [0.0] * len(v)
        t[graph.variables[name]] = 1.0
        for i, _f, a, b in graph._steps():
            p = scalar_partials(ops[i].name)
            y = v[b] if b >= 0 else v[a]
            if fast:  # the everyday pass: one or two products, no questions asked
                dt = 0.0
                if t[a]:
                    local = evaluate(p[0], v[a], y, v[i])
                    dt = t[a] * local
                    if tape is not None:
                        tape[i, 0] = local
                if b >= 0 and t[b]:
                    local = evaluate(p[1], v[a], y, v[i])
                    dt += t[b] * local
                    if tape is not None:
                        tape[i, 1] = local
                t[i] = dt
                continue
            dt = 0.0
            for k, src in ((0, a), (1, b)) if b >= 0 else ((0, a),):
                if not t[src]:
                    continue
                try:
                    local = float(evaluate(p[k], v[a], y, v[i]))
                except (ArithmeticError, ValueError):
                    local = math.nan
                if not math.isfinite(local) and suspects is not None:
                    suspects.append((i, k))
                if tape is not None:
                    tape[i, k] = local
                if local != 0.0 and (i, k) not in skip:
                    dt += t[src] * local
            t[i] = dt
        return t

    def _local_finite(self, i: int, k: int) -> bool:
        try:
            return math.isfinite(self.local(i, k))
        except (ArithmeticError, ValueError):
            return False

    def local(self, i: int, k: int) -> Value:
        """The local derivative d node_i / d input_k at the current values."""
        graph, v = self.graph, self.values
        args = graph.args[i]
        partial = (array_partials if self.arrays else scalar_partials)(graph.ops[i].name)[k]
        x = v[args[0]]
        y = v[args[1]] if len(args) > 1 else x
        return evaluate(partial, x, y, v[i])

    # -- diagnosis: only run once something went wrong ------------------------------------

    def _too_large(self, i: int, limit: int) -> LimitError:
        from .limits import HINT

        return LimitError(f"{self._where(i)}: the values of this graph's arrays would have "
                          f"more than {limit:,} entries together", self.graph.source,
                          self.graph.spans[i], hint=HINT)

    def _where(self, i: int) -> str:
        op = self.graph.ops[i]
        return f"{op.written}" if op.is_function else f"'{op.symbol}'"

    def _input_text(self, a: int) -> str:
        """How the user wrote input node a: its name, or its source text (shortened)."""
        graph = self.graph
        if graph.ops[a] is VAR or graph.labels[a]:
            return graph.labels[a]
        text = " ".join(graph.text(a).split())
        return text if len(text) <= 40 else text[:18] + " … " + text[-18:]

    def _inputs(self, i: int, at: tuple[int, ...] | None = None) -> str:
        """" at " and the inputs of node i as the user wrote them, with their values:
        " at x = 0, a + b = 2"; arrays by their entry at index `at` of the (broadcast)
        output, as " at X[1, 2] = -1", or else by their shape. Number constants are left
        out ("" if nothing is left)."""
        from .render.numbers import human

        def show(a: int) -> str:
            x, name = self.values[a], self._input_text(a)
            if isinstance(x, float):
                return f"{name} = {human(x)}"
            from .arrays import element, shape_text

            if at is None:
                return f"{name} of shape {shape_text(x)}"
            index, entry = element(x, at)
            return f"{name}{index} = {human(entry)}"

        graph = self.graph
        shown = [show(a) for a in dict.fromkeys(graph.args[i])
                 if not (graph.ops[a] is CONST and isinstance(self.values[a], float))]
        return " at " + ", ".join(shown) if shown else ""

    def _filled(self, text: str, i: int) -> str:
        """An op's domain or note, over {x} and {y}, with the user's names put in."""
        args = self.graph.args[i]
        names = [self._input_text(a) for a in args]
        x = names[0]
        y = names[1] if len(names) > 1 else x
        return text.format(x=x, y=y)

    def _bad_entry(self, i: int, fn: Any) -> tuple[int, ...] | None:
        """Where fn of node i's inputs and output is first not finite, for array values."""
        if not self.arrays:
            return None
        from .arrays import first_bad

        args = self.graph.args[i]
        x = self.values[args[0]]
        y = self.values[args[1]] if len(args) > 1 else x
        return first_bad(fn, [x, y, self.values[i]])

    def _forward_error(self, i: int, exc: Exception) -> MathError:
        graph = self.graph
        op, text = graph.ops[i], str(exc)
        if self.arrays and not op.creates and (isinstance(exc, IndexError) or (
                isinstance(exc, ValueError) and (op.vjp or "broadcast" in text))):
            return self._shape_error(i, exc)
        if (isinstance(exc, ZeroDivisionError) and not op.domain) or (
                op.name == "div" and ("divide" in text or isinstance(exc, ZeroDivisionError))):
            what = "division by zero"
        elif isinstance(exc, OverflowError) or "overflow" in text:
            what = "overflow: the result is too large for a float"
        else:
            what = "outside the domain" + (f" ({self._filled(op.domain, i)})" if op.domain
                                           else "")
        at = None
        if self.arrays and not op.creates:
            from .arrays import implementation

            fn = implementation(op)
            at = self._bad_entry(i, lambda x, y, z: fn(x, y) if len(graph.args[i]) > 1
                                 else fn(x))
        return MathError(f"{self._where(i)}: {what}{self._inputs(i, at)}", graph.source,
                         graph.spans[i])

    def _shape_error(self, i: int, exc: Exception) -> ShapeError:
        from .arrays import shape_text

        graph = self.graph
        op, span = graph.ops[i], graph.spans[i]
        where = f" at {columns(graph.source, span)}" if span else ""
        if isinstance(exc, IndexError):  # an axis that does not exist
            return ShapeError(f"{self._where(i)}: {exc}{where}", graph.source, span)
        sep = f" {op.symbol} " if op.symbol else ", "
        shown = sep.join(shape_text(self.values[a]) for a in graph.args[i])
        return ShapeError(f"{self._where(i)}: shapes do not fit: {shown}{where}", graph.source,
                          span)

    def _derivative_error(self, i: int, active: frozenset[str] | None) -> MathError:
        """The local derivative of node i is not finite for an input that needs it: say
        which input, in the user's words."""
        graph = self.graph
        need = graph.sweep(active).need
        args = graph.args[i]
        op = graph.ops[i]
        bad = [k for k, a in enumerate(args) if need[a]] or list(range(len(args)))
        if not self.arrays:
            finite = [k for k in bad if self._local_finite(i, k)]
            bad = [k for k in bad if k not in finite] or bad
        at = None
        if self.arrays and not op.vjp:
            rules = [array_partials(op.name)[k] for k in bad]
            at = self._bad_entry(i, lambda x, y, z: sum(evaluate(p, x, y, z) for p in rules))
        wrt = ""
        if len(args) > 1 and len(bad) == 1 and args[0] != args[1]:
            wrt = f" with respect to {self._input_text(args[bad[0]])}"
        notes = [op.hints[k] for k in bad if op.hints[k]] if op.hints else [op.note]
        return MathError(
            f"{self._where(i)}: the derivative{wrt} is not finite{self._inputs(i, at)}",
            graph.source, graph.spans[i],
            hint=self._filled(notes[0], i) if notes else "")

    def _check_finite_values(self) -> None:
        v = self.values
        for i, _f, a, b in self.graph._steps():
            if not math.isfinite(v[i]) and math.isfinite(v[a]) and (b < 0 or math.isfinite(v[b])):
                raise self._forward_error(i, OverflowError())

    def _check_finite_arrays(self) -> None:
        import numpy as np

        v, graph = self.values, self.graph
        for i, args in enumerate(graph.args):
            if args and not np.isfinite(v[i]).all() and all(
                    np.isfinite(v[a]).all() for a in args):
                raise self._forward_error(i, OverflowError())
        raise MathError("the result is not finite (an input is inf or nan)", graph.source,
                        graph.spans[graph.output])


# How backward applies a local derivative to one input t of node i (payload p):
PLUS, MINUS, TIMES_CONST, TIMES_VALUE, CALL = 1, 2, 3, 4, 5
# g[t] += g[i]; g[t] -= g[i]; g[t] += g[i]*p; g[t] += g[i]*v[p]; g[t] += g[i]*f(v[x], v[y], v[i])
# and to both inputs t, p of a binary node at once, when both need a gradient:
ADD, SUB, MUL = 6, 7, 8  # x + y, x - y, x * y
# the general forms: p = (position, compiled local, x, y), the edge kept on a tape
RECORDED, ELEMENTWISE = 9, 10  # floats; arrays (summed back to the input's shape)
VJP_CODE = 11  # arrays: a vector-Jacobian product gives every input's part at once
_NODE_CODES = {(PLUS, PLUS): ADD, (PLUS, MINUS): SUB}


def _compile(graph: Graph, edges: list[tuple[int, int, int]], kind: str
             ) -> list[tuple[int, int, int, Any]]:
    """The sweep's edges as (node, code, input, payload). kind "scalar": the cheapest code
    for each edge (one entry for both inputs of x + y, x - y, x * y); "tape": every edge in
    the general form, so that it can be recorded; "array": numpy's forms."""
    entries: list[tuple[int, int, int, Any]] = []
    emit = entries.append
    ops, args = graph.ops, graph.args
    n, e = len(edges), 0
    while e < n:
        i = edges[e][0]
        end = e + 1
        while end < n and edges[end][0] == i:
            end += 1
        group, e = edges[e:end], end
        op, a = ops[i], args[i]
        x, y = a[0], a[-1]
        if kind == "array":
            if op.vjp:
                from .arrays import vjp

                wanted = tuple(any(k == kk for _i, kk, _t in group) for k in range(len(a)))
                emit((i, VJP_CODE, -1, (vjp(op), a, wanted)))
            else:
                partials = array_partials(op.name)
                for _i, k, t in group:
                    emit((i, ELEMENTWISE, t, (k, partials[k], x, y)))
            continue
        partials = scalar_partials(op.name)
        if kind == "tape":
            for _i, k, t in group:
                emit((i, RECORDED, t, (k, partials[k], x, y)))
            continue
        node_code, inputs = _scalar_plan(op.name)
        if node_code and len(group) == 2:
            emit((i, node_code, x, y))
            continue
        for _i, k, t in group:
            code, p = inputs[k]
            if code == TIMES_VALUE:  # p says x, y or z: the node it means
                p = (x, y, i)[p]
            elif code == CALL:  # p is f(x, y, z): with the nodes to call it on
                p = (p, x, y)
            emit((i, code, t, p))
    return entries


_Plan = tuple[int, tuple[tuple[int, Any], ...]]
_PLANS: dict[str, tuple[tuple[Local, ...], _Plan]] = {}  # by op: (its compiled rules, plan)


def _scalar_plan(name: str) -> _Plan:
    """How backward applies op `name`'s compiled rules: a code for the whole node (0 if
    none fits) and, per input, (code, payload); a TIMES_VALUE payload indexes (x, y, z).
    Kept while derivatives.scalar_partials gives the same rules."""
    partials = scalar_partials(name)
    kept = _PLANS.get(name)
    if kept is not None and kept[0] is partials:
        return kept[1]
    inputs = tuple(_input_plan(local) for local in partials)
    codes = tuple(code for code, _ in inputs)
    if inputs == ((TIMES_VALUE, 1), (TIMES_VALUE, 0)):
        plan: _Plan = (MUL, inputs)
    else:
        plan = ((_NODE_CODES.get((codes[0], codes[1]), 0) if len(codes) == 2 else 0), inputs)
    _PLANS[name] = (partials, plan)
    return plan


def _input_plan(local: Local) -> tuple[int, Any]:
    if isinstance(local, float):
        if local == 1.0:
            return PLUS, None
        if local == -1.0:
            return MINUS, None
        return TIMES_CONST, local
    if isinstance(local, int):
        return TIMES_VALUE, local
    return CALL, local
