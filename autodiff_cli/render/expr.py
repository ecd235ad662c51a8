"""A graph node printed back as an expression in our language, with as few parentheses as
the grammar needs; or, when that would be too long, as a program that names the pieces
used more than once. Iterative: deep graphs print without recursion."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from ..engine import Graph
from ..ops import CONST, CONSTANTS, OPS, VAR, Op
from .numbers import exact

ATOM = 9
UNARY = OPS["neg"].precedence  # a prefix op binds this strongly
EXPAND_LIMIT = 120  # characters: a longer derivative prints as a program with named parts
SHARED_MIN = 12  # a part used more than once gets a name if its text is longer than this
LINE_MAX = 80  # any part whose text is longer than this gets a name
HARD_LIMIT = 1_000_000  # characters: longer is an error, even when asked to expand

Texts = dict[int, tuple[str, int]]  # node -> (text, precedence of its outermost operator)
NodeText = Callable[[Graph, int, Texts], tuple[str, int]]


def to_text(graph: Graph, root: int, names: Mapping[int, str] | None = None) -> str:
    """The expression of node root; nodes in `names` print as those names."""
    text = walk(graph, root, node_text, names)
    assert text is not None
    return text


def walk(graph: Graph, root: int, show: NodeText, names: Mapping[int, str] | None,
         limit: int | None = None) -> str | None:
    """Post-order over the nodes below root with an explicit stack; show() prints one.
    None if some part is longer than limit characters."""
    done: Texts = {i: (n, ATOM) for i, n in (names or {}).items() if i != root}
    stack = [root]
    while stack:
        i = stack[-1]
        if i in done:
            stack.pop()
            continue
        pending = [a for a in graph.args[i] if a not in done]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        done[i] = show(graph, i, done)
        if limit is not None and len(done[i][0]) > limit:
            return None
    return done[root][0]


def node_text(graph: Graph, i: int, done: Texts) -> tuple[str, int]:
    op = graph.ops[i]
    if op is VAR:
        return graph.labels[i], ATOM
    if op is CONST:
        label, value = graph.labels[i], graph.consts[i]
        if label in CONSTANTS and CONSTANTS[label] == value:
            return label, ATOM
        text = exact(value)
        return text, (3 if text.startswith("-") else ATOM)
    parts = [done[a] for a in graph.args[i]]
    if op.is_function:
        return f"{op.written}({', '.join(t for t, _ in parts)})", ATOM
    p = op.precedence
    if len(parts) == 1:  # -(a*b) = -a*b exactly: only a sum needs parentheses
        (text, q), = parts
        return op.symbol + (f"({text})" if q < 2 else text), p
    (left, lp), (right, rp) = parts
    left_bare, right_bare = bare_operands(op, lp, rp)
    left = left if left_bare else f"({left})"
    right = right if right_bare else f"({right})"
    return f"{left} {op.symbol} {right}" if p == 1 else f"{left}{op.symbol}{right}", p


def bare_operands(op: Op, lp: int, rp: int) -> tuple[bool, bool]:
    """Whether the left and right operands of infix op, binding with precedences lp and rp,
    print without parentheses: as the grammar reads them back, by the op's grouping. The
    right operand of a right-grouped op (an exponent) may be a prefix op: x^-2."""
    p = op.precedence
    if op.grouping == "right":
        return lp > p, rp >= min(p, UNARY)
    return lp >= p, rp > p or (rp == p and op.grouping == "both")


# -- derivatives: expanded, or a program with named parts ----------------------------------


def below(graph: Graph, roots: Iterable[int]) -> tuple[list[int], dict[int, int]]:
    """The nodes roots depend on, in id (= evaluation) order, and how often each is used."""
    seen: set[int] = set()
    stack = list(roots)
    uses: dict[int, int] = {}
    while stack:
        i = stack.pop()
        if i in seen:
            continue
        seen.add(i)
        for a in graph.args[i]:
            uses[a] = uses.get(a, 0) + 1
            stack.append(a)
    return sorted(seen), uses


def expanded_size(graph: Graph, root: int, cap: int = HARD_LIMIT + 1) -> int:
    """About how many characters to_text(graph, root) has (at most cap, cheaply)."""
    nodes, _ = below(graph, [root])
    size: dict[int, int] = {}
    for i in nodes:
        op = graph.ops[i]
        own = len(graph.labels[i]) if op is VAR else 20 if op is CONST else \
            len(op.written) + 2 * len(graph.args[i]) if op.is_function else len(op.symbol) + 4
        size[i] = min(cap, own + sum(size[a] for a in graph.args[i]))
    return size[root]


def part_names(graph: Graph, root: int, reserved: Iterable[str] = (),
               measure: NodeText = node_text) -> dict[int, str]:
    """Nodes below root worth a name, in evaluation order: those used more than once whose
    text is longer than SHARED_MIN, and those whose text is longer than LINE_MAX. A node the
    program itself named keeps that name; the others are t1, t2, ..."""
    nodes, uses = below(graph, [root])
    taken = set(reserved) | set(graph.variables) | {graph.labels[i] for i in nodes}
    names: dict[int, str] = {}
    named: dict[str, str] = {}  # text -> its name: two nodes that print alike get one
    done: Texts = {}
    counter = 0
    for i in nodes:
        text, prec = measure(graph, i, done)
        if i != root and text in named:
            names[i] = named[text]
            text, prec = names[i], ATOM
        elif i != root and graph.args[i] and (
                (uses.get(i, 0) > 1 and len(text) > SHARED_MIN) or len(text) > LINE_MAX):
            label = graph.labels[i]
            if not label or label in named.values():
                counter += 1
                while f"t{counter}" in taken:
                    counter += 1
                label = f"t{counter}"
            names[i] = named[text] = label
            text, prec = label, ATOM
        done[i] = (text, prec)
    return names


def program_lines(graph: Graph, root: int, names: Mapping[int, str],
                  show: NodeText = node_text, rename: Callable[[str], str] = str
                  ) -> list[tuple[str, str]]:
    """Statements (name, text) for the named nodes below root, in evaluation order, then
    ("", the text of root). One pass: each node is printed once."""
    nodes, _ = below(graph, [root])
    done: Texts = {}
    lines = []
    written: set[str] = set()
    for i in nodes:
        text, prec = show(graph, i, done)
        if i in names and i != root:
            name = rename(names[i])
            if name not in written:  # nodes that print alike share one name
                written.add(name)
                lines.append((name, text))
            text, prec = name, ATOM
        done[i] = (text, prec)
    lines.append(("", done[root][0]))
    return lines


def derivative_lines(graph: Graph, root: int, expand: bool = False,
                     reserved: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Statements (name, text) that print node root: one ("", expression) if it is short
    enough (or expand is asked), else named parts first and the expression last."""
    if expand:
        if expanded_size(graph, root) > HARD_LIMIT:
            from ..errors import UsageError

            raise UsageError("the derivative is too large to print expanded",
                             hint="leave out --expand: it then prints as a program with "
                             "named parts")
        return [("", to_text(graph, root))]
    text = walk(graph, root, node_text, None, EXPAND_LIMIT)
    if text is not None:
        return [("", text)]
    return program_lines(graph, root, part_names(graph, root, reserved))
