"""Derivatives as graphs: the reverse sweep run on nodes instead of numbers.

Each op's rule (an expression over x, y, z) is instantiated as nodes, so the gradient becomes
part of the graph; differentiating that graph again gives second derivatives, and printing it
gives the derivative as an expression in our own language.

Nodes are simplified as they are made, into normal forms: a product is a fraction times
powers of its factors in a fixed order (x*2*x is 2*x^2, sin(x)*cos(x) and cos(x)*sin(x) one
node), a sum is its terms with like terms added (constants distributed: 4*(a + 2) + 3 is
4*a + 11) and the same sum in any order is one node, constant exponents and coefficients are
exact fractions (1/3 - 1 is -2/3). Every rewrite opens at most MAX_TERMS nodes, so
simplifying never recurses over user-sized structures; a node too big to open is kept whole.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

from . import ast, limits
from .derivatives import rule_tree
from .engine import Graph
from .errors import Span, UsageError
from .ops import CONST, CONSTANTS, OPS, VAR, Op
from .render.numbers import exact

MAX_DEPTH = 8  # nested rewrites per new node; deeper ones are made as written
MAX_TERMS = 24  # nodes a sum or a product is opened over; bigger ones are left as they are
MAX_ORDER = 8  # highest derivative asked for by --order
MAX_DENOMINATOR = 1000  # 1/3 is kept as a fraction; a constant needing more is a decimal
MAX_POWER = 64  # c^k with a larger k is not multiplied out
BIG = 10**15  # whole numbers print exactly below this
HALF = Fraction(1, 2)
BIG_SOURCE = 4 * MAX_TERMS  # a bigger sum in the source is kept as written

Q = int | Fraction  # exact numbers: ints while they are whole (fast), else fractions
Monomial = tuple[Q, dict[int, Q]]  # coefficient, base -> exponent


class Builder:
    """Appends nodes to a graph, simplifying them; identical nodes are made once."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.memo: dict[tuple[str, tuple[int, ...]] | tuple[str, float], int] = {}
        self.sums: dict[tuple[tuple[tuple[int, Q], ...], Q], int] = {}
        self.closed: set[int] = set()  # nodes found too big to open: kept whole
        self.rationals: dict[int, Q | None] = {}  # caches: nodes never change
        self.splits: dict[int, tuple[Q, int]] = {}
        self.scales: dict[tuple[Q, int], int | None] = {}
        self.sum_terms: dict[int, tuple[tuple[tuple[int, Q], ...], Q]] = {}
        self.span: Span | None = None  # given to the nodes made, for error messages
        self.depth = 0
        # each node's stand-in in derivatives: the node simplified (x*x is x^2; sin(x)
        # written twice is one node; 1/2 is 0.5); a name the program gives it moves along
        self.canon: list[int] = []
        self.size: list[int] = []  # nodes below each source node, counted up to BIG_SOURCE
        for i in range(len(graph)):
            op = graph.ops[i]
            if op is CONST and isinstance(graph.consts[i], float):
                self.canon.append(self.memo.setdefault(("const", graph.consts[i]), i))
            elif op is VAR or op is CONST:
                self.canon.append(i)
            else:
                self.canon.append(self._source_node(i))
        self.span = None

    def _source_node(self, i: int) -> int:
        g = self.graph
        op, args = g.ops[i], g.args[i]
        self.size.extend([1] * (i - len(self.size)))  # leaves
        size = min(BIG_SOURCE, 1 + sum(self.size[a] for a in args))
        self.size.append(size)
        canon = tuple(self.canon[a] for a in args)
        key = (op.name, canon)
        if key in self.memo:
            return self.memo[key]
        if canon == args:
            self.memo[key] = i  # as written, it is this node
        self.span = g.spans[i]
        long_sum = size >= BIG_SOURCE and op.name in ("add", "sub")
        simpler = None
        if not long_sum:
            self.depth = 1
            simpler = self._simplify(op.name, canon)
            self.depth = 0
        node = simpler if simpler is not None else self.make(op.name, *canon)
        if long_sum:  # the spine of a long sum: as written, at once
            self.closed.add(node)
        self.memo[key] = node
        if node != i and g.labels[i] and not g.labels[node] and g.args[node]:
            g.labels[node] = g.labels[i]
        return node

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
        if all(v is not None for v in c) and not (name == "div" and self._fraction(args)):
            try:
                value = OPS[name].forward(*c)
                if math.isfinite(value) and short(value):
                    return self.const(value)
            except (ArithmeticError, ValueError):
                pass
        rule = _SIMPLIFY.get(name)
        return rule(self, args, c) if rule else None

    def _fraction(self, args: tuple[int, ...]) -> bool:
        """Whether p/q stays a fraction: 1/5 and 2/3, not 0.2; 6/3 is 2."""
        p, q = (self.rational(a) for a in args)
        if p is None or not q:
            return False
        return 2 < (Fraction(p) / q).denominator <= MAX_DENOMINATOR

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

    # -- constants as fractions ---------------------------------------------------------

    def rational(self, i: int) -> Q | None:
        """A constant node's exact value: 3, 0.5, 1/3, -2/3; None for others (pi, log(2))."""
        if self.graph.ops[i] not in _CONSTANT_OPS:
            return None
        if i not in self.rationals:
            self.rationals[i] = self._rational(i)
        return self.rationals[i]

    def _rational(self, i: int) -> Q | None:
        sign = 1
        if self.name(i) == "neg":
            sign, i = -1, self.arg(i)
        if self.name(i) == "div":
            p, q = self.value_of(self.arg(i)), self.value_of(self.arg(i, 1))
            if p is None or q is None or not (_moderate(p) and _moderate(q)) or q == 0.0:
                return None
            return _whole(sign * Fraction(p) / Fraction(q))
        v = self.value_of(i)
        return sign * _exact(v) if v is not None and _moderate(v) else None

    def number(self, q: Q, fraction: bool = False) -> int | None:
        """The node of a constant: 2, 0.5, or as a fraction -2/3 (also 1/2 with fraction);
        None if it prints neither short nor exactly."""
        if q.denominator == 1:
            return self.const(float(q)) if _abs(q) < BIG else None
        try:
            decimal = Fraction(float(q)) == q and short(float(q))
        except OverflowError:
            return None
        if decimal and not (fraction and q.denominator <= MAX_DENOMINATOR):
            return self.const(float(q))
        if q.denominator <= MAX_DENOMINATOR and abs(q.numerator) < BIG:
            return self.make("div", self.const(q.numerator), self.const(q.denominator))
        return None

    def exponent(self, i: int) -> Q | None:
        """k of a power x^k with a constant k that prints exactly, else None."""
        if self.name(i) != "pow":
            return None
        k = self.rational(self.arg(i, 1))
        if k is None or self.number(k, True) is None:
            return None
        return k

    # -- products -----------------------------------------------------------------------

    def factors(self, root: int, power: Q = 1) -> Monomial | None:
        """root^power as a coefficient and powers of bases: 2*x*y/x^3 -> (2, {x: -2, y: 1}).
        A power that is not whole keeps its base closed: (x*y)^(1/2) -> (1, {x*y: 1/2})."""
        coefficient: Q = 1
        powers: dict[int, Q] = {}
        stack = [(root, power)]
        seen = 0
        while stack:
            i, e = stack.pop()
            seen += 1
            if seen > MAX_TERMS:
                self.closed.add(root)
                return None
            whole = e.denominator == 1 and i not in self.closed
            q = self.rational(i) if whole and _abs(e) <= MAX_POWER else None
            name = self.name(i)
            v = self.value_of(i)
            if v is not None and short(v) and not _moderate(v):
                return None  # 1e-200*1e-200 would be 0: such products stay as written
            if q is not None and not (q == 0 and e < 0):  # 1/0 stays a factor
                coefficient *= _power(q, int(e))
            elif whole and name == "mul":
                stack.extend(((self.arg(i, 1), e), (self.arg(i), e)))
            elif whole and name == "div":
                stack.extend(((self.arg(i, 1), -e), (self.arg(i), e)))
            elif whole and name == "neg":
                coefficient *= -1 if int(e) % 2 else 1
                stack.append((self.arg(i), e))
            elif name == "sqrt" and i not in self.closed:  # u^(1/2): u/sqrt(u) = sqrt(u)
                stack.append((self.arg(i), e * HALF))
            elif i not in self.closed and (k := self.exponent(i)) is not None and (
                    whole or k.denominator != 1):
                # (x^(1/3))^2 = x^(2/3), (x^(1/3))^(1/2) = x^(1/6) (x >= 0 for x^(1/3));
                # (x^2)^(1/2) is not x: a power that is not whole does not open x^2 nor x*y
                stack.append((self.arg(i), e * k))
            else:
                powers[i] = powers.get(i, 0) + e
        return coefficient, {i: e for i, e in powers.items() if e != 0}

    def product(self, *parts: Monomial | None) -> int | None:
        """The node of a product of monomials (None if one could not be opened)."""
        coefficient: Q = 1
        powers: dict[int, Q] = {}
        for part in parts:
            if part is None:
                return None
            coefficient *= part[0]
            for i, e in part[1].items():
                powers[i] = powers.get(i, 0) + e
        node = self.monomial(coefficient, {i: e for i, e in powers.items() if e != 0})
        if node is not None and any(i in self.closed and self.name(i) in ("mul", "div")
                                    for i in powers):
            self.closed.add(node)  # a product holding a closed one stays closed: O(1) a step
        return node

    def monomial(self, coefficient: Q, powers: dict[int, Q]) -> int | None:
        """[-]k*a*b^2/(d*c^3): constants first, then names in alphabetical order, then the rest
        in the order they were made; whole negative powers (and 1/sqrt) below the fraction
        bar, x^(-2/3) above it; u^(1/2) is sqrt(u)."""
        if coefficient == 0:
            return self.const(0.0)
        k = _abs(coefficient)
        top: list[int] = []
        bottom: list[int] = []
        if k.denominator > MAX_DENOMINATOR or abs(k.numerator) >= BIG:
            decimal = self.number(k)
            if decimal is None or self.graph.ops[decimal] is not CONST:
                return None
            top.append(decimal)
        else:
            if k.numerator != 1:
                top.append(self.const(k.numerator))
            if k.denominator != 1:
                bottom.append(self.const(k.denominator))
        for i in sorted(powers, key=self._order):
            e = powers[i]
            below = e < 0 and (e.denominator == 1 or e == -HALF)
            e = -e if below else e
            if e == 1:
                part = i
            elif e == HALF:
                part = self.make("sqrt", i)
            else:
                n = self.number(e, True)
                if n is None:
                    return None
                part = self.make("pow", i, n)
            (bottom if below else top).append(part)
        node = self._chain(top) if top else self.const(1.0)
        if bottom:
            node = self.make("div", node, self._chain(bottom))
        return self.make("neg", node) if coefficient < 0 else node

    def _chain(self, parts: list[int]) -> int:
        node = parts[0]
        for p in parts[1:]:
            node = self.make("mul", node, p)
        return node

    def _order(self, i: int) -> tuple[int, str, int, int]:
        op = self.graph.ops[i]
        if op is VAR:  # x2 before x10
            name = self.graph.labels[i]
            stem = name.rstrip("0123456789")
            digits = name[len(stem):]
            return 1, stem, int(digits) if digits and len(digits) < 18 else -1, i
        return (0 if op is CONST else 2), "", 0, i

    # -- sums ---------------------------------------------------------------------------

    def split(self, i: int) -> tuple[Q, int]:
        """A term as (coefficient, rest): 3*x -> (3, x), -x/2 -> (-1/2, x), x -> (1, x)."""
        if i not in self.splits:
            self.splits[i] = self._split(i)
        return self.splits[i]

    def _split(self, i: int) -> tuple[Q, int]:
        f = self.factors(i)
        if f is None or f[0] == 1:
            return 1, i
        rest = self.monomial(1, f[1])
        return (1, i) if rest is None else (f[0], rest)

    def collect(self, root: int, sign: Q) -> tuple[dict[int, Q], Q] | None:
        """The terms of a sum of at most MAX_TERMS nodes, like terms added, and its constant;
        a constant times a sum is opened too."""
        terms: dict[int, Q] = {}
        constant: Q = 0
        stack = [(root, sign)]
        seen = 0
        while stack:
            i, s = stack.pop()
            seen += 1
            if seen > MAX_TERMS:
                self.closed.add(root)
                return None
            name, q = self.name(i), self.rational(i)
            if q is not None:
                constant += s * q
            elif i in self.closed:
                terms[i] = terms.get(i, 0) + s
            elif i in self.sum_terms:  # a sum made by sum_of: its terms are known
                known, c = self.sum_terms[i]
                seen += 2 * len(known)  # as many as opening it would count
                if seen > MAX_TERMS:
                    self.closed.add(root)
                    return None
                for t, k in known:
                    terms[t] = terms.get(t, 0) + s * k
                constant += s * c
            elif name in ("add", "sub"):
                stack.append((self.arg(i, 1), -s if name == "sub" else s))
                stack.append((self.arg(i, 0), s))
            elif name == "neg":
                stack.append((self.arg(i), -s))
            else:
                k, t = self.split(i)
                if t != i and self.name(t) in ("add", "sub") and t not in self.closed:
                    stack.append((t, s * k))  # 4*(a + 2) = 4*a + 8
                else:
                    terms[t] = terms.get(t, 0) + s * k
        return {t: k for t, k in terms.items() if k != 0}, constant

    def _factor_out(self, terms: dict[int, Q]) -> int | None:
        """E*a + 2*E*b = E*(a + 2*b) for a factor E of every term that is not a name or a
        number (exp(-x^2), (y - t)), with the whole coefficients' common divisor; and a
        common denominator: 1/u - x/u^2 = (u - x)/u^2. None if there is neither."""
        parts = []
        common: dict[int, Q] | None = None
        for t in terms:
            f = self.factors(t)
            if f is None:
                return None
            parts.append(f)
            if common is None:
                common = {b: e for b, e in f[1].items() if e < 0 or self.graph.args[b]}
            else:  # x^2 and x^3 have x^2 in common; over 1/x and 1/x^2 the denominator x^2
                common = {b: min(e, f[1][b]) for b, e in common.items()
                          if f[1].get(b, 0) * e > 0}
            if not common:
                return None
        assert common is not None
        coefficients = [c * k for (c, _), k in zip(parts, terms.values(), strict=True)]
        whole = all(c.denominator == 1 for c in coefficients)
        g = math.gcd(*(int(c) for c in coefficients)) if whole else 1  # 2*E*a + 4*E = 2*E*(a + 2)
        inner: int | None = None
        for c, (_, powers) in zip(coefficients, parts, strict=True):
            rest = {b: e - common.get(b, 0) for b, e in powers.items()}
            term = self.monomial(_whole(Fraction(c, g)), {b: e for b, e in rest.items() if e})
            if term is None:
                return None
            inner = term if inner is None else self.apply("add", inner, term)
        assert inner is not None
        return self.product((g, common), self.factors(inner))

    def scaled(self, k: Q, t: int) -> int | None:
        """k*t for a term t of a sum (as split gives it) and a constant k > 0."""
        if (k, t) not in self.scales:
            node = self.product((k, {}), self.factors(t))
            if node is None:
                n = self.number(k)
                node = None if n is None else self.make("mul", n, t)
            self.scales[k, t] = node
        return self.scales[k, t]

    def sum_of(self, terms: dict[int, Q], constant: Q) -> int | None:
        """t1 + 2*t2 - t3 + c: a positive term first, else a positive constant (1 - z).
        The same terms in another order give the node made first."""
        key = (tuple(sorted(terms.items())), constant)
        if key in self.sums:
            return self.sums[key]
        factored = self._factor_out(terms) if len(terms) > 1 and not constant else None
        if factored is not None:
            self.sums[key] = factored
            return factored
        order = list(terms)
        first = next((t for t in order if terms[t] > 0), None)
        acc: int | None = None
        if first is not None:
            order.remove(first)
            order.insert(0, first)
        elif constant > 0:
            acc = self.number(constant)
            constant = 0
        for t in order:
            k = terms[t]
            term = t if _abs(k) == 1 else self.scaled(_abs(k), t)
            if term is None:
                return None
            if acc is None:
                acc = term if k > 0 else self.apply("neg", term)
            else:
                acc = self.make("add" if k > 0 else "sub", acc, term)
        if acc is None:
            node = self.number(constant)
        elif constant:
            c = self.number(_abs(constant))
            node = None if c is None else self.make("add" if constant > 0 else "sub", acc, c)
        else:
            node = acc
        if node is not None:
            self.sums[key] = node
            if self.name(node) in ("add", "sub"):
                self.sum_terms.setdefault(node, key)
        return node


def short(value: float) -> bool:
    """Whether a folded constant prints short (2, 0.5, 1e-05) or is a whole number below
    10^15, not 0.6931471805599453: other constants stay as written (log(2), 1/3, 2*pi)."""
    if not math.isfinite(value):
        return False
    return len(exact(value)) <= 8 or (value == int(value) and abs(value) < BIG)


_CONSTANT_OPS = (CONST, OPS["neg"], OPS["div"])


def _exact(value: float) -> Q:
    return int(value) if value.is_integer() else Fraction(value)


def _whole(q: Fraction) -> Q:
    return q.numerator if q.denominator == 1 else q


def _abs(q: Q) -> Q:
    return -q if q < 0 else q


def _power(q: Q, k: int) -> Q:
    return _whole(Fraction(q) ** k) if k < 0 else q ** k


def _moderate(value: float) -> bool:
    """Whether a constant is exact as a fraction of moderate size (1e-200 is not)."""
    return short(value) and (value == 0.0 or 1e-9 <= abs(value) < BIG)


Rule = Callable[[Builder, tuple[int, ...], list[float | None]], int | None]


def _add(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[0] == 0.0:
        return y
    if c[1] == 0.0:
        return x
    return _sum(b, x, y, 1)


def _sub(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[1] == 0.0:
        return x
    if c[0] == 0.0:
        return b.apply("neg", y)
    return _sum(b, x, y, -1)


def _sum(b: Builder, x: int, y: int, sign: Q) -> int | None:
    left, right = b.collect(x, 1), b.collect(y, sign)
    if left is None or right is None:
        return None
    terms = dict(left[0])
    for t, k in right[0].items():
        terms[t] = terms.get(t, 0) + k
    node = b.sum_of({t: k for t, k in terms.items() if k != 0}, left[1] + right[1])
    if node is not None and any(t in b.closed and b.name(t) in ("add", "sub") for t in terms):
        b.closed.add(node)  # a sum holding a closed one stays closed: O(1) a step
    return node


def _mul(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[0] == 0.0 or c[1] == 0.0:
        return b.const(0.0)
    if c[0] == 1.0:
        return y
    if c[1] == 1.0:
        return x
    return b.product(b.factors(x), b.factors(y))


def _div(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[1] == 1.0:
        return x
    if c[1] == 0.0:
        return None  # an error when evaluated, as written
    if c[0] == 0.0:
        return b.const(0.0)
    return b.product(b.factors(x), b.factors(y, -1))


def _neg(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    (x,) = args
    if b.name(x) == "neg":
        return b.arg(x)
    if b.name(x) == "sub":  # -(p - q) = q - p
        return b.apply("sub", b.arg(x, 1), b.arg(x))
    return b.product((-1, {}), b.factors(x))


def _pow(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    x, y = args
    if c[1] == 1.0:
        return x
    if c[1] == 0.0 or c[0] == 1.0:
        return b.const(1.0)
    k = b.rational(y)
    if k is None or b.number(k, True) is None:
        return None
    return b.product(b.factors(x, k))


def _xlogy(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    # c^y log(c) as the course writes it when the base c is a positive constant; else
    # xlogy(x^y, x) stays, which is 0 at x = 0 as grad's derivative is
    x, y = args
    base = b.value_of(y)
    if base is None or base <= 0:
        return None
    return b.apply("mul", b.apply("log", y), x)


def _exp(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    (x,) = args
    return b.arg(x) if b.name(x) == "log" else None  # exp(log(u)) = u, as u > 0 for log


def _log(b: Builder, args: tuple[int, ...], c: list[float | None]) -> int | None:
    (x,) = args
    return b.arg(x) if b.name(x) == "exp" else None  # log(exp(u)) = u


_SIMPLIFY: dict[str, Rule] = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "neg": _neg, "pow": _pow,
    "xlogy": _xlogy, "exp": _exp, "log": _log,
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
    from . import core
    from .lower import free_names, lower
    from .parse import parse

    if not 1 <= order <= MAX_ORDER:
        raise UsageError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    program = parse(source)
    free = free_names(program)
    wanted = None
    if wrt is not None:  # an unknown name is refused as grad refuses it; e may be a variable
        asked = list(dict.fromkeys(wrt))
        wanted = core.wanted([*free, *(n for n in asked if n in CONSTANTS)], asked)
    names = list(dict.fromkeys([*free, *(wanted or [])]))
    graph = lower(program, names)
    scalar_only(graph)
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


def scalar_only(graph: Graph) -> None:
    """Refuse a matrix expression: the rules printed by diff are those of scalars (for
    matrices, d sum(X @ W) / d X is ones @ W^T, not W)."""
    for i, op in enumerate(graph.ops):
        matrix = op.vjp or (op is CONST and not isinstance(graph.consts[i], float))
        if matrix:
            what = "an array" if op is CONST else \
                f"{op.symbol} ({op.name})" if op.symbol else f"{op.written}(...)"
            raise UsageError(
                f"diff works on scalar expressions only, and {what} makes this a matrix "
                "expression", graph.source, graph.spans[i],
                hint="for its gradient at a point, use autodiff grad EXPR --at "
                     "NAME=VALUE (arrays allowed)")

