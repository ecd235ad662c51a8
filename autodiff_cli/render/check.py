"""The check report: given answers against computed ones, for people (a table), for
scripts (plain) and for Gradescope (its results.json: score, max_score, tests)."""

from __future__ import annotations

from typing import Any

from ..grading import Answer, AnswerCheck
from ..words import partial_symbol
from . import source_text
from .matrix import is_array, shape_text
from .numbers import exact, human, telling
from .table import Block, Table, styled


def answer_name(c: AnswerCheck, a: Answer) -> str:
    f = c.result.output or "f"
    return f if a.variable is None else partial_symbol(f, a.variable)


def tolerance_text(c: AnswerCheck) -> str:
    return (f"an answer matches when |got - expected| <= {human(c.atol)} + "
            f"{human(c.rtol)}·|expected|")


def verdict(c: AnswerCheck) -> str:
    n, wrong = len(c.answers), len(c.wrong)
    if n == 1:
        return "the answer matches" if not wrong else "the answer is wrong"
    return f"all {n} answers match" if not wrong else f"{wrong} of {n} answers wrong"


def given_text(a: Answer, limit: int = 80) -> str:
    """The answer as given, for a report: the number, or the text that could not be read
    (printable, the middle of a long one left out)."""
    return exact(a.expected) if not a.reason else repr(source_text(a.text, limit))


def answer_output(a: Answer) -> str:
    if a.reason:
        return (f"wrong: answer {given_text(a)} is refused ({source_text(a.reason, 300)}), "
                f"computed {exact(a.got)}")
    head = "correct" if a.ok else "wrong"
    return (f"{head}: answer {exact(a.expected)}, computed {exact(a.got)}, "
            f"difference {exact(a.difference)}")


def gradescope_tests(c: AnswerCheck, prefix: str = "") -> list[dict[str, Any]]:
    """One Gradescope test per answer, worth 1 point."""
    return [{"name": f"{prefix}{answer_name(c, a)}", "score": 1.0 if a.ok else 0.0,
             "max_score": 1.0, "status": "passed" if a.ok else "failed",
             "output": answer_output(a)} for a in c.answers]


def check_json(c: AnswerCheck) -> dict[str, Any]:
    """Gradescope's results.json: {"score", "max_score", "output", "tests": [...]}."""
    tests = gradescope_tests(c)
    return {"score": sum(t["score"] for t in tests),
            "max_score": sum(t["max_score"] for t in tests),
            "output": f"{c.result.expression.strip()}: {verdict(c)}; {tolerance_text(c)}",
            "tests": tests}


def refused_notes(c: AnswerCheck) -> str:
    """One line per answer that could not be read, for standard error."""
    return "".join(f"{'--value' if a.variable is None else '--expect ' + a.variable}: the answer "
                   f"{given_text(a)} is refused: {source_text(a.reason, 300)}\n"
                   for a in c.answers if a.reason)


def check_plain(c: AnswerCheck) -> str:
    """One line per answer: value or d/dNAME, expected, got, ok|WRONG; expected is - for an
    answer that could not be read."""
    return "".join(f"{a.key} {'-' if a.reason else exact(a.expected)} {exact(a.got)} "
                   f"{'ok' if a.ok else 'WRONG'}\n" for a in c.answers)


def check_table(c: AnswerCheck, fancy: bool = False) -> list[Block]:
    r = c.result
    at = ", ".join(f"{n} = {human(x) if not is_array(x) else shape_text(x)}"
                   for n, x in r.at.items())
    rows = [(answer_name(c, a), given_text(a, 30) if a.reason else telling(a.expected, a.got)[0],
             telling(a.expected, a.got)[1], "-" if a.reason else human(a.difference),
             "ok" if a.ok else styled("WRONG", "bold red")) for a in c.answers]
    table = Table(("answer", "expected", "got", "difference", "check"),
                  ("left", "right", "right", "right", "right"), rows, pad_edge=False)
    notes = [f"{answer_name(c, a)}: the answer {given_text(a)} is refused: "
             f"{source_text(a.reason, 300)}" for a in c.answers if a.reason]
    return [source_text(r.expression), *([f"at {at}"] if at else []), "", table, "", *notes,
            f"{verdict(c)}; {tolerance_text(c)}"]
