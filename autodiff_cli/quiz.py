"""Backprop exercises, one variant per student, with worked solutions and the key `grade` marks.

Every exercise is a program of our language at a point. Its worked solution is the engine's
trace (trace.trace), and every answer the key gives is the engine's value or gradient of the
very problem `grade` will ask (api.grad, higher.hessian): nothing is computed twice.

A student's variant is drawn from random.Random seeded by sha256(seed, name, exercise), so it
does not change when the roster is re-ordered or extended. A draw the engine cannot evaluate,
or one on a kink (relu or abs at 0, a tie of max), a domain edge (log or sqrt near 0, a
division by nearly 0) or, at difficulty 1, with answers that are not short, is drawn again,
at most MAX_TRIES times.

How `grade`'s PROBLEMS carry an exercise (one problem id per part, the exercise's id first):

    q1              the output's value and its partials (graph, trace, neuron, step)
    q2.c, q2.c.grad trace: intermediate c's value (the program up to c) and d out/d c (the
                    program with c's statement cut out, c a variable at its value)
    q4.01           perceptron: the output for x1 = 0, x2 = 1
    q5.step         step: the weights after one step, as the gradient of
                    |W|^2/2 - lr*L, which is W - lr*dL/dW
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import random
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import AutodiffError, MathError, UsageError

if TYPE_CHECKING:
    from .trace import TraceReport

KINDS = ("graph", "trace", "neuron", "perceptron", "step")
DIFFICULTIES = (1, 2, 3)
MAX_TRIES = 300  # draws per exercise before giving up
MAX_STUDENTS = 10_000
NODES = {1: (4, 6), 2: (6, 10), 3: (10, 15)}  # variables + operations, constants not counted
LARGEST = {1: 500.0, 2: 1e3, 3: 1e4}  # no value or gradient larger than this
SMALL = {1: 1e-6, 2: 1e-3, 3: 1e-4}  # nor nearer 0 than this, but 0 itself
TEMPLATE_LARGEST = 1e8
EDGE = 0.05  # how far a draw keeps from a kink or a domain edge
SATURATED = 4.0  # sigmoid and tanh of more than this (in size) are nearly flat
HAND = (1e-3, 1e-4)  # rtol, atol at difficulty 2-3: four significant digits
HAND_STEP = (1e-5, 1e-6)  # a step changes a weight by a little: six significant digits
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_NAMES = "dfghkmnpqrsuvw"  # intermediates of a drawn program (e is the constant)


# -- what a quiz is ----------------------------------------------------------------------

@dataclass(frozen=True)
class Draft:
    """An exercise as drawn, before the engine evaluates it."""

    kind: str
    title: str
    prompt: str
    source: str
    at: dict[str, float]
    ask: tuple[str, ...] = ()  # answers of the main problem; () asks value and every partial
    intermediates: bool = False  # trace: every named intermediate's value and gradient
    rows: tuple[tuple[str, dict[str, float]], ...] = ()  # perceptron: (suffix, inputs)
    update: tuple[str, ...] = ()  # step: the weights one step updates
    lr: float = 0.0
    points: float | dict[str, float] = 1.0
    tolerance: tuple[float, float] | None = None  # rtol, atol; None: grade's defaults
    nodes: tuple[int, int] | None = None  # bounds on the node count
    nice: bool = False  # difficulty 1: every number short (integers, up to 3 decimals)
    largest: float = LARGEST[3]
    reuse: bool = False  # some intermediate must be used twice
    small: float = 1e-6  # no number nearer 0 than this but 0 itself
    nonzero: bool = True  # no partial the main problem asks is 0
    saturate: bool = False  # sigmoid and tanh may be far out on their flat tails
    product: bool = False  # some node multiplies (or divides) two nodes: a gradient that
    # depends on the point


@dataclass(frozen=True)
class Part:
    """One problem of grade's PROBLEMS: a program, a point, what is asked and the key."""

    id: str
    title: str
    source: str
    at: dict[str, float]
    ask: tuple[str, ...]
    labels: dict[str, str]  # answer name -> what it is, in words: "∂e/∂c", "y for 0, 1"
    answers: dict[str, float]  # answer name -> the engine's answer
    points: dict[str, float]


@dataclass
class Exercise:
    id: str
    kind: str
    title: str
    prompt: str
    source: str
    at: dict[str, float]
    parts: list[Part]
    traces: list[tuple[str, TraceReport]]  # (caption, report) of the worked solution
    backward: bool = True  # the solution shows the backward pass
    rtol: float | None = None
    atol: float | None = None
    lr: float = 0.0
    updates: list[tuple[str, float, float, float]] = field(default_factory=list)  # step:
    # (weight, before, dL/dweight, after)
    gate: str = ""  # perceptron: the gate the weights make


@dataclass
class Sheet:
    student: str
    file: str  # the file name its sheet and solution get (without extension)
    exercises: list[Exercise]


@dataclass
class Quiz:
    seed: int
    difficulty: int
    kinds: list[str]  # the exercises' kinds or template titles, in order
    sheets: list[Sheet]

    def problems(self) -> list[dict[str, Any]]:
        """grade's PROBLEMS: every part of every student's variant, "student" set."""
        out = []
        for sheet in self.sheets:
            for ex in sheet.exercises:
                for p in ex.parts:
                    doc: dict[str, Any] = {"id": p.id, "student": sheet.student,
                                           "title": p.title, "expr": p.source, "at": p.at,
                                           "ask": list(p.ask)}
                    values = set(p.points.values())
                    if values != {1.0}:
                        doc["points"] = p.points if len(values) > 1 else values.pop()
                    if ex.rtol is not None:
                        doc["rtol"], doc["atol"] = ex.rtol, ex.atol
                    out.append(doc)
        return out

    def key(self) -> list[dict[str, Any]]:
        """grade's SUBMISSIONS: the perfect answers, one line per student and problem."""
        return [submission(sheet.student, p, p.answers) for sheet in self.sheets
                for ex in sheet.exercises for p in ex.parts]


def submission(student: str, part: Part, answers: Mapping[str, float | None]
               ) -> dict[str, Any]:
    """A SUBMISSIONS line giving `answers` to `part` (None: an answer left to fill in)."""
    line: dict[str, Any] = {"student": student, "problem": part.id}
    for name in part.ask:
        x = answers[name]
        if name == "value":
            line["value"] = x
        elif name.startswith("d2/"):
            a, b = _second(name, list(part.at))
            line.setdefault("second", {})[a if a == b else f"{a},{b}"] = x
        else:
            line.setdefault("gradient", {})[name[3:]] = x
    return line


# -- the engine: the one place that evaluates --------------------------------------------

def _trace(source: str, at: Mapping[str, float], wrt: Sequence[str] | None = None
           ) -> TraceReport:
    """The worked solution: one recorded forward and backward pass toward wrt (all the
    variables if None, none if [])."""
    from .trace import trace

    return trace(source, dict(at), wrt)


def _answers(source: str, at: Mapping[str, float], ask: Sequence[str]) -> dict[str, float]:
    """Each asked answer exactly as grade computes it (grade.expected_answers: the one
    core's value and partials, higher.hessian's second derivatives)."""
    from .grade import expected_answers

    variables = list(dict.fromkeys(at))
    asked = [_reading(a, variables) for a in ask]
    _out, _names, answers = expected_answers(source, dict(at), asked, [])
    return {a: float(x[0]) for a, x in zip(ask, answers, strict=True)}


def _reading(answer: str, variables: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """grade's reading of an answer name: ("partial", ("x",)) for d/dx, ..."""
    from .grade import parse_key

    reading = parse_key(answer, variables)
    if isinstance(reading, str):
        raise UsageError(reading)
    return reading


def _by(answer: str, variables: Sequence[str]) -> tuple[str, ...]:
    """The variables an answer differentiates by: ("x",) for d/dx, ("x", "y") for d2/dxdy."""
    return _reading(answer, variables)[1]


def _second(name: str, variables: Sequence[str]) -> tuple[str, str]:
    """("x", "y") from "d2/dxdy", ("x", "x") from "d2/dx2"."""
    x, y = _reading(name, variables)[1]
    return x, y


def _used(source: str, at: Mapping[str, float]) -> dict[str, float]:
    """The values of at that the program reads (grade warns of the others)."""
    from .lower import free_names
    from .parse import parse

    read = set(free_names(parse(source), at))
    return {n: v for n, v in at.items() if n in read}


def _statements(source: str) -> list[tuple[str, int, int]]:
    """The program's assignments: (name, start, end) in the source."""
    from .ast import Assign
    from .parse import parse

    return [(s.name, s.start, s.end) for s in parse(source).stmts if isinstance(s, Assign)]


# -- checking a draw -----------------------------------------------------------------------

class Unfit(Exception):
    """A draw to throw away: why."""


def check(r: TraceReport, d: Draft) -> None:
    """Raise Unfit if the point is on a kink or near a domain edge, a number is too large,
    or the draw breaks one of the draft's own rules."""
    nodes = r.nodes
    if not all(isinstance(n.value, float) for n in nodes):
        raise UsageError("an exercise is a program of numbers; this one makes an array",
                         hint="grade compares numbers: write the entries as numbers")
    for n in nodes:
        x = [nodes[a].value for a in n.inputs]
        if n.op in ("relu", "abs", "sign", "step") and abs(x[0]) < EDGE:
            raise Unfit(f"{n.name} is on the kink of {n.op} at 0")
        if n.op in ("max", "min") and abs(x[0] - x[1]) < EDGE:
            raise Unfit(f"{n.name} is on a tie of {n.op}")
        if n.op in ("log", "log2", "log10", "logb", "sqrt") and x[0] < EDGE:
            raise Unfit(f"{n.name} is near the edge of {n.op}'s domain")
        if n.op == "div" and abs(x[1]) < EDGE:
            raise Unfit(f"{n.name} divides by nearly 0")
        if n.op in ("asin", "acos") and abs(x[0]) > 1 - EDGE:
            raise Unfit(f"{n.name} is near the edge of {n.op}'s domain")
        if n.op in ("sigmoid", "tanh") and abs(x[0]) > SATURATED and not d.saturate:
            raise Unfit(f"{n.name} is far out on the flat tail of {n.op}")
        for v in (n.value, n.grad):
            if not math.isfinite(v) or abs(v) > d.largest or 0 < abs(v) < d.small:
                raise Unfit(f"{n.name} is {v}: too large or too small to work by hand")
            if d.nice and not short(v):
                raise Unfit(f"{n.name} is {v}: not a short number")
    if d.nodes is not None:
        count = sum(n.op != "const" for n in nodes)
        if not d.nodes[0] <= count <= d.nodes[1]:
            raise Unfit(f"{count} nodes")
        if not all(n.reached for n in nodes if n.op == "var"):
            raise Unfit("a variable does not reach the output")
    if d.product and not any(n.op in ("mul", "div") and all(
            nodes[a].op != "const" for a in n.inputs) for n in nodes):
        raise Unfit("no node multiplies two nodes")
    if d.reuse:
        uses = [0] * len(nodes)
        for n in nodes:
            for a in set(n.inputs):
                uses[a] += 1
        if not any(u > 1 and nodes[i].op not in ("var", "const") for i, u in enumerate(uses)):
            raise Unfit("no intermediate is used twice")


def short(x: float) -> bool:
    """An integer or a decimal of at most three places, as a person writes it by hand."""
    return abs(x * 1000 - round(x * 1000)) < 1e-6


# -- building an exercise from a draft ---------------------------------------------------

def build(d: Draft, pid: str) -> Exercise:
    """The exercise of a draft: its parts with the engine's answers, and the traces of its
    worked solution. Raises AutodiffError or Unfit."""
    rtol, atol = d.tolerance if d.tolerance else (None, None)
    if d.rows:
        return _perceptron(d, pid)
    wrt = None if d.intermediates or not d.ask else \
        list(dict.fromkeys(n for a in d.ask if a != "value" for n in _by(a, list(d.at))))
    r = _trace(d.source, d.at, wrt)
    check(r, d)
    out = r.output_name
    names = [v for v in d.at if v in r.gradient] + [v for v in r.gradient if v not in d.at]
    ask = d.ask or ("value", *(f"d/d{v}" for v in names))
    main = _part(d, pid, d.title, d.source, d.at, ask, _labels(out, ask, names), main=True)
    if d.nonzero and any(x == 0 for a, x in main.answers.items() if a != "value"):
        raise Unfit("a partial derivative asked is 0")
    ex = Exercise(pid, d.kind, d.title, d.prompt, d.source, d.at, [main],
                  [("", r)], rtol=rtol, atol=atol)
    if d.intermediates:
        ex.parts += _intermediates(d, pid, r)
    if d.update:
        ex.parts.append(_step(d, pid, out, main, ex))
    return ex


def _part(d: Draft, pid: str, title: str, source: str, at: dict[str, float],
          ask: Sequence[str], labels: dict[str, str], main: bool = False) -> Part:
    """A problem and the engine's answers to it. Points by answer name ({"d/da": 2}) are
    the main problem's; every other part's answers get the points a number gives (1)."""
    answers = _answers(source, at, ask)
    for x in answers.values():
        if not math.isfinite(x) or abs(x) > d.largest or 0 < abs(x) < d.small or \
                (d.nice and not short(x)):
            raise Unfit(f"an answer is {x}")
    points = d.points if isinstance(d.points, dict) and main else {}
    default = d.points if isinstance(d.points, (int, float)) else 1.0
    return Part(pid, title, source, at, tuple(ask), labels, answers,
                {a: float(points.get(a, default)) for a in ask})


def _labels(out: str, ask: Iterable[str], variables: Sequence[str]) -> dict[str, str]:
    """Each answer in words: f, ∂f/∂x, ∂²f/∂x², ∂²f/∂x∂y."""
    from .trace import partial

    labels = {}
    for a in ask:
        if a == "value":
            labels[a] = out
        elif a.startswith("d2/"):
            x, y = _second(a, variables)
            labels[a] = f"∂²{out}/∂{x}²" if x == y else f"∂²{out}/∂{x}∂{y}"
        else:
            labels[a] = partial(out, a[3:])
    return labels


def _intermediates(d: Draft, pid: str, r: TraceReport) -> list[Part]:
    """Per named intermediate: its value (the program up to it) and d output / d it (the
    program without its statement, where it is a variable at its value)."""
    from .trace import partial

    names = {n.name: n for n in r.nodes if n.op not in ("var", "const")}
    statements = _statements(d.source)
    seen = [s[0] for s in statements]
    parts = []
    for name, start, end in statements[:-1]:
        node = names.get(name)
        if node is None or seen.count(name) > 1 or node.id == r.output or name in d.at:
            continue
        prefix = d.source[:end]
        parts.append(_part(d, f"{pid}.{name}", f"{d.title}: the value of {name}",
                           prefix, _used(prefix, d.at), ("value",), {"value": name}))
        rest = d.source[end:]
        cut = d.source[:start] + (rest[1:].lstrip(" ") if rest[:1] in (";", "\n") else rest)
        at = _used(cut, {**d.at, name: float(node.value)})
        ask = f"d/d{name}"
        parts.append(_part(d, f"{pid}.{name}.grad",
                           f"{d.title}: {partial(r.output_name, name)}", cut, at,
                           (ask,), {ask: partial(r.output_name, name)}))
    return parts


def _step(d: Draft, pid: str, loss: str, main: Part, ex: Exercise) -> Part:
    """The weights after one step: the gradient of |W|^2/2 - lr*L is W - lr*dL/dW."""
    from .render.numbers import exact

    half = " + ".join(f"{w}^2" for w in d.update)
    source = f"{d.source}\nupdate = ({half})/2 - {exact(d.lr)}*{loss}"
    ask = tuple(f"d/d{w}" for w in d.update)
    part = _part(d, f"{pid}.step", f"{d.title}: the weights after one step", source, d.at,
                 ask, {a: f"{a[3:]} after the step" for a in ask})
    ex.lr = d.lr
    ex.updates = [(w, d.at[w], main.answers[f"d/d{w}"], part.answers[f"d/d{w}"])
                  for w in d.update]
    return part


GATES = {(0, 0, 0, 1): "AND", (0, 1, 1, 1): "OR", (1, 1, 1, 0): "NAND", (1, 0, 0, 0): "NOR",
         (0, 0, 1, 1): "x1", (0, 1, 0, 1): "x2", (1, 1, 0, 0): "NOT x1", (1, 0, 1, 0): "NOT x2",
         (0, 0, 1, 0): "x1 AND NOT x2", (0, 1, 0, 0): "x2 AND NOT x1",
         (1, 0, 1, 1): "x1 OR NOT x2", (1, 1, 0, 1): "x2 OR NOT x1"}


def _perceptron(d: Draft, pid: str) -> Exercise:
    rtol, atol = d.tolerance if d.tolerance else (None, None)
    parts, traces, bits = [], [], []
    for suffix, inputs in d.rows:
        at = {**d.at, **inputs}
        r = _trace(d.source, at, [])
        check(r, d)
        words = ", ".join(f"{k} = {int(v)}" for k, v in inputs.items())
        part = _part(d, f"{pid}.{suffix}", f"{d.title}: {words}", d.source, at, ("value",),
                     {"value": f"{r.output_name} for {words}"})
        parts.append(part)
        traces.append((words, r))
        bits.append(int(part.answers["value"] > 0.5))
    gate = GATES.get((bits[0], bits[1], bits[2], bits[3]))
    if gate is None:
        raise Unfit("the weights make no gate of two inputs")
    return Exercise(pid, d.kind, d.title, d.prompt, d.source, d.at, parts, traces,
                    backward=False, rtol=rtol, atol=atol, gate=gate)


# -- drawing: the built-in kinds ---------------------------------------------------------

Rng = random.Random
Node = tuple[str, tuple[Any, ...]]  # (op, args): an arg is a node's index or a constant
PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "sq": 4}
ATOM = 5
FUNCTIONS = ("exp", "log", "sin", "cos", "tanh", "sigmoid", "sqrt")


def _value(rng: Rng, d: int) -> float:
    """A variable's value: small integers (1), halves (2), tenths (3); never 0."""
    if d == 1:
        return float(rng.choice([-3, -2, -1, 1, 2, 3, 4, 5]))
    if d == 2:
        return rng.choice([k for k in range(-6, 7) if k]) / 2
    return rng.choice([k for k in range(-20, 21) if k]) / 10


def _constant(rng: Rng, d: int, op: str) -> float:
    if d == 3 and rng.random() < 0.3:
        return rng.choice([0.5, 1.5, 2.5])
    return float(rng.randint(2, 5) if op in ("mul", "div") else rng.randint(1, 9))


def random_dag(rng: Rng, d: int, n_vars: int, n_ops: int) -> list[Node]:
    """Variables, then n_ops operations, each on earlier nodes or constants, that end in
    one output which every node reaches. "open" nodes are not used yet; a branch starts
    from a used one (a variable, at difficulty 3 an intermediate too), a share uses one
    again: the graph is a DAG, not a tree."""
    nodes: list[Node] = [("var", ())] * n_vars
    open_ = list(range(n_vars))
    used: list[int] = []
    fns = {1: 0, 2: 1, 3: 3}[d]
    binary = ["add", "sub", "mul"] + (["div"] if d > 1 else [])

    def reusable() -> list[int]:
        return [i for i in used if d == 3 or nodes[i][0] == "var"]

    for k in range(n_ops):
        left = n_ops - k
        moves = []
        if len(open_) >= 2:
            moves += ["merge"] * 3
        if len(open_) - 1 < left:
            moves += ["extend"] * 3
            if reusable():
                moves += ["share"] * (2 if d == 3 else 1)
        if len(open_) + 1 <= left and reusable():
            moves += ["branch"] * 2
        move = rng.choice(moves)
        if move == "merge":
            x, y = rng.sample(open_, 2)
            open_.remove(x)
            open_.remove(y)
            used += [x, y]
            nodes.append((rng.choice(binary), (x, y)))
        elif move == "share":
            x = rng.choice(open_)
            y = rng.choice([i for i in reusable() if i != x])
            open_.remove(x)
            used.append(x)
            pair = (x, y) if rng.random() < 0.5 else (y, x)
            nodes.append((rng.choice(binary), pair))
        else:
            x = rng.choice(open_) if move == "extend" else rng.choice(reusable())
            if move == "extend":
                open_.remove(x)
                used.append(x)
            unary = ["sq"] if d > 1 else []
            if fns > 0:
                unary += list(FUNCTIONS)
            if unary and rng.random() < (0.25 if d == 2 else 0.4):
                op = rng.choice(unary)
                fns -= op != "sq"
                nodes.append((op, (x,)))
            else:
                op = rng.choice(binary)
                k_ = _constant(rng, d, op)
                nodes.append((op, (k_, x) if op == "mul" or
                              (op == "sub" and rng.random() < 0.3) else (x, k_)))
        open_.append(len(nodes) - 1)
    return nodes


def _text(op: str, parts: list[tuple[str, int]]) -> tuple[str, int]:
    """One operation as source text with the parentheses the grammar needs."""
    if op in FUNCTIONS:
        return f"{op}({parts[0][0]})", ATOM
    if op == "sq":
        text, p = parts[0]
        return f"{text if p >= ATOM else f'({text})'}^2", PRECEDENCE[op]
    p = PRECEDENCE[op]
    (left, lp), (right, rp) = parts
    left = left if lp >= p else f"({left})"
    right = right if rp > p else f"({right})"
    symbol = {"add": " + ", "sub": " - ", "mul": "*", "div": "/"}[op]
    return f"{left}{symbol}{right}", p


def dag_source(nodes: list[Node], variables: list[str], program: bool) -> str:
    """The DAG as a program, a statement per operation named d, f, g, ... (program), or as
    one statement f = ... (then it must be a tree over its variables)."""
    from .render.numbers import exact

    names = list(variables)
    texts: list[tuple[str, int]] = [(v, ATOM) for v in variables]
    pool = iter(c for c in _NAMES if c not in variables)
    lines = []
    for op, args in nodes[len(variables):]:
        parts = [texts[a] if isinstance(a, int) else (exact(a), ATOM) for a in args]
        text, p = _text(op, parts)
        if program:
            name = next(pool)
            lines.append(f"{name} = {text}")
            names.append(name)
            texts.append((name, ATOM))
        else:
            texts.append((text, p))
    return "\n".join(lines) if program else f"f = {texts[-1][0]}"


def draw_graph(rng: Rng, d: int, shape: Rng, trace: bool = False) -> Draft:
    """A random program; its size (variables, operations) is the class's, from shape, so
    every student has as many answers to give."""
    lo, hi = NODES[d]
    n_vars = shape.choice([1, 2] if d == 1 else [2, 3])
    total = shape.randint(max(lo, n_vars + 2), hi)
    variables = ["a", "b", "c"][:n_vars]
    program = trace or d == 3
    source = dag_source(random_dag(rng, d, n_vars, total - n_vars), variables, program)
    at = {v: _value(rng, d) for v in variables}
    if trace:
        title = "A forward and a backward pass"
        prompt = ("Draw the computational graph of the program. In a forward pass, compute "
                  "the value of every named node; in a backward pass, the gradient of the "
                  "output with respect to every node, the lecture's backward table. Give "
                  "the output's value and its partial derivatives too.")
    else:
        title = "The value and the gradient of a graph"
        prompt = ("Compute the value of the output and its partial derivative with respect "
                  "to every variable, by a forward and a backward pass over the graph.")
    return Draft("trace" if trace else "graph", title, prompt, source, at,
                 intermediates=trace, tolerance=None if d == 1 else HAND,
                 nodes=(lo, hi), nice=d == 1, largest=LARGEST[d], reuse=d == 3,
                 small=SMALL[d], product=True)


def _neuron(rng: Rng, d: int) -> tuple[str, dict[str, float], tuple[str, ...], str]:
    """A neuron (difficulty 1-2) or a 2-2-1 net (3) and a loss: source, point, weights,
    words."""
    if d == 3:
        return _network(rng)
    weights = ("w1", "w2", "b")
    if d == 1:
        act = rng.choice(["sigmoid", "tanh", "relu"])
        x1, x2 = (float(rng.choice([-3, -2, -1, 1, 2, 3])) for _ in range(2))
        w1, w2 = (float(rng.randint(-3, 3)) for _ in range(2))
        z = float(rng.randint(1, 4)) if act == "relu" else 0.0
        b = z - (w1 * x1 + w2 * x2)
        t = float(rng.choice([0, 1]) if act == "sigmoid" else rng.choice([-1, 1])
                  if act == "tanh" else rng.choice([k for k in range(6) if k != z]))
        at = {"x1": x1, "x2": x2, "w1": w1, "w2": w2, "b": b, "t": t}
        loss = "mse"
    else:
        act = rng.choice(["sigmoid", "tanh"])
        loss = rng.choice(["mse", "bce"]) if act == "sigmoid" else "mse"
        at = {n: _value(rng, 2) for n in ("x1", "x2", "w1", "w2", "b")}
        at["t"] = float(rng.choice([0, 1]))
    source = f"z = w1*x1 + w2*x2 + b\ny = {act}(z)\n{_loss(loss)}"
    return source, at, weights, f"a {act} neuron and the {_LOSS_WORDS[loss]}"


def _network(rng: Rng) -> tuple[str, dict[str, float], tuple[str, ...], str]:
    """A 2-2-1 network (two hidden neurons, a sigmoid output) and a loss."""
    act = rng.choice(["sigmoid", "tanh"])
    loss = rng.choice(["mse", "bce"])
    lines = [f"h1 = {act}(w11*x1 + w12*x2 + b1)", f"h2 = {act}(w21*x1 + w22*x2 + b2)",
             "y = sigmoid(v1*h1 + v2*h2 + b3)", _loss(loss)]
    weights = ("w11", "w12", "b1", "w21", "w22", "b2", "v1", "v2", "b3")
    at = {w: _value(rng, 3) for w in weights}
    at.update(x1=_value(rng, 3), x2=_value(rng, 3), t=float(rng.choice([0, 1])))
    words = (f"a 2-2-1 network ({act} hidden neurons, a sigmoid output) and the "
             f"{_LOSS_WORDS[loss]}")
    return "\n".join(lines), at, weights, words


_LOSS_WORDS = {"mse": "squared error `L = (y - t)^2`",
               "bce": "cross-entropy `L = -(t*log(y) + (1 - t)*log(1 - y))`"}


def _loss(loss: str) -> str:
    return "L = (y - t)^2" if loss == "mse" else "L = -(t*log(y) + (1 - t)*log(1 - y))"


def draw_neuron(rng: Rng, d: int, shape: Rng) -> Draft:
    source, at, weights, words = _neuron(rng, d)
    prompt = (f"The program is {words}, at the given inputs x, target t and weights. "
              "Compute the loss and its gradient with respect to every weight and bias.")
    return Draft("neuron", "A neuron's gradient" if d < 3 else "A small network's gradient",
                 prompt, source, at, ask=("value", *(f"d/d{w}" for w in weights)),
                 tolerance=None if d == 1 else HAND, nice=d == 1, largest=LARGEST[d],
                 small=SMALL[d])


def draw_step(rng: Rng, d: int, shape: Rng) -> Draft:
    source, at, weights, words = _neuron(rng, d)
    lr = rng.choice([0.1, 0.5, 1.0] if d == 1 else [0.05, 0.1, 0.2, 0.5, 1.0])
    prompt = (f"The program is {words}. Compute the loss and its gradient with respect "
              f"to the weights, then the weights after one step of gradient descent with "
              f"learning rate lr = {lr:g}: W ← W − lr · ∂L/∂W.")
    return Draft("step", "One step of gradient descent", prompt, source, at,
                 ask=("value", *(f"d/d{w}" for w in weights)), update=weights, lr=lr,
                 tolerance=None if d == 1 else HAND_STEP, nice=d == 1, largest=LARGEST[d],
                 small=SMALL[d])


def draw_perceptron(rng: Rng, d: int, shape: Rng) -> Draft:
    if d == 1:
        w1, w2 = (float(rng.choice([k for k in range(-20, 21, 5) if k])) for _ in range(2))
        b = float(rng.choice(range(-30, 31, 5)))
    else:
        w1, w2 = (float(rng.choice([k for k in range(-20, 21) if k])) for _ in range(2))
        b = float(rng.randint(-30, 30))
    act = "step" if d == 1 else "sigmoid"
    rows = tuple((f"{x1}{x2}", {"x1": float(x1), "x2": float(x2)})
                 for x1 in (0, 1) for x2 in (0, 1))
    prompt = (f"A perceptron `y = {act}(w1*x1 + w2*x2 + b)` has the weights given. Compute "
              "its output for each of the four inputs, and say which logic gate it is.")
    return Draft("perceptron", "A perceptron as a logic gate", prompt,
                 f"z = w1*x1 + w2*x2 + b\ny = {act}(z)", {"w1": w1, "w2": w2, "b": b},
                 rows=rows, tolerance=None if d == 1 else HAND, nice=d == 1,
                 largest=LARGEST[3], small=0.0, nonzero=False, saturate=True)


Draw = Callable[[Rng, int, Rng], Draft]  # (the student's numbers, difficulty, the class's)
DRAW: dict[str, Draw] = {
    "graph": draw_graph, "trace": lambda rng, d, shape: draw_graph(rng, d, shape, trace=True),
    "neuron": draw_neuron, "perceptron": draw_perceptron, "step": draw_step}


# -- templates -----------------------------------------------------------------------------

_TEMPLATE_KEYS = ("title", "text", "program", "numbers", "at", "ask", "intermediates",
                  "points", "rtol", "atol")


@dataclass(frozen=True)
class Template:
    """An instructor's exercise: a program with {placeholders}, ranges for its numbers and
    its point, what is asked and for how many points (docs/quiz.md)."""

    title: str
    text: str
    program: str
    numbers: dict[str, Any]
    at: dict[str, Any]
    ask: tuple[str, ...]
    intermediates: bool
    points: float | dict[str, float]
    tolerance: tuple[float, float] | None


def load_template(text: str, where: str) -> Template:
    """A template from its JSON text; every mistake is a UsageError naming `where`."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"{where} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where} must be a JSON object {{\"program\", \"at\", ...}}")
    unknown = [k for k in data if k not in _TEMPLATE_KEYS]
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r}; a template has "
                         f"{', '.join(_TEMPLATE_KEYS)}")
    program = data.get("program")
    if not isinstance(program, str) or not program.strip():
        raise UsageError(f"{where}: \"program\" must be the program's text")
    numbers, at = data.get("numbers", {}), data.get("at", {})
    for key, table in (("numbers", numbers), ("at", at)):
        if not isinstance(table, dict):
            raise UsageError(f"{where}: \"{key}\" must be an object {{name: range}}")
        for name, spec in table.items():
            _check_range(spec, f"{where}: \"{key}\" {name}")
    used = list(dict.fromkeys(_PLACEHOLDER.findall(program)))
    missing = [n for n in used if n not in numbers]
    if missing:
        raise UsageError(f"{where}: the program's {{{missing[0]}}} has no range in \"numbers\"")
    extra = [n for n in numbers if n not in used]
    if extra:
        raise UsageError(f"{where}: \"numbers\" gives {extra[0]!r}, which the program does not "
                         f"use as {{{extra[0]}}}")
    ask = data.get("ask", [])
    if not isinstance(ask, list) or not all(isinstance(a, str) for a in ask):
        raise UsageError(f"{where}: \"ask\" must be a list of answer names such as "
                         "[\"value\", \"d/dx\", \"d2/dx2\"]")
    for a in ask:
        if a != "value" and not re.fullmatch(r"d/d\w+|d2/d\w+", a):
            raise UsageError(f"{where}: \"ask\" {a!r}: quiz asks value, d/dx, d2/dx2 or "
                             "d2/dxdy (a key cannot give a \"d/dx expr\" answer)")
        if a != "value" and isinstance(at, dict):
            try:
                by = _by(a, list(at))
            except UsageError as err:
                raise UsageError(f"{where}: \"ask\": {err.message}") from None
            if not all(n in at for n in by):
                raise UsageError(f"{where}: \"ask\" {a!r}: {by[0]} has no range in \"at\"")
    points = data.get("points", 1)
    if not _number(points) and not (isinstance(points, dict) and all(
            isinstance(k, str) and _number(v) for k, v in points.items())):
        raise UsageError(f"{where}: \"points\" must be a number or {{answer: number}}")
    if isinstance(points, dict):
        known = ask or ["value", *(f"d/d{n}" for n in at)]
        unknown = [k for k in points if k not in known]
        if unknown:
            raise UsageError(f"{where}: \"points\" names {unknown[0]!r}, which is not asked")
    tolerance = None
    if "rtol" in data or "atol" in data:
        rtol, atol = data.get("rtol", 1e-6), data.get("atol", 1e-9)
        if not (_number(rtol) and _number(atol)):
            raise UsageError(f"{where}: \"rtol\" and \"atol\" must be numbers >= 0")
        tolerance = (float(rtol), float(atol))
    title, words = data.get("title", "An exercise"), data.get("text", "")
    if not isinstance(title, str) or not isinstance(words, str):
        raise UsageError(f"{where}: \"title\" and \"text\" must be strings")
    intermediates = data.get("intermediates", False)
    if not isinstance(intermediates, bool):
        raise UsageError(f"{where}: \"intermediates\" must be true or false")
    return Template(title, words, program, numbers, at, tuple(ask), intermediates,
                    points if _number(points) else {k: float(v) for k, v in points.items()},
                    tolerance)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) \
        and x >= 0


def _check_range(spec: Any, what: str) -> None:
    if isinstance(spec, bool):
        raise UsageError(f"{what}: a number, [low, high] or {{\"min\", \"max\", \"step\"}} "
                         "or {\"choose\": [...]}")
    if isinstance(spec, (int, float)):
        return
    if isinstance(spec, list):
        if len(spec) == 2 and all(isinstance(x, int) and not isinstance(x, bool)
                                  for x in spec) and spec[0] <= spec[1]:
            return
        raise UsageError(f"{what}: [low, high] takes two integers, low <= high (for "
                         "decimals: {\"min\": -1, \"max\": 1, \"step\": 0.5})")
    if isinstance(spec, dict):
        if set(spec) == {"choose"}:
            choices = spec["choose"]
            if isinstance(choices, list) and choices and all(
                    isinstance(x, (int, float)) and not isinstance(x, bool) for x in choices):
                return
            raise UsageError(f"{what}: \"choose\" takes a non-empty list of numbers")
        if set(spec) <= {"min", "max", "step", "exclude"} and {"min", "max"} <= set(spec):
            lo, hi, step = spec["min"], spec["max"], spec.get("step", 1)
            exclude = spec.get("exclude", [])
            if all(isinstance(x, (int, float)) and not isinstance(x, bool)
                   for x in (lo, hi, step)) and step > 0 and lo <= hi and \
                    (hi - lo) / step <= 1e6 and isinstance(exclude, list):
                if _choices(spec):
                    return
                raise UsageError(f"{what}: every value of the range is excluded")
        raise UsageError(f"{what}: {{\"min\", \"max\", \"step\" (> 0), \"exclude\"}} with "
                         "min <= max")
    raise UsageError(f"{what}: a number, [low, high], {{\"min\", \"max\", \"step\"}} or "
                     "{\"choose\": [...]}")


def _choices(spec: Any) -> list[float]:
    if isinstance(spec, (int, float)):
        return [float(spec)]
    if isinstance(spec, list):
        return [float(k) for k in range(spec[0], spec[1] + 1)]
    if "choose" in spec:
        return [float(x) for x in spec["choose"]]
    lo, hi, step = spec["min"], spec["max"], spec.get("step", 1)
    exclude = [float(x) for x in spec.get("exclude", [])]
    n = math.floor((hi - lo) / step + 1e-9)
    values = [round(lo + k * step, 12) for k in range(n + 1)]
    return [float(v) for v in values if not any(abs(v - x) < 1e-12 for x in exclude)]


def draw_template(t: Template, rng: Rng, d: int) -> Draft:
    from .render.numbers import exact

    drawn = {n: rng.choice(_choices(s)) for n, s in t.numbers.items()}
    source = _PLACEHOLDER.sub(lambda m: _literal(exact(drawn[m.group(1)])), t.program)
    at = {n: rng.choice(_choices(s)) for n, s in t.at.items()}
    return Draft("template", t.title, t.text, source, at, ask=t.ask,
                 intermediates=t.intermediates, points=t.points, tolerance=t.tolerance,
                 largest=TEMPLATE_LARGEST, small=0.0, nonzero=False, saturate=True)


def _literal(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


# -- a class -------------------------------------------------------------------------------

def student_rng(seed: int, student: str, slot: int, kind: str, difficulty: int) -> Rng:
    """The student's own random numbers for one exercise: from sha256, not hash(), so the
    same everywhere and every time, and independent of every other student. The student
    "" is the class: what every student's variant shares (a program's size)."""
    text = f"autodiff quiz\0{seed}\0{student}\0{slot}\0{kind}\0{difficulty}"
    return random.Random(int.from_bytes(hashlib.sha256(text.encode()).digest()[:16], "big"))


Maker = tuple[str, Draw]


def exercise(student: str, seed: int, slot: int, maker: Maker, difficulty: int) -> Exercise:
    """The student's variant of exercise `slot` (q1, q2, ...): drawn until the engine
    evaluates it and it passes check(), at most MAX_TRIES times. A math error (a point
    outside a domain) draws again; any other error is the exercise's own, and said at once."""
    label, draw = maker
    rng = student_rng(seed, student, slot, label, difficulty)
    why = ""
    for _ in range(MAX_TRIES):
        draft = draw(rng, difficulty, student_rng(seed, "", slot, label, difficulty))
        try:
            return build(draft, f"q{slot}")
        except Unfit as err:
            why = str(err)
        except MathError as err:
            why = err.message
        except AutodiffError as err:
            raise UsageError(f"exercise q{slot} ({label}): {err.message}", hint=err.hint
                             ) from None
    raise UsageError(f"exercise q{slot} ({label}): no variant for {student!r} in {MAX_TRIES} "
                     f"draws; the last failed because {why}",
                     hint="widen the template's ranges, or keep its numbers away from "
                     "kinks and domain edges")


def make_quiz(students: Sequence[str], *, seed: int = 0, kinds: Sequence[str] | None = None,
              difficulty: int = 1, templates: Sequence[Template] = ()) -> Quiz:
    """Every student's sheet: the built-in kinds (all five unless kinds or templates say
    otherwise), then the templates, as exercises q1, q2, ..."""
    if difficulty not in DIFFICULTIES:
        raise UsageError(f"--difficulty must be 1, 2 or 3, got {difficulty}")
    if kinds is None:
        kinds = [] if templates else list(KINDS)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise UsageError(f"unknown kind {unknown[0]!r}; the kinds are {', '.join(KINDS)}")
    kinds = list(dict.fromkeys(kinds))
    if not kinds and not templates:
        raise UsageError("no exercises: give --kinds or --template")
    if not students:
        raise UsageError("no students")
    if len(students) > MAX_STUDENTS:
        raise UsageError(f"{len(students):,} students; quiz writes at most {MAX_STUDENTS:,}")
    makers: list[Maker] = [(k, DRAW[k]) for k in kinds]
    for k, t in enumerate(templates, 1):  # seeded by place, not title: a typo fixed keeps
        makers.append((f"template {k}",  # the numbers
                       lambda rng, d, _, t=t: draw_template(t, rng, d)))  # type: ignore[misc]
    files = file_names(students)
    sheets = [Sheet(s, f, [exercise(s, seed, slot, m, difficulty)
                           for slot, m in enumerate(makers, 1)])
              for s, f in zip(students, files, strict=True)]
    names = [*kinds, *(f"template {k}: {t.title}" for k, t in enumerate(templates, 1))]
    return Quiz(seed, difficulty, names, sheets)


def count_names(n: int) -> list[str]:
    """s01, s02, ... sNN (as many digits as N needs, at least two)."""
    if not 1 <= n <= MAX_STUDENTS:
        raise UsageError(f"--count must be between 1 and {MAX_STUDENTS:,}, got {n}")
    width = max(2, len(str(n)))
    return [f"s{k:0{width}d}" for k in range(1, n + 1)]


_HEADERS = ("student", "students", "name", "names", "student name", "full name")


def read_roster(text: str) -> list[str]:
    """The names in a roster CSV's first column: a header row (student, name, or any first
    cell naming a student or a name, as LMS exports do) and a "Points Possible" row are
    skipped, blank cells too. A name given twice is an error."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    names: list[str] = []
    for k, row in enumerate(rows):
        cell = " ".join(row[0].split()) if row else ""
        low = cell.lower()
        if not cell or low == "points possible":
            continue
        if k == 0 and (low in _HEADERS or re.search(r"\b(student|name)\b", low)):
            continue
        if cell in names:
            raise UsageError(f"the roster names {cell!r} twice",
                             hint="each student needs a name of their own")
        if len(cell) > 200:
            raise UsageError(f"the roster's name on row {k + 1} is longer than 200 characters")
        names.append(cell)
    if not names:
        raise UsageError("the roster names no students",
                         hint="the first column holds the names, under a header "
                         "\"student\" or \"name\"")
    return names


_FOLD = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "ı": "i", "Ø": "O", "ø": "o",
                       "ß": "ss", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Þ": "Th",
                       "þ": "th"})


def ascii_letters(text: str) -> str:
    """text without accents, in ASCII where a letter has an ASCII form (Č -> C, ł -> l);
    other characters are dropped."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return text.encode("ascii", "ignore").decode()


def file_names(students: Sequence[str]) -> list[str]:
    """A safe file name per student: ASCII letters, digits, - and _; made unique."""
    out: list[str] = []
    taken: set[str] = set()
    for s in students:
        ascii_ = ascii_letters(s)
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", ascii_).strip("_-")[:60] or "student"
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            name = f"{base}-{k}"
        taken.add(name.lower())
        out.append(name)
    return out
