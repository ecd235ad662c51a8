"""The class report of `grade`: tables for the instructor, JSON and CSV for scripts,
Gradescope's results.json per student, the issues for standard error and a progress bar.
Data in, text out; nothing is computed here."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..grade import ClassReport, Graded, QuestionStats, StudentResult
from ..words import mixed_symbol, partial_symbol
from . import source_text
from .numbers import exact, human
from .table import Block, Table

GIVEN_LIMIT = 200  # characters of a given answer a report repeats


def answer_symbol(kind: str, names: tuple[str, ...], f: str = "") -> str:
    """f, ∂f/∂x, ∂²f/∂x², ∂²f/∂x∂y, ∂f/∂x (expression)."""
    f = f or "f"
    if kind == "value":
        return f
    if kind == "partial":
        return partial_symbol(f, names[0])
    if kind == "expression":
        return f"{partial_symbol(f, names[0])} (expression)"
    return mixed_symbol(f, names[0], names[1])


def test_name(a: Graded, outputs: dict[str, str]) -> str:
    q = a.question
    return f"{a.problem} {answer_symbol(q.kind, q.names, outputs.get(a.problem, ''))}"


def given_text(a: Graded, limit: int = GIVEN_LIMIT, fmt: Callable[[float], str] = exact
               ) -> str:
    """The answer as given: the number read, or the text (quoted, printable, the middle of
    a long one left out)."""
    if a.given is None:
        return ""
    if isinstance(a.given, float):
        return fmt(a.given)
    return repr(source_text(a.given, limit))


def expected_text(a: Graded, fmt: Callable[[float], str] = exact) -> str:
    if a.question.kind == "expression":
        return "the derivative at " + (f"{len(a.question.expected)} points"
                                       if len(a.question.expected) > 1 else "the point")
    return fmt(a.question.expected[0])


def answer_output(a: Graded) -> str:
    """What one test says: the verdict, expected vs given, and why."""
    reason = source_text(a.reason, 300)
    if a.status == "missing":
        return f"missing: no answer; expected {expected_text(a)}"
    if a.question.kind == "expression":
        said = f"given {given_text(a)}"
        return f"{a.status}: {said}" + (f"; {reason}" if reason else
                                         f", which matches {expected_text(a)}")
    expected, given = expected_text(a, human), given_text(a, fmt=human)
    if expected == given and a.status != "correct":  # close, but not close enough
        expected, given = expected_text(a), given_text(a)
    head = f"{a.status}: expected {expected}, given {given}"
    return f"{head} ({reason})" if reason else head


def _outputs(r: ClassReport) -> dict[str, str]:
    return {p.id: p.output for p in r.problems}


def results_json(s: StudentResult, r: ClassReport) -> dict[str, Any]:
    """Gradescope's results.json for one student: one test per answer."""
    outputs = _outputs(r)
    tests = [{"name": test_name(a, outputs), "score": a.score,
              "max_score": a.question.points,
              "status": "passed" if a.status == "correct" else "failed",
              "output": answer_output(a)} for a in s.answers]
    right = sum(1 for a in s.answers if a.status == "correct")
    return {"score": s.score, "max_score": s.max_score,
            "output": f"{right} of {len(s.answers)} answers correct; {tolerance_text(r)}",
            "tests": tests}


def tolerance_text(r: ClassReport) -> str:
    tolerances = sorted({(p.atol, p.rtol) for p in r.problems})
    atol, rtol = tolerances[0] if len(tolerances) == 1 else ("atol", "rtol")
    atol_text = human(atol) if isinstance(atol, float) else atol
    rtol_text = human(rtol) if isinstance(rtol, float) else rtol
    return (f"an answer is correct when it is finite and |given - expected| <= {atol_text} + "
            f"{rtol_text}·|expected|")


def grade_json(r: ClassReport) -> dict[str, Any]:
    """{"students": [{"student", "score", "max_score", "answers": [...]}], "questions",
    "problems", "issues", "lines", "ok"}."""
    return {
        "students": [{"student": s.student, "score": s.score, "max_score": s.max_score,
                      "answers": [_answer_json(a) for a in s.answers]} for s in r.students],
        "questions": [_question_json(q) for q in r.questions],
        "problems": [{"id": p.id, "title": p.title, "rate": r.problem_rate(p.id)}
                     for p in r.problems],
        "issues": [{"line": i.line, "message": i.message} for i in r.issues],
        "lines": r.lines, "ok": r.ok}


def _answer_json(a: Graded) -> dict[str, Any]:
    q = a.question
    given: Any = a.given if not isinstance(a.given, str) else source_text(a.given, 1000)
    return {"problem": a.problem, "answer": q.key, "status": a.status, "score": a.score,
            "max_score": q.points,
            "expected": list(q.expected) if q.kind == "expression" else q.expected[0],
            "given": given, "reason": a.reason[:1000], "line": a.line or None}


def _question_json(q: QuestionStats) -> dict[str, Any]:
    return {"problem": q.problem, "answer": q.key, "students": q.students,
            "correct": q.correct, "rate": q.rate,
            "common_wrong": [{"given": x, "count": n} for x, n in q.wrong]}


def column_names(r: ClassReport) -> list[tuple[str, str]]:
    """(problem, answer) of every question, in the problems' order."""
    return [(q.problem, q.key) for q in r.questions]


def grade_csv(r: ClassReport) -> str:
    """summary.csv: student,score,max_score, then the points of each answer ("" where the
    student was not asked it). A control character in a name is written as '?': the text
    may go to a terminal."""
    import csv
    import io

    from .errors import printable

    columns = column_names(r)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *(f"{p}.{k}" for p, k in columns)])
    for s in r.students:
        scores = {(a.problem, a.question.key): exact(a.score) for a in s.answers}
        writer.writerow([printable(s.student), exact(s.score), exact(s.max_score),
                         *(scores.get(c, "") for c in columns)])
    return out.getvalue()


def issues_csv(r: ClassReport) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["line", "message"])
    for i in r.issues:
        writer.writerow([i.line, i.message])
    return out.getvalue()


def issue_lines(r: ClassReport, where: str) -> str:
    """The issues, one line each, for standard error."""
    return "".join(f"{where}, line {i.line}: {source_text(i.message, 500)}\n"
                   if i.line else f"{where}: {source_text(i.message, 500)}\n"
                   for i in r.issues)


def summary_line(r: ClassReport) -> str:
    lines = len({i.line for i in r.issues})
    tail = "every line was read" if r.ok else \
        f"{len(r.issues)} issue{'s' if len(r.issues) != 1 else ''} on {lines} " \
        f"line{'s' if lines != 1 else ''}, listed on standard error"
    return f"{len(r.students)} students, {r.lines} lines read; {tail}"


def grade_table(r: ClassReport, fancy: bool = False) -> list[Block]:
    """Students (score and points per problem), then the class: each question's success
    rate and most common wrong answers, then the issues."""
    ids = [p.id for p in r.problems]
    rows = []
    for s in r.students:
        per: dict[str, list[float]] = {}
        for a in s.answers:
            got = per.setdefault(a.problem, [0.0, 0.0])
            got[0] += a.score
            got[1] += a.question.points
        rows.append((s.student, human(s.score), human(s.max_score),
                     *(f"{human(per[p][0])}/{human(per[p][1])}" if p in per else "-"
                       for p in ids)))
    students = Table(("student", "score", "max", *ids), ("left", "right", "right",
                                                        *("right",) * len(ids)), rows,
                     pad_edge=False)
    outputs = _outputs(r)
    questions = Table(
        ("problem", "answer", "correct", "rate", "most common wrong answers"),
        ("left", "left", "right", "right", "left"),
        [(q.problem, answer_symbol(q.question.kind, q.question.names, outputs.get(q.problem, "")),
          f"{q.correct}/{q.students}", f"{100 * q.rate:.0f}%",
          ", ".join(f"{_wrong_text(x)} ({n}x)" for x, n in q.wrong)) for q in r.questions],
        pad_edge=False, key=2)
    problems = Table(("problem", "title", "rate"), ("left", "left", "right"),
                     [(p.id, p.title, f"{100 * r.problem_rate(p.id):.0f}%") for p in r.problems],
                     pad_edge=False)
    parts: list[Block] = [students, "", problems, "", questions, ""]
    if r.issues:
        parts += [f"line {i.line}: {source_text(i.message, 200)}" if i.line else
                  source_text(i.message, 200) for i in r.issues[:20]]
        if len(r.issues) > 20:
            parts.append(f"... and {len(r.issues) - 20} more")
    return [*parts, summary_line(r), tolerance_text(r)]


def _wrong_text(x: float | str) -> str:
    return human(x) if isinstance(x, float) else repr(source_text(x, 40))


def result_files(r: ClassReport) -> list[tuple[str, dict[str, Any]]]:
    """(file name, results.json) per student: names made safe for any file system (letters,
    digits, '-', '_' and '.'; never a path), distinct even where only case differs."""
    taken: set[str] = {"summary", "issues"}
    out = []
    for s in r.students:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", s.student)[:100].lstrip(".") or "_"
        if base.split(".")[0].upper() in _RESERVED:
            base = "_" + base
        name, k = base, 1
        while name.lower() in taken:
            k += 1
            name = f"{base}-{k}"
        taken.add(name.lower())
        out.append((f"{name}.json", results_json(s, r)))
    return out


_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{k}" for k in range(10)),
             *(f"LPT{k}" for k in range(10))}


@contextmanager
def progress_lines(lines: Iterator[str], total: int, label: str) -> Iterator[Iterator[str]]:
    """lines, advancing a bar on standard error by each line's length (of `total`
    characters) when it is a terminal; otherwise lines as they are."""
    if total <= 0 or not sys.stderr.isatty():
        yield lines
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("grading {task.description}"), BarColumn(),
               TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn())
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(label, total=total)

        def advance() -> Iterator[str]:
            done = 0
            for k, line in enumerate(lines):
                done += len(line)
                if k % 256 == 0:
                    bar.update(task, completed=done)
                yield line

        yield advance()

