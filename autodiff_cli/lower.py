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
    used = set(free_names(program, bound))
    unused = [n for n in bound if n not in used]
    for name in unused:  # bound but unused: a variable all the same, with gradient 0; made
        graph.variable(name)  # first, so that the output stays the last node
    assigned_anywhere = {s.name for s in program.stmts if isinstance(s, ast.Assign)}
    env: dict[str, int] = {}
    problems: list[Problem] = []
    unbound: dict[str, Problem] = {}
    versions: dict[str, int] = {}  # name -> how often it was assigned
    for stmt in program.stmts:
        if isinstance(stmt, ast.Assign):
            name = stmt.name
            if stmt.augmented and name not in env:
                problems.append(Problem(f"{name} is updated before it is assigned",
                                        stmt.name_span))
            elif not stmt.augmented and name in env:
                problems.append(Problem(f"{name} is assigned twice", stmt.name_span))
            elif name in bound:
                problems.append(Problem(
                    f"{name} is assigned here and also given a value with --at",
                    stmt.name_span))
            if not stmt.augmented and name not in env and _constant(stmt.expr, env, bound):
                # x = -4: a leaf with a gradient, as micrograd's Value(-4.0)
                node = graph.variable(name, stmt.name_span,
                                      _value(stmt.expr, graph.source))
            else:
                node = _lower_expr(stmt.expr, graph, env, bound, assigned_anywhere, problems,
                                   unbound)
            if node >= 0:
                versions[name] = versions.get(name, 0) + 1
                graph.name(node, name + "'" * (versions[name] - 1))  # c, then c' after c +=
                graph.set_output(node, name)
            env[name] = node  # -1 after an error: later uses add no errors of their own
        else:
            node = _lower_expr(stmt, graph, env, bound, assigned_anywhere, problems, unbound)
            if node >= 0:
                graph.set_output(node)
    problems.extend(unbound.values())
    if problems:
        problems.sort(key=lambda p: p.span or (0, 0))
        first, *more = problems
        hint = ""
        if unbound:
            hint = "give values with --at, e.g. --at " + ",".join(f"{n}=1" for n in unbound)
        raise NameError_(first.message, src, first.span, hint=hint, more=more)
    graph.order_variables([*(n for n in graph.variables if n not in unused), *unused])
    for name in unused:
        _unused(name, sorted(used), src)
    return graph.freeze()


def _unused(name: str, used: list[str], source: str) -> None:
    """Warn that a given value is not used: a typo hides behind a gradient of 0."""
    import difflib

    from .errors import warn

    close = difflib.get_close_matches(name, used, n=1, cutoff=0.0)
    hint = f"did you mean {close[0]}?" if close else ""
    warn(f"{name} is given a value but the expression does not use it (its gradient is 0)",
         hint=hint)


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
            stack.extend(args[::-1])
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
    name, span = node.id, node.name_span
    if name in env:
        return env[name]
    if name in bound:
        return graph.variable(name, span)
    if name in assigned:
        problems.append(Problem(f"{name} is used before it is assigned", span))
    elif name in CONSTANTS:
        return graph.constant(CONSTANTS[name], span, name)
    elif name in FUNCTIONS:
        problems.append(Problem(f"{name} is a function: write {name}(...)", span))
    elif name not in unbound:
        unbound[name] = Problem(f"{name} has no value", span)
    return -1


def free_names(program: ast.Program, bound: Iterable[str] = ()) -> list[str]:
    """Names a program reads without assigning them first, in order of first appearance:
    its variables. Constants (pi, e) and function names are not among them, unless bound."""
    given = set(bound)
    assigned_anywhere = {s.name for s in program.stmts if isinstance(s, ast.Assign)}
    assigned: set[str] = set()
    names: dict[str, None] = {}
    for stmt in program.stmts:
        root = stmt.expr if isinstance(stmt, ast.Assign) else stmt
        stack: list[ast.Expr] = [root]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                n = node.id
                if n not in assigned and n not in assigned_anywhere and (
                        n in given or (n not in CONSTANTS and n not in FUNCTIONS)):
                    names.setdefault(n, None)
            elif isinstance(node, ast.Call):
                stack.extend(node.args[::-1])
            elif isinstance(node, ast.Array):
                stack.extend(node.items[::-1])
        if isinstance(stmt, ast.Assign):
            assigned.add(stmt.name)
    return list(names)


MAX_NDIM = 32  # numpy's own limit is 32 (numpy 1) or 64 (numpy 2)


def _array_value(root: ast.Array, source: str) -> object:
    """The numpy array of a literal such as [[1, 2], [3, 4]]; its entries are constants.
    Iterative: each bracket becomes a list, filled in as its items are read."""
    import numpy as np

    top: list[object] = []
    stack: list[tuple[ast.Array, list[object], int]] = [(root, top, 1)]
    while stack:
        node, out, depth = stack.pop()
        if not node.items:
            raise UsageError("empty matrix literal", source, node.span)
        if depth > MAX_NDIM:
            raise UsageError(f"a matrix literal has at most {MAX_NDIM} dimensions", source,
                             node.span)
        for item in node.items:
            if isinstance(item, ast.Array):
                row: list[object] = []
                out.append(row)
                stack.append((item, row, depth + 1))
            else:
                out.append(_entry(item, source))
    try:
        return np.array(top, dtype=float)
    except ValueError:
        raise UsageError(f"ragged matrix literal: {_ragged(root)}", source, root.span) from None


def _constant(expr: ast.Expr, env: dict[str, int], bound: list[str]) -> bool:
    """Whether expr is a constant expression: numbers, literals, pi and e and functions of
    them, nothing that names a variable or draws an array (randn, zeros)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            if node.id in env or node.id in bound or node.id not in CONSTANTS:
                return False
        elif isinstance(node, ast.Call):
            if OPS[node.op].creates:
                return False
            stack.extend(node.args)
        elif isinstance(node, ast.Array):
            stack.extend(node.items)
    return True


def _value(expr: ast.Expr, source: str) -> object:
    """The value of a constant expression of the program."""
    sub = Graph(source)
    out = _lower_expr(expr, sub, {}, [], set(), [], {})
    sub.set_output(out)
    return sub.at({}).forward()


def _entry(item: ast.Expr, source: str) -> float:
    if isinstance(item, ast.Num):
        return item.value
    todo: list[ast.Expr] = [item]
    while todo:  # no literal inside an entry, so this never nests
        node = todo.pop()
        if isinstance(node, ast.Array):
            raise UsageError("entries of a matrix literal must be numbers", source, item.span)
        if isinstance(node, ast.Call):
            todo.extend(node.args)
    sub = Graph(source)
    out = _lower_expr(item, sub, {}, [], set(), [], {})
    if out < 0 or sub.variables or sub.makes_arrays:
        raise UsageError("entries of a matrix literal must be numbers", source, item.span)
    sub.set_output(out)
    value: float = sub.at({}).forward()
    return value


def _ragged(root: ast.Array) -> str:
    """Which row differs from the first in length or depth, said for a person."""
    level = [root]
    while level:
        for rows in level:
            arrays = [isinstance(r, ast.Array) for r in rows.items]
            if any(arrays) and not all(arrays):
                return "a number where a row was expected, or a row where a number was"
            sizes = [len(r.items) for r in rows.items if isinstance(r, ast.Array)]
            for k, n in enumerate(sizes):
                if n != sizes[0]:
                    return f"row {k + 1} has {_entries(n)}, row 1 has {_entries(sizes[0])}"
        level = [r for rows in level for r in rows.items if isinstance(r, ast.Array)]
    return "rows of different lengths"


def _entries(n: int) -> str:
    return f"{n} entr{'y' if n == 1 else 'ies'}"
