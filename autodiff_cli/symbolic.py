"""Derivatives as graphs: the reverse sweep run on nodes instead of numbers.

Each op's rule (an expression over x, y, z) is instantiated as nodes, so the gradient becomes
part of the graph; differentiating that graph again gives second derivatives, and printing it
gives the derivative as an expression in our own language.

Nodes are simplified as they are made (constants folded, *1 and +0 dropped, sums collected,
signs and fractions pulled outwards); every rewrite looks a bounded distance into the graph,
so simplifying never recurses over user-sized structures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from . import ast, limits
from .derivatives import rule_tree
from .engine import Graph
from .errors import Span, UsageError
from .ops import CONST, OPS, VAR, Op
from .render.numbers import exact

MAX_DEPTH = 8  # nested rewrites per new node; deeper ones are made as written
MAX_TERMS = 24  # nodes a sum is collected over; longer sums are left as they are
MAX_ORDER = 8  # highest derivative asked for by --order


class Builder:
    """Appends nodes to a graph, simplifying them; identical nodes are made once."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.memo: dict[tuple[str, tuple[int, ...]] | tuple[str, float], int] = {}
        self.span: Span | None = None  # given to the nodes made, for error messages
        self.depth = 0
        # each node's stand-in in derivatives: its first identical node (sin(x) written
        # twice is one node), or its value if its inputs are constants (1/2 is 0.5)
        self.canon: list[int] = []
        for i in range(len(graph)):
            op, args = graph.ops[i], graph.args[i]
            if op is CONST and isinstance(graph.consts[i], float):
                self.canon.append(self.memo.setdefault(("const", graph.consts[i]), i))
            elif op is VAR or op is CONST:
                self.canon.append(i)
            else:
                canon = tuple(self.canon[a] for a in args)
                folded = self._simplify(op.name, canon) if all(
                    self.value_of(a) is not None for a in canon) else None
                self.canon.append(folded if folded is not None else
                                  self.memo.setdefault((op.name, canon), i))

    def const(self, value: float) -> int:
        value = float(value) + 0.0  # no -0.0 in printed derivatives
        key = ("const", value)
        if key not in self.memo:
            self._room()
            self.memo[key] = self.graph.constant(value, None, exact(value))
        return self.memo[key]

    def _room(self) -> None:
        if len(self.graph) >= limits.MAX_NODES:
            limits.check_nodes(len(self.graph) + 1)

    def value_of(self, i: int) -> float | None:
        g = self.graph
        if g.ops[i] is CONST and isinstance(g.consts[i], float):
            return float(g.consts[i])
        return None

    def name(self, i: int) -> str:
        return self.graph.ops[i].name

    def arg(self, i: int, k: int = 0) -> int:
        return self.graph.args[i][k]

    def apply(self, name: str, *args: int) -> int:
        """The node for op `name` applied to args, simplified."""
        key = (name, args)
        if key in self.memo:
            return self.memo[key]
        simpler = None
        if self.depth < MAX_DEPTH:
            self.depth += 1
            try:
                simpler = self._simplify(name, args)
            finally:
                self.depth -= 1
        result = simpler if simpler is not None else self.make(name, *args)
        self.memo[key] = result
        return result

    def make(self, name: str, *args: int) -> int:
        """The node for op `name` applied to args, exactly as written."""
        key = (name, args)
        if key not in self.memo:
            self._room()
            self.memo[key] = self.graph.add(OPS[name], args, self.span)
        return self.memo[key]

    def _simplify(self, name: str, args: tuple[int, ...]) -> int | None:
        c = [self.value_of(a) for a in args]
        if all(v is not None for v in c):
            try:
                value = OPS[name].forward(*c)
                if math.isfinite(value) and short(value):
                    return self.const(value)
            except (ArithmeticError, ValueError):
                pass
            return self._identity(name, args, [v for v in c if v is not None])
        rule = _SIMPLIFY.get(name)
        return rule(self, args, c) if rule else None

    def _identity(self, name: str, args: tuple[int, ...], c: list[float]) -> int | None:
        """1*e = e, e + 0 = e, ... for constants that stay as written; 2*pi, not pi*2."""
        if name == "mul":
            if 1.0 in c:
                return args[1 - c.index(1.0)]
            if short(c[0]) < short(c[1]):
                return self.make("mul", args[1], args[0])
            return None
        neutral = {"add": 0.0, "sub": 0.0, "div": 1.0, "pow": 1.0}.get(name)
        if neutral is not None and c[1] == neutral:
            return args[0]
        if name == "add" and c[0] == 0.0:
            return args[1]
        return None

    def rule(self, op: Op, k: int, args: tuple[int, ...], out: int) -> int:
        """Nodes for op's local derivative with respect to input k."""
        c = self.canon
        refs = {"x": c[args[0]], "y": c[args[-1]], "z": c[out]}
        return self._instantiate(rule_tree(op.rules[k]), refs)

    def _instantiate(self, node: ast.Expr, refs: dict[str, int]) -> int:
        # rules are a few symbols long: recursion here is bounded by the op table
        if isinstance(node, ast.Num):
            return self.const(node.value)
        if isinstance(node, ast.Name):
            return refs[node.id]
        assert isinstance(node, ast.Call)
        return self.apply(node.op, *(self._instantiate(a, refs) for a in node.args))

    # -- sums ---------------------------------------------------------------------------

    def split(self, i: int) -> tuple[float, int]:
        """A term as (coefficient, rest): 3*x -> (3, x), -x -> (-1, x), x -> (1, x)."""
        sign = 1.0
        if self.name(i) == "neg":
            sign, i = -1.0, self.arg(i)
        if self.name(i) == "mul":
            c = self.value_of(self.arg(i))
            if c is not None:
                return sign * c, self.arg(i, 1)
        return sign, i

    def collect(self, root: int, sign: float) -> tuple[dict[int, float], float] | None:
        """The terms of a sum of at most MAX_TERMS nodes, like terms added, and its constant."""
        terms: dict[int, float] = {}
        constant = 0.0
        stack = [(root, sign)]
        seen = 0
        while stack:
            i, s = stack.pop()
            seen += 1
            if seen > MAX_TERMS:
                return None
            name, c = self.name(i), self.value_of(i)
            if c is not None and short(c):
                constant += s * c
            elif name in ("add", "sub"):
                stack.append((self.arg(i, 1), -s if name == "sub" else s))
                stack.append((self.arg(i, 0), s))
            elif name == "neg":
                stack.append((self.arg(i), -s))
            else:
                k, t = self.split(i)
                terms[t] = terms.get(t, 0.0) + s * k
        return {t: k for t, k in terms.items() if k != 0.0}, constant

    def sum_of(self, terms: dict[int, float], constant: float) -> int:
        """t1 + 2*t2 - t3 + c: a positive term first, else a positive constant (1 - z)."""
        order = list(terms)
        first = next((t for t in order if terms[t] > 0), None)
        acc: int | None = None
        if first is not None:
            order.remove(first)
            order.insert(0, first)
        elif constant > 0:
            acc, constant = self.const(constant), 0.0
        for t in order:
            k = terms[t]
            term = t if abs(k) == 1.0 else self.apply("mul", self.const(abs(k)), t)
            if acc is None:
                acc = term if k > 0 else self.apply("neg", term)
            else:
                acc = self.make("add" if k > 0 else "sub", acc, term)
        if acc is None:
            return self.const(constant)
        if constant:
            acc = self.make("add" if constant > 0 else "sub", acc, self.const(abs(constant)))
        return acc


def short(value: float) -> bool:
    """Whether a folded constant prints short (2, 0.5, 1e-05) or is a whole number below
    10^15, not 0.6931471805599453: other constants stay as written (log(2), 1/3, 2*pi)."""
    if not math.isfinite(value):
        return False
    return len(exact(value)) <= 8 or (value == int(value) and abs(value) < 1e15)


Rule = Callable[[Builder, tuple[int, ...], list[float | None]], int | None]


def _add(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[0] == 0.0:
        return y
    if c[1] == 0.0:
        return x
    return _sum(b, x, y, 1.0)


def _sub(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[1] == 0.0:
        return x
    if c[0] == 0.0:
        return b.apply("neg", y)
    return _sum(b, x, y, -1.0)


def _sum(b: Builder, x: int, y: int, sign: float) -> int | None:
    left, right = b.collect(x, 1.0), b.collect(y, sign)
    if left is None or right is None:
        return None
    terms = dict(left[0])
    for t, k in right[0].items():
        terms[t] = terms.get(t, 0.0) + k
    constant = left[1] + right[1]
    if not math.isfinite(constant) or not all(math.isfinite(k) for k in terms.values()):
        return None
    return b.sum_of({t: k for t, k in terms.items() if k != 0.0}, constant)


def _mul(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[0] == 0.0 or c[1] == 0.0:
        return b.const(0.0)
    if c[0] == 1.0:
        return y
    if c[1] == 1.0:
        return x
    if c[1] is not None:  # constants first: 4*a, not a*4
        return b.apply("mul", y, x)
    if c[0] is not None:
        return _scale(b, c[0], y)
    nx, ny = b.name(x), b.name(y)
    if nx == "neg":
        return b.apply("neg", b.apply("mul", b.arg(x), y))
    if ny == "neg":
        return b.apply("neg", b.apply("mul", x, b.arg(y)))
    for first, second, swap in ((x, y, False), (y, x, True)):
        if b.name(first) == "mul" and b.value_of(b.arg(first)) is not None:  # c*t*u
            rest = (second, b.arg(first, 1)) if swap else (b.arg(first, 1), second)
            return b.apply("mul", b.arg(first), b.apply("mul", *rest))
    if nx == "div":  # n/d*y = (n*y)/d
        return b.apply("div", b.apply("mul", b.arg(x), y), b.arg(x, 1))
    if ny == "div":
        return b.apply("div", b.apply("mul", x, b.arg(y)), b.arg(y, 1))
    merged = _merge_powers(b, x, y)
    if merged is not None:
        return merged
    if ny == "mul" and b.value_of(b.arg(y)) is None:  # x*(x*t) = x^2*t
        merged = _merge_powers(b, x, b.arg(y))
        if merged is not None:
            return b.apply("mul", merged, b.arg(y, 1))
    if b.graph.ops[y] is VAR and b.graph.args[x]:  # names first: y*exp(x*y)
        return b.apply("mul", y, x)
    return None


def _merge_powers(b: Builder, x: int, y: int) -> int | None:
    """x*x = x^2, x*x^2 = x^3, x^a*x^b = x^(a+b) for constant exponents."""
    (bx, kx), (by, ky) = _power(b, x), _power(b, y)
    if bx != by or not short(kx + ky):
        return None
    return b.apply("pow", bx, b.const(kx + ky))


def _power(b: Builder, i: int) -> tuple[int, float]:
    """(base, exponent) of x^c with a constant c, else (i, 1)."""
    if b.name(i) == "pow":
        k = b.value_of(b.arg(i, 1))
        if k is not None:
            return b.arg(i), k
    return i, 1.0


def _scale(b: Builder, k: float, y: int) -> int | None:
    """k*y for a constant k."""
    if k < 0:
        return b.apply("neg", b.apply("mul", b.const(-k), y))
    name = b.name(y)
    inner = b.value_of(b.arg(y)) if name == "mul" else None
    if inner is not None and short(k * inner):
        return b.apply("mul", b.const(k * inner), b.arg(y, 1))
    if inner is not None and short(inner) and not short(k):  # 2*pi*x, not pi*2*x
        return b.apply("mul", b.arg(y), b.make("mul", b.const(k), b.arg(y, 1)))
    if name == "neg":
        return b.apply("neg", b.apply("mul", b.const(k), b.arg(y)))
    if name == "div":
        return b.apply("div", b.apply("mul", b.const(k), b.arg(y)), b.arg(y, 1))
    return None


def _div(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[1] == 1.0:
        return x
    if c[1] == -1.0:
        return b.apply("neg", x)
    if c[0] == 0.0 and c[1] is None:
        return b.const(0.0)
    if c[0] is not None and c[0] < 0:  # -1/y, not (-1)/y
        return b.apply("neg", b.apply("div", b.const(-c[0]), y))
    if b.name(x) == "neg":
        return b.apply("neg", b.apply("div", b.arg(x), y))
    if b.name(y) == "neg":
        return b.apply("neg", b.apply("div", x, b.arg(y)))
    if b.name(x) == "div":  # (p/q)/y = p/(q*y)
        return b.apply("div", b.arg(x), b.apply("mul", b.arg(x, 1), y))
    if b.name(y) == "div":  # x/(p/q) = (x*q)/p
        return b.apply("div", b.apply("mul", x, b.arg(y, 1)), b.arg(y))
    (bx, kx), (by, ky) = _power(b, x), _power(b, y)
    if bx == by and short(kx - ky):  # x/x^3 = 1/x^2
        k = kx - ky
        if k < 0:
            return b.apply("div", b.const(1.0), b.apply("pow", bx, b.const(-k)))
        return b.apply("pow", bx, b.const(k))
    return _cancel(b, x, y)


def _cancel(b: Builder, x: int, y: int) -> int | None:
    """(6*u)/(4*v) = 1.5*u/v and 6/(4*v) = 1.5/v, when the quotient of the constants
    prints short; 1/(2*v) stays."""
    kx, tx = _factor(b, x)
    ky, ty = _factor(b, y)
    if ky == 1.0 or ty is None:
        return None
    q = kx / ky
    if not math.isfinite(q) or not short(q) or (kx == 1.0 and q != int(q)):
        return None  # 1/(2*y) stays
    top = b.const(q) if tx is None else b.apply("mul", b.const(q), tx)
    return b.apply("div", top, ty)


def _factor(b: Builder, i: int) -> tuple[float, int | None]:
    """(constant, rest) of a node: 3 -> (3, None), 3*x -> (3, x), x -> (1, x)."""
    c = b.value_of(i)
    if c is not None:
        return c, None
    if b.name(i) == "mul":
        k = b.value_of(b.arg(i))
        if k is not None:
            return k, b.arg(i, 1)
    return 1.0, i


def _neg(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    (x,) = args
    if b.name(x) == "neg":
        return b.arg(x)
    if b.name(x) == "sub":  # -(p - q) = q - p
        return b.apply("sub", b.arg(x, 1), b.arg(x))
    return None


def _pow(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, _y = args
    if c[1] == 1.0:
        return x
    if c[1] == 0.0 or c[0] == 1.0:
        return b.const(1.0)
    return None


def _xlogy(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    # printed as the course writes it: x^y log(x), not xlogy(x^y, x) (which is 0 at x = 0)
    x, y = args
    return b.apply("mul", b.apply("log", y), x)


_SIMPLIFY: dict[str, Rule] = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "neg": _neg, "pow": _pow,
    "xlogy": _xlogy,
}


def gradient_graph(graph: Graph, wrt: Iterable[str] | None = None
                   ) -> tuple[Graph, dict[str, int]]:
    """A new graph: graph's nodes and, after them, nodes for d output / d variable for the
    variables in wrt (all if None); returns it and the node of each variable's partial.
    It runs the graph's reverse sweep (Graph.sweep) on nodes instead of numbers."""
    if graph.makes_arrays:
        raise UsageError("symbolic and higher derivatives work on scalar expressions only")
    g2 = graph.extended()
    b = Builder(g2)
    adjoint: dict[int, int] = {graph.output: b.const(1.0)}
    for i, k, a in graph.sweep(wrt).edges:
        args = graph.args[i]
        b.span = graph.spans[i]
        term = b.apply("mul", adjoint[i], b.rule(graph.ops[i], k, args, i))
        # earlier uses first: terms print in the order the source has them
        adjoint[a] = b.apply("add", term, adjoint[a]) if a in adjoint else term
    zero = b.const(0.0)
    return g2.freeze(), {name: adjoint.get(i, zero) for name, i in graph.variables.items()}


def nth_derivative(graph: Graph, name: str, order: int, node: int | None = None
                   ) -> tuple[Graph, int]:
    """A graph holding d^order f / d name^order, f being node (the output if None), and
    that node. The graph extends `graph`: its nodes keep their ids."""
    node = graph.output if node is None else node
    for _ in range(order):
        graph, partials = gradient_graph(graph.with_output(node), [name])
        node = partials[name]
    return graph, node


# -- the derivative of a source text ------------------------------------------------------


@dataclass
class Derivative:
    """Partial derivatives of a program as nodes of one graph (for printing)."""

    expression: str
    graph: Graph
    nodes: dict[str, int]  # variable -> node of d^order f / d variable^order
    output: str = ""  # the name the program gives its result, if any
    order: int = 1


def derivative(source: str, wrt: Iterable[str] | None = None, order: int = 1) -> Derivative:
    """d^order f / d x^order for each variable x named in wrt (all variables if None), as
    nodes of a graph. A name in wrt is a variable even if it is a constant's (e)."""
    from .lower import free_names, lower
    from .parse import parse

    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    program = parse(source)
    wanted = list(dict.fromkeys(wrt)) if wrt is not None else None
    names = list(dict.fromkeys([*free_names(program), *(wanted or [])]))
    graph = lower(program, names)
    if wanted is None:
        wanted = list(graph.variables)
        if not wanted:
            raise UsageError("the expression has no variables to differentiate with respect to")
    nodes: dict[str, int] = {}
    if order == 1:
        graph, partials = gradient_graph(graph)
        nodes = {n: partials[n] for n in wanted}
    else:
        out = graph.output
        for n in wanted:
            graph, nodes[n] = nth_derivative(graph, n, order, out)
        graph = graph.with_output(out)
    return Derivative(source, graph, nodes, graph.output_name, order)
