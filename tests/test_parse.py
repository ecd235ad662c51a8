"""The language: text -> syntax tree, and the errors that point into the text."""

from __future__ import annotations

import math

import pytest

from autodiff_cli import AutodiffError, grad
from autodiff_cli import ast as A
from autodiff_cli.errors import ArityError, NameError_, ParseError, UsageError
from autodiff_cli.inputs import parse_at
from autodiff_cli.ops import FUNCTIONS
from autodiff_cli.parse import parse


def shape(node: object) -> object:
    """A small tree as nested tuples: ("add", "a", 2.0). Only for small test inputs."""
    if isinstance(node, A.Num):
        return node.value
    if isinstance(node, A.Name):
        return node.id
    if isinstance(node, A.Call):
        return (node.op, *(shape(a) for a in node.args))
    if isinstance(node, A.Assign):
        return ("=", node.name, shape(node.expr))
    raise AssertionError(f"unexpected node {node!r}")


def tree(text: str) -> object:
    program = parse(text)
    assert len(program.stmts) == 1
    return shape(program.stmts[0])


def value(text: str, **at: float) -> float:
    return grad(text, at).value


# -- numbers and names ---------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [("3", 3.0), ("3.5", 3.5), (".5", 0.5), ("3.", 3.0), ("1e-3", 0.001), ("2.5E+4", 25000.0),
     ("1E2", 100.0), ("007", 7.0), ("1e-400", 0.0)],
)
def test_numbers(text: str, expected: float) -> None:
    assert tree(text) == expected
    assert value(text) == expected


def test_number_too_large_for_a_float() -> None:
    with pytest.raises(ParseError) as info:
        parse("1 + 1e400")
    assert info.value.span == (4, 9)
    assert "1e400" in info.value.message


@pytest.mark.parametrize("name", ["x", "θ", "x_1", "_tmp", "Δt", "αβγ", "x²"])
def test_names_including_unicode(name: str) -> None:
    assert tree(f"{name} + 1") == ("add", name, 1.0)
    r = grad(f"{name}^2", {name: 3.0})
    assert (r.value, r.gradient) == (9.0, {name: 6.0})


def test_name_cannot_start_with_a_digit() -> None:
    # '1x' is the number 1 times x (implicit multiplication), never a name
    assert tree("1x") == ("mul", 1.0, "x")


# -- precedence and associativity -----------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-x^2", ("neg", ("pow", "x", 2.0))),
        ("2^3^2", ("pow", 2.0, ("pow", 3.0, 2.0))),
        ("2**3**2", ("pow", 2.0, ("pow", 3.0, 2.0))),
        ("2^3**2", ("pow", 2.0, ("pow", 3.0, 2.0))),
        ("(2^3)^2", ("pow", ("pow", 2.0, 3.0), 2.0)),
        ("a - b - c", ("sub", ("sub", "a", "b"), "c")),
        ("a / b / c", ("div", ("div", "a", "b"), "c")),
        ("a + b * c", ("add", "a", ("mul", "b", "c"))),
        ("a * b ^ c", ("mul", "a", ("pow", "b", "c"))),
        ("a * -b", ("mul", "a", ("neg", "b"))),
        ("--x", ("neg", ("neg", "x"))),
        ("+x", "x"),
        ("-+x", ("neg", "x")),
        ("2^-x", ("pow", 2.0, ("neg", "x"))),
        ("2^-1", ("pow", 2.0, -1.0)),
        ("-2", -2.0),
        ("x - -2", ("sub", "x", -2.0)),
        ("a^b^-c", ("pow", "a", ("pow", "b", ("neg", "c")))),
    ],
)
def test_precedence(text: str, expected: object) -> None:
    assert tree(text) == expected


@pytest.mark.parametrize(
    ("text", "at", "expected"),
    [
        ("-x^2", {"x": 3}, -9.0),
        ("2^3^2", {}, 512.0),
        ("2**3**2", {}, 512.0),
        ("(2^3)^2", {}, 64.0),
        ("-2^2", {}, -4.0),
        ("(-2)^2", {}, 4.0),
        ("10 - 3 - 2", {}, 5.0),
        ("24 / 4 / 2", {}, 3.0),
        ("2^-1", {}, 0.5),
        ("-+-x", {"x": 2}, 2.0),
        ("2 * 3^2", {}, 18.0),
    ],
)
def test_precedence_values(text: str, at: dict[str, float], expected: float) -> None:
    assert value(text, **at) == expected


# -- implicit multiplication ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2x", ("mul", 2.0, "x")),
        ("2 x", ("mul", 2.0, "x")),
        ("2(a+b)", ("mul", 2.0, ("add", "a", "b"))),
        ("(a+b)(b+1)", ("mul", ("add", "a", "b"), ("add", "b", 1.0))),
        ("3 sin(x)", ("mul", 3.0, ("sin", "x"))),
        ("2pi", ("mul", 2.0, "pi")),
        ("2x^2", ("mul", 2.0, ("pow", "x", 2.0))),  # the power binds first
        ("-2x", ("neg", ("mul", 2.0, "x"))),
        ("1/2x", ("div", 1.0, ("mul", 2.0, "x"))),  # juxtaposition binds tighter than /
        ("(x)(y)", ("mul", "x", "y")),
        ("sin(x) cos(x)", ("mul", ("sin", "x"), ("cos", "x"))),
    ],
)
def test_implicit_multiplication(text: str, expected: object) -> None:
    assert tree(text) == expected


def test_implicit_multiplication_values() -> None:
    r = grad("(a+b)(b+1)", a=3, b=2)
    assert (r.value, r.gradient) == (15.0, {"a": 3.0, "b": 8.0})
    assert grad("2x", x=3).gradient == {"x": 2.0}
    assert value("3 sin(x)", x=0.5) == 3 * math.sin(0.5)
    assert value("1/2x", x=2) == 0.25


@pytest.mark.parametrize(("text", "column"), [("x y", 3), ("2 3", 3), ("a + x y", 7),
                                              ("(a+b)2", 6), ("2x 3", 4)])
def test_juxtaposition_that_is_refused(text: str, column: int) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.column == column
    assert "operator" in err.message
    assert "*" in err.hint


@pytest.mark.parametrize(("text", "expected"), [("2(3)", 6.0), ("(1+1)(2)", 4.0),
                                                ("(3)(2)", 6.0)])
def test_parenthesised_number_after_a_number_or_paren(text: str, expected: float) -> None:
    assert value(text) == expected


def test_number_then_power_of_a_number_is_refused() -> None:
    with pytest.raises(ParseError):
        parse("2 3^2")


# -- function calls -----------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [("sin(0)", 0.0), ("exp(0)", 1.0), ("log(e)", 1.0), ("log(8, 2)", 3.0),
     ("log2(8)", 3.0), ("log10(1000)", 3.0), ("pow(2, 10)", 1024.0), ("max(2, 5)", 5.0),
     ("min(2, 5)", 2.0), ("abs(-3)", 3.0), ("sqrt(16)", 4.0), ("relu(-1)", 0.0),
     ("sin (0)", 0.0), ("max(1, max(2, 3))", 3.0)],
)
def test_function_calls(text: str, expected: float) -> None:
    assert value(text) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("text", "message"),
    [("sin(1, 2)", "sin() takes 1 argument, got 2"),
     ("max(1)", "max() takes 2 arguments, got 1"),
     ("exp()", "exp() takes 1 argument, got 0"),
     ("log()", "log() takes 1 or 2 arguments, got 0"),
     ("log(1, 2, 3)", "log() takes 1 or 2 arguments, got 3")],
)
def test_arity_errors(text: str, message: str) -> None:
    with pytest.raises(ArityError) as info:
        parse("1 + " + text)
    err = info.value
    assert err.message == message
    assert err.kind == "arity"
    assert err.exit_code == 2
    assert err.span == (4, 4 + len(text))
    assert err.column == 5


@pytest.mark.parametrize(("name", "closest"), [("sinn", "sin"), ("sqr", "sqrt"),
                                               ("tanhh", "tanh"), ("sigmoud", "sigmoid"),
                                               ("lg", "log")])
def test_unknown_function_suggests_the_closest_name(name: str, closest: str) -> None:
    with pytest.raises(NameError_) as info:
        parse(f"2 + {name}(x)")
    err = info.value
    assert err.message == f"unknown function {name}()"
    assert err.span == (4, 4 + len(name))
    assert err.column == 5
    assert f"did you mean {closest}(...)?" in err.hint
    assert f"{name}*(...)" in err.hint


def test_unknown_function_that_is_a_variable_times_parentheses() -> None:
    with pytest.raises(NameError_) as info:
        parse("x(a+b)")
    assert "x*(...)" in info.value.hint
    assert "did you mean" not in info.value.hint  # nothing close to 'x'


def test_unknown_function_hint_lists_the_known_functions() -> None:
    with pytest.raises(NameError_) as info:
        parse("foo(1)")
    for name in FUNCTIONS:
        assert name in info.value.hint


def test_function_name_used_as_a_value() -> None:
    with pytest.raises(NameError_) as info:
        grad("2 * sin")
    assert info.value.message == "sin is a function: write sin(...)"
    assert info.value.column == 5


# -- programs -----------------------------------------------------------------------------

def test_program_with_semicolons_newlines_and_comments() -> None:
    text = "a = 1; b = a + 1  # one more\n# a whole comment line\n\nb * 2\n"
    program = parse(text)
    assert [shape(s) for s in program.stmts] == [
        ("=", "a", 1.0), ("=", "b", ("add", "a", 1.0)), ("mul", "b", 2.0)]
    assert value(text) == 4.0


def test_program_with_crlf_and_empty_statements() -> None:
    assert value("a = 2;;\r\n\r\nb = a^2;\r\nb + 1;") == 5.0


def test_line_continuation() -> None:
    assert tree("1 + \\\n 2") == ("add", 1.0, 2.0)


@pytest.mark.parametrize("text", ["", ";", "\n\n", "   ", "# nothing here"])
def test_empty_program(text: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.message == "empty expression"


# -- parse errors: message, column, what was expected -----------------------------------

@pytest.mark.parametrize(
    ("text", "message", "line_col", "expected"),
    [
        ("1 +", "unexpected end of input", (1, 4), ["a number", "a name", "'('"]),
        ("1 + * 2", "unexpected '*'", (1, 5), ["a number", "a name"]),
        ("(1 + 2", "unexpected end of input", (1, 7), ["')'"]),
        ("1 + 2)", "unexpected ')'", (1, 6), ["the end of the input"]),
        ("sin(1,)", "unexpected ')'", (1, 7), ["a number"]),
        ("a = 1\nb = a +\nb", "unexpected new line", (2, 8), ["a number"]),
        ("a = 1\nb = = 2", "unexpected '='", (2, 5), ["a number"]),
        ("1 $ 2", "unexpected character '$'", (1, 3), []),
        ("2 * θ + €", "unexpected character '€'", (1, 9), ["a number"]),
        ("x = 1\n\t1 ! 2", "unexpected character '!'", (2, 4), []),
    ],
)
def test_parse_errors(text: str, message: str, line_col: tuple[int, int],
                      expected: list[str]) -> None:
    with pytest.raises(ParseError) as info:
        parse(text)
    err = info.value
    assert err.message == message
    assert err.kind == "parse"
    assert err.exit_code == 2
    assert err.source == text
    line, col = line_col
    assert text.count("\n", 0, err.span[0]) + 1 == line
    assert err.column == col
    assert err.hint.startswith("expected ")
    for item in expected:
        assert item in err.hint


def test_every_error_is_an_autodiff_error() -> None:
    for cls in (ParseError, NameError_, ArityError):
        assert issubclass(cls, AutodiffError)


# -- constants ----------------------------------------------------------------------------

def test_constants() -> None:
    assert value("e") == math.e
    assert value("pi") == math.pi
    assert value("2pi") == 2 * math.pi
    r = grad("e^x", x=1)
    assert r.value == pytest.approx(math.e, rel=1e-15)
    assert r.gradient == {"x": pytest.approx(math.e, rel=1e-15)}


def test_at_overrides_a_constant() -> None:
    r = grad("e * pi", e=2)
    assert r.value == pytest.approx(2 * math.pi, rel=1e-15)
    assert r.gradient == {"e": pytest.approx(math.pi, rel=1e-15)}
    assert r.at == {"e": 2.0}


def test_assignment_shadows_a_constant() -> None:
    assert value("e = 2; e + 1") == 3.0
    assert value("pi = 3\npi") == 3.0


def test_constant_cannot_be_called() -> None:
    with pytest.raises(NameError_) as info:
        parse("e(2)")
    assert info.value.message == "unknown function e()"


# -- --at values: NAME=constant expression, comma-separated --------------------------------

@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["a=3,b=2"], {"a": 3.0, "b": 2.0}),
        ([" a = 3 , b=-2 ,"], {"a": 3.0, "b": -2.0}),
        (["x=pi/4"], {"x": math.pi / 4}),
        (["m=max(1, 2),n=2^-1"], {"m": 2.0, "n": 0.5}),  # commas inside calls stay
        (["a=1", "b=2"], {"a": 1.0, "b": 2.0}),  # (a name given twice: an error)
        (["θ=1e-3"], {"θ": 0.001}),
        (["e=2"], {"e": 2.0}),
        ([], {}),
    ],
)
def test_parse_at(specs: list[str], expected: dict[str, float]) -> None:
    got = parse_at(specs)
    assert got == expected
    assert list(got) == list(expected)


@pytest.mark.parametrize(
    ("spec", "span", "text"),
    [
        ("a", (0, 1), "NAME=VALUE"),
        ("a=3,1b=2", (4, 6), "not a valid name"),
        ("a=3,a=4", (4, 5), "a is given twice"),
        ("a=3, b=x", (7, 8), "x has no value"),
        ("a=", (2, 3), "empty expression"),
        ("a=1/0", (2, 5), "division by zero"),
        ("a=1e400", (2, 7), "too large"),
    ],
)
def test_parse_at_errors(spec: str, span: tuple[int, int], text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_at([spec])
    err = info.value
    assert text in err.message
    assert err.source == spec
    assert err.span == span
    assert err.exit_code == 2


@pytest.mark.parametrize("spec", ["a=b=3", "a=1;2"])
def test_parse_at_value_must_be_one_expression(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_at([spec])
