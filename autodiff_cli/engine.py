"""The graph and reverse mode: nodes in creation (= topological) order, a forward loop over
the list and one backward loop over its reverse. Iterative, so any depth works.

Values are floats (the fast path) or numpy arrays (then numpy is imported and ops that are
not element-wise use their vector-Jacobian products from arrays.py)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from .derivatives import Local, array_partials, evaluate, scalar_partials
from .errors import LimitError, MathError, ShapeError, Span, columns
from .gcpause import paused_gc
from .ops import CONST, VAR, Op

Value = Any  # float, or a numpy array
# the array path's compiled form: forward steps (node, function, x, y or -1), backward edges
# (node, input, kind, payload) as in Graph.backward, kind 5 being a vector-Jacobian product,
# and arrays.unbroadcast (kept here so the hot loop imports nothing)
ArrayPlan = tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                  Callable[[Any, tuple[int, ...]], Any]]
_ZERO = 0.0  # the adjoint of a node no gradient has reached yet (compared by identity)


class Node(NamedTuple):  # not a dataclass: making one costs start-up time
    """A read-only view of one node, for reports and renderers."""

    id: int
    op: Op
    args: tuple[int, ...]
    label: str
    span: Span | None


class Graph:
    """A computation graph. Node i's inputs all have ids below i."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self.ops: list[Op] = []
        self.args: list[tuple[int, ...]] = []
        self.labels: list[str] = []
        self.spans: list[Span | None] = []
        self.values: list[Value] = []
        self.variables: dict[str, int] = {}  # name -> node, in order of first appearance
        self.output = -1
        self.output_name = ""  # the name of the last statement, if it is an assignment
        self.active: frozenset[str] | None = None  # variables to differentiate by; None: all
        self.arrays = False  # whether any leaf holds an array, or an op makes one
        # randn(r, c) draws from stream (*random_key, k) for the k-th array-making call;
        # (seed, 0) for an expression, as api.grad sets it (seed 0 unless given)
        self.random_key: tuple[int, ...] = (0, 0)
        self._compiled: tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                              list[bool]] | None = None
        self._plan: ArrayPlan | None = None

    def __len__(self) -> int:
        return len(self.ops)

    def node(self, i: int) -> Node:
        return Node(i, self.ops[i], self.args[i], self.labels[i], self.spans[i])

    def add(self, op: Op, args: tuple[int, ...] = (), span: Span | None = None,
            label: str = "", value: Value = 0.0) -> int:
        self.ops.append(op)
        self.args.append(args)
        self.labels.append(label)
        self.spans.append(span)
        self.values.append(value)
        self._compiled = None
        self._plan = None
        if op.creates:
            self.arrays = True
        return len(self.ops) - 1

    def variable(self, name: str, span: Span | None = None) -> int:
        if name not in self.variables:
            self.variables[name] = self.add(VAR, (), span, name)
        return self.variables[name]

    def constant(self, value: Value, span: Span | None = None, label: str = "") -> int:
        if not isinstance(value, float):
            self.arrays = True
        return self.add(CONST, (), span, label, value)

    def text(self, i: int) -> str:
        span = self.spans[i]
        return self.source[span[0]:span[1]] if span else self.labels[i]

    def set_values(self, values: Mapping[str, Value]) -> None:
        arrays = any(op.creates or (op is CONST and not isinstance(self.values[i], float))
                     for i, op in enumerate(self.ops))
        for name, i in self.variables.items():
            x = values[name]
            if isinstance(x, (int, float)):
                self.values[i] = float(x)
            else:
                self.values[i] = x
                arrays = True
        self.arrays = arrays

    # -- compiled form ------------------------------------------------------------------

    def restrict(self, names: Iterable[str] | None) -> None:
        """Differentiate only with respect to these variables (None: all of them); the
        others' derivatives are then not computed, and read as 0."""
        self.active = None if names is None else frozenset(names)
        self._compiled = None
        self._plan = None

    def needs_grad(self) -> list[bool]:
        """Whether each node depends on a variable and the output depends on it."""
        return self._compile()[2]

    def _compile(self) -> tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                                list[bool]]:
        """Forward steps (i, forward, x, y), backward entries (i, code, t, p) (see backward)
        and needs_grad(). Ops have one or two inputs."""
        if self._compiled is None:
            with paused_gc():
                self._compiled = self._build()
        return self._compiled

    def _build(self) -> tuple[list[tuple[int, Any, int, int]], list[tuple[int, int, int, Any]],
                              list[bool]]:
        ops, args, n = self.ops, self.args, len(self.ops)
        steps = [(i, op.forward, a[0], a[1] if len(a) > 1 else -1)
                 for i, (op, a) in enumerate(zip(ops, args, strict=True)) if a]
        active = self.active
        depends = [op is VAR and (active is None or self.labels[i] in active)
                   for i, op in enumerate(ops)]
        for i, a in enumerate(args):
            if a and (depends[a[0]] or depends[a[-1]]):
                depends[i] = True
        # need: depends and the output depends on it; an input's consumers all come later,
        # so need[i] is settled when the reverse sweep reaches i
        need = [False] * n
        if 0 <= self.output < n:
            need[self.output] = depends[self.output]
        entries: list[tuple[int, int, int, Any]] = []
        emit = entries.append
        plans: dict[str, _Plan] = {}
        for i in range(n - 1, -1, -1):
            a = args[i]
            if not need[i] or not a:
                continue
            name = ops[i].name
            node_code, inputs = plans.get(name) or plans.setdefault(name, _plan(name))
            x = a[0]
            y = a[1] if len(a) > 1 else x
            if node_code and depends[x] and depends[y]:
                emit((i, node_code, x, y))
                need[x] = need[y] = True
                continue
            for t, (code, p) in zip(a, inputs, strict=True):
                if depends[t]:
                    need[t] = True
                    if code == TIMES_VALUE:  # p says x, y or z: the node it means
                        p = (x, y, i)[p]
                    elif code == CALL:  # p is f(x, y, z): with the nodes to call it on
                        p = (p, x, y)
                    emit((i, code, t, p))
        return steps, entries, need

    # -- evaluation -----------------------------------------------------------------------

    def forward(self) -> Value:
        """Evaluate every node; returns the output's value. Raises MathError."""
        if self.arrays:
            return self._forward_arrays()
        v = self.values
        i = -1
        try:
            for i, f, a, b in self._compile()[0]:
                v[i] = f(v[a]) if b < 0 else f(v[a], v[b])
        except (ArithmeticError, ValueError) as exc:
            if not all(math.isfinite(v[a]) for a in self.args[i]):
                self._check_finite_values()  # blame the op that overflowed, not its user
            raise self._forward_error(i, exc) from None
        except TypeError:  # an array where only a number will do
            self.arrays = True
            return self._forward_arrays()
        if not math.isfinite(sum(v)):
            self._check_finite_values()
        return v[self.output]

    def backward(self, seed: Value = None) -> list[Value]:
        """d output / d node for every node, in one reverse sweep. Call forward() first.
        A non-scalar output is reduced by its sum unless `seed` gives its gradient.
        Arrays in the result may share memory with each other: treat them as read-only."""
        if self.arrays:
            return self._backward_arrays(seed)
        v = self.values
        g = [0.0] * len(v)
        g[self.output] = 1.0 if seed is None else float(seed)
        mul, add, times_value, plus, call, sub, minus = (
            MUL, ADD, TIMES_VALUE, PLUS, CALL, SUB, MINUS)  # locals: quicker to compare
        i = -1
        try:
            for i, code, t, p in self._compile()[1]:
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
                else:  # TIMES_CONST
                    g[t] += g[i] * p
        except (ArithmeticError, ValueError):
            raise self._derivative_error(i) from None
        if not math.isfinite(sum(g)):
            self._check_finite_gradients(g)
        return g

    def tangents(self, name: str) -> list[float]:
        """Forward mode: d node / d variable `name` for every node, in one forward pass
        of dual numbers (value, tangent). Call forward() first; floats only."""
        if self.arrays:
            from .errors import UsageError

            raise UsageError("forward mode works on scalar values only; use reverse mode")
        v, ops = self.values, self.ops
        t = [0.0] * len(v)
        t[self.variables[name]] = 1.0
        i = -1
        try:
            for i, _f, a, b in self._compile()[0]:
                p = scalar_partials(ops[i].name)
                y = v[b] if b >= 0 else v[a]
                dt = t[a] * evaluate(p[0], v[a], y, v[i]) if t[a] else 0.0
                if b >= 0 and t[b]:
                    dt += t[b] * evaluate(p[1], v[a], y, v[i])
                t[i] = dt
        except (ArithmeticError, ValueError):
            raise self._derivative_error(i) from None
        if not math.isfinite(sum(t)):  # or the sum alone overflowed
            self._check_finite_gradients(t)
            bad = next((i for i, x in enumerate(t) if not math.isfinite(x)), None)
            if bad is not None:
                raise self._tangent_overflow(bad, name)
        return t

    def _tangent_overflow(self, bad: int, name: str) -> MathError:
        """Node bad is the first whose tangent is not finite though its inputs' are: the
        product of finite numbers overflowed there."""
        return MathError(f"{self._where(bad)}: overflow: the derivative with respect to "
                         f"{name} is too large for a float here", self.source, self.spans[bad])

    def local(self, i: int, k: int) -> Value:
        """The local derivative d node_i / d input_k at the current values."""
        name, args, v = self.ops[i].name, self.args[i], self.values
        partial = (array_partials if self.arrays else scalar_partials)(name)[k]
        x = v[args[0]]
        y = v[args[1]] if len(args) > 1 else x
        return evaluate(partial, x, y, v[i])

    def gradient(self, values: Mapping[str, Value], seed: Value = None
                 ) -> tuple[Value, dict[str, Value]]:
        """The output's value and its partial derivative with respect to every variable:
        one forward pass and one reverse sweep."""
        self.set_values(values)
        value = self.forward()
        g = self.backward(seed)
        return value, {name: g[i] for name, i in self.variables.items()}

    def forward_gradient(self, values: Mapping[str, Value]) -> tuple[Value, dict[str, Value]]:
        """The same numbers by forward mode: one pass of dual numbers per variable."""
        self.set_values(values)
        value = self.forward()
        out = self.output
        return value, {name: self.tangents(name)[out] for name in self.variables}

    # -- arrays ---------------------------------------------------------------------------

    def _array_plan(self) -> ArrayPlan:
        if self._plan is not None:
            return self._plan
        from .arrays import VJP, unbroadcast

        need = self.needs_grad()
        creates = [0] * len(self.ops)  # k for the k-th array-making node
        k = 0
        for i, op in enumerate(self.ops):
            if op.creates:
                k += 1
                creates[i] = k
        steps = [(i, self._array_function(op, i, creates[i]), a[0], a[1] if len(a) > 1 else -1)
                 for i, (op, a) in enumerate(zip(self.ops, self.args, strict=True)) if a]
        edges: list[tuple[int, int, int, Any]] = []
        for i in range(len(self.ops) - 1, -1, -1):
            op, a = self.ops[i], self.args[i]
            if not need[i] or not a:
                continue
            if op.vjp:
                edges.append((i, -1, VJP_CODE, (VJP[op.name], a, tuple(need[t] for t in a))))
                continue
            x, y = a[0], a[-1]
            for t, local in zip(a, array_partials(op.name), strict=True):
                if need[t]:
                    code, p = _input_plan(local)
                    if code == TIMES_VALUE:
                        p = (x, y, i)[p]
                    elif code == CALL:
                        p = (p, x, y)
                    edges.append((i, t, code, p))
        self._plan = (steps, edges, unbroadcast)
        return self._plan

    def _array_function(self, op: Op, i: int, k: int) -> Any:
        """numpy's function for node i; randn(r, c) draws from stream (*random_key, k) for
        the k-th array-making node, so each call has its own generator. A binary op first
        checks that its result fits limits.MAX_ENTRIES."""
        from .arrays import implementation, sized

        f = implementation(op)
        if not op.creates:
            return sized(op.name, f) if len(self.args[i]) == 2 else f
        return lambda *args: f(*args, stream=(*self.random_key, k))

    def _forward_arrays(self) -> Value:
        """Every floating-point error raises inside numpy (errstate), so with finite leaves
        all values are finite; only a non-finite output is diagnosed node by node."""
        import numpy as np

        from .limits import MAX_TOTAL_ENTRIES

        v = self.values
        i = -1
        total = sum(getattr(x, "size", 1) for x in v)  # entries, before the ops are run
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            try:
                for i, f, a, b in self._array_plan()[0]:
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
                    err.source, err.span = self.source, self.spans[i]
                raise
        out = v[self.output]
        if not (math.isfinite(out) if np.ndim(out) == 0 else np.isfinite(out).all()):
            self._check_finite_arrays()
        return out

    def _backward_arrays(self, seed: Value) -> list[Value]:
        import numpy as np

        v = self.values
        g: list[Value] = [_ZERO] * len(v)
        out = v[self.output]
        if seed is None:
            g[self.output] = np.ones_like(out, dtype=float) if np.ndim(out) else 1.0
        else:
            if np.shape(seed) != np.shape(out):
                from .arrays import shape_text

                raise ShapeError(f"--seed-grad has shape {shape_text(seed)}, the output has "
                                 f"shape {shape_text(out)}", self.source,
                                 self.spans[self.output])
            if not np.isfinite(seed).all():
                raise MathError("the output's gradient (--seed-grad) must be finite",
                                self.source, self.spans[self.output])
            g[self.output] = seed
        i = -1
        _steps, edges, unbroadcast = self._array_plan()
        with np.errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
            try:
                for i, t, code, p in edges:
                    gi = g[i]
                    if code == PLUS:
                        part = gi
                    elif code == TIMES_VALUE:
                        part = gi * v[p]
                    elif code == MINUS:
                        part = -gi
                    elif code == TIMES_CONST:
                        part = gi * p
                    elif code == CALL:
                        f, x, y = p
                        part = gi * f(v[x], v[y], v[i])
                    else:  # VJP_CODE
                        fn, args, needed = p
                        parts = fn(gi, *(v[a] for a in args), v[i])
                        for a, part_a, wanted in zip(args, parts, needed, strict=True):
                            if wanted:
                                want = getattr(v[a], "shape", ())
                                if getattr(part_a, "shape", ()) != want:
                                    part_a = unbroadcast(part_a, want)
                                g[a] = part_a if g[a] is _ZERO else g[a] + part_a
                        continue
                    want = getattr(v[t], "shape", ())
                    if getattr(part, "shape", ()) != want:
                        part = unbroadcast(part, want)
                    g[t] = part if g[t] is _ZERO else g[t] + part
            except (ArithmeticError, ValueError):
                raise self._derivative_error(i) from None
        for name, j in self.variables.items():
            if g[j] is _ZERO or np.shape(g[j]) != np.shape(v[j]):  # not reached: zero
                g[j] = np.zeros(np.shape(v[j])) if np.ndim(v[j]) else 0.0
            elif not np.isfinite(g[j]).all():
                raise MathError(f"overflow: the derivative with respect to {name} is too "
                                "large for a float", self.source, self.spans[j])
        return g

    # -- diagnosis: only run once something went wrong --------------------------------------

    def _too_large(self, i: int, limit: int) -> LimitError:
        from .limits import HINT

        return LimitError(f"{self._where(i)}: the values of this graph's arrays would have "
                          f"more than {limit:,} entries together", self.source, self.spans[i],
                          hint=HINT)

    def _where(self, i: int) -> str:
        op = self.ops[i]
        return f"{op.written}" if op.is_function else f"'{op.symbol}'"

    def _inputs(self, i: int, at: tuple[int, ...] | None = None) -> str:
        """The inputs of node i, as "x = 2, y = 0"; arrays by their entry at index `at` of
        the (broadcast) output, as "x[1, 2] = -1", or else by their shape."""
        from .render.numbers import human

        def show(name: str, x: Value) -> str:
            if isinstance(x, float):
                return f"{name} = {human(x)}"
            from .arrays import element, shape_text

            if at is None:
                return f"{name} of shape {shape_text(x)}"
            index, entry = element(x, at)
            return f"{name}{index} = {human(entry)}"

        return ", ".join(show("xy"[k], self.values[a]) for k, a in enumerate(self.args[i]))

    def _bad_entry(self, i: int, fn: Any) -> tuple[int, ...] | None:
        """Where fn of node i's inputs and output is first not finite, for array values."""
        if not self.arrays:
            return None
        from .arrays import first_bad

        args = self.args[i]
        x = self.values[args[0]]
        y = self.values[args[1]] if len(args) > 1 else x
        return first_bad(fn, [x, y, self.values[i]])

    def _forward_error(self, i: int, exc: Exception) -> MathError:
        op, text = self.ops[i], str(exc)
        if self.arrays and not op.creates and (isinstance(exc, IndexError) or (
                isinstance(exc, ValueError) and (op.vjp or "broadcast" in text))):
            return self._shape_error(i, exc)
        if isinstance(exc, ZeroDivisionError) or (op.name == "div" and "divide" in text):
            what = "division by zero"
        elif isinstance(exc, OverflowError) or "overflow" in text:
            what = "overflow: the result is too large for a float"
        else:
            what = "outside the domain" + (f" ({op.domain})" if op.domain else "")
        at = None
        if self.arrays and not op.creates:
            from .arrays import implementation

            fn = implementation(op)
            at = self._bad_entry(i, lambda x, y, z: fn(x, y) if len(self.args[i]) > 1
                                 else fn(x))
        return MathError(f"{self._where(i)}: {what} at {self._inputs(i, at)}", self.source,
                         self.spans[i])

    def _shape_error(self, i: int, exc: Exception) -> ShapeError:
        from .arrays import shape_text

        op, span = self.ops[i], self.spans[i]
        where = f" at {columns(self.source, span)}" if span else ""
        if isinstance(exc, IndexError):  # an axis that does not exist
            return ShapeError(f"{self._where(i)}: {exc}{where}", self.source, span)
        sep = f" {op.symbol} " if op.symbol else ", "
        shown = sep.join(shape_text(self.values[a]) for a in self.args[i])
        return ShapeError(f"{self._where(i)}: shapes do not fit: {shown}{where}", self.source,
                          span)

    def _derivative_error(self, i: int) -> MathError:
        at = None
        if self.arrays and not self.ops[i].vjp:
            need = self.needs_grad()
            rules = [p for p, a in zip(array_partials(self.ops[i].name), self.args[i],
                                       strict=True) if need[a]]
            at = self._bad_entry(i, lambda x, y, z: sum(evaluate(p, x, y, z) for p in rules))
        return MathError(
            f"{self._where(i)}: the derivative is not finite at {self._inputs(i, at)}",
            self.source, self.spans[i], hint=self.ops[i].note)

    def _check_finite_values(self) -> None:
        v = self.values
        for i, _f, a, b in self._compile()[0]:
            if not math.isfinite(v[i]) and math.isfinite(v[a]) and (b < 0 or math.isfinite(v[b])):
                raise self._forward_error(i, OverflowError())

    def _check_finite_arrays(self) -> None:
        import numpy as np

        v = self.values
        for i, args in enumerate(self.args):
            if args and not np.isfinite(v[i]).all() and all(
                    np.isfinite(v[a]).all() for a in args):
                raise self._forward_error(i, OverflowError())
        raise MathError("the result is not finite (an input is inf or nan)", self.source,
                        self.spans[self.output])

    def _check_finite_gradients(self, g: list[Value]) -> None:
        need = self.needs_grad()
        for i in range(len(g) - 1, -1, -1):
            if need[i] and self.args[i]:
                for k, a in enumerate(self.args[i]):
                    if need[a] and not math.isfinite(self.local(i, k)):
                        raise self._derivative_error(i)
        for name, j in self.variables.items():
            if not math.isfinite(g[j]):
                raise MathError(f"overflow: the derivative with respect to {name} is too "
                                "large for a float", self.source, self.spans[j])


# How backward applies a local derivative to one input t of node i (payload p):
PLUS, MINUS, TIMES_CONST, TIMES_VALUE, CALL = 1, 2, 3, 4, 5
# g[t] += g[i]; g[t] -= g[i]; g[t] += g[i]*p; g[t] += g[i]*v[p]; g[t] += g[i]*f(v[x], v[y], v[i])
# and to both inputs t, p of a binary node at once, when both need a gradient:
ADD, SUB, MUL = 6, 7, 8  # x + y, x - y, x * y
VJP_CODE = 9  # arrays: a vector-Jacobian product gives every input's part at once
_NODE_CODES = {(PLUS, PLUS): ADD, (PLUS, MINUS): SUB}

_Plan = tuple[int, tuple[tuple[int, Any], ...]]


def _plan(name: str) -> _Plan:
    """How backward applies op `name`'s compiled rules: a code for the whole node (0 if
    none fits) and, per input, (code, payload); a TIMES_VALUE payload indexes (x, y, z)."""
    inputs = tuple(_input_plan(local) for local in scalar_partials(name))
    if inputs == ((TIMES_VALUE, 1), (TIMES_VALUE, 0)):
        return MUL, inputs
    codes = tuple(code for code, _ in inputs)
    return (_NODE_CODES.get((codes[0], codes[1]), 0) if len(codes) == 2 else 0), inputs


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
