"""Many gradients from JSON lines, for graders: one result or one error per input line,
in input order; a bad line never stops the others.

Input, one JSON object a line (blank lines are skipped):
    {"id": any JSON value, "expr": str, "at": {name: number or constant expression} or
     "a=3,b=2" (optional), "wrt": ["a", "b"] or "a,b" (optional)}
Output, one JSON object a line:
    {"id", "expression", "value", "at", "gradient"}   or
    {"id", "error": {"kind", "message", "column"}}
kind is "json" (the line is not a JSON object; column is in the line), "input" (a missing
or ill-typed key) or the error's kind (parse, name, arity, usage, math, ...; column is in
"expr", or null).

Identical expressions with the same variables are compiled once (a bounded cache).
A line is untrusted input: its values never name a file, and its expression and values
together get a work budget (limits.Budget, seconds estimated before anything runs).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from typing import Any

from . import core
from .engine import Graph
from .errors import AutodiffError, UsageError
from .inputs import NAME, split_names
from .limits import BUDGET, Budget

CACHE_SIZE = 1024
MAX_ID_DEPTH = 100  # an "id" is written back as it came, within Python's recursion limit


class InputError(AutodiffError):
    kind = "input"


class Cache(core.Cache):
    """Compiled graphs (core.Cache) and the values of constant expressions."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        super().__init__(size)
        self.constants: dict[str, float] = {}

    def graph(self, expr: str, names: tuple[str, ...]) -> Graph:
        return self.compile(expr, names)

    def constant(self, text: str, budget: Budget | None = None) -> float:
        if text not in self.constants:
            from .inputs import constant

            if len(self.constants) >= self.size:
                self.constants.clear()
            value = constant(text, budget=budget)
            if not isinstance(value, float):
                raise UsageError("a value in a batch line is a number or a constant "
                                 "expression of numbers, not an array")
            self.constants[text] = value
        return self.constants[text]


def run(lines: Iterable[str], mode: str = "reverse", budget: float = BUDGET
        ) -> Iterator[dict[str, Any]]:
    """One result dict per non-blank line, in order (see the module's docstring); each
    line may spend `budget` seconds of estimated work."""
    import warnings

    from .errors import AutodiffWarning

    warnings.simplefilter("ignore", AutodiffWarning)  # a line's result says what matters
    cache = Cache()
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                yield one(line, number, cache, mode, budget)
            except Exception as exc:  # a bug must not stop the lines after it
                yield _error(None, "internal", f"line {number}: internal error: "
                             f"{type(exc).__name__}", None)


def one(line: str, number: int, cache: Cache, mode: str = "reverse",
        budget: float = BUDGET) -> dict[str, Any]:
    from .limits import MAX_CHARS

    if len(line) > MAX_CHARS:
        return _error(None, "limit", f"line {number}: longer than {MAX_CHARS:,} characters, "
                      "the limit", None)
    try:
        twice: list[str] = []
        data = json.loads(line, object_pairs_hook=lambda pairs: _unique(pairs, twice))
    except (json.JSONDecodeError, RecursionError) as err:
        msg, col = (err.msg, err.colno) if isinstance(err, json.JSONDecodeError) else \
            ("nested too deeply", None)
        return _error(None, "json", f"line {number}: not valid JSON: {msg}", col)
    if not isinstance(data, dict):
        return _error(None, "json", f"line {number}: expected a JSON object {{\"id\", "
                      "\"expr\", \"at\"}", 1)
    ident = data.get("id")
    expr = data.get("expr")
    if _depth(ident) > MAX_ID_DEPTH:
        return _error(None, "input", f"line {number}: \"id\" is nested more than "
                      f"{MAX_ID_DEPTH} levels deep", None)
    try:
        if twice:
            raise InputError(f"line {number}: the key {twice[0]!r} is given twice")
        if "id" not in data:
            raise InputError(f"line {number}: missing key \"id\"")
        if not isinstance(expr, str):
            raise InputError(f"line {number}: " + ("missing key \"expr\"" if expr is None
                                                  else "\"expr\" must be a string"))
        work = Budget(budget)
        point = _point(data.get("at", {}), number, cache, work)
        wrt = _wrt(data.get("wrt"), number)
        work = Budget(budget)
        point = _point(data.get("at", {}), number, cache, work)
        wrt = _wrt(data.get("wrt"), number)
        work.source(expr, f"line {number}")
        p = core.prepare(expr, point, wrt, cache=cache, option='"wrt"', budget=work,
                         what=f"line {number}")
        e = core.evaluate(p, mode=mode)
        value = _scalar(e.value, p.graph)
        gradient = {n: float(x) for n, x in e.gradient.items()}
    except AutodiffError as err:
        column = err.column if err.source == expr else None
        return _error(ident, err.kind, err.message, column)
    return {"id": ident, "expression": expr, "value": value,
            "at": {n: p.point[n] for n in p.graph.variables}, "gradient": gradient}


def _scalar(value: Any, graph: Graph) -> float:
    """The output as a float; an array output is an error (a line's result is numbers)."""
    if isinstance(value, float):
        return value
    import numpy as np

    from .arrays import shape_text

    if np.ndim(value) == 0:
        return float(value)
    raise UsageError(f"the output has shape {shape_text(value)}; --batch gives the value and "
                     "gradient of scalar outputs only", graph.source, graph.spans[graph.output],
                     hint="sum(...) or mean(...) makes one number of it")


def _unique(pairs: list[tuple[str, Any]], twice: list[str]) -> dict[str, Any]:
    """A JSON object, the keys given more than once put in twice (json.loads would
    silently keep the last)."""
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            twice.append(key)
        obj[key] = value
    return obj


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in a JSON value: 0 for a number or a string."""
    depth, level = 0, [value]
    while True:
        containers = [x for x in level if isinstance(x, (list, dict))]
        if not containers:
            return depth
        depth += 1
        level = [v for x in containers for v in (x.values() if isinstance(x, dict) else x)]


def _error(ident: Any, kind: str, message: str, column: int | None) -> dict[str, Any]:
    return {"id": ident, "error": {"kind": kind, "message": message, "column": column}}


def _point(at: Any, number: int, cache: Cache, budget: Budget) -> dict[str, float]:
    if isinstance(at, str):
        from .inputs import parse_at

        try:  # never a file: a line's values are numbers or constant expressions
            point = parse_at([at], files=False, budget=budget)
        except AutodiffError as err:
            said = err.message.removeprefix("--at: ").removeprefix("--at ")
            raise InputError(f"line {number}: \"at\": {said}") from None
        arrays = [n for n, x in point.items() if not isinstance(x, float)]
        if arrays:
            raise InputError(f"line {number}: \"at\" {arrays[0]}: a value in a batch line is a "
                             "number or a constant expression of numbers, not an array")
        return point
    if not isinstance(at, dict):
        raise InputError(f"line {number}: \"at\" must be an object {{name: number}} or a "
                         "string \"a=3,b=2\"")
    point = {}
    for name, x in at.items():
        if not NAME.match(name):
            raise InputError(f"line {number}: \"at\": {name!r} is not a valid name")
        point[name] = _number(name, x, number, cache, budget)
    return point


def _number(name: str, x: Any, number: int, cache: Cache, budget: Budget) -> float:
    where = f"line {number}: \"at\" {name}"
    if isinstance(x, str):
        try:
            value = cache.constant(x, budget)
        except AutodiffError as err:
            raise InputError(f"{where}: {err.message}") from None
        except TypeError:  # float() of an array
            raise InputError(f"{where}: a line's values are numbers, not arrays") from None
    elif isinstance(x, (int, float)) and not isinstance(x, bool):
        try:
            value = float(x)
        except OverflowError:
            raise InputError(f"{where}: the number is too large for a float") from None
    else:
        raise InputError(f"{where}: expected a number or a constant expression such as "
                         "\"pi/4\"")
    if not math.isfinite(value):
        raise InputError(f"{where}: values must be finite numbers (no inf or nan)")
    return value


def _wrt(wrt: Any, number: int) -> list[str] | None:
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return split_names(wrt)
    if isinstance(wrt, list) and all(isinstance(w, str) for w in wrt):
        return list(wrt)
    raise InputError(f"line {number}: \"wrt\" must be a list of names or a string \"a,b\"")
