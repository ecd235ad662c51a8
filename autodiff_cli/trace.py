"""One forward and one backward pass, step by step, as the lecture draws them.

A TraceReport holds every node with its name, value and gradient; every edge of the backward
sweep with its local derivative, written as the op table's rule with x, y and z replaced by the
names of the inputs and the node (for e = c*d: de/dc = d = 5), and the contribution
gradient * local it sends; and, for every node that receives a gradient, the chain-rule sum
of those contributions. On arrays, matmul, sum, mean and transpose send back a
vector-Jacobian product instead, written as the op table's vjp_rule (∂f/∂X ← ∂f/∂v1 @ Wᵀ).
In forward mode it holds every node's tangents (dual numbers) instead of the backward sweep.
Plain data: the renderers in render/trace.py and render/dot.py print it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from . import ast
from .derivatives import REFS, rule_tree
from .engine import Edge, Graph
from .errors import Span
from .ops import CONST, OPS, VAR

if TYPE_CHECKING:
    from .api import GradResult
    from .core import Evaluation

Value = Any  # a float, or a numpy array

TEXT_LIMIT = 200  # longer source texts keep their two ends, so the report stays linear in size

_ATOM = re.compile(r"[^\W\d]\w*|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass(frozen=True)
class TraceNode:
    id: int
    name: str  # the program's name, the variable's name, the constant's text, or v1, v2, ...
    text: str  # its source text, shortened in the middle beyond TEXT_LIMIT characters
    span: Span | None
    op: str  # the op table's name; "var" and "const" for the leaves
    inputs: tuple[int, ...]
    value: Value
    grad: Value  # d output / d node; 0 where the output does not depend on the node
    local: tuple[Value | None, ...]  # d node / d input, per input; None where no gradient flows
    reached: bool  # whether the backward sweep reaches it (it is in TraceReport.order)


@dataclass(frozen=True)
class Step:
    """One edge: the node's local derivative with respect to one input and, in reverse mode,
    what the node sends back along it (gradient * local)."""

    node: int
    position: int  # which input of node: 0 for x, 1 for y
    input: int
    rule: str  # the op's rule with the names substituted, e.g. "d" for de/dc at e = c*d;
    # for a vector-Jacobian product its vjp_rule, e.g. "∂f/∂v1 @ Wᵀ"
    local: Value | None  # None for a vector-Jacobian product (matmul, sum, ... on arrays)
    contribution: Value = None  # gradient * local, as the input receives it; None in forward mode
    broadcast: tuple[int, ...] | None = None  # the shape of gradient * local before it was
    # summed back to the input's shape, where broadcasting made it larger


@dataclass(frozen=True)
class ChainSum:
    """d output / d node as the sum of what its consumers send, in evaluation order."""

    node: int
    terms: tuple[Step, ...]


@dataclass
class TraceReport:
    expression: str
    output: int  # the output node's id
    output_name: str  # the last statement's name, else the output's own name, else "f"
    value: Value
    at: dict[str, Value]
    gradient: dict[str, Value]
    nodes: list[TraceNode]  # in evaluation order; node i has id i
    order: list[int]  # nodes that receive a gradient, from the output back to the variables
    steps: list[Step]  # the backward sweep's edges, grouped by node in `order`; in forward
    # mode the edges a tangent flows along, in evaluation order
    sums: list[ChainSum]  # one per node in `order`, then one per variable not used
    seed_grad: Value = None  # the output's gradient, if given (--seed-grad)
    mode: str = ""  # "reverse" or "forward" when asked for explicitly
    passes: dict[str, int] = field(default_factory=dict)  # as modes.passes
    tangent: dict[str, list[Value]] = field(default_factory=dict)  # forward mode: d node_i /
    # d name, for each variable asked for

    @property
    def reduced(self) -> str:
        """How a non-scalar output became one number: "sum", "seed_grad" or "" (scalar)."""
        from .api import reduction

        return reduction(self.value, self.seed_grad)

    def result(self) -> GradResult:
        """The value and gradient alone, as grad reports them."""
        from .api import GradResult

        return GradResult(self.expression, self.value, self.at, self.gradient,
                          self.output_name, self.seed_grad)

    def _repr_html_(self) -> str:
        """Jupyter shows the trace as the page of --format html."""
        from .render.html import notebook, trace_page

        return notebook(trace_page(self))


def trace(expression: str, at: Mapping[str, Value] | None = None,
          wrt: Iterable[str] | None = None, *, mode: str | None = None,
          seed_grad: Value = None, random_seed: int = 0, **values: Value) -> TraceReport:
    """Trace `expression` at a point: one recorded evaluation (core.evaluate with a tape),
    reported node by node. A non-scalar output is reduced by its sum, or by
    sum(seed_grad * output); random_seed fixes randn. mode="forward" gives every node's
    tangents by dual numbers instead of a backward sweep.

    >>> r = trace("b = 4*a; c = b + 3; d = a + 2; e = c*d", a=3)
    >>> [s.rule for s in r.steps[:2]], r.gradient
    (['d', 'c'], {'a': 35.0})
    """
    from . import limits
    from .core import evaluate, prepare
    from .modes import passes

    limits.check_source(expression, limits.MAX_REPORT_TOKENS,
                        " of a report node by node (trace, graph)")
    p = prepare(expression, {**(at or {}), **values}, wrt, seed_grad=seed_grad,
                random_seed=random_seed)
    e = evaluate(p, mode=mode or "reverse", tape=True)
    report = build_forward(e) if mode == "forward" else build(e)
    if mode is not None:
        report.mode, report.passes = mode, passes(mode, len(p.wrt))
    return report


def build(e: Evaluation) -> TraceReport:
    """The report of a recorded reverse sweep: its edges, grouped by node in the order the
    lecture reads the graph, with the rules that gave their local derivatives."""

    p, graph, grads = e.prepared, e.graph, e.adjoints
    assert grads is not None and e.tape is not None
    v = e.values
    need = graph.sweep(p.wrt).need
    out_name = output_name(graph)
    names = display_names(graph, out_name, v)
    order = backward_order(graph, need)
    sent: dict[int, list[Step]] = {}
    for edge in e.tape:
        sent.setdefault(edge.node, []).append(_step(graph, names, edge, out_name))
    steps = [s for i in order for s in sent.get(i, ())]
    locals_: dict[int, list[Value | None]] = {}
    into: dict[int, list[Step]] = {}
    for s in steps:
        locals_.setdefault(s.node, [None] * len(graph.args[s.node]))[s.position] = s.local
        into.setdefault(s.input, []).append(s)
    sums = [ChainSum(i, tuple(sorted(into.get(i, ()), key=lambda s: (s.node, s.position))))
            for i in order]
    reached = set(order)
    sums += [ChainSum(graph.variables[n], ()) for n in p.wrt
             if graph.variables[n] not in reached]
    nodes = [TraceNode(i, names[i], _text(graph, i), graph.spans[i], op.name, graph.args[i],
                       v[i], grads[i],
                       tuple(locals_.get(i, [None] * len(graph.args[i]))), i in reached)
             for i, op in enumerate(graph.ops)]
    return TraceReport(
        graph.source, graph.output, out_name, e.value,
        {n: v[i] for n, i in graph.variables.items()}, e.gradient, nodes, order, steps, sums,
        p.seed_grad)


def _step(graph: Graph, names: list[str], edge: Edge, out_name: str) -> Step:
    """A recorded edge with its rule written over the names of the node and its inputs."""
    i, k = edge.node, edge.position
    args = graph.args[i]
    x = names[args[0]]
    y = names[args[1]] if len(args) > 1 else x
    if edge.local is None:  # a vector-Jacobian product
        rule = vjp_text(graph.ops[i].name, k, _wrap(x), _wrap(y), _wrap(names[i]),
                        partial(out_name, names[i]))
    else:
        rule = rule_text(graph.ops[i].name, k, x, y, names[i])
    return Step(i, k, edge.input, rule, edge.local, edge.contribution, edge.broadcast)


def build_forward(e: Evaluation) -> TraceReport:
    """The report of forward mode: every node's value and tangents, and the local
    derivatives along the edges a tangent flowed through (as the passes recorded them)."""
    graph, tangent, kept = e.graph, e.tangents, e.locals
    assert tangent is not None and kept is not None
    v = e.values
    out_name = output_name(graph)
    names = display_names(graph, out_name, v)
    steps = []
    for (i, k), local in sorted(kept.items()):
        args = graph.args[i]
        x = names[args[0]]
        y = names[args[1]] if len(args) > 1 else x
        steps.append(Step(i, k, args[k], rule_text(graph.ops[i].name, k, x, y, names[i]),
                          local))
    locals_: dict[int, list[Value | None]] = {}
    for s in steps:
        locals_.setdefault(s.node, [None] * len(graph.args[s.node]))[s.position] = s.local
    nodes = [TraceNode(i, names[i], _text(graph, i), graph.spans[i], op.name, graph.args[i],
                       v[i], None,
                       tuple(locals_.get(i, [None] * len(graph.args[i]))), False)
             for i, op in enumerate(graph.ops)]
    return TraceReport(
        graph.source, graph.output, out_name, e.value,
        {n: v[i] for n, i in graph.variables.items()}, e.gradient, nodes, [], steps, [],
        tangent=tangent)


def output_name(graph: Graph) -> str:
    """The last statement's name, or the output node's own name, or a fresh "f"."""
    i = graph.output
    if graph.output_name:
        return graph.output_name
    if graph.ops[i] is VAR or (graph.ops[i] is not CONST and graph.labels[i]):
        return graph.labels[i]
    taken = set(graph.variables) | set(graph.labels)
    return next(n for n in _fresh("f", "out", "output") if n not in taken)


def display_names(graph: Graph, out_name: str, values: list[Value]) -> list[str]:
    """Variables by name, assigned nodes by the program's name, number constants by their
    text, an unnamed output by `out_name`, the rest v1, v2, ... in evaluation order."""
    taken = set(graph.variables) | set(graph.labels) | {out_name}
    fresh = (n for n in _fresh() if n not in taken)
    names = []
    for i, (op, label) in enumerate(zip(graph.ops, graph.labels, strict=True)):
        array = op is CONST and not isinstance(values[i], float)  # its text is long
        if label and not array:
            names.append(label)
        elif i == graph.output:
            names.append(out_name)
        else:
            names.append(next(fresh))
    return names


def _fresh(*first: str) -> Iterator[str]:
    yield from first
    k = 0
    while True:
        k += 1
        yield f"v{k}"


def backward_order(graph: Graph, need: list[bool]) -> list[int]:
    """The nodes that receive a gradient, output first, each after all of its consumers;
    level by level in argument order, as the lecture reads a graph (e, c, d, b, a)."""
    out, args = graph.output, graph.args
    pending = [0] * len(args)
    for i in range(len(args)):
        if need[i] or i == out:
            for a in args[i]:
                if need[a]:
                    pending[a] += 1
    order = [out]
    k = 0
    while k < len(order):
        for a in args[order[k]]:
            if need[a]:
                pending[a] -= 1
                if pending[a] == 0:
                    order.append(a)
        k += 1
    return order


def vjp_text(op: str, k: int, x: str, y: str, z: str, g: str) -> str:
    """What input k of a vector-Jacobian-product op receives, in words, with x, y, z and g
    (the node's gradient) put in: ("matmul", 0, "X", "W", "v1", "G") -> "G @ Wᵀ"."""
    return OPS[op].vjp_rule[k].format(x=x, y=y, z=z, g=g)


def partial(top: str, bottom: str) -> str:
    """∂top/∂bottom, with names that are not one token in parentheses."""
    from .words import partial_symbol

    return partial_symbol(_wrap(top), _wrap(bottom))


def _wrap(name: str) -> str:
    return name if is_atom(name) else f"({name})"


def rule_text(op: str, k: int, x: str, y: str, z: str) -> str:
    """The rule for d op / d input k with x, y, z replaced by names: ("mul", 0, "c", "d",
    "e") -> "d". A name that is not a single token is put in parentheses."""
    rule, slots = _rule_slots(op, k)
    names = (x, y, z)
    parts, pos = [], 0
    for start, end, ref in slots:
        name = names[ref]
        parts += [rule[pos:start], name if is_atom(name) else f"({name})"]
        pos = end
    parts.append(rule[pos:])
    return "".join(parts)


@cache
def _rule_slots(op: str, k: int) -> tuple[str, tuple[tuple[int, int, int], ...]]:
    """The op's k-th rule and where in it x, y and z stand (start, end, 0/1/2), found by
    parsing the rule with the language's own grammar."""
    rule = OPS[op].rules[k]
    slots = []
    stack: list[ast.Expr] = [rule_tree(rule)]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            slots.append((node.start, node.end, REFS[node.id]))
        elif isinstance(node, ast.Call):
            stack.extend(node.args)
    return rule, tuple(sorted(slots))


def is_atom(name: str) -> bool:
    """Whether a name is one token (a name or an unsigned number), safe without parentheses."""
    return _ATOM.fullmatch(name) is not None


def _text(graph: Graph, i: int) -> str:
    span = graph.spans[i]
    if span is None or span[1] - span[0] <= TEXT_LIMIT:
        return graph.text(i)
    half = TEXT_LIMIT // 2 - 1
    source = graph.source
    return f"{source[span[0]:span[0] + half]} … {source[span[1] - half:span[1]]}"
