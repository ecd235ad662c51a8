"""The syntax tree: small slotted classes with source spans.

No __eq__ or __repr__ that walks the tree: trees can be 100 000 levels deep.
"""

from __future__ import annotations

from .errors import Span


class Expr:
    __slots__ = ("end", "start")

    def __init__(self, start: int, end: int) -> None:
        self.start = start
        self.end = end

    @property
    def span(self) -> Span:
        return (self.start, self.end)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.start}:{self.end}>"


class Num(Expr):
    __slots__ = ("text", "value")

    def __init__(self, value: float, text: str, start: int, end: int) -> None:
        self.start, self.end = start, end  # not super().__init__: one call less, 10^5 times
        self.value = value
        self.text = text


class Name(Expr):
    __slots__ = ("at", "id")

    def __init__(self, id: str, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.id = id
        self.at = start  # the name's own position, even once parentheses widen the span

    @property
    def name_span(self) -> Span:
        return (self.at, self.at + len(self.id))


class Call(Expr):
    """An op applied to arguments: `a + b` is Call("add", (a, b)); `sin(x)` is Call("sin", (x,))."""

    __slots__ = ("args", "op")

    def __init__(self, op: str, args: tuple[Expr, ...], start: int, end: int) -> None:
        self.start, self.end = start, end
        self.op = op
        self.args = args


class Array(Expr):
    """A literal [a, b, ...]; rows are Arrays themselves."""

    __slots__ = ("items",)

    def __init__(self, items: tuple[Expr, ...], start: int, end: int) -> None:
        super().__init__(start, end)
        self.items = items


class Assign:
    """name = expr; or, augmented (c += e is c = c + e), a new value for a name assigned
    before."""

    __slots__ = ("augmented", "end", "expr", "name", "name_span", "start")

    def __init__(self, name: str, name_span: Span, expr: Expr, start: int, end: int,
                 augmented: bool = False) -> None:
        self.name = name
        self.name_span = name_span
        self.expr = expr
        self.start = start
        self.end = end
        self.augmented = augmented


Stmt = Expr | Assign


class Program:
    __slots__ = ("source", "stmts")

    def __init__(self, stmts: list[Stmt], source: str) -> None:
        self.stmts = stmts
        self.source = source
