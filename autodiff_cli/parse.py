"""Text -> syntax tree. The grammar is grammars/expr.lark; Lark's LALR parser builds our
tree directly through an inline transformer, so no parse tree (and no recursion) is made."""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from lark import Lark, Transformer

from . import ast
from .errors import ArityError, AutodiffError, NameError_, ParseError, Problem, Span
from .gcpause import paused_gc
from .ops import FUNCTIONS, lookup

# Human names of the grammar's terminals, for "expected ..." in parse errors.
TERMINALS = {
    "NUMBER": "a number", "NAME": "a name", "FUNC": "a function", "LPAR": "'('",
    "RPAR": "')'", "LBRACKET": "'['", "RBRACKET": "']'", "PLUS": "'+'", "MINUS": "'-'",
    "STAR": "'*'", "SLASH": "'/'", "AT": "'@'", "POW": "'^'", "EQUAL": "'='",
    "AUGMENT": "'+=', '-=', '*=' or '/='", "COMMA": "','",
    "DOT_T": "'.T'", "SEP": "';' or a new line", "$END": "the end of the input",
}


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammars/.
    A package on the file system is read directly, which is what importlib.resources would
    do, without its import (2 ms of every run); importlib.resources covers the rest (zips)."""
    here = Path(__file__).resolve().parent
    for path in (here / "grammars" / "expr.lark", here.parent / "grammars" / "expr.lark"):
        with contextlib.suppress(OSError):
            return path.read_text("utf-8")
    from importlib import resources

    return resources.files("autodiff_cli").joinpath("grammars/expr.lark").read_text("utf-8")


def _span(*parts: Any) -> Span:
    first, last = parts[0], parts[-1]
    return (first.start_pos if hasattr(first, "start_pos") else first.start,
            last.end_pos if hasattr(last, "end_pos") else last.end)


def _starts_with_number(node: ast.Expr) -> bool:
    """Whether the source of node starts with a bare number (2 3, 2 3^2), not '('."""
    while isinstance(node, ast.Call) and node.args and node.start == node.args[0].start:
        node = node.args[0]
    return isinstance(node, ast.Num) and node.end - node.start == len(node.text)


def _ends_with_name(node: ast.Expr) -> bool:
    """Whether the source of node ends with a bare name (not a number or ')')."""
    while isinstance(node, ast.Call) and node.args and node.end == node.args[-1].end:
        node = node.args[-1]
    return isinstance(node, ast.Name) and node.end - node.start == len(node.id)


def _binary(op: str) -> Callable[[Any, list[Any]], ast.Call]:
    def build(self: Any, children: list[Any]) -> ast.Call:
        left, _, right = children
        return ast.Call(op, (left, right), left.start, right.end)

    return build


class _Build(Transformer):  # type: ignore[type-arg]
    """Callbacks of the LALR parser, one per grammar alias, each given its rule's children
    (tokens too: keep_all_tokens). Not v_args(inline=True): Lark's wrappers for that cost
    a quarter of the parse."""

    def program(self, items: list[Any]) -> list[ast.Stmt]:
        return [i for i in items if isinstance(i, (ast.Expr, ast.Assign))]

    def assign(self, children: list[Any]) -> ast.Assign:
        name, _eq, expr = children
        return ast.Assign(str(name), (name.start_pos, name.end_pos), expr, name.start_pos,
                          expr.end)

    def augassign(self, children: list[Any]) -> ast.Assign:
        name, tok, expr = children
        span = (name.start_pos, name.end_pos)
        op = {"+=": "add", "-=": "sub", "*=": "mul", "/=": "div"}[str(tok)]
        target = ast.Name(str(name), *span)
        return ast.Assign(str(name), span, ast.Call(op, (target, expr), name.start_pos,
                                                    expr.end), name.start_pos, expr.end,
                          augmented=True)

    add = _binary("add")
    sub = _binary("sub")
    mul = _binary("mul")
    div = _binary("div")
    matmul = _binary("matmul")
    pow = _binary("pow")

    def implicit_mul(self, children: list[Any]) -> ast.Call:
        left, right = children
        if _starts_with_number(right) or _ends_with_name(left):
            raise ParseError(
                "missing operator between two terms",
                span=(right.start, right.end),
                hint="write '*' between them, as in 2*x; implicit multiplication works after "
                "a number or ')' (2x, 2(a+b), (a+b)(b+1))")
        return ast.Call("mul", (left, right), left.start, right.end)

    def neg(self, children: list[Any]) -> ast.Expr:
        sign, operand = children
        if isinstance(operand, ast.Num) and not operand.text.startswith("-"):
            return ast.Num(-operand.value, "-" + operand.text, sign.start_pos, operand.end)
        return ast.Call("neg", (operand,), sign.start_pos, operand.end)

    def pos(self, children: list[Any]) -> ast.Expr:
        operand: ast.Expr
        sign, operand = children
        operand.start = sign.start_pos
        return operand

    def transpose(self, children: list[Any]) -> ast.Call:
        operand, tok = children
        return ast.Call("transpose", (operand,), operand.start, tok.end_pos)

    def num(self, children: list[Any]) -> ast.Num:
        (tok,) = children
        value = float(tok)
        if math.isinf(value):
            raise ParseError(f"the number {tok} is too large for a float",
                             span=(tok.start_pos, tok.end_pos))
        return ast.Num(value, str(tok), tok.start_pos, tok.end_pos)

    def var(self, children: list[Any]) -> ast.Name:
        (tok,) = children
        return ast.Name(str(tok), tok.start_pos, tok.end_pos)

    def paren(self, children: list[Any]) -> ast.Expr:
        inner: ast.Expr
        lpar, inner, rpar = children
        inner.start, inner.end = lpar.start_pos, rpar.end_pos
        return inner

    def args(self, items: list[Any]) -> list[ast.Expr]:
        return [i for i in items if isinstance(i, ast.Expr)]

    def call(self, children: list[Any]) -> ast.Call:
        name, _lpar, args, rpar = children
        fname, span, args = str(name), (name.start_pos, rpar.end_pos), args or []
        op = lookup(fname, len(args))
        if op is None:
            if fname in FUNCTIONS:
                arities = " or ".join(str(n) for n in sorted(FUNCTIONS[fname]))
                raise ArityError(
                    f"{fname}() takes {arities} argument{'s' if arities != '1' else ''}, "
                    f"got {len(args)}", span=span)
            known = sorted(FUNCTIONS)
            close = difflib.get_close_matches(fname, known, n=1)
            maybe = f"did you mean {close[0]}(...)? " if close else ""
            raise NameError_(
                f"unknown function {fname}()", span=(name.start_pos, name.end_pos),
                hint=f"{maybe}To multiply, write {fname}*(...). "
                f"Known functions: {', '.join(known)}")
        return ast.Call(op.name, tuple(args), span[0], span[1])

    def array(self, children: list[Any]) -> ast.Array:
        lb, items, rb = children
        return ast.Array(tuple(items or ()), lb.start_pos, rb.end_pos)


@lru_cache(maxsize=1)
def _parser() -> Any:
    text = grammar_text()
    options: dict[str, Any] = dict(
        start="program", parser="lalr", lexer="contextual", keep_all_tokens=True,
        maybe_placeholders=True, transformer=_Build())
    cache = cache_file(text)
    if cache is not None:
        try:
            return Lark(text, cache=str(cache), **options)
        except Exception:  # a corrupt cache must not stop the tool
            pass
    return Lark(text, **options)


def cache_file(grammar: str) -> Path | None:
    """Where Lark keeps the parse tables it built from `grammar`, so that a run loads them
    (about 4 ms) instead of building them (about 25 ms). The cache is a pickle, and loading
    someone else's pickle runs their code: so it lives in a directory that only this user can
    write, the user's cache directory or else one in the temp directory. None if neither."""
    name = f"expr-{_digest(grammar)}.lark"
    for directory in _cache_dirs():
        if _private(directory):
            path = directory / name
            if path.is_file() or os.access(directory, os.W_OK):
                return path
    return None


def _cache_dirs() -> list[Path]:
    """Candidates, each inside a directory that exists already (we never make those)."""
    dirs = []
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_dir():
        dirs.append(Path(xdg) / "autodiff-cli")
    with contextlib.suppress(RuntimeError):  # no home directory
        if Path.home().is_dir():
            dirs.append(Path.home() / ".cache" / "autodiff-cli")
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    if Path(tempfile.gettempdir()).is_dir():
        dirs.append(Path(tempfile.gettempdir()) / f"autodiff-cli-{user}")
    return dirs


def _private(directory: Path) -> bool:
    """Whether directory exists (made if need be) and only its owner, this user, can write."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return False
    if not hasattr(os, "getuid"):  # Windows: the user's own profile and temp directory
        return True
    return info.st_uid == os.getuid() and not info.st_mode & 0o022


def _digest(text: str) -> str:
    """Of the grammar, Lark's version and Python's: Lark rebuilds a cache made by another."""
    import hashlib
    import sys

    from lark import __version__

    key = f"{text}{__version__}{sys.version_info[:2]}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def parse(source: str) -> ast.Program:
    """Parse a program or expression. Raises ParseError, NameError_, ArityError or
    LimitError (larger than limits.py allows)."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

    from .limits import check_source

    check_source(source)
    try:
        with paused_gc():
            stmts = _parser().parse(source)
    except AutodiffError as err:
        err.source = source
        raise
    except UnexpectedCharacters as err:
        pos = err.pos_in_stream or 0
        char = source[pos] if pos < len(source) else ""
        raise ParseError(f"unexpected character {char!r}", source, (pos, pos + 1),
                         hint=_expected(err.allowed)) from None
    except UnexpectedToken as err:
        tok = err.token
        if tok.type == "$END":
            pos = len(source)
            raise ParseError("unexpected end of input", source, (pos, pos + 1),
                             hint=_expected(err.expected)) from None
        pos = tok.start_pos if tok.start_pos is not None else len(source)
        what = "new line" if tok.type == "SEP" and str(tok) == "\n" else repr(str(tok))
        raise ParseError(f"unexpected {what}", source, (pos, max(pos + 1, tok.end_pos or 0)),
                         hint=_expected(err.expected)) from None
    except UnexpectedInput:  # UnexpectedEOF and friends
        pos = len(source)
        raise ParseError("unexpected end of input", source, (pos, pos + 1)) from None
    if not stmts:
        raise ParseError("empty expression", source, (0, 1),
                         hint="give an expression such as \"(a+b)*(b+1)\"")
    return ast.Program(stmts, source)


def ambiguities(program: ast.Program) -> list[Problem]:
    """Implicit multiplications that read differently to a person than to the grammar:
    1/2x is 1/(2x), 2^3x is (2^3)x, x^-2x is (x^-2)x, 2e-x is 2e - x."""
    src = program.source
    found: list[Problem] = []

    def implicit(node: ast.Expr) -> bool:
        if not (isinstance(node, ast.Call) and node.op == "mul" and src[node.start] != "("):
            return False
        left, right = node.args
        return "*" not in src[left.end:right.start]

    def bare(node: ast.Expr) -> bool:  # not in parentheses of its own
        return src[node.start] != "("

    stack: list[ast.Expr] = [s.expr if isinstance(s, ast.Assign) else s
                             for s in program.stmts]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            stack.extend(node.args)
            text = src[node.start:node.end]
            if node.op == "div" and implicit(node.args[1]):
                x, y = node.args[1].args  # type: ignore[attr-defined]
                found.append(Problem(
                    f"{text} reads as {src[node.args[0].start:node.args[0].end]}/"
                    f"({src[x.start:y.end]}): implicit multiplication binds tighter than /",
                    (node.start, node.end)))
            elif implicit(node) and isinstance(node.args[0], ast.Call) and \
                    node.args[0].op == "pow" and bare(node.args[0]):
                base = node.args[0]
                found.append(Problem(
                    f"{text} reads as ({src[base.start:base.end]})*"
                    f"{src[node.args[1].start:node.args[1].end]}: the power ends before "
                    "the implicit product", (node.start, node.end)))
            elif node.op in ("add", "sub") and _scientific(src, node.args[0]):
                left, right = node.args
                sign = "-" if node.op == "sub" else "+"
                found.append(Problem(
                    f"{text} reads as {src[left.start:left.end - 1]}*e {sign} "
                    f"{src[right.start:right.end]}: e is the constant 2.718..., not an "
                    "exponent", (node.start, node.end)))
        elif isinstance(node, ast.Array):
            stack.extend(node.items)
    found.sort(key=lambda p: p.span or (0, 0))
    return found


def _scientific(src: str, node: ast.Expr) -> bool:
    """Whether node is a number times e written like a number's exponent: the 2e of 2e-x."""
    if not (isinstance(node, ast.Call) and node.op == "mul"):
        return False
    num, name = node.args
    return (isinstance(num, ast.Num) and isinstance(name, ast.Name) and name.id == "e"
            and num.end == name.start and src[name.end:name.end + 1] in ("-", "+"))


def _expected(names: set[str] | frozenset[str] | list[str] | None) -> str:
    shown = sorted({TERMINALS.get(n, n) for n in names or () if not n.startswith("__")})
    if "a name" in shown and "a function" in shown:
        shown.remove("a function")
    return f"expected {_or_list(shown)}" if shown else ""


def _or_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]
