"""The values a user gives: --at NAME=VALUE,... split at top-level commas; each value a
constant expression (3, pi/4, [[1, 2], [3, 4]], 0.1*randn(3, 3)) or the path of a CSV file of
numbers.

Values from untrusted input (a --batch line, a submission) are read with files=False, the
default, which refuses file names without opening anything, and with a limits.Budget for
their work. On the command line (files=True), --at @FILE also reads values from a JSON file
(what train --save writes)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .errors import AutodiffError, LimitError, NameError_, UsageError

if TYPE_CHECKING:
    from .limits import Budget

Value = Any  # a float, or a numpy array

NAME = re.compile(r"[^\W\d]\w*\Z")  # a variable's name, whole
NOT_FINITE = ("inf", "infinity", "nan")  # names to the parser: refused as values
VALUE_HINT = ("a value is a finite number or an expression of numbers, pi and e, such as "
              "pi/4 or 1e-3 (the largest float is about 1.8e308)")


def split_names(text: str) -> list[str]:
    """["a", "b"] from "a, b" (--wrt and a batch line's "wrt")."""
    return [w.strip() for w in text.split(",") if w.strip()]


def split_top_level(text: str, sep: str = ",") -> list[tuple[int, str]]:
    """Pieces of text between separators outside brackets, each with its offset."""
    pieces, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == sep and depth == 0:
            pieces.append((start, text[start:i]))
            start = i + 1
    pieces.append((start, text[start:]))
    return pieces


def constant(text: str, random_key: tuple[int, ...] = (0,),
             budget: Budget | None = None) -> Value:
    """The value of a constant expression such as pi/4, -2, [1, 2, 3] or randn(3, 3);
    randn draws from the stream named by random_key. With a budget, its parse and its
    evaluation each spend their estimate first (LimitError if it does not fit)."""
    from . import ast
    from .lower import lower
    from .parse import parse

    if budget is not None:
        budget.source(text, "the value")
    program = parse(text)
    if len(program.stmts) != 1 or isinstance(program.stmts[0], ast.Assign):
        raise UsageError("a value must be one expression, not a program", text,
                         (0, len(text)), hint="for example --at a=3,b=pi/4")
    graph = lower(program, ())
    if budget is not None:
        from .limits import graph_work

        budget.spend(graph_work(graph, {}), "the value")
    return graph.at({}, random_key).forward()


def is_csv(text: str) -> bool:
    return text.strip().lower().endswith(".csv")


NO_FILES = ("file names are not read from this input: a value here is a number or a "
            "constant expression")


def value(text: str, random_key: tuple[int, ...] = (0,), files: bool = False,
          budget: Budget | None = None) -> Value:
    """A CSV file's matrix if text names one (and files is true: else a UsageError, and
    nothing is opened), else the constant expression's value."""
    if is_csv(text):
        if not files:
            raise UsageError(NO_FILES, hint=VALUE_HINT)
        return load_csv(text.strip())
    return constant(text, random_key, budget)


def assignments(specs: Iterable[str], option: str = "--at"
                ) -> Iterator[tuple[str, str, str, int]]:
    """(name, value text, spec, the value's offset in spec) for each NAME=VALUE of
    "a=3,b=2"-style specs, split at top-level commas; a UsageError (naming option) for a
    piece that is not NAME=VALUE, a name that is not one, or a name given twice."""
    seen: set[str] = set()
    for spec in specs:
        for offset, piece in split_top_level(spec):
            if not piece.strip():
                continue
            name, eq, rhs = piece.partition("=")
            name = name.strip()
            at = offset + len(piece) - len(piece.lstrip())
            if not eq:
                raise UsageError(f"{option} expects NAME=VALUE, got {piece.strip()!r}", spec,
                                 (at, offset + len(piece)), hint=f"for example {option} a=3,b=2")
            if not NAME.match(name):
                raise UsageError(f"{option}: {name!r} is not a valid name", spec,
                                 (at, at + max(1, len(name))),
                                 hint="names are letters, digits and _, not starting with a digit")
            if name in seen:
                raise UsageError(f"{option}: {name} is given twice", spec,
                                 (at, at + len(name)), hint="give each name one value")
            seen.add(name)
            yield name, rhs, spec, offset + len(piece) - len(rhs)


def parse_at(specs: Iterable[str], seed: int = 0, *, files: bool = False,
             budget: Budget | None = None) -> dict[str, Value]:
    """{"a": 3.0, "b": 2.0} from ["a=3,b=2"]; a name given twice is an error (in one spec
    or in two). randn in the value of NAME draws from a stream of its own, named by
    (seed, NAME). files (the command line's --at, trusted) lets a value name a CSV file and
    a spec "@FILE" read the values of a JSON file; budget bounds untrusted specs' work."""
    values: dict[str, Value] = {}
    plain = []
    for spec in specs:
        if not (files and spec.strip().startswith("@")):
            plain.append(spec)
            continue
        start = len(spec) - len(spec.lstrip())
        try:
            loaded = load_json(spec.strip()[1:])
        except UsageError as err:  # located: the whole --at value
            err.source, err.span = spec, (start, len(spec.rstrip()))
            raise
        twice = next((n for n in loaded if n in values), None)
        if twice is not None:
            raise UsageError(f"--at: {twice} is given twice", spec,
                             (start, len(spec.rstrip())), hint="give each name one value")
        values.update(loaded)
    for name, rhs, spec, start in assignments(plain):
        if name in values:
            raise UsageError(f"--at: {name} is given twice", spec, (start, start + len(rhs)),
                             hint="give each name one value")
        try:
            values[name] = value(rhs, (seed, 1, *map(ord, name)), files, budget)
        except AutodiffError as err:
            span = err.span or (0, len(rhs))
            message, hint = err.message, err.hint
            if isinstance(err, NameError_):  # a value names no variables
                word = rhs[span[0]:span[1]]
                if word.lower() in NOT_FINITE:
                    message = f"{word} is not a finite number"
                hint = VALUE_HINT
            raise UsageError(f"--at {name}: {message}", spec,
                             (start + span[0], start + span[1]), hint=hint) from None
    return values


def load_csv(path: str) -> Value:
    """The numbers of a CSV file as a matrix, one row per line. A first row that is not all
    numbers is a header and skipped; blank lines are skipped. Raises UsageError."""
    import csv
    import io
    import math

    import numpy as np

    from .limits import MAX_ENTRIES, check_entries

    text = _bounded(path, "a CSV file", "")
    rows: list[list[float]] = []
    reader = csv.reader(io.StringIO(text))
    first = True
    try:
        for line in reader:
            cells = [c.strip() for c in line]
            if not any(cells):
                continue
            numbers = [_number(c) for c in cells]
            if first and all(n is None for n in numbers):
                first = False
                continue  # a header of names
            first = False
            bad = next((k for k, n in enumerate(numbers) if n is None or not math.isfinite(n)),
                       None)
            if bad is not None:
                raise UsageError(f"{path}, line {reader.line_num}, column {bad + 1}: "
                                 f"{cells[bad]!r} is not a finite number")
            if rows and len(numbers) != len(rows[0]):
                raise UsageError(f"{path}, line {reader.line_num}: {len(numbers)} values, "
                                 f"but the first row has {len(rows[0])}",
                                 hint="every row of a CSV matrix needs the same number of values")
            rows.append([n for n in numbers if n is not None])
            if len(rows) * len(rows[0]) > MAX_ENTRIES:
                check_entries(len(rows) * len(rows[0]), path)
    except csv.Error as err:
        raise UsageError(f"cannot read {path}, line {reader.line_num}: {err}") from None
    if not rows:
        raise UsageError(f"cannot read {path}: it has no rows of numbers")
    return np.array(rows, dtype=float)


def _bounded(path: str, what: str, where: str) -> str:
    """A UTF-8 file of at most limits.MAX_CSV_BYTES characters (what it is for: "a CSV
    file"); every failure a UsageError (LimitError) prefixed with where."""
    from pathlib import Path

    from .limits import MAX_CSV_BYTES

    try:
        with Path(path).open(encoding="utf-8-sig") as stream:
            text = stream.read(MAX_CSV_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{where}cannot read {path}: no such file") from None
    except UnicodeDecodeError:
        raise UsageError(f"{where}cannot read {path}: not a UTF-8 text file") from None
    except OSError as err:
        raise UsageError(f"{where}cannot read {path}: {err.strerror or err}") from None
    if len(text) > MAX_CSV_BYTES:
        raise LimitError(f"{path} is longer than {MAX_CSV_BYTES:,} characters, the limit "
                         f"for {what}")
    return text


def load_json(path: str) -> dict[str, Value]:
    """--at @FILE: a JSON object {name: number, nested lists of numbers, or {"shape": [...],
    "data": nested lists}}, as train --save and the JSON reports write values. Raises
    UsageError."""
    import json

    import numpy as np

    from .limits import check_entries

    where = f"--at @{path}"
    text = _bounded(path, "a file of values", f"{where}: ")
    try:
        data = json.loads(text, parse_constant=_not_finite)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"{where}: {path} is not JSON: {err}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: the file must hold one JSON object {{name: value}}",
                         hint='for example {"b": 0.5, "w": {"shape": [2, 1], "data": '
                         '[[1.5], [-2]]}}, as train --save writes it')
    values: dict[str, Value] = {}
    for name, x in data.items():
        if not NAME.match(name):
            raise UsageError(f"{where}: {name!r} is not a valid name",
                             hint="names are letters, digits and _, not starting with a digit")
        shape = None
        if isinstance(x, dict) and set(x) == {"shape", "data"}:
            shape, x = x["shape"], x["data"]
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            values[name] = float(x)
            array = None
        else:
            try:
                array = np.array(x, dtype=float)
            except (TypeError, ValueError, OverflowError, RecursionError):
                array = None
            if array is None or not isinstance(x, list):
                raise UsageError(f"{where}: {name} is not a number, a rectangular array of "
                                 'numbers or {"shape": [...], "data": [...]}')
            check_entries(array.size, f"{where}: {name}")
            values[name] = array
        if shape is not None and list(np.shape(values[name])) != shape:
            raise UsageError(f"{where}: {name} has \"shape\" {shape}, but its data has "
                             f"shape {list(np.shape(values[name]))}")
        ok = math.isfinite(values[name]) if array is None else bool(np.isfinite(array).all())
        if not ok:
            raise UsageError(f"{where}: {name}: values must be finite numbers")
    return values


def _not_finite(word: str) -> float:
    raise ValueError(f"{word} is not a finite number")


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def output_gradient(text: str, seed: int = 0) -> Value:
    """The value of --seed-grad: a constant expression or a CSV file."""
    try:
        return value(text, (seed, 2), files=True)
    except AutodiffError as err:
        raise UsageError(f"--seed-grad: {err.message}", err.source, err.span,
                         hint=err.hint) from None
