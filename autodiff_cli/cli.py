"""The command line: options in, library call, report out, errors to exit codes.

Exit codes: 0 success, 1 math error, 2 usage or parse error.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from . import __version__, coercion
from .errors import AutodiffError, UsageError

coercion.install()

app = typer.Typer(
    name="autodiff",
    help="Differentiate expressions and train tiny networks, with a graph you can read.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    table = "table"
    json = "json"
    plain = "plain"


ExprArg = Annotated[str | None, typer.Argument(
    metavar="EXPR", help='Expression or program, e.g. "(a+b)*(b+1)"; "-" reads standard input.',
    show_default=False)]
AtOpt = Annotated[list[str] | None, typer.Option(
    "--at", help="Values of the variables: a=3,b=2 (repeatable; values may be constant "
    "expressions such as pi/4).", show_default=False)]
FileOpt = Annotated[Path | None, typer.Option(
    "--file", "-f", help="Read the expression or program from this file.", show_default=False,
    dir_okay=False)]
FormatOpt = Annotated[Format, typer.Option(
    "--format", help="Output format: table for people, json and plain for scripts.")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autodiff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Differentiate expressions and train tiny networks, with a graph you can read."""


def read_source(expr: str | None, file: Path | None) -> str:
    """The expression from the argument, standard input ("-") or --file."""
    if file is not None and expr is not None:
        raise UsageError("give either EXPR or --file, not both")
    if file is not None:
        try:
            return file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"cannot read {file}: {err}") from None
    if expr is None:
        raise UsageError("missing EXPR", hint='for example: autodiff grad "(a+b)*(b+1)" '
                         "--at a=3,b=2")
    if expr == "-":
        return sys.stdin.read()
    return expr


def fail(err: AutodiffError) -> typer.Exit:
    from .render.errors import format_error

    sys.stderr.write(format_error(err) + "\n")
    return typer.Exit(err.exit_code)


@app.command(epilog='Examples:  autodiff grad "(a+b)*(b+1)" --at a=3,b=2   |   '
             'autodiff grad "sin(x)^2" --at x=pi/4 --format json   |   '
             'autodiff grad --file program.txt --at a=3 --wrt a')
def grad(
    expr: ExprArg = None,
    at: AtOpt = None,
    wrt: Annotated[str | None, typer.Option(
        "--wrt", help="Report only these variables: a,b.", show_default=False)] = None,
    file: FileOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Value and gradient of EXPR at a point (reverse mode: one backward sweep)."""
    from .api import grad as compute
    from .render import emit
    from .render.grad import grad_json, grad_plain, grad_table
    from .values import parse_at

    try:
        source = read_source(expr, file)
        point = parse_at(at or [])
        names = [w.strip() for w in wrt.split(",") if w.strip()] if wrt is not None else None
        result = compute(source, point, wrt=names)
    except AutodiffError as err:
        raise fail(err) from None
    emit(result, format.value, as_json=grad_json, as_plain=grad_plain, as_table=grad_table)


def main() -> None:
    """Console entry point: never a traceback, always one of the documented exit codes."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except RecursionError:
        sys.stderr.write("error: input too deeply nested\n")
        sys.exit(2)
    except MemoryError:
        sys.stderr.write("error: out of memory; the input is too large\n")
        sys.exit(2)
    except Exception as exc:  # a bug of ours: say so briefly, exit 1
        sys.stderr.write(f"internal error: {type(exc).__name__}: {exc}\n"
                         "please report this with the command you ran\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
