"""`autodiff grade`: a class graded in one command, every line standing alone.

The property tests build a class (problems, per-student variants, students' answers and
hostile lines) together with what each student must score, computed independently: the
expected answers by SymPy, the scores by the rules written out here, never through our
grading code."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from toolkit_helpers import invoke

from autodiff_cli.batch import run
from autodiff_cli.errors import UsageError
from autodiff_cli.grade import grade, load_problems, parse_key
from autodiff_cli.limits import Budget, Work, estimate

ROOT = Path(__file__).resolve().parent.parent
GRADER = ROOT / "examples" / "grader"
RTOL, ATOL = 1e-6, 1e-9
S = {n: sp.Symbol(n, real=True) for n in ("a", "b", "x", "y")}


# -- the independent side: SymPy's answers and the scoring rules --------------------------

def sym(text: str) -> Any:
    return sp.sympify(text.replace("^", "**"), locals=S)


def sympy_answer(expr: str, at: dict[str, float], key: str,
                 points: list[dict[str, float]]) -> list[float]:
    """The answer to key ("value", "d/dx", "d2/dxdy", "d2/dx2", "d/dx expr") by SymPy."""
    f = sym(expr)
    if key == "value":
        g, where = f, [at]
    elif key.endswith(" expr"):
        g, where = sp.diff(f, S[key[3:-5]]), points
    elif key.startswith("d2/"):
        rest = key[4:]
        names = [rest[:-1]] * 2 if rest.endswith("2") else rest.split("d")
        g, where = sp.diff(f, *(S[n] for n in names)), [at]
    else:
        g, where = sp.diff(f, S[key[3:]]), [at]
    return [float(g.subs({S[n]: v for n, v in p.items()})) for p in where]


def is_close(given: float, want: float) -> bool:
    return math.isfinite(given) and abs(given - want) <= ATOL + RTOL * abs(want)


# Problems: p1 and p2 are everyone's, p3 has one variant per student of the roster.
P1 = {"id": "p1", "expr": "(a+b)*(b+1)", "at": {"a": 3, "b": 2}}  # today's shape
P2 = {"id": "p2", "expr": "x^2*sin(y)", "at": {"x": 2, "y": 0.5},
      "ask": ["value", "d/dx", "d2/dx2", "d2/dxdy", "d/dx expr"],
      "points": {"d/dx expr": 2, "d2/dxdy": 0.5}, "check_at": [{"x": 1, "y": 1}]}
P3 = {"expr": "exp(x*y) + x", "ask": ["value", "d/dy"], "points": 3}
KEYS = {"p1": ["value", "d/da", "d/db"], "p2": P2["ask"], "p3": P3["ask"]}
POINTS = {"p1": dict.fromkeys(KEYS["p1"], 1.0),
          "p2": {"value": 1.0, "d/dx": 1.0, "d2/dx2": 1.0, "d2/dxdy": 0.5, "d/dx expr": 2.0},
          "p3": dict.fromkeys(KEYS["p3"], 3.0)}
EXPRESSIONS = ["2*x*sin(y)", "sin(y)*x*2", "2*x", "x^2*cos(y)", "2*x*sin(y) + 0*y"]
STUDENTS = ["ada", "bob", "cy", "dan", "eve"]
HOSTILE_ANSWERS: list[Any] = [
    math.nan, math.inf, -math.inf, "1e400", "Infinity", "nan", "inf", "a quarter", "",
    "1/0", [1, 2], {"v": 1}, True, "x", "1" * 400, "(" * 3000, "[1, 2]", "1e999",
    "sum(randn(2200,2200) @ randn(2200,2200))*sum(randn(2200,2200) @ randn(2200,2200))",
]


def group(key: str) -> tuple[str, str | None]:
    """The JSON key a line gives an answer under, and the name inside it."""
    if key == "value":
        return "value", None
    if key.endswith(" expr"):
        return "derivative", key[3:-5]
    if key.startswith("d2/"):
        rest = key[4:]
        return "second", rest[:-1] if rest.endswith("2") else ",".join(rest.split("d"))
    return "gradient", key[3:]


@st.composite
def classes(draw: Any) -> tuple[list[dict[str, Any]], list[str], dict[str, float], bool]:
    """(problems, submission lines, each student's expected score, whether any line has
    an issue)."""
    roster = draw(st.lists(st.sampled_from(STUDENTS), unique=True, max_size=3))
    variants = {s: {"x": draw(st.sampled_from([0.5, 1.0, 1.5])),
                    "y": draw(st.sampled_from([-1.0, 0.25, 2.0]))} for s in roster}
    problems = [P1, P2, *({**P3, "id": "p3", "at": at, "student": s}
                          for s, at in variants.items())]
    key_of = {("p1", None): P1, ("p2", None): P2}
    expected: dict[tuple[str, str], list[float]] = {}  # (problem or student's p3, key)

    def answers_of(student: str, pid: str) -> dict[str, list[float]]:
        p = key_of.get((pid, None)) or {**P3, "at": variants[student]}
        points = [p["at"], *p.get("check_at", [])]
        return {k: sympy_answer(p["expr"], p["at"], k, points) for k in KEYS[pid]}

    for pid in ("p1", "p2"):
        for k, v in answers_of("", pid).items():
            expected[(pid, k)] = v
    lines: list[str] = []
    slots: dict[tuple[str, str, str], list[bool]] = {}  # (student, pid, key) -> correct?
    named: set[str] = set()
    issues = False
    for _ in range(draw(st.integers(1, 10))):
        student = draw(st.sampled_from(STUDENTS))
        pid = draw(st.sampled_from(["p1", "p2", "p3", "p9"]))
        hostile = draw(st.sampled_from(["", "", "", "not json", "student type", "no problem",
                                        "unknown key", "gradient list"]))
        if hostile == "not json":
            lines.append(draw(st.sampled_from(['{"student": "ada", "problem": ', "[", "nope",
                                               '{"student": "ada" "problem": "p1"}'])))
            issues = True
            continue
        line: dict[str, Any] = {"student": student, "problem": pid}
        flawed = False  # this line has an issue of its own (said again if it is repeated)
        if hostile == "student type":
            line["student"] = draw(st.sampled_from([5, None, ["ada"], ""]))
        if hostile == "no problem":
            del line["problem"]
        if hostile == "unknown key":
            line["gradiant"] = {"a": 1}
        valid_line = hostile not in ("student type", "no problem")
        if hostile != "student type":
            named.add(student)  # a line with a student makes them one of the class
        known = pid in ("p1", "p2") or (pid == "p3" and student in variants)
        flawed |= hostile in ("student type", "no problem", "unknown key") or (
            valid_line and not known)
        truth = answers_of(student, pid) if known else {}
        for k in draw(st.lists(st.sampled_from(KEYS.get(pid, KEYS["p1"])), unique=True)):
            want = truth.get(k, [1.0])[0]
            choice = draw(st.sampled_from(["right", "text", "expression", "close", "wrong",
                                           "near miss", "hostile"]))
            if k.endswith(" expr"):
                value: Any = draw(st.sampled_from(EXPRESSIONS + HOSTILE_ANSWERS[7:10]))
                correct = isinstance(value, str) and value in EXPRESSIONS and known and all(
                    is_close(float(sym(value).subs({S["x"]: p["x"], S["y"]: p["y"]})), w)
                    for p, w in zip([P2["at"], *P2["check_at"]], truth[k], strict=True))
            elif choice == "hostile":
                value, correct = draw(st.sampled_from(HOSTILE_ANSWERS)), False
                # an answer of the wrong JSON type: the line is not read whole
                flawed |= isinstance(value, (bool, list, dict)) and valid_line and known
            else:
                value = {"right": want, "text": repr(want), "expression": f"{want!r}*3/3",
                         "close": want * (1 + 1e-9), "wrong": want + 1 + abs(want) / 100,
                         "near miss": want + 1e-5 * (1 + abs(want))}[choice]
                correct = known and choice not in ("wrong", "near miss")
            if value == "" or value is None:
                continue  # no answer
            name, inner = group(k)
            if name == "value":
                line["value"] = value
            else:
                line.setdefault(name, {})[inner] = value
            if valid_line and known:
                slots.setdefault((student, pid, k), []).append(correct)
        if hostile == "gradient list" and "gradient" in line:
            for k in KEYS.get(pid, []):
                given = slots.get((student, pid, k))
                if group(k)[0] == "gradient" and valid_line and known and given and \
                        _answered(line, k):
                    given.pop()  # this line's answer is not read (another line's is)
            line["gradient"] = list(line["gradient"].values())
            flawed = True
        lines.append(json.dumps(line))
        issues |= flawed
        if draw(st.booleans()) and draw(st.booleans()):  # the same line once more
            lines.append(lines[-1])
            issues |= flawed  # its issues, once more
            if valid_line and known:
                for k in KEYS[pid]:
                    if _answered(line, k):
                        slots[(student, pid, k)].append(False)  # now answered twice
    scores: dict[str, float] = {}
    for s in sorted(named | set(roster)):
        total = 0.0
        for (st_, pid, k), given in slots.items():
            if st_ == s and len(given) == 1 and given[0]:
                total += POINTS[pid][k]
        scores[s] = total
    for (_s, _p, _k), given in slots.items():
        issues |= len(given) > 1
    return problems, lines, scores, issues


def _answered(line: dict[str, Any], key: str) -> list[str]:
    name, inner = group(key)
    container = line.get(name)
    if name == "value":
        return [key] if "value" in line else []
    return [key] if isinstance(container, dict) and inner in container else []


def max_score(student: str, problems: list[dict[str, Any]]) -> float:
    mine = {p["id"] for p in problems if p.get("student") in (None, student)}
    return sum(sum(POINTS[pid].values()) for pid in mine)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classes())
def test_every_well_formed_answer_scores_what_an_independent_computation_says(
        data: tuple[list[dict[str, Any]], list[str], dict[str, float], bool]) -> None:
    problems, lines, scores, issues = data
    report = grade(load_problems(json.dumps(problems)), lines)
    got = {s.student: s.score for s in report.students}
    assert got == pytest.approx(scores), (lines, [(s.student, [
        (a.problem, a.question.key, a.status, a.reason) for a in s.answers])
        for s in report.students])
    for s in report.students:
        assert s.max_score == max_score(s.student, problems)
    assert (not report.ok) == issues, report.issues


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classes())
def test_the_command_agrees_and_never_shows_a_traceback(
        tmp_path_factory: pytest.TempPathFactory,
        data: tuple[list[dict[str, Any]], list[str], dict[str, float], bool]) -> None:
    problems, lines, scores, issues = data
    tmp = tmp_path_factory.mktemp("class")
    (tmp / "problems.json").write_text(json.dumps(problems), "utf-8")
    (tmp / "answers.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    r = invoke("grade", str(tmp / "problems.json"), str(tmp / "answers.jsonl"),
               "--format", "json", "--out", str(tmp / "out"))
    assert r.exit_code == (1 if issues else 0), r.stderr
    assert "Traceback" not in r.output
    out = json.loads(r.stdout)
    assert {s["student"]: s["score"] for s in out["students"]} == pytest.approx(scores)
    summary = (tmp / "out" / "summary.csv").read_text("utf-8").splitlines()
    assert summary[0].startswith("student,score,max_score")
    assert len(summary) == len(scores) + 1


# -- examples -----------------------------------------------------------------------------

def _grade(problems: list[dict[str, Any]], lines: list[Any], **kw: Any) -> Any:
    text = [x if isinstance(x, str) else json.dumps(x) for x in lines]
    return grade(load_problems(json.dumps(problems)), text, **kw)


def _statuses(report: Any, student: str) -> dict[str, tuple[str, str]]:
    s = next(s for s in report.students if s.student == student)
    return {f"{a.problem} {a.question.key}": (a.status, a.reason) for a in s.answers}


def test_problems_in_todays_shape_ask_the_value_and_every_partial() -> None:
    problems = load_problems((GRADER / "problems.json").read_text("utf-8"))
    p1 = problems.ids["p1"]
    assert [(q.key, q.expected, q.points) for q in p1.questions] == [
        ("value", (15.0,), 1.0), ("d/da", (3.0,), 1.0), ("d/db", (8.0,), 1.0)]
    assert [q.key for q in problems.ids["p2"].questions] == ["value", "d/da"]
    assert problems.ids["p2"].output == "e"


@pytest.mark.parametrize("answer", [math.inf, -math.inf, math.nan, "Infinity", "1e400",
                                    "-inf", "nan", "exp(1000)"])
def test_a_non_finite_answer_is_never_correct(answer: Any) -> None:
    r = _grade([P1], [{"student": "ada", "problem": "p1", "value": answer}])
    status, reason = _statuses(r, "ada")["p1 value"]
    assert status == "invalid" and reason
    assert r.ok  # an answer that is not a number is the student's, not a broken line


def test_json_numbers_1e400_and_infinity_are_read_as_what_they_are() -> None:
    r = _grade([P1], ['{"student": "ada", "problem": "p1", "value": 1e400, '
                      '"gradient": {"a": Infinity, "b": NaN}}'])
    assert {k: v[0] for k, v in _statuses(r, "ada").items()} == {
        "p1 value": "invalid", "p1 d/da": "invalid", "p1 d/db": "invalid"}


def test_answers_as_constant_expressions() -> None:
    r = _grade([P1], [{"student": "ada", "problem": "p1", "value": "3*5",
                       "gradient": {"a": "sqrt(9)", "b": "2^3 + 1e-12"}}])
    assert r.students[0].score == 3


def test_each_line_stands_alone() -> None:
    r = _grade([P1], [
        {"student": "ada", "problem": "p1", "value": 15},
        "not json at all",
        {"problem": "p1", "value": 15},
        {"student": 7, "problem": "p1", "value": 15},
        {"student": "bob", "problem": "p9", "value": 15},
        {"student": "bob", "problem": "p1", "gradient": [3, 8]},
        {"student": "bob", "problem": "p1", "gradient": {"a": 3, "z": 1}},
        {"student": "cy", "problem": "p1", "value": 15, "valeu": 15},
        [1, 2, 3],
    ])
    assert {s.student: s.score for s in r.students} == {"ada": 1, "bob": 1, "cy": 1}
    assert [(i.line, i.message) for i in r.issues] == [
        (2, "not valid JSON: Expecting value"), (3, 'missing key "student"'),
        (4, '"student" must be a non-empty string'), (5, "unknown problem 'p9'"),
        (6, '"gradient" must be an object {name: answer}'),
        (7, "problem 'p1' does not ask d/dz"),
        (8, "unknown key 'valeu'; a line has student, problem, value, gradient, second, "
            "derivative"),
        (9, 'expected a JSON object {"student", "problem", ...}')]


def test_an_answer_given_twice_counts_for_nothing() -> None:
    r = _grade([P1], [
        {"student": "ada", "problem": "p1", "value": 15, "gradient": {"a": 3}},
        {"student": "ada", "problem": "p1", "value": 15},
        '{"student": "bob", "problem": "p1", "value": 15, "value": 15}',
        '{"student": "cy", "problem": "p1", "gradient": {"a": 3, "a": 3}, "value": 15}',
    ])
    assert {s.student: s.score for s in r.students} == {"ada": 1, "bob": 0, "cy": 1}
    assert _statuses(r, "ada")["p1 value"] == (
        "invalid", "answered more than once (lines 1 and 2): no answer counts")
    assert [i.line for i in r.issues] == [2, 3, 4]


def test_second_derivatives_and_expression_answers() -> None:
    r = _grade([P2], [{"student": "ada", "problem": "p2", "value": "4*sin(0.5)",
                       "second": {"x": "2*sin(0.5)", "y,x": "4*cos(0.5)"},
                       "derivative": {"x": "2*x*sin(y)"}},
                      {"student": "bob", "problem": "p2", "derivative": {"x": "2*x"},
                       "gradient": {"x": "4*sin(0.5)"}},
                      {"student": "cy", "problem": "p2", "derivative": {"x": "2*x*sin(z)"}},
                      {"student": "dan", "problem": "p2", "derivative": {"x": [1]}}])
    assert {s.student: s.score for s in r.students} == {"ada": 4.5, "bob": 1, "cy": 0,
                                                        "dan": 0}
    assert _statuses(r, "bob")["p2 d/dx expr"][0] == "wrong"
    assert "at x = 2, y = 0.5" in _statuses(r, "bob")["p2 d/dx expr"][1]
    assert _statuses(r, "cy")["p2 d/dx expr"] == (
        "invalid", "not an expression of x, y: z has no value")
    assert _statuses(r, "dan")["p2 d/dx expr"][0] == "invalid"


def test_per_student_variants() -> None:
    problems = [P1, {**P3, "id": "p3", "at": {"x": 1, "y": 0}, "student": "ada"},
                {**P3, "id": "p3", "at": {"x": 2, "y": 1}, "student": "bob"}]
    r = _grade(problems, [{"student": "ada", "problem": "p3", "value": 2,
                           "gradient": {"y": 1}},
                          {"student": "bob", "problem": "p3", "value": 2,
                           "gradient": {"y": "2*exp(2)"}},
                          {"student": "cy", "problem": "p3", "value": 2}])
    assert {s.student: (s.score, s.max_score) for s in r.students} == {
        "ada": (6, 9), "bob": (3, 9), "cy": (0, 3)}
    assert [i.message for i in r.issues] == ["problem 'p3' has no variant for student 'cy'"]
    only_variants = _grade([problems[1]], [{"student": "zed", "problem": "p3", "value": 2}])
    assert [s.student for s in only_variants.students] == ["ada"]  # on the roster, no line
    assert only_variants.issues[0].message == "unknown student 'zed'"


def test_csv_one_row_per_student_one_column_per_answer() -> None:
    lines = ["student,p1.value,p1.d/da,p1.d/db,p2.d2/dxdy,p2.d/dx expr,p2.d2/dydx,nonsense\n",
             "ada,15,3,8,4*cos(0.5),2*x*sin(y),,\n",
             "bob,15,,abc,,,1.75517\n",
             ",15,3,8\n",
             "cy,15,3,8,,,,,,extra\n",
             "ada,15\n",
             'dan,"15\n']
    r = _grade([P1, P2], lines, csv_format=True)
    assert {s.student: s.score for s in r.students} == {"ada": 4.5, "bob": 1, "cy": 3,
                                                        "dan": 1}  # a quote open at the end
    assert _statuses(r, "bob")["p1 d/db"][0] == "invalid"
    messages = [(i.line, i.message) for i in r.issues]
    assert messages[0][0] == 1 and "'nonsense'" in messages[0][1]
    assert (4, "no student named in this row") in messages
    assert any(line == 5 and "extra ones are not read" in m for line, m in messages)
    assert any(line == 6 and "answered more than once" in m for line, m in messages)


def test_a_csv_column_of_an_unknown_problem_is_said_once() -> None:
    r = _grade([P1], ["student,p1.value,p9.value,p9.d/dx\n", "ada,15,1,2\n", "bob,15,1,2\n"],
               csv_format=True)
    assert {s.student: s.score for s in r.students} == {"ada": 1, "bob": 1}
    assert [(i.line, i.message) for i in r.issues] == [
        (1, "unknown problem 'p9': its columns are not read")]


def test_csv_columns_may_name_problem_ids_with_dots() -> None:
    problems = [{**P1, "id": "hw1.q1"}]
    r = _grade(problems, ["student,hw1.q1.value\n", "ada,15\n"], csv_format=True)
    assert r.students[0].score == 1 and r.ok


def test_answer_names() -> None:
    variables = ("x", "y", "x2", "dx")
    assert parse_key("d2/dxdy", variables) == ("second", ("x", "y"))
    assert parse_key("d2/dydx", variables) == ("second", ("x", "y"))
    assert parse_key("d2/dx2", variables) == ("second", ("x", "x"))
    assert parse_key("d2/dx22", variables) == ("second", ("x2", "x2"))
    assert parse_key("d2/dxddx", variables) == ("second", ("x", "dx"))
    assert parse_key("d/dx expr", variables) == ("expression", ("x",))
    assert "not a variable" in str(parse_key("d/dz", variables))
    assert "not an answer name" in str(parse_key("grad", variables))


@pytest.mark.parametrize(("problems", "message"), [
    ("[", "is not valid JSON"), ("{}", "must be a JSON list"),
    ('[{"id": "p1", "expr": "x", "at": {"x": 1}, "ask": ["d/dz"]}]', "not a variable"),
    ('[{"id": "p1", "expr": "log(x)", "at": {"x": -1}}]', "log: outside the domain"),
    ('[{"id": "p1", "expr": "x", "at": {"x": 1}}, {"id": "p1", "expr": "x", "at": {"x": 1}}]',
     "used twice"),
    ('[{"id": "p1", "expr": "x", "at": {"x": 1}, "rtol": -1}]', "\"rtol\" must be"),
    ('[{"id": "p1", "expr": "x", "at": {"x": 1}, "points": {"d/dy": 2}}]', "not asked"),
    ('[{"id": "p1", "expr": "sum(X)", "at": {"X": "[1, 2]"}}]', "array"),
])
def test_a_wrong_problem_is_a_usage_error(problems: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_problems(problems)


def test_the_command_on_the_example(tmp_path: Path) -> None:
    r = invoke("grade", str(GRADER / "problems.json"), str(GRADER / "submissions.jsonl"),
               "--out", str(tmp_path))
    assert r.exit_code == 1  # the example's broken lines
    assert r.stdout.splitlines()[:5] == [
        "student  score  max   p1   p2   p3   p4", "ada         14   14  3/3  2/2  4/4  5/5",
        "bob          7   14  1/3  1/2  3/4  2/5", "cy           7   14  3/3  1/2  3/4  0/5",
        "dan          0   14  0/3  0/2  0/4  0/5"]
    assert "most common wrong answers" in r.stdout and "7 (1x)" in r.stdout
    assert r.stderr.splitlines()[0].endswith('line 12: "gradient" must be an object '
                                             "{name: answer}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "ada.json", "bob.json", "cy.json", "dan.json", "issues.csv", "summary.csv"]
    bob = json.loads((tmp_path / "bob.json").read_text("utf-8"))
    assert (bob["score"], bob["max_score"]) == (7.0, 14.0)
    failed = {t["name"]: t["output"] for t in bob["tests"] if t["status"] == "failed"}
    assert failed["p1 ∂f/∂b"] == "wrong: expected 8, given 7"
    assert failed["p3 ∂f/∂b"] == "missing: no answer; expected 0.25"
    summary = (tmp_path / "summary.csv").read_text("utf-8").splitlines()
    assert summary[1] == "ada,14,14,1,1,1,1,1,1,1,1,1,1,1,1,2"
    csv_run = invoke("grade", str(GRADER / "problems.json"), str(GRADER / "submissions.csv"),
                     "--format", "csv")
    assert csv_run.exit_code == 0 and csv_run.stdout.splitlines()[1].startswith("eve,8,14,")


def test_json_format() -> None:
    r = invoke("grade", str(GRADER / "problems.json"), str(GRADER / "submissions.jsonl"),
               "--format", "json")
    data = json.loads(r.stdout)
    ada = data["students"][0]
    assert (ada["student"], ada["score"], ada["max_score"]) == ("ada", 14.0, 14.0)
    assert ada["answers"][0] == {"problem": "p1", "answer": "value", "status": "correct",
                                 "score": 1.0, "max_score": 1.0, "expected": 15.0,
                                 "given": 15.0, "reason": "", "line": 1}
    assert data["issues"][0] == {"line": 12, "message": '"gradient" must be an object '
                                 "{name: answer}"}
    assert data["ok"] is False


def test_student_names_never_become_paths(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text(json.dumps([P1]), "utf-8")
    names = ["../../evil", "/etc/passwd", "CON", "a b", "A b", ".hidden", "ünï", "\x1b[31mred"]
    (tmp_path / "s.jsonl").write_text("".join(
        json.dumps({"student": n, "problem": "p1", "value": 15}) + "\n" for n in names),
        "utf-8")
    out = tmp_path / "out"
    r = invoke("grade", str(tmp_path / "p.json"), str(tmp_path / "s.jsonl"), "--out", str(out))
    assert r.exit_code == 0, r.stderr
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == len(names) + 1 and all("/" not in f for f in files)
    assert sorted(tmp_path.iterdir()) == [out, tmp_path / "p.json", tmp_path / "s.jsonl"]
    assert "\x1b" not in r.stdout and "?[31mred" in r.stdout
    assert "\x1b" not in (out / "summary.csv").read_text("utf-8")


@pytest.mark.parametrize("args", [
    ["missing.json", "s.jsonl"], ["p.json", "missing.jsonl"], ["p.json", "s.jsonl",
                                                               "--budget", "0"],
    ["p.json", "s.jsonl", "--budget", "nan"], ["p.json", "s.jsonl", "--format", "xml"],
    ["bad.json", "s.jsonl"],
])
def test_usage_errors_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             args: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("p.json").write_text(json.dumps([P1]), "utf-8")
    Path("bad.json").write_text('[{"id": "p1", "expr": "2x +* 3", "at": {"x": 1}}]', "utf-8")
    Path("s.jsonl").write_text("", "utf-8")
    r = invoke("grade", *args)
    assert r.exit_code == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.output


@settings(max_examples=30, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=80), st.binary(max_size=40).map(
    lambda b: b.decode("latin-1"))), max_size=8))
def test_random_text_is_never_a_traceback(tmp_path_factory: pytest.TempPathFactory,
                                          lines: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("random")
    (tmp / "p.json").write_text(json.dumps([P1, P2]), "utf-8")
    for name in ("s.jsonl", "s.csv"):
        (tmp / name).write_text("student,p1.value\n" * (name == "s.csv") + "\n".join(lines),
                                "utf-8", errors="surrogatepass")
        r = invoke("grade", str(tmp / "p.json"), str(tmp / name), "--format", "json")
        assert r.exit_code in (0, 1) and "Traceback" not in r.output, r.output
        json.loads(r.stdout)


# -- untrusted input reads nothing and works within a budget -------------------------------

def test_batch_lines_never_read_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("hunter2secret\n1,2\n", "utf-8")
    lines = [json.dumps({"id": 1, "expr": "sum(X)", "at": f"X={secret}"}),
             json.dumps({"id": 2, "expr": "x", "at": {"x": str(secret)}})]
    out = list(run(lines))
    assert all("error" in r for r in out)
    assert "file names are not read" in out[0]["error"]["message"]
    assert "hunter2secret" not in json.dumps(out)
    r = _grade([P1], [{"student": "ada", "problem": "p1", "value": str(secret)}])
    assert _statuses(r, "ada")["p1 value"][0] == "invalid"
    assert "hunter2secret" not in json.dumps(_statuses(r, "ada"))


def test_batch_values_are_numbers_not_arrays() -> None:
    out = list(run([json.dumps({"id": 1, "expr": "sum(X)", "at": "X=[[1,2],[3,4]]"}),
                    json.dumps({"id": 2, "expr": "sum(X)", "at": {"X": "[[1,2],[3,4]]"}})]))
    assert [r["error"]["kind"] for r in out] == ["input", "input"]
    assert all("not an array" in r["error"]["message"] for r in out)


def test_a_line_over_the_work_budget_is_that_lines_error() -> None:
    heavy = "sum(randn(2200,2200) @ randn(2200,2200))"
    start = time.perf_counter()
    out = list(run([json.dumps({"id": 1, "expr": f"x + {heavy} + {heavy} + {heavy}",
                                "at": {"x": 1}})]))  # about 3 s: over the default 1 s
    out += list(run([json.dumps({"id": 2, "expr": "x", "at": f"x={heavy},y=1"}),
                     json.dumps({"id": 3, "expr": "x*2", "at": {"x": 1}})], budget=0.5))
    assert time.perf_counter() - start < 1.5  # refused before anything ran
    assert "over the work budget" in out[0]["error"]["message"]
    assert out[0]["error"]["kind"] == "limit"
    assert "over the work budget" in out[1]["error"]["message"]
    assert out[2]["gradient"] == {"x": 2.0}
    r = _grade([P1], [{"student": "ada", "problem": "p1", "value": f"{heavy}*0 + 15",
                       "gradient": {"a": "3"}}], budget=0.01)
    assert _statuses(r, "ada")["p1 value"][0] == "invalid"
    assert "over the work budget" in _statuses(r, "ada")["p1 value"][1]
    assert r.students[0].score == 1


def test_budget_options() -> None:
    line = json.dumps({"id": 1, "expr": "sum(randn(300, 300))"}) + "\n"
    r = invoke("grad", "--batch", "-", "--budget", "1e-6", input=line)
    assert r.exit_code == 1 and "over the work budget" in r.stdout
    assert invoke("grad", "--batch", "-", "--budget", "10", input=line).exit_code == 0
    assert invoke("grad", "x", "--at", "x=1", "--budget", "3").exit_code == 2


def test_the_estimate_counts_what_costs() -> None:
    # randn(r, c) with r computed, a matrix product, a sum: nothing evaluated but scalars
    w = estimate(["const", "const", "mul", "randn", "randn", "matmul", "sum"],
                 [(), (), (0, 1), (2, 1), (1, 1), (3, 4), (5,)],
                 [10.0, 20.0, None, None, None, None, None])
    assert (w.random, w.flops, w.entries) == (200 * 20 + 20 * 20, 200 * 20 * 20, 200 * 20)
    scalar = estimate(["var", "const", "add"], [(), (), (0, 1)], [1.0, 2.0, None], [0])
    assert scalar == Work(nodes=9)
    budget = Budget(1.0)
    budget.spend(Work(flops=10**10))  # 0.4 s
    with pytest.raises(UsageError, match="over the work budget"):
        budget.spend(Work(flops=2 * 10**10))
