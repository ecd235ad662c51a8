"""Syntax tree -> graph. Iterative post-order walk with an explicit stack."""

from __future__ import annotations

from collections.abc import Iterable

from . import ast
from .engine import Graph
from .errors import NameError_, Problem, Span, UsageError
from .gcpause import paused_gc
from .ops import CONSTANTS, FUNCTIONS, OPS, Op


def lower(program: ast.Program, variables: Iterable[str]) -> Graph:
    """Build the graph of a program. `variables` are the names bound by the caller (--at);
    every other name must be assigned before use or be a constant (pi, e)."""
    with paused_gc():
        return _lower(program, variables)


def _lower(program: ast.Program, variables: Iterable[str]) -> Graph:
    bound = list(dict.fromkeys(variables))
    graph = Graph(program.source)
    src = program.source
    assigned_anywhere = {s.name for s in program.stmts if isinstance(s, ast.Assign)}
    env: dict[str, int] = {}
    problems: list[Problem] = []
    unbound: dict[str, Problem] = {}
    for stmt in program.stmts:
        if isinstance(stmt, ast.Assign):
            if stmt.name in env:
                problems.append(Problem(f"{stmt.name} is assigned twice", stmt.name_span))
            elif stmt.name in bound:
                problems.append(Problem(
                    f"{stmt.name} is assigned here and also given a value with --at",
                    stmt.name_span))
            node = _lower_expr(stmt.expr, graph, env, bound, assigned_anywhere, problems,
                               unbound)
            if node >= 0:
                if not graph.labels[node]:
                    graph.labels[node] = stmt.name
                env[stmt.name] = node
            graph.output = node
        else:
            graph.output = _lower_expr(stmt, graph, env, bound, assigned_anywhere, problems,
                                       unbound)
    problems.extend(unbound.values())
    if problems:
        problems.sort(key=lambda p: p.span or (0, 0))
        first, *more = problems
        hint = ""
        if unbound:
            hint = "give values with --at, e.g. --at " + ",".join(f"{n}=1" for n in unbound)
        raise NameError_(first.message, src, first.span, hint=hint, more=more)
    for name in bound:  # bound but unused: a variable all the same, with gradient 0
        graph.variable(name)
    return graph


def _lower_expr(root: ast.Expr, graph: Graph, env: dict[str, int], bound: list[str],
                assigned: set[str], problems: list[Problem],
                unbound: dict[str, Problem]) -> int:
    """Post-order: a call is pushed as its (op, number of arguments, span), to be added once
    its arguments' nodes are on `results`, then its arguments. -1 stands for a name that
    has no value (reported through problems and unbound)."""
    results: list[int] = []
    push, pop = results.append, results.pop
    add, constant, variables = graph.add, graph.constant, graph.variables
    stack: list[ast.Expr | tuple[Op, int, Span]] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            op, n, span = node
            if n == 2:
                y, x = pop(), pop()
                push(add(op, (x, y), span) if x >= 0 and y >= 0 else -1)
            else:
                inputs = tuple(results[len(results) - n:])
                del results[len(results) - n:]
                push(-1 if min(inputs) < 0 else add(op, inputs, span))
        elif isinstance(node, ast.Call):
            args = node.args
            stack.append((OPS[node.op], len(args), (node.start, node.end)))
            stack.extend(reversed(args))
        elif isinstance(node, ast.Name):
            i = env.get(node.id)
            if i is None:
                i = variables.get(node.id)
                if i is None:  # first use of a variable, or a constant, or a problem
                    i = _resolve(node, graph, env, bound, assigned, problems, unbound)
            push(i)
        elif isinstance(node, ast.Num):
            push(constant(node.value, (node.start, node.end), node.text))
        elif isinstance(node, ast.Array):
            push(constant(_array_value(node, graph.source), node.span,
                          graph.source[node.start:node.end]))
    return results[0]


def _resolve(node: ast.Name, graph: Graph, env: dict[str, int], bound: list[str],
             assigned: set[str], problems: list[Problem], unbound: dict[str, Problem]) -> int:
    name = node.id
    if name in env:
        return env[name]
    if name in bound:
        return graph.variable(name, node.span)
    if name in assigned:
        problems.append(Problem(f"{name} is used before it is assigned", node.span))
    elif name in CONSTANTS:
        return graph.constant(CONSTANTS[name], node.span, name)
    elif name in FUNCTIONS:
        problems.append(Problem(f"{name} is a function: write {name}(...)", node.span))
    elif name not in unbound:
        unbound[name] = Problem(f"{name} has no value", node.span)
    return -1


def _array_value(root: ast.Array, source: str) -> object:
    """The numpy array of a literal such as [[1, 2], [3, 4]]; its entries are constants."""
    import numpy as np

    def entry(item: ast.Expr) -> object:
        if isinstance(item, ast.Array):
            return _array_value(item, source)
        sub = Graph(source)
        node = _lower_expr(item, sub, {}, [], set(), [], {})
        if node < 0 or sub.variables:
            raise UsageError("entries of a matrix literal must be numbers", source, item.span)
        sub.output = node
        return sub.forward()

    if not root.items:
        raise UsageError("empty matrix literal", source, root.span)
    rows = [entry(item) for item in root.items]
    try:
        return np.array(rows, dtype=float)
    except ValueError:
        raise UsageError("ragged matrix literal: rows of different lengths", source,
                         root.span) from None
