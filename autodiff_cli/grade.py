"""Grading a class: every student's answers to a set of problems, one test per answer.

PROBLEMS, a JSON list written by the instructor (trusted: its "at" may name a CSV file):

    [{"id": "p1", "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2},     required
      "title": "...",                                                  optional, and so on:
      "ask": ["value", "d/da", "d2/da2", "d2/dadb", "d/db expr"],
      "points": 2 or {"value": 1, "d/da": 2},       1 per answer unless given
      "rtol": 1e-6, "atol": 1e-9,                   as `autodiff check`
      "check_at": [{"a": 1, "b": 0.5}, ...],        where "d/dx expr" answers are compared
      "student": "ada"}, ...]                       a variant for that student only

"at" is {name: number or constant expression} or an --at string "a=3,b=2". "id" is a
string; a problem without "student" is everyone's, one with it is that student's own
variant (the same id may have one variant per student, and then an everyone's one for the
others). Without "ask" a problem asks the value and every partial derivative (the shape of
examples/grader/problems.json). Answers, by name:

    value          f at the point
    d/dx           ∂f/∂x at the point
    d2/dx2         ∂²f/∂x², and d2/dxdy the mixed ∂²f/∂x∂y (the same as d2/dydx)
    d/dx expr      ∂f/∂x as an expression of the variables, compared by value at the point
                   and at each point of "check_at" (default: the point moved by +-(1+|v|)/8
                   in every variable v, where f' is defined there)

SUBMISSIONS (untrusted: from students) is JSON lines or, for a file named *.csv, a CSV:

    {"student": "ada", "problem": "p1", "value": 15, "gradient": {"a": 3, "b": 8},
     "second": {"a": 0, "a,b": 1}, "derivative": {"b": "a + 2*b + 1"}}

    student,p1.value,p1.d/da,p1.d/db,p1.d2/dadb,p1.d/db expr
    ada,15,3,8,1,a + 2*b + 1

Every key but student and problem is optional; in CSV a column is "<problem id>.<answer
name>", one row per student, and an empty cell (as a JSON null) is no answer. An answer is
a number or a string holding a number or a constant expression ("1/3", "pi/4"), never a
file name; a "d/dx expr" answer is an expression of the problem's variables. Each line
(row) is graded alone, with a work budget (limits.Budget) for what it asks to evaluate.

An answer is correct when it is finite and |given - expected| <= atol + rtol*|expected|
(expected: the computed answer). It scores its points if correct, else 0 with the reason:
"wrong", "invalid" (it cannot be read: not a number, does not parse, not finite, over the
budget, answered twice) or "missing". A line or part of one that cannot be read at all (not
JSON, a missing or ill-typed student or problem, an unknown problem, student, key or
answer, an answer that is neither a number nor a string, a duplicate) is an Issue; the
rest of the file is graded all the same.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import AutodiffError, LimitError, UsageError
from .grading import ATOL, RTOL, Given, Refused, close, read_answer
from .limits import BUDGET, MAX_CHARS, MAX_ID_CHARS, Budget
from .values import NAME

CACHE_SIZE = 100_000  # answers read from text, kept for the next student who gives them
MAX_ISSUES_PER_LINE = 20
_KEY = re.compile(r"(?:value|d/d(\w+)(?P<expr> expr)?|d2/d(\w+))\Z")


@dataclass(frozen=True)
class Question:
    """One answer a problem asks: its name (key), kind and the variables it is by."""

    key: str
    kind: str  # "value", "partial", "second" or "expression"
    names: tuple[str, ...]  # the variables differentiated by: (), (x,), (x, y)
    points: float
    expected: tuple[float, ...]  # the answer; for an expression, its values at the points


@dataclass
class Problem:
    id: str
    expr: str
    at: dict[str, float]
    title: str = ""
    student: str | None = None
    output: str = ""  # the name the program gives its result, if any
    variables: tuple[str, ...] = ()
    questions: list[Question] = field(default_factory=list)
    rtol: float = RTOL
    atol: float = ATOL
    check_at: list[dict[str, float]] = field(default_factory=list)  # expression answers

    def question(self, kind: str, names: tuple[str, ...]) -> Question | None:
        for q in self.questions:
            if q.kind == kind and q.names == names:
                return q
        return None

    @property
    def max_score(self) -> float:
        return sum(q.points for q in self.questions)


@dataclass
class Graded:
    """One student's answer to one question."""

    problem: str
    question: Question
    status: str  # "correct", "wrong", "invalid" or "missing"
    given: float | str | None = None  # the number read, or the text that was given
    reason: str = ""  # why it is wrong, invalid or missing
    line: int = 0  # the line of SUBMISSIONS it came from (0: none)

    @property
    def score(self) -> float:
        return self.question.points if self.status == "correct" else 0.0


@dataclass
class StudentResult:
    student: str
    answers: list[Graded]
    titles: dict[str, str] = field(default_factory=dict)  # problem id -> its variant's title

    @property
    def score(self) -> float:
        return sum(a.score for a in self.answers)

    @property
    def max_score(self) -> float:
        return sum(a.question.points for a in self.answers)


@dataclass(frozen=True)
class Issue:
    """A line, or part of one, that could not be read; line 0 is about the whole file."""

    line: int
    message: str


@dataclass
class QuestionStats:
    """How the class did on one question (all variants of the problem together)."""

    problem: str
    key: str
    question: Question  # the first variant's, for its kind and names
    students: int = 0  # students asked it
    correct: int = 0
    wrong: list[tuple[float | str, int]] = field(default_factory=list)  # most common first

    @property
    def rate(self) -> float:
        return self.correct / self.students if self.students else 0.0


@dataclass
class ClassReport:
    problems: list[Problem]  # one per id (the first variant), in the file's order
    students: list[StudentResult]  # sorted by name
    questions: list[QuestionStats]
    issues: list[Issue]
    lines: int = 0  # non-blank lines (rows) read
    budget: float = BUDGET

    @property
    def ok(self) -> bool:
        return not self.issues

    def problem_rate(self, problem: str) -> float:
        """The share of this problem's answers that were correct, over all students."""
        stats = [q for q in self.questions if q.problem == problem]
        asked = sum(q.students for q in stats)
        return sum(q.correct for q in stats) / asked if asked else 0.0


# -- the library calls: the one place that computes answers -----------------------------

def expected_answers(expr: str, at: Mapping[str, Any],
                     asked: list[tuple[str, tuple[str, ...]]], points: list[dict[str, float]]
                     ) -> tuple[str, tuple[str, ...], list[tuple[Any, ...]]]:
    """The output's name, the variables, and each asked (kind, names)'s answer, all through
    core.prepare/evaluate: the value and the partials asked (only those: a derivative
    nobody asks for need not exist), second derivatives by higher.hessian, an expression's
    values at `points`. Raises AutodiffError."""
    from .core import evaluate, prepare
    from .higher import hessian

    partials = [names[0] for kind, names in asked if kind == "partial"]
    p = prepare(expr, at, list(dict.fromkeys(partials)))
    e = evaluate(p)
    gradient = e.gradient
    seconds = [n for k, names in asked if k == "second" for n in names]
    h = hessian(expr, at, list(dict.fromkeys(seconds))).hessian if seconds else {}
    out: list[tuple[Any, ...]] = []
    for kind, names in asked:
        if kind == "value":
            out.append((e.value,))
        elif kind == "partial":
            out.append((gradient[names[0]],))
        elif kind == "second":
            out.append((h[names[0]][names[1]],))
        else:
            one = p.asking([names[0]])
            out.append(tuple(evaluate(one.at(q)).gradient[names[0]] for q in points))
    return p.graph.output_name, tuple(p.graph.variables), out


def expression_values(text: str, points: list[dict[str, float]], budget: Budget
                      ) -> list[float | str]:
    """A student's expression at each point: its value, or the error there as text. Its
    parse and its evaluations spend from budget first. Raises AutodiffError if it does not
    compile (or is over the budget)."""
    import warnings

    from .core import evaluate, is_scalar, prepare
    from .errors import AutodiffWarning
    from .limits import graph_work

    budget.source(text, "the expression")
    with warnings.catch_warnings():  # a student's reading is graded, not warned about
        warnings.simplefilter("ignore", AutodiffWarning)
        p = prepare(text, points[0], [])
    work = graph_work(p.graph, p.point)
    for _ in points:
        budget.spend(work, "the expression")
    values: list[float | str] = []
    for q in points:
        try:
            value = evaluate(p.at(q), backward=False).value
        except AutodiffError as err:
            values.append(err.message)
            continue
        values.append(float(value) if is_scalar(value) else "its value is an array")
    return values


# -- PROBLEMS -----------------------------------------------------------------------------

class Problems:
    """The problems of a PROBLEMS file, each variant with its answers computed once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.all = problems
        self.everyone: dict[str, Problem] = {}
        self.own: dict[tuple[str, str], Problem] = {}
        self.ids: dict[str, Problem] = {}  # id -> its first variant
        for p in problems:
            self.ids.setdefault(p.id, p)
            if p.student is None:
                self.everyone[p.id] = p
            else:
                self.own[(p.id, p.student)] = p
        self.students = sorted({p.student for p in problems if p.student is not None})
        self._named = set(self.students)

    def of(self, student: str) -> list[Problem]:
        """The problems a student is asked, in the file's order of ids."""
        out = []
        for pid in self.ids:
            p = self.own.get((pid, student)) or self.everyone.get(pid)
            if p is not None:
                out.append(p)
        return out

    def find(self, student: str, pid: str) -> Problem | str:
        """The student's variant of problem pid, or why there is none."""
        p = self.own.get((pid, student)) or self.everyone.get(pid)
        if p is not None:
            return p
        if not self.everyone and student not in self._named:
            return f"unknown student {_quote(student)}"
        if pid not in self.ids:
            return f"unknown problem {_quote(pid)}"
        return f"problem {_quote(pid)} has no variant for student {_quote(student)}"


def load_problems(text: str, where: str = "PROBLEMS") -> Problems:
    """Problems from the text of a PROBLEMS file; any error is a UsageError naming the
    problem (PROBLEMS is the instructor's: a wrong key would give wrong grades)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise UsageError(f"{where} is not valid JSON: {err}") from None
    if not isinstance(data, list) or not data:
        raise UsageError(f"{where} must be a JSON list of problems [{{\"id\", \"expr\", "
                         "\"at\"}, ...]")
    problems: list[Problem] = []
    seen: set[tuple[str, str | None]] = set()
    for k, item in enumerate(data, 1):
        name = f"{where}, problem {k}"
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            name = f"{where}, problem {item['id']!r}"
        try:
            p = _problem(item)
        except AutodiffError as err:
            raise UsageError(f"{name}: {err.message}", hint=err.hint) from None
        if (p.id, p.student) in seen:
            raise UsageError(f"{name}: the id {p.id!r} is used twice" +
                             (f" for student {p.student!r}" if p.student else ""))
        seen.add((p.id, p.student))
        problems.append(p)
    return Problems(problems)


_PROBLEM_KEYS = ("id", "expr", "at", "title", "ask", "points", "rtol", "atol", "check_at",
                 "student")


def _problem(item: Any) -> Problem:
    if not isinstance(item, dict):
        raise UsageError("a problem is an object {\"id\", \"expr\", \"at\"}")
    unknown = [k for k in item if k not in _PROBLEM_KEYS]
    if unknown:
        raise UsageError(f"unknown key {unknown[0]!r}; a problem has "
                         f"{', '.join(_PROBLEM_KEYS)}")
    pid, expr, title, student = (item.get(k) for k in ("id", "expr", "title", "student"))
    if not isinstance(pid, str) or not pid or len(pid) > MAX_ID_CHARS:
        raise UsageError("\"id\" must be a non-empty string")
    if not isinstance(expr, str):
        raise UsageError("\"expr\" must be a string")
    if title is not None and not isinstance(title, str):
        raise UsageError("\"title\" must be a string")
    if student is not None and (not isinstance(student, str) or not student):
        raise UsageError("\"student\" must be a non-empty string")
    at = _point(item.get("at", {}), "\"at\"", files=True)
    rtol, atol = (_tolerance(item, k, d) for k, d in (("rtol", RTOL), ("atol", ATOL)))
    _, variables, _ = expected_answers(expr, at, [], [])  # first: a problem that fails says so
    asked = _asked(item.get("ask"), variables)
    points = _points(item.get("points", 1), [k for k, _ in asked])
    needs_points = any(kind == "expression" for _, (kind, _n) in asked)
    check_at = []
    if needs_points:
        check_at = _check_points(item.get("check_at"), expr, at, variables)
    elif item.get("check_at") is not None:
        raise UsageError("\"check_at\" is for \"d/dx expr\" answers, and none is asked")
    output, _, answers = expected_answers(expr, at, [q for _, q in asked], check_at)
    questions = []
    for (key, (kind, names)), answer in zip(asked, answers, strict=True):
        if not all(isinstance(x, float) for x in answer):
            raise UsageError(f"{key}: grade compares numbers, and this answer is an array",
                             hint="ask a scalar: sum(...) or an entry's own expression")
        questions.append(Question(key, kind, names, points[key], answer))
    return Problem(pid, expr, at, title or "", student, output, variables, questions,
                   rtol, atol, check_at)


def _point(at: Any, what: str, files: bool) -> dict[str, float]:
    from .values import parse_at

    if isinstance(at, str):
        return parse_at([at], files=files)
    if not isinstance(at, dict):
        raise UsageError(f"{what} must be an object {{name: number}} or a string \"a=3,b=2\"")
    point: dict[str, Any] = {}
    for name, x in at.items():
        if not NAME.match(name):
            raise UsageError(f"{what}: {name!r} is not a valid name")
        if isinstance(x, str):
            point.update(parse_at([f"{name}={x}"], files=files))
        elif isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
            point[name] = float(x)
        else:
            raise UsageError(f"{what} {name}: expected a finite number or a constant "
                             "expression such as \"pi/4\"")
    return point


def _tolerance(item: dict[str, Any], key: str, default: float) -> float:
    x = item.get(key, default)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
        raise UsageError(f"\"{key}\" must be a finite number >= 0")
    return float(x)


def parse_key(key: str, variables: Iterable[str]) -> tuple[str, tuple[str, ...]] | str:
    """("second", ("x", "y")) from "d2/dxdy", with the names in the order of `variables`;
    or why key names no answer. d2/dydx is d2/dxdy."""
    order = list(variables)
    m = _KEY.match(key)
    if m is None:
        return (f"{_quote(key)} is not an answer name (value, d/dx, d2/dx2, d2/dxdy, "
                "d/dx expr)")
    if key == "value":
        return ("value", ())
    if m.group(1) is not None:
        name = m.group(1)
        if name not in order:
            return f"{_quote(name)} is not a variable of the problem"
        return ("expression" if m.group("expr") else "partial", (name,))
    rest = m.group(3)
    readings: list[tuple[str, ...]] = []
    if rest.endswith("2") and rest[:-1] in order:
        readings.append((rest[:-1], rest[:-1]))
    for i in range(1, len(rest) - 1):
        a, b = rest[:i], rest[i + 1:]
        if rest[i] == "d" and a in order and b in order and a != b:
            readings.append(tuple(sorted((a, b), key=order.index)))
    if len(readings) != 1:
        return (f"{_quote(key)} names no second derivative of the problem's variables"
                if not readings else f"{_quote(key)} can be read in more than one way")
    return ("second", readings[0])


def answer_key(kind: str, names: tuple[str, ...]) -> str:
    """The answer's name: parse_key backwards."""
    if kind == "value":
        return "value"
    if kind == "partial":
        return f"d/d{names[0]}"
    if kind == "expression":
        return f"d/d{names[0]} expr"
    return f"d2/d{names[0]}2" if names[0] == names[1] else f"d2/d{names[0]}d{names[1]}"


def _asked(ask: Any, variables: tuple[str, ...]) -> list[tuple[str, tuple[str, tuple[str, ...]]]]:
    if ask is None:
        return [(answer_key(k, n), (k, n))
                for k, n in [("value", ()), *(("partial", (v,)) for v in variables)]]
    if not isinstance(ask, list) or not ask or not all(isinstance(k, str) for k in ask):
        raise UsageError("\"ask\" must be a non-empty list of answer names such as "
                         "[\"value\", \"d/dx\"]")
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for key in ask:
        parsed = parse_key(key, variables)
        if isinstance(parsed, str):
            raise UsageError(f"\"ask\": {parsed}")
        canonical = answer_key(*parsed)
        if canonical in out:
            raise UsageError(f"\"ask\" names {canonical} twice")
        out[canonical] = parsed
    return list(out.items())


def _points(points: Any, keys: list[str]) -> dict[str, float]:
    def number(x: Any, what: str) -> float:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) \
                or x < 0:
            raise UsageError(f"{what} must be a finite number >= 0")
        return float(x)

    if isinstance(points, dict):
        unknown = [k for k in points if k not in keys]
        if unknown:
            raise UsageError(f"\"points\" names {unknown[0]!r}, which is not asked")
        return {k: number(points.get(k, 1), f"\"points\" {k}") for k in keys}
    return dict.fromkeys(keys, number(points, "\"points\""))


def _check_points(given: Any, expr: str, at: dict[str, float], variables: tuple[str, ...]
                  ) -> list[dict[str, float]]:
    """The points where expression answers are compared: at, then check_at's or two
    points around at where f' is defined."""
    if given is not None:
        if not isinstance(given, list) or not all(isinstance(p, dict) for p in given):
            raise UsageError("\"check_at\" must be a list of points [{name: number}, ...]")
        return [at, *({**at, **_point(p, "\"check_at\"", files=True)} for p in given)]
    points = [at]
    for sign in (1, -1):
        p = {n: x + sign * (1 + abs(x)) / 8 if n in variables else x for n, x in at.items()}
        try:
            expected_answers(expr, p, [], [])
        except AutodiffError:
            continue
        points.append(p)
    return points


# -- SUBMISSIONS --------------------------------------------------------------------------

@dataclass
class _Line:
    """What one line (or CSV row) says: its student, problem and answers, and its issues.
    An answer is (kind, names, given), or for CSV ("", (problem, answer name), given)."""

    number: int
    student: str | None = None
    problem: str | None = None
    answers: list[tuple[str, tuple[str, ...], Any]] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it had more than once."""

    twice: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    out = _Object(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        twice = []
        for k, _ in pairs:
            if k in seen:
                twice.append(k)
            seen.add(k)
        out.twice = tuple(twice)
    return out


_LINE_KEYS = ("student", "problem", "value", "gradient", "second", "derivative")
_GROUPS = {"gradient": "partial", "second": "second", "derivative": "expression"}


def read_jsonl(line: str, number: int) -> _Line:
    """One submission line, read as far as it can be."""
    out = _Line(number)
    if len(line) > MAX_CHARS:
        out.issues.append(f"longer than {MAX_CHARS:,} characters, the limit")
        return out
    try:
        data = json.loads(line, object_pairs_hook=_object)
    except ValueError as err:  # JSONDecodeError, or an integer of too many digits
        out.issues.append(f"not valid JSON: {getattr(err, 'msg', None) or err}")
        return out
    except RecursionError:
        out.issues.append("not valid JSON: nested too deeply")
        return out
    if not isinstance(data, dict):
        out.issues.append("expected a JSON object {\"student\", \"problem\", ...}")
        return out
    twice = getattr(data, "twice", ())
    out.issues.extend(f"key \"{k}\" is given twice" for k in dict.fromkeys(twice)
                      if k in ("student", "problem"))
    out.student = _identifier(data, "student", out)
    out.problem = _identifier(data, "problem", out)
    for key, x in data.items():
        if key == "value":
            out.answers.extend([("value", (), x)] * (1 + twice.count("value")))
        elif key in _GROUPS:
            for _ in range(1 + twice.count(key)):  # a group given twice: each answer twice
                _group(key, x, out)
        elif key not in ("student", "problem"):
            out.issues.append(f"unknown key {_quote(key)}; a line has "
                              f"{', '.join(_LINE_KEYS)}")
    return out


def _identifier(data: dict[str, Any], key: str, out: _Line) -> str | None:
    x = data.get(key)
    if key not in data:
        out.issues.append(f"missing key \"{key}\"")
    elif not isinstance(x, str) or not x.strip():
        out.issues.append(f"\"{key}\" must be a non-empty string")
    elif len(x) > MAX_ID_CHARS:
        out.issues.append(f"\"{key}\" is longer than {MAX_ID_CHARS:,} characters")
    else:
        return x
    return None


def _group(key: str, x: Any, out: _Line) -> None:
    kind = _GROUPS[key]
    if x is None:
        return
    if not isinstance(x, dict):
        out.issues.append(f"\"{key}\" must be an object {{name: answer}}")
        return
    twice = getattr(x, "twice", ())
    for name, answer in x.items():
        names = tuple(n.strip() for n in name.split(",")) if kind == "second" else (name,)
        if kind == "second" and len(names) == 1:
            names = (names[0], names[0])
        if len(names) != (2 if kind == "second" else 1) or not all(NAME.match(n)
                                                                   for n in names):
            out.issues.append(f"\"{key}\": {_quote(name)} is not " + (
                "a name or a pair of names \"x,y\"" if kind == "second" else "a name"))
            continue
        out.answers.extend([(kind, names, answer)] * (1 + twice.count(name)))


def read_csv(lines: Iterable[str]) -> Iterator[_Line]:
    """The rows of a CSV of submissions, one _Line each (and one for the header, line 1,
    if it has issues)."""
    counter = [0]
    rows = csv.reader(_numbered(lines, counter))
    try:
        header = next(rows)
    except StopIteration:
        return
    except csv.Error as err:
        yield _Line(1, issues=[f"the header cannot be read: {err}"])
        return
    head = _Line(1)
    cells = [c.strip() for c in header]
    if cells.count("student") != 1:
        head.issues.append("the header needs one column \"student\" (and columns such as "
                           "\"p1.value\", \"p1.d/dx\")")
        yield head
        return
    student_col = cells.index("student")
    columns: list[tuple[str, str] | None] = []
    seen = Counter(cells)
    for k, c in enumerate(cells):
        pid, key = _split_column(c)
        if k == student_col:
            columns.append(None)
        elif not key:
            head.issues.append(f"column {k + 1} {_quote(c)} is not \"<problem>.<answer>\", "
                               "such as \"p1.value\" or \"p1.d/dx\": it is not read")
            columns.append(None)
        else:
            columns.append((pid, key))
            if seen[c] > 1 and cells.index(c) == k:
                head.issues.append(f"column {_quote(c)} appears {seen[c]} times")
    if head.issues:
        yield head
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as err:
            yield _Line(counter[0], issues=[f"the row cannot be read: {err}"])
            continue
        if not any(c.strip() for c in row):
            continue
        out = _Line(counter[0])
        if len(row) > len(cells):
            out.issues.append(f"{len(row)} cells, but the header has {len(cells)}; the "
                              "extra ones are not read")
        student = row[student_col].strip() if student_col < len(row) else ""
        if not student:
            out.issues.append("no student named in this row")
        elif len(student) > MAX_ID_CHARS:
            out.issues.append(f"the student's name is longer than {MAX_ID_CHARS:,} "
                              "characters")
        else:
            out.student = student
        for column, cell in zip(columns, row, strict=False):
            if column is not None:
                out.answers.append(("", column, cell))
        yield out


def _split_column(column: str) -> tuple[str, str]:
    """("p1", "d/dx") from "p1.d/dx": the answer name follows the first dot that is
    followed by one (problem ids may have dots of their own); ("", "") if none is."""
    start = column.find(".")
    while start >= 0:
        if _KEY.match(column, start + 1):
            return column[:start], column[start + 1:]
        start = column.find(".", start + 1)
    return "", ""


def _numbered(lines: Iterable[str], counter: list[int]) -> Iterator[str]:
    for line in lines:
        counter[0] += 1
        yield line


# -- grading ------------------------------------------------------------------------------

class Grader:
    """Grades submissions line by line against Problems; each text is read once."""

    def __init__(self, problems: Problems, budget: float = BUDGET) -> None:
        self.problems = problems
        self.budget = budget
        self.given: dict[str, dict[tuple[str, str], Graded]] = {}  # student -> answers
        self.issues: list[Issue] = []
        self.lines = 0
        self._numbers: dict[str, Given] = {}
        self._expressions: dict[tuple[int, str, str], tuple[str, str]] = {}
        self._keys: dict[tuple[int, str], tuple[str, tuple[str, ...]] | str] = {}
        self._columns: set[str] = set()  # CSV: unknown problems, said once

    def add(self, line: _Line) -> None:
        self.lines += 1
        issues = list(line.issues)
        if line.student is not None:
            issues.extend(self._grade(line, line.student))
        for message in issues[:MAX_ISSUES_PER_LINE]:
            self.issues.append(Issue(line.number, message))
        if len(issues) > MAX_ISSUES_PER_LINE:
            self.issues.append(Issue(line.number, f"and {len(issues) - MAX_ISSUES_PER_LINE:,}"
                                     " issues more on this line"))

    def _grade(self, line: _Line, student: str) -> list[str]:
        """Grade a line's answers into the student's; its issues."""
        issues: list[str] = []
        budget = Budget(self.budget)
        mine = self.given.setdefault(student, {})
        found: dict[str, Problem | str] = {}
        if line.problem is not None:
            found[line.problem] = self.problems.find(student, line.problem)
        for kind, names, x in line.answers:
            if x is None or (isinstance(x, str) and not x.strip()):
                continue  # no answer (a JSON null, an empty CSV cell)
            pid = line.problem if kind else names[0]
            if pid is None:
                continue  # the line says no problem: an issue already
            if not kind and pid not in self.problems.ids:  # a CSV column: said once
                if pid not in self._columns:
                    self._columns.add(pid)
                    self.issues.append(Issue(1, f"unknown problem {_quote(pid)}: its columns "
                                             "are not read"))
                continue
            if pid not in found:
                found[pid] = self.problems.find(student, pid)
            problem = found[pid]
            if isinstance(problem, str):
                continue
            if not kind:  # CSV: the column's answer name, read for this problem
                parsed = self._key(problem, names[1])
                if isinstance(parsed, str):
                    issues.append(f"column {_quote(pid + '.' + names[1])}: {parsed}")
                    continue
                kind, names = parsed
            elif kind == "second" and all(n in problem.variables for n in names):
                names = tuple(sorted(names, key=problem.variables.index))  # d2/dydx = d2/dxdy
            question = problem.question(kind, names)
            if question is None:
                issues.append(f"problem {_quote(pid)} does not ask {answer_key(kind, names)}")
                continue
            slot = (pid, question.key)
            first = mine.get(slot)
            if first is not None:
                where = f"lines {first.line} and {line.number}" if first.line != line.number \
                    else f"line {line.number}"
                mine[slot] = Graded(pid, question, "invalid", _raw(x),
                                    f"answered more than once ({where}): no answer counts",
                                    line.number)
                issues.append(f"{pid} {question.key} is answered more than once ({where})")
                continue
            mine[slot] = graded = self._answer(problem, question, x, budget, line.number)
            if isinstance(x, (bool, list, dict)):  # the file's shape is wrong, not the answer
                issues.append(f"{pid} {question.key}: {graded.reason}")
        return [p for p in found.values() if isinstance(p, str)] + issues

    def _key(self, problem: Problem, key: str) -> tuple[str, tuple[str, ...]] | str:
        found = self._keys.get((id(problem), key))
        if found is None:
            found = self._keys[(id(problem), key)] = parse_key(key, problem.variables)
        return found

    def _answer(self, problem: Problem, q: Question, x: Any, budget: Budget,
                line: int) -> Graded:
        if q.kind == "expression":
            return self._expression(problem, q, x, budget, line)
        given = self._number(x, budget)
        if isinstance(given, Refused):
            return Graded(problem.id, q, "invalid", _raw(x), given.reason, line)
        status = "correct" if close(given, q.expected[0], problem.rtol, problem.atol) \
            else "wrong"
        return Graded(problem.id, q, status, given, "", line)

    def _number(self, x: Any, budget: Budget) -> Given:
        if not isinstance(x, str):
            return read_answer(x)
        found = self._numbers.get(x)
        if found is None:
            found = read_answer(x, budget)
            if not (isinstance(found, Refused) and found.limit):
                if len(self._numbers) >= CACHE_SIZE:
                    self._numbers.clear()
                self._numbers[x] = found
        return found

    def _expression(self, problem: Problem, q: Question, x: Any, budget: Budget,
                    line: int) -> Graded:
        if isinstance(x, bool) or not isinstance(x, (str, int, float)):
            return Graded(problem.id, q, "invalid", _raw(x), "not an expression: expected a "
                          "string such as \"2*x\"", line)
        text = x if isinstance(x, str) else repr(x)
        key = (id(problem), q.key, text)
        found = self._expressions.get(key)
        if found is None:
            found, limit = self._compare(problem, q, text, budget)
            if not limit:
                if len(self._expressions) >= CACHE_SIZE:
                    self._expressions.clear()
                self._expressions[key] = found
        return Graded(problem.id, q, found[0], text, found[1], line)

    def _compare(self, problem: Problem, q: Question, text: str, budget: Budget
                 ) -> tuple[tuple[str, str], bool]:
        """(status, reason) of an expression answer, and whether the budget refused it."""
        try:
            got = expression_values(text, problem.check_at, budget)
        except AutodiffError as err:
            return ("invalid", f"not an expression of {', '.join(problem.variables)}: "
                    f"{err.message}"), isinstance(err, LimitError)
        for point, want, value in zip(problem.check_at, q.expected, got, strict=True):
            if isinstance(value, str) or not close(value, want, problem.rtol, problem.atol):
                at = ", ".join(f"{n} = {_short(v)}" for n, v in point.items())
                said = value if isinstance(value, str) else f"it gives {_short(value)}"
                return ("wrong", f"at {at}: expected {_short(want)}, {said}"), False
        return ("correct", ""), False

    def report(self) -> ClassReport:
        students = []
        for name in sorted(set(self.given) | set(self.problems.students)):
            problems = self.problems.of(name)
            if not problems:
                continue  # an unknown student: their lines are issues
            mine = self.given.get(name, {})
            answers = [mine.get((p.id, q.key)) or Graded(p.id, q, "missing", None,
                                                         "no answer")
                       for p in problems for q in p.questions]
            students.append(StudentResult(name, answers, {p.id: p.title for p in problems}))
        return ClassReport(list(self.problems.ids.values()), students,
                           _stats(self.problems, students),
                           sorted(self.issues, key=lambda i: i.line), self.lines,
                           self.budget)


def _stats(problems: Problems, students: list[StudentResult]) -> list[QuestionStats]:
    stats: dict[tuple[str, str], QuestionStats] = {}
    wrong: dict[tuple[str, str], Counter[float | str]] = {}
    for p in problems.all:
        for q in p.questions:
            stats.setdefault((p.id, q.key), QuestionStats(p.id, q.key, q))
    for s in students:
        for a in s.answers:
            key = (a.problem, a.question.key)
            st = stats[key]
            st.students += 1
            if a.status == "correct":
                st.correct += 1
            elif a.status == "wrong" and a.given is not None:  # a number, or an expression
                wrong.setdefault(key, Counter())[a.given] += 1
    for key, counts in wrong.items():  # ties: the first given (students in order) first
        stats[key].wrong = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
    order = {pid: k for k, pid in enumerate(problems.ids)}
    return sorted(stats.values(), key=lambda st: order[st.problem])


def grade(problems: Problems, lines: Iterable[str], csv_format: bool = False,
          budget: float = BUDGET) -> ClassReport:
    """Grade SUBMISSIONS, given as its lines, against problems (see the module docstring);
    each line may spend `budget` seconds of estimated work."""
    grader = Grader(problems, budget)
    if csv_format:
        for row in read_csv(lines):
            grader.add(row)
    else:
        for number, line in enumerate(lines, 1):
            if line.strip():
                grader.add(read_jsonl(line, number))
    return grader.report()


def _raw(x: Any) -> float | str:
    """A given answer as the report keeps it: a finite number, or text."""
    if isinstance(x, str):
        return x
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return x if math.isfinite(x) else repr(x)
    if isinstance(x, int):
        return float(x) if abs(x) < 10**300 else f"an integer of {len(str(abs(x)))} digits"
    return "[...]" if isinstance(x, list) else "{...}" if isinstance(x, dict) else "null"


def _short(x: float) -> str:
    from .render.numbers import human

    return human(x)


def _quote(text: str, limit: int = 60) -> str:
    """text in quotes for a message, the middle of a long one left out."""
    if len(text) > limit:
        text = f"{text[:limit // 2]}...{text[-limit // 2:]}"
    return repr(text)
