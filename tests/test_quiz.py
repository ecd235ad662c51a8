"""autodiff quiz: every key answer recomputed without our engine (dual numbers in plain
Python over Python's own parse of the program, and SymPy for some), the variants, the
bytes, the roster, the templates, and the sheets in Markdown and LaTeX."""

from __future__ import annotations

import ast
import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sympy as sp
from conftest import CODE_ROOT, REPO
from typer.testing import CliRunner

from autodiff_cli import quiz as qz
from autodiff_cli.cli import app
from autodiff_cli.render.quiz import markdown, quiz_files, tex
from autodiff_cli.render.trace import chain_text
from autodiff_cli.trace import trace

runner = CliRunner()
EXAMPLES = REPO / "examples" / "quiz"


# -- an evaluator of our own: dual numbers over Python's ast ----------------------------------

class Dual:
    """a + b ε, ε² = 0: the value and one directional derivative."""

    def __init__(self, a: float, b: float = 0.0) -> None:
        self.a, self.b = a, b

    def __add__(self, o: Any) -> Dual:
        o = lift(o)
        return Dual(self.a + o.a, self.b + o.b)

    def __sub__(self, o: Any) -> Dual:
        o = lift(o)
        return Dual(self.a - o.a, self.b - o.b)

    def __mul__(self, o: Any) -> Dual:
        o = lift(o)
        return Dual(self.a * o.a, self.a * o.b + self.b * o.a)

    def __truediv__(self, o: Any) -> Dual:
        o = lift(o)
        return Dual(self.a / o.a, (self.b * o.a - self.a * o.b) / (o.a * o.a))

    def __pow__(self, o: Any) -> Dual:
        o = lift(o)
        assert o.b == 0 and o.a == int(o.a), "quiz raises only to whole constant powers"
        n = int(o.a)
        return Dual(self.a ** n, n * self.a ** (n - 1) * self.b)

    def __neg__(self) -> Dual:
        return Dual(-self.a, -self.b)


def lift(x: Any) -> Dual:
    return x if isinstance(x, Dual) else Dual(float(x))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


KINKS: list[float] = []  # arguments of step and relu seen, to check how far from 0 they are

FUNCTIONS: dict[str, Callable[[Dual], Dual]] = {
    "exp": lambda x: Dual(math.exp(x.a), math.exp(x.a) * x.b),
    "log": lambda x: Dual(math.log(x.a), x.b / x.a),
    "sin": lambda x: Dual(math.sin(x.a), math.cos(x.a) * x.b),
    "cos": lambda x: Dual(math.cos(x.a), -math.sin(x.a) * x.b),
    "tanh": lambda x: Dual(math.tanh(x.a), (1 - math.tanh(x.a) ** 2) * x.b),
    "sigmoid": lambda x: Dual(_sigmoid(x.a), _sigmoid(x.a) * (1 - _sigmoid(x.a)) * x.b),
    "sqrt": lambda x: Dual(math.sqrt(x.a), x.b / (2 * math.sqrt(x.a))),
    "step": lambda x: (KINKS.append(x.a), Dual(float(x.a > 0)))[1],
    "relu": lambda x: (KINKS.append(x.a), Dual(max(x.a, 0.0), x.b if x.a > 0 else 0.0))[1],
}
OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda x, y: x + y, ast.Sub: lambda x, y: x - y, ast.Mult: lambda x, y: x * y,
    ast.Div: lambda x, y: x / y, ast.Pow: lambda x, y: x ** y}


def statements(source: str) -> list[tuple[str, ast.expr]]:
    out = []
    for line in source.replace(";", "\n").split("\n"):
        if not line.strip():
            continue
        name, _, text = line.partition("=") if "=" in line else ("", "", line)
        out.append((name.strip(), ast.parse(text.replace("^", "**").strip(), mode="eval").body))
    return out


def run(source: str, at: dict[str, float], wrt: str | None) -> Dual:
    env: dict[str, Dual] = {n: Dual(v, 1.0 if n == wrt else 0.0) for n, v in at.items()}
    out = Dual(0.0)

    def value(node: ast.expr) -> Dual:
        if isinstance(node, ast.Constant):
            return Dual(float(node.value))
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            return lift(OPS[type(node.op)](value(node.left), value(node.right)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return FUNCTIONS[node.func.id](value(node.args[0]))
        raise AssertionError(f"quiz wrote {ast.dump(node)}")

    for name, expr in statements(source):
        out = value(expr)
        if name:
            env[name] = out
    return out


def recompute(problem: dict[str, Any]) -> dict[str, float]:
    """Every asked answer by dual numbers, one pass per partial."""
    out = {}
    for a in problem["ask"]:
        if a == "value":
            out[a] = run(problem["expr"], problem["at"], None).a
        else:
            assert a.startswith("d/d"), a
            out[a] = run(problem["expr"], problem["at"], a[3:]).b
    return out


def keyed(line: dict[str, Any]) -> dict[str, float]:
    """A SUBMISSIONS line's answers by answer name."""
    out = {"value": line["value"]} if "value" in line else {}
    out.update({f"d/d{n}": x for n, x in line.get("gradient", {}).items()})
    return out


def close(a: float, b: float, rtol: float = 1e-9, atol: float = 1e-9) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


# -- SymPy, for a few: the same programs as SymPy expressions ---------------------------------

SP_FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh,
    "sqrt": sp.sqrt, "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
    "step": lambda x: sp.Heaviside(x, 0), "relu": lambda x: sp.Max(x, 0)}


def sympy_of(source: str, names: list[str]) -> Any:
    env: dict[str, Any] = {n: sp.Symbol(n) for n in names}

    def value(node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            return sp.Rational(str(node.value))
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.UnaryOp):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            return OPS[type(node.op)](value(node.left), value(node.right))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        return SP_FUNCTIONS[node.func.id](value(node.args[0]))

    out = None
    for name, expr in statements(source):
        out = value(expr)
        if name:
            env[name] = out
    return out


def sympy_answers(problem: dict[str, Any]) -> dict[str, float]:
    names = list(problem["at"])
    f = sympy_of(problem["expr"], names)
    point = {sp.Symbol(n): sp.Rational(str(v)) for n, v in problem["at"].items()}
    out = {}
    for a in problem["ask"]:
        if a == "value":
            g = f
        elif a.startswith("d2/"):
            x, y = qz._second(a, names)
            g = sp.diff(f, sp.Symbol(x), sp.Symbol(y))
        else:
            g = sp.diff(f, sp.Symbol(a[3:]))
        out[a] = float(g.evalf(20, subs=point))
    return out


# -- the class of 30 at each difficulty -------------------------------------------------------

CLASS = qz.count_names(32)


@pytest.fixture(scope="module", params=[1, 2, 3])
def klass(request: pytest.FixtureRequest) -> qz.Quiz:
    return qz.make_quiz(CLASS, seed=2026, difficulty=request.param)


def test_every_key_answer_recomputed_without_the_engine(klass: qz.Quiz) -> None:
    problems = {(p["student"], p["id"]): p for p in klass.problems()}
    key = klass.key()
    assert len(key) == len(problems) and len(CLASS) * 5 <= len(key)
    for line in key:
        p = problems[(line["student"], line["problem"])]
        given, expected = keyed(line), recompute(p)
        assert list(given) == list(expected) == p["ask"]
        for a, x in expected.items():
            assert close(given[a], x), (p, a, given[a], x)


def test_some_key_answers_by_sympy(klass: qz.Quiz) -> None:
    key = {(k["student"], k["problem"]): keyed(k) for k in klass.key()}
    for p in klass.problems():
        if p["student"] != CLASS[0]:
            continue
        for a, x in sympy_answers(p).items():
            assert close(key[(p["student"], p["id"])][a], x, 1e-9, 1e-12), (p, a)


def test_intermediates_are_the_trace_of_the_whole_program(klass: qz.Quiz) -> None:
    """q2.c's value and q2.c.grad's d/dc (other programs) are c's value and gradient in the
    trace of q2's program, as its worked solution shows them."""
    for sheet in klass.sheets:
        ex = next(e for e in sheet.exercises if e.kind == "trace")
        (_, r), = ex.traces
        nodes = {n.name: n for n in r.nodes}
        asked = [p for p in ex.parts if p.id != ex.id]
        assert asked, ex.source
        for p in asked:
            name = p.id.split(".")[1]
            if p.id.endswith(".grad"):
                assert close(p.answers[f"d/d{name}"], nodes[name].grad, 1e-12, 1e-12)
            else:
                assert close(p.answers["value"], nodes[name].value, 1e-12, 1e-12)


def _count(r: Any) -> int:
    return sum(n.op != "const" for n in r.nodes)


def test_difficulty_shapes_the_exercises(klass: qz.Quiz) -> None:
    d = klass.difficulty
    lo, hi = qz.NODES[d]
    for sheet in klass.sheets:
        for ex in sheet.exercises:
            for _, r in ex.traces:
                for n in r.nodes:
                    x = [r.nodes[a].value for a in n.inputs]
                    assert not (n.op in ("relu", "step", "abs") and abs(x[0]) < qz.EDGE)
                    assert not (n.op in ("log", "sqrt") and x[0] < qz.EDGE)
                    assert not (n.op == "div" and abs(x[1]) < qz.EDGE)
            if ex.kind in ("graph", "trace"):
                (_, r), = ex.traces
                assert lo <= _count(r) <= hi, ex.source
                if d == 3:
                    uses = [sum(i in n.inputs for n in r.nodes) for i in range(len(r.nodes))]
                    assert any(u > 1 and r.nodes[i].op not in ("var", "const")
                               for i, u in enumerate(uses)), ex.source
            if d == 1:
                for p in ex.parts:
                    assert all(qz.short(x) for x in p.answers.values()), (ex.source, p)
                    assert all(float(v).is_integer() for v in p.at.values()), p.at
    assert not any(abs(k) < qz.EDGE for k in KINKS)


def test_difficulty_1_looks_like_the_lecture() -> None:
    q = qz.make_quiz(CLASS, seed=5, difficulty=1)
    kinds = [ex.kind for ex in q.sheets[0].exercises]
    assert kinds == list(qz.KINDS)
    for sheet in q.sheets:
        perceptron = next(e for e in sheet.exercises if e.kind == "perceptron")
        assert perceptron.gate in qz.GATES.values()
        assert sorted(p.answers["value"] for p in perceptron.parts) != [0.0] * 4
        functions = {n.op for _, r in sheet.exercises[0].traces for n in r.nodes}
        assert functions <= {"var", "const", "add", "sub", "mul"}


def test_variants_differ_between_students(klass: qz.Quiz) -> None:
    whole = {json.dumps([(e.source, e.at) for e in s.exercises]) for s in klass.sheets}
    assert len(whole) == len(klass.sheets)
    for k in range(len(qz.KINDS)):
        variants = {json.dumps((s.exercises[k].source, s.exercises[k].at))
                    for s in klass.sheets}
        assert len(variants) >= len(klass.sheets) * 3 // 4, qz.KINDS[k]
    if klass.difficulty > 1:  # structure too, not only numbers
        shapes = {s.exercises[0].source.translate(str.maketrans("", "", "0123456789."))
                  for s in klass.sheets}
        assert len(shapes) >= len(klass.sheets) // 2


def test_every_student_has_as_many_answers_to_give(klass: qz.Quiz) -> None:
    """Variants differ in numbers and structure, not in size: the same problems, answers
    and points for everyone."""
    sizes = {tuple((len(ex.parts), sum(len(p.ask) for p in ex.parts),
                    sum(sum(p.points.values()) for p in ex.parts)) for ex in sheet.exercises)
             for sheet in klass.sheets}
    assert len(sizes) == 1
    ids = {tuple((p["id"], len(p["ask"])) for p in problems)
           for problems in _per_student(klass).values()}
    assert len(ids) == 1


# -- the roster, the seed, the bytes ----------------------------------------------------------

def _per_student(q: qz.Quiz) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in q.problems():
        out.setdefault(p["student"], []).append(p)
    return out


def test_a_variant_does_not_change_when_the_roster_is_reordered_or_extended() -> None:
    names = ["ada", "alan", "grace", "emmy", "kurt"]
    first = qz.make_quiz(names, seed=3, difficulty=2)
    again = qz.make_quiz(["zoe", *names[::-1], "yuri"], seed=3, difficulty=2)
    a, b = _per_student(first), _per_student(again)
    assert all(a[n] == b[n] for n in names)
    files_a, files_b = dict(quiz_files(first)), dict(quiz_files(again))
    for n in names:
        for path in (f"sheets/{n}.md", f"solutions/{n}.tex"):
            assert files_a[path] == files_b[path]
    assert a["ada"] != _per_student(qz.make_quiz(names, seed=4, difficulty=2))["ada"]


def test_student_rng_is_sha256_of_seed_and_name() -> None:
    x = qz.student_rng(1, "ada", 1, "graph", 1).random()
    assert x == qz.student_rng(1, "ada", 1, "graph", 1).random()
    assert x != qz.student_rng(1, "adb", 1, "graph", 1).random()
    code = f"import sys; sys.path.insert(0, {str(CODE_ROOT)!r}); from autodiff_cli import " \
        "quiz; print(repr(quiz.student_rng(1, 'ada', 1, 'graph', 1).random()))"
    for hashseed in ("1", "2"):  # hash() would differ between these
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "PYTHONHASHSEED": hashseed}, check=True)
        assert out.stdout.strip() == repr(x)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def test_the_same_command_writes_the_same_bytes(tmp_path: Path) -> None:
    args = ["quiz", "--students", str(EXAMPLES / "roster.csv"), "--seed", "11",
            "--difficulty", "3", "--template", str(EXAMPLES / "template.json"),
            "--kinds", "graph,trace,neuron,perceptron,step"]
    for k in (1, 2):
        r = runner.invoke(app, [*args, "--out", str(tmp_path / str(k))])
        assert r.exit_code == 0, r.output
    one, two = _tree(tmp_path / "1"), _tree(tmp_path / "2")
    assert one == two
    assert set(one) == {"problems.json", "key.jsonl"} | {
        f"{d}/{n}.{x}" for d in ("sheets", "solutions")
        for n in ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "Emmy_Noether")
        for x in ("md", "tex")}
    assert "4 students, 6 exercises each" in r.output


def test_the_same_bytes_in_another_process(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "autodiff_cli.cli", "quiz", "--count", "3", "--seed", "9",
           "--difficulty", "2"]
    env = {**os.environ, "PYTHONPATH": str(CODE_ROOT), "PYTHONHASHSEED": "random"}
    for k in (1, 2):
        subprocess.run([*cmd, "--out", str(tmp_path / str(k))], check=True, env=env,
                       capture_output=True)
    assert _tree(tmp_path / "1") == _tree(tmp_path / "2")
    assert _tree(tmp_path / "1") == {
        k: v.encode() for k, v in quiz_files(qz.make_quiz(qz.count_names(3), seed=9,
                                                         difficulty=2))}


@pytest.mark.parametrize(("text", "names"), [
    ("student\nada\nalan\n", ["ada", "alan"]),
    ("Name,score\n Ada  Lovelace ,3\n\nAlan,\n", ["Ada Lovelace", "Alan"]),
    ("\ufeffStudent,ID,SIS User ID\n    Points Possible,,\n\"Hopper, Grace\",1,2\n",
     ["Hopper, Grace"]),  # a Canvas export
    ("First name,Surname\nEmmy,Noether\n", ["Emmy"]),  # Moodle's
    ("ada\nalan\n", ["ada", "alan"]),  # no header
])
def test_roster(text: str, names: list[str]) -> None:
    assert qz.read_roster(text) == names


@pytest.mark.parametrize(("text", "words"), [
    ("student\nada\nada\n", "twice"), ("student\n\n", "no students")])
def test_roster_refused(text: str, words: str) -> None:
    with pytest.raises(qz.UsageError, match=words):
        qz.read_roster(text)


def test_count_names_and_file_names() -> None:
    assert qz.count_names(3) == ["s01", "s02", "s03"]
    assert qz.count_names(100)[-1] == "s100" and qz.count_names(100)[0] == "s001"
    assert qz.file_names(["Zoë Čapek", "Łukasz", "李雷", "../x", "Ada", "ada"]) == \
        ["Zoe_Capek", "Lukasz", "student", "x", "Ada", "ada-2"]


# -- templates --------------------------------------------------------------------------------

def test_the_example_template() -> None:
    t = qz.load_template((EXAMPLES / "template.json").read_text(), "template.json")
    q = qz.make_quiz(CLASS, seed=1, templates=[t])
    first = {p["student"]: p for p in q.problems() if p["id"] == "q1"}
    for sheet in q.sheets:
        (ex,) = sheet.exercises
        assert [p.id for p in ex.parts] == ["q1", "q1.b", "q1.b.grad", "q1.c", "q1.c.grad",
                                            "q1.d", "q1.d.grad"]
        assert ex.parts[0].points == {"value": 1.0, "d/da": 2.0}
        k = float(ex.source.split("*")[0].split("= ")[1])
        assert 2 <= k <= 5 and ex.at["a"] in (-3, -2, -1, 1, 2, 3, 4)
        assert close(ex.parts[0].answers["d/da"], recompute(first[sheet.student])["d/da"])
    assert len({sheet.exercises[0].source for sheet in q.sheets}) > 10
    retitled = qz.make_quiz(CLASS, seed=1, templates=[replace(t, title="Backward mode")])
    assert [e.source for s in retitled.sheets for e in s.exercises] == \
        [e.source for s in q.sheets for e in s.exercises]


def test_a_template_worked_as_the_lecture_shows_it(tmp_path: Path) -> None:
    t = qz.load_template(json.dumps({
        "title": "Lecture", "program": "b = {k}*a; c = b + 3; d = a + 2; e = c*d",
        "numbers": {"k": 4}, "at": {"a": 3}, "intermediates": True}), "t")
    q = qz.make_quiz(["ada"], templates=[t])
    ex = q.sheets[0].exercises[0]
    assert [(p.id, p.answers) for p in ex.parts] == [
        ("q1", {"value": 75.0, "d/da": 35.0}), ("q1.b", {"value": 12.0}),
        ("q1.b.grad", {"d/db": 5.0}), ("q1.c", {"value": 15.0}),
        ("q1.c.grad", {"d/dc": 5.0}), ("q1.d", {"value": 5.0}), ("q1.d.grad", {"d/dd": 15.0})]
    files = dict(quiz_files(q))
    solution = files["solutions/ada.md"]
    r = trace("b = 4*a; c = b + 3; d = a + 2; e = c*d", {"a": 3})
    for c in r.sums:
        assert f"`{chain_text(r, c)}`" in solution
    assert "`∂e/∂a = 20 + 15 = 35`" in solution
    assert "`5 * 4 = 20`" in solution
    sheet = files["sheets/ada.md"]
    assert "35" not in sheet and "| ∂e/∂c | `q1.c.grad d/dc` |  |" in sheet


def test_a_template_asks_second_derivatives() -> None:
    t = qz.load_template(json.dumps({
        "program": "x^3*y + {k}*y^2", "numbers": {"k": [1, 3]},
        "at": {"x": [1, 2], "y": {"choose": [-1, 0.5]}},
        "ask": ["value", "d/dx", "d2/dx2", "d2/dydx"], "rtol": 1e-4, "atol": 0}), "t")
    q = qz.make_quiz(qz.count_names(5), seed=2, templates=[t])
    assert list(q.sheets[0].exercises[0].parts[0].labels.values()) == [
        "f", "∂f/∂x", "∂²f/∂x²", "∂²f/∂x∂y"]
    for p, line in zip(q.problems(), q.key(), strict=True):
        got = {"value": line["value"], "d/dx": line["gradient"]["x"],
               "d2/dx2": line["second"]["x"], "d2/dydx": line["second"]["x,y"]}
        assert p["rtol"] == 1e-4
        for a, x in sympy_answers(p).items():
            assert close(got[a], x), (p, a)


@pytest.mark.parametrize(("template", "words"), [
    ({"program": "x*{k}", "at": {"x": 1}}, r"\{k\} has no range"),
    ({"program": "x", "numbers": {"k": 1}}, "does not use"),
    ({"program": "x", "at": {"x": [1.5, 2]}}, "two integers"),
    ({"program": "x", "at": {"x": {"min": 0, "max": 1, "step": 0}}}, "step"),
    ({"program": "x", "at": {"x": {"min": 0, "max": 0, "exclude": [0]}}}, "excluded"),
    ({"program": "x", "at": {"x": 1}, "ask": ["d/dx expr"]}, "cannot give"),
    ({"program": "x", "at": {"x": 1}, "eval": "1"}, "unknown key 'eval'"),
    ({"at": {"x": 1}}, "program"),
    ({"program": "x", "at": {"x": 1}, "ask": ["d/dy"]}, "'y' is not a variable of the problem"),
    ({"program": "x*y", "at": {"x": 1, "y": 2}, "ask": ["d2/dxdz"]}, "no second derivative"),
    ({"program": "x", "at": {"x": 1}, "points": {"d/dy": 2}}, "'d/dy', which is not asked"),
])
def test_bad_templates(template: dict[str, Any], words: str) -> None:
    with pytest.raises(qz.UsageError, match=words):
        qz.load_template(json.dumps(template), "t.json")


@pytest.mark.parametrize(("program", "words"), [
    ("x +* 2", "q1 .*unexpected"), ("[1, 2]*x", "makes an array"), ("x + y", "y has no value")])
def test_a_template_that_cannot_be_an_exercise_says_so_at_once(program: str, words: str
                                                                ) -> None:
    t = qz.load_template(json.dumps({"program": program, "at": {"x": [1, 3]}}), "t")
    with pytest.raises(qz.UsageError, match=words):
        qz.make_quiz(["ada"], templates=[t])


def test_a_template_that_never_evaluates_says_why() -> None:
    t = qz.load_template(json.dumps({"program": "log(x)", "at": {"x": [-3, 0]}}), "t")
    with pytest.raises(qz.UsageError, match=r"no variant.*domain"):
        qz.make_quiz(["ada"], templates=[t])


# -- the files --------------------------------------------------------------------------------

def test_problems_and_key_are_grades_formats(tmp_path: Path) -> None:
    q = qz.make_quiz(["ada", "alan"], seed=1, difficulty=2)
    files = dict(quiz_files(q))
    problems = json.loads(files["problems.json"])
    assert problems == q.problems()
    assert {tuple(p) for p in problems} >= {
        ("id", "student", "title", "expr", "at", "ask", "rtol", "atol")}
    ids = [p["id"] for p in problems if p["student"] == "ada"]
    assert ids[0] == "q1" and "q4.01" in ids and "q5.step" in ids and "q2.d.grad" in ids
    key = [json.loads(line) for line in files["key.jsonl"].splitlines()]
    assert key == q.key() and {tuple(k) for k in key} <= {
        ("student", "problem", "value"), ("student", "problem", "gradient"),
        ("student", "problem", "value", "gradient")}


def test_one_step_is_w_minus_lr_times_the_gradient(klass: qz.Quiz) -> None:
    for sheet in klass.sheets:
        ex = next(e for e in sheet.exercises if e.kind == "step")
        grads = ex.parts[0].answers
        for w, before, g, after in ex.updates:
            assert g == grads[f"d/d{w}"]
            assert close(after, before - ex.lr * g, 1e-12, 1e-12)


def test_sheets_hide_the_answers_and_solutions_show_the_passes() -> None:
    q = qz.make_quiz(["ada"], seed=1, difficulty=1)
    files = dict(quiz_files(q))
    sheet, solution = files["sheets/ada.md"], files["solutions/ada.md"]
    for ex in q.sheets[0].exercises:
        assert f"({ex.id})" in sheet and ex.source in sheet
    assert "### backward pass" not in sheet and "### backward pass" in solution
    assert "### chain rule" in solution
    assert '{"student": "ada", "problem": "q1", "value": null' in sheet
    assert "The outputs make the gate" in solution and "after the step" in solution


def test_latex_escapes() -> None:
    assert tex("a_1 & 50% #2 {x} $ ~ ^ \\ <> |") == (
        r"a\_1 \& 50\% \#2 \{x\} \$ \textasciitilde{} \textasciicircum{} \textbackslash{} "
        r"\textless{}\textgreater{} \textbar{}")
    assert tex("∂e/∂c ← θ Ω Ж é") == (r"\ensuremath{\partial}e/\ensuremath{\partial}c "
                                      r"\ensuremath{\leftarrow} \ensuremath{\theta} "
                                      r"\ensuremath{\Omega} ? é")
    assert tex("x `a_b` y") == r"x \texttt{a\_b} y"


def test_markdown_escapes() -> None:
    text = markdown([("p", "a*b_c | `x*y|z`"), ("code", "```x")])
    assert text == "a\\*b\\_c \\| `x*y\\|z`\n\n````text\n```x\n````\n"


def _pdflatex() -> str | None:
    found = shutil.which("pdflatex")
    if found is None and os.environ.get("CI") == "true":
        pytest.fail("CI must compile the LaTeX sheets: .ci/run installs texlive-latex-base")
    return found


@pytest.mark.slow
def test_the_latex_compiles(tmp_path: Path) -> None:
    pdflatex = _pdflatex()
    if pdflatex is None:
        pytest.skip("no pdflatex (apt-get install texlive-latex-base); CI installs it")
    names = ["Zoë Čapek", "O'Brien & Co_#1 {x}$ 100%", "李雷 θ"]
    for d in (1, 3):
        t = qz.load_template((EXAMPLES / "template.json").read_text(), "t")
        q = qz.make_quiz(names, seed=d, difficulty=d, kinds=list(qz.KINDS), templates=[t])
        for path, text in quiz_files(q):
            if not path.endswith(".tex"):
                continue
            target = tmp_path / f"d{d}" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error",
                                target.name], cwd=target.parent, capture_output=True,
                               text=True, timeout=120)
            assert r.returncode == 0, (path, r.stdout[-2000:])
            assert target.with_suffix(".pdf").stat().st_size > 1000


# -- the command line -------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "words"), [
    (["--count", "2", "--students", "x.csv"], "either --students"),
    ([], "either --students"),
    (["--count", "2", "--kinds", "graph,quiz"], "unknown kind 'quiz'"),
    (["--count", "0"], "--count must be"),
    (["--count", "2", "--difficulty", "4"], "--difficulty must be 1, 2 or 3, got 4"),
    (["--students", "no-such-roster.csv"], "cannot read"),
    (["--count", "1", "--template", "no-such.json"], "cannot read"),
])
def test_cli_usage_errors(tmp_path: Path, args: list[str], words: str) -> None:
    r = runner.invoke(app, ["quiz", *args, "--out", str(tmp_path / "q")])
    assert r.exit_code == 2, r.output
    assert words in r.output
    assert "Traceback" not in r.output


def test_cli_writes_the_kinds_asked(tmp_path: Path) -> None:
    r = runner.invoke(app, ["quiz", "--count", "2", "--kinds", "trace,step", "--seed", "4",
                            "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    problems = json.loads((tmp_path / "problems.json").read_text())
    assert {p["id"].split(".")[0] for p in problems} == {"q1", "q2"}
    assert any(p["id"] == "q2.step" for p in problems)
    assert (tmp_path / "sheets" / "s02.tex").read_text().startswith("\\documentclass")


# -- the round trip: autodiff grade marks the key ---------------------------------------------

def _grade(tmp: Path, key: str = "key.jsonl") -> tuple[int, dict[str, Any], str]:
    r = runner.invoke(app, ["grade", str(tmp / "problems.json"), str(tmp / key),
                            "--format", "json"])
    return r.exit_code, json.loads(r.stdout), r.stderr


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_grade_gives_the_key_full_marks(tmp_path: Path, difficulty: int) -> None:
    r = runner.invoke(app, ["quiz", "--count", "31", "--seed", "12", "--difficulty",
                            str(difficulty), "--kinds", ",".join(qz.KINDS), "--template",
                            str(EXAMPLES / "template.json"), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    code, report, stderr = _grade(tmp_path)
    assert code == 0 and stderr == "", stderr  # no issue, and no warning either
    assert report["ok"] and not report["issues"]
    students = report["students"]
    assert [s["student"] for s in students] == qz.count_names(31)
    for s in students:
        assert s["score"] == s["max_score"] > 6, s["student"]
        assert {a["status"] for a in s["answers"]} == {"correct"}
    asked = len(json.loads((tmp_path / "problems.json").read_text()))
    assert report["lines"] == asked


def test_grade_takes_points_off_a_wrong_key_answer(tmp_path: Path) -> None:
    assert runner.invoke(app, ["quiz", "--count", "2", "--out", str(tmp_path)]).exit_code == 0
    lines = (tmp_path / "key.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["value"] += 1
    lines[0] = json.dumps(first)
    (tmp_path / "wrong.jsonl").write_text("\n".join(lines) + "\n")
    _, report, _ = _grade(tmp_path, "wrong.jsonl")
    s01, s02 = report["students"]
    assert s01["score"] == s01["max_score"] - 1 and s02["score"] == s02["max_score"]


def test_the_docs_example(tmp_path: Path) -> None:
    """docs/quiz.md's class: its sheet and solution excerpts are the files, and grade gives
    the scores it shows."""
    out = tmp_path / "quiz"
    r = runner.invoke(app, ["quiz", "--students", str(EXAMPLES / "roster.csv"), "--seed", "7",
                            "--kinds", "graph,trace", "--out", str(out)])
    assert r.exit_code == 0, r.output
    section = (REPO / "docs" / "quiz.md").read_text(encoding="utf-8")
    sheet = section.split("````markdown\n")[1].split("\n````")[0]
    assert sheet in (out / "sheets" / "Ada_Lovelace.md").read_text(encoding="utf-8")
    solution = section.split("```markdown\n")[1].split("\n```")[0]
    assert solution in (out / "solutions" / "Ada_Lovelace.md").read_text(encoding="utf-8")
    g = runner.invoke(app, ["grade", str(out / "problems.json"),
                            str(EXAMPLES / "submissions.jsonl"), "--format", "json"])
    assert g.exit_code == 0, g.output
    scores = {s["student"]: (s["score"], s["max_score"]) for s in json.loads(g.stdout)["students"]}
    assert scores == {"Ada Lovelace": (8, 9), "Alan Turing": (8, 9), "Emmy Noether": (9, 9),
                      "Grace Hopper": (8, 9)}
    for name, (score, top) in scores.items():
        assert f"{name:<13} {score:>5g} {top:>4g}" in section
