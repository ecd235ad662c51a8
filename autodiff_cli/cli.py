"""The command line: options in, library call, report out, errors to exit codes.

Exit codes: 0 success, 1 math error, 2 usage or parse error.
"""


import copy
import math
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from . import __version__, coercion
from .argv import Group, examples
from .errors import AutodiffError, UsageError
from .files import open_lines, read_file, read_source, write_file, write_files
from .gates import ACTIVATION, ACTIVATIONS, EPOCHS, HIDDEN, LOSS, LOSSES, LR, OPTIMIZERS, SEED, TOL
from .modes import MODES

if TYPE_CHECKING:

    from .grade import ClassReport
    from .trace import TraceReport

coercion.install()

app = typer.Typer(
    name="autodiff",
    help="Differentiate expressions and train tiny networks, with a graph you can read.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=Group,  # EXPR may start with '-'; every failure is a short message and exit 0, 1 or 2
    rich_markup_mode=None,  # plain help: starts without rich, examples copy as they are
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
    "expressions such as pi/4, matrices [[1,2],[3,4]], vectors [1,2,3], randn(3,3), or a "
    "CSV file: X=houses.csv).", show_default=False)]
SeedOpt = Annotated[int, typer.Option(
    "--seed", min=0, help="Seed for randn(r, c): the same seed, the same numbers.")]
SeedGradOpt = Annotated[str | None, typer.Option(
    "--seed-grad", help="Gradient of the output to start the backward sweep from, in "
    "the output's shape (a literal or a CSV file); without it a non-scalar output is "
    "reduced by its sum.", show_default=False)]
# a str, opened by read_source: typer's Path handling would import pydantic (start-up)
FileOpt = Annotated[str | None, typer.Option(
    "--file", "-f", metavar="FILE", help="Read the expression or program from this file.",
    show_default=False)]
FormatOpt = Annotated[Format, typer.Option(
    "--format", help="Output format: table for people, json and plain for scripts.")]


def choices(name: str, values: tuple[str, ...]) -> Any:
    """An Enum of these values, for Typer to offer as an option's choices: the values
    themselves are the library's (modes.MODES, gates.ACTIVATIONS, ...)."""
    return Enum(name, {v: v for v in values}, type=str)


if TYPE_CHECKING:  # to mypy, an Enum of strings
    from enum import Enum as Activation
    from enum import Enum as Loss
    from enum import Enum as Mode
else:
    Mode = choices("Mode", MODES)
    Activation = choices("Activation", ACTIVATIONS)
    Loss = choices("Loss", LOSSES)
DEFAULT_ACTIVATION, DEFAULT_LOSS = Activation[ACTIVATION], Loss[LOSS]
ModeOpt = Annotated[Mode | None, typer.Option(
    "--mode", help="reverse: 1 forward pass + 1 reverse sweep for all partials; forward: one "
    "pass of dual numbers per variable. Either way the output says which, and how many "
    "passes.", show_default=False)]
WrtOpt = Annotated[str | None, typer.Option(
    "--wrt", help="Only these variables: a,b.", show_default=False)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autodiff {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No warnings on stderr (an ambiguous 1/2x, an unused --at "
        "value).")] = False,
) -> None:
    """Differentiate expressions and train tiny networks, with a graph you can read."""
    import warnings

    from .errors import AutodiffWarning

    warnings.simplefilter("ignore" if quiet else "always", AutodiffWarning)
    warnings.showwarning = _show_warning


def _show_warning(message: Warning | str, category: type[Warning], filename: str,
                  lineno: int, file: Any = None, line: str | None = None) -> None:
    """Our warnings as the errors look (warning: ..., the source, a caret, a hint); others
    as Python shows them."""
    from .errors import AutodiffWarning

    if isinstance(message, AutodiffWarning):
        from .render.errors import format_warning

        sys.stderr.write(format_warning(message) + "\n")
    else:
        import warnings

        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def fail(err: AutodiffError) -> typer.Exit:
    from .render.errors import format_error

    sys.stderr.write(format_error(err) + "\n")
    return typer.Exit(err.exit_code)


@app.command(epilog=examples(
             'autodiff grad "(a+b)*(b+1)" --at a=3,b=2',
             'autodiff grad "sin(x)^2" --at x=pi/4 --format json',
             "autodiff grad --file program.txt --at a=3 --wrt a",
             'autodiff grad "x*y^2" --at x=3,y=2 --mode forward --check',
             "autodiff grad --batch answers.jsonl",
             'autodiff grad "mean(sigmoid(X @ W), 1)" --at X=examples/houses.csv '
             '--at "W=randn(3,3)"'))
def grad(
    expr: ExprArg = None,
    at: AtOpt = None,
    wrt: Annotated[str | None, typer.Option(
        "--wrt", help="Report only these variables: a,b.", show_default=False)] = None,
    mode: ModeOpt = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Beside each partial, a central finite difference and the relative "
        "error; exit 1 if any error exceeds --tol.")] = False,
    tol: Annotated[float, typer.Option(
        "--tol", help="With --check: the largest relative error that passes.")] = 1e-6,
    order: Annotated[int, typer.Option(
        "--order", help="2 for d²f/dx² of each variable (with --wrt x: of x), 3 for the "
        "third derivative, ...")] = 1,
    batch: Annotated[str | None, typer.Option(
        "--batch", metavar="FILE", help='JSON lines {"id", "expr", "at", "wrt"?} in, one JSON '
        'result or error per line out; "-" reads standard input.', show_default=False)] = None,
    budget: Annotated[float | None, typer.Option(
        "--budget", metavar="SECONDS", help="With --batch: the work each line may do, "
        "estimated before it runs (default 1 second).", show_default=False)] = None,
    file: FileOpt = None,
    format: FormatOpt = Format.table,
    seed: SeedOpt = 0,
    seed_grad: SeedGradOpt = None,
) -> None:
    """Value and gradient of EXPR at a point.

    Reverse mode: one forward pass and one backward sweep give every partial. --mode forward
    computes them by dual numbers, --check beside finite differences, --order 2 the second
    derivatives, and --batch FILE many at once."""
    if batch is not None:
        raise _grad_batch(batch, expr, file, at, wrt, mode, check, order, budget)
    if budget is not None:
        raise fail(UsageError("--budget goes with --batch (and grade): the command line's "
                              "own input has no budget"))
    if mode is not None or check or order != 1:
        if seed_grad is not None:
            raise fail(UsageError("--seed-grad goes with plain reverse mode, not with --mode, "
                                  "--check or --order (which work on scalars)"))
        raise _grad_report(expr, at, wrt, file, format, mode, check, tol, order, seed)
    from .api import grad as compute
    from .render import emit
    from .render.grad import grad_json, grad_plain, grad_table

    try:
        source, point, out_grad = _inputs(expr, file, at, seed, seed_grad)
        result = compute(source, point, wrt=_names(wrt), seed_grad=out_grad, random_seed=seed)
    except AutodiffError as err:
        raise fail(err) from None
    emit(result, format.value, as_json=grad_json, as_plain=grad_plain, as_table=grad_table)


def _inputs(expr: str | None, file: str | None, at: list[str] | None, seed: int,
            seed_grad: str | None) -> tuple[str, dict[str, Any], Any]:
    """The source (EXPR, "-" or --file), the point (--at, randn drawn by --seed) and the
    output's gradient (--seed-grad, or None), as grad, trace and graph read them."""
    from .inputs import output_gradient, parse_at

    source = read_source(expr, file)
    point = parse_at(at or [], seed, files=True)
    return source, point, None if seed_grad is None else output_gradient(seed_grad, seed)


def _trace_report(expr: str | None, file: str | None, at: list[str] | None, seed: int,
                  seed_grad: str | None, wrt: str | None = None,
                  mode: "Mode | None" = None) -> "TraceReport":
    """The report behind trace and graph."""
    from .trace import trace as compute

    source, point, out_grad = _inputs(expr, file, at, seed, seed_grad)
    return compute(source, point, _names(wrt), mode=mode.value if mode else None,
                   seed_grad=out_grad, random_seed=seed)


class GraphFormat(str, Enum):
    dot = "dot"
    mermaid = "mermaid"
    html = "html"


class TraceFormat(str, Enum):
    table = "table"
    json = "json"
    plain = "plain"
    html = "html"


PageOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="With --format html: write the page to this file instead of "
    "standard output.", show_default=False, dir_okay=False)]


def _page_only(html: bool, output: Path | None) -> None:
    if output is not None and not html:
        raise UsageError("--output writes the page of --format html",
                         hint="add --format html, or leave out --output")


def _page(html: str, output: Path | None) -> None:
    """A page (--format html) to its file, or to standard output."""
    from .render import write

    if output is None:
        write(html)
    else:
        write_file(output, html)


@app.command(epilog=examples(
             'autodiff trace "b = 4*a; c = b + 3; d = a + 2; e = c*d" --at a=3',
             'autodiff trace "(a+b)*(b+1)" --at a=3,b=2 --graph',
             'autodiff trace "(a+b)*(b+1)" --at a=3,b=2 --format json',
             'autodiff trace "b = 4*a; c = b + 3; d = a + 2; e = c*d" --at a=3 '
             '--mode forward',
             'autodiff trace "mean(sigmoid(X @ W), 1)" --at X=examples/houses.csv '
             '--at "W=randn(3,3)"'))
def trace(
    expr: ExprArg = None,
    at: AtOpt = None,
    file: FileOpt = None,
    format: Annotated[TraceFormat, typer.Option(
        "--format", help="Output format: table for people, json and plain for scripts, html "
        "for a page to step through in a browser.")] = TraceFormat.table,
    mode: ModeOpt = None,
    wrt: WrtOpt = None,
    seed: SeedOpt = 0,
    seed_grad: SeedGradOpt = None,
    output: PageOpt = None,
    tree: Annotated[bool, typer.Option(
        "--graph", help="Also draw the expression as a tree, each node with its value and "
        "gradient.")] = False,
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=0, help="Longest table to print in full; longer ones keep their first "
        "and last rows. 0 prints everything (tables take about a millisecond a row; "
        "--format json or plain is quicker for whole big graphs).")] = 200,
) -> None:
    """Forward and backward pass, step by step.

    Every node's value, every local derivative and what it sends back, and every gradient as
    a chain-rule sum. With --mode forward, each node's value and tangents (dual numbers)
    instead of the backward pass."""
    from .render import emit, page_width
    from .render.trace import trace_json, trace_plain, trace_table

    try:
        _page_only(format is TraceFormat.html, output)
        report = _trace_report(expr, file, at, seed, seed_grad, wrt, mode)
        if format is TraceFormat.html:
            from .render.html import trace_page

            _page(trace_page(report), output)
            return
    except AutodiffError as err:
        raise fail(err) from None
    emit(report, format.value, as_json=trace_json, as_plain=trace_plain,
         as_table=lambda r, fancy: trace_table(r, fancy, max_rows, tree, page_width()))


@app.command(epilog=examples(
             'autodiff graph "(a+b)*(b+1)" --at a=3,b=2 > graph.dot',
             'autodiff graph "(a+b)*(b+1)" --at a=3,b=2 --output graph.svg',
             'autodiff graph "sigmoid(w*x + b)" --at w=2,x=1,b=-1 --format mermaid'))
def graph(
    expr: ExprArg = None,
    at: AtOpt = None,
    file: FileOpt = None,
    format: Annotated[GraphFormat | None, typer.Option(
        "--format", help="dot (Graphviz, the default), mermaid (a flowchart for Markdown) or "
        "html (a page for a browser; also chosen by --output FILE.html).",
        show_default=False)] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write to this file instead of standard output; .svg, .png and "
        ".pdf are drawn by Graphviz's dot program.", show_default=False, dir_okay=False)] = None,
    seed: SeedOpt = 0,
    seed_grad: SeedGradOpt = None,
) -> None:
    """The computational graph: DOT or Mermaid.

    A Graphviz DOT graph or a Mermaid flowchart at a point: nodes with name, op, value and
    gradient, edges with the local derivative."""
    from .render.dot import IMAGE_FORMATS, render_image, to_dot, to_mermaid

    try:
        report = _trace_report(expr, file, at, seed, seed_grad)
        if format is GraphFormat.html or (format is None and output is not None
                                          and output.suffix.lower() in (".html", ".htm")):
            from .render.html import trace_page

            _page(trace_page(report, stepping=False), output)
            return
        image = output is not None and output.suffix.lower().lstrip(".") in IMAGE_FORMATS
        if image and format is GraphFormat.mermaid:
            raise UsageError(f"a Mermaid flowchart cannot be drawn as {output}; Mermaid draws "
                             "it in Markdown", hint="use --format dot for an image, or write "
                             "the flowchart to a .mmd or .md file")
        text = to_mermaid(report) if format is GraphFormat.mermaid else to_dot(report)
        if output is None:
            from .render import write

            write(text)
        elif image:
            render_image(text, output)
        else:
            write_file(output, text)
    except AutodiffError as err:
        raise fail(err) from None


class TrainFormat(str, Enum):
    table = "table"
    json = "json"
    html = "html"


if TYPE_CHECKING:
    from enum import Enum as Optimizer
else:
    Optimizer = choices("Optimizer", OPTIMIZERS)


@app.command(epilog=examples(
             "autodiff train --file examples/regression.txt --at X=examples/house_sales.csv "
             '--at y=examples/house_prices.csv --param "w=zeros(3,1)" --param b=0 --lr 0.05 '
             "--epochs 2000 --save trained.json",
             "autodiff train --file examples/regression.txt --at X=examples/house_sales.csv "
             '--at y=examples/house_prices.csv --param "w=zeros(3,1)" --param b=0 '
             "--optimizer adam --batch-size 32",
             'autodiff trace "X @ w + b" --at X=examples/houses.csv --at @trained.json'))
def train(
    expr: Annotated[str | None, typer.Argument(
        metavar="PROGRAM", help='A program whose last statement is the scalar loss, e.g. '
        '"L = mean((X @ w + b - y)^2)"; "-" reads standard input.', show_default=False)
    ] = None,
    at: Annotated[list[str] | None, typer.Option(
        "--at", help="The data: NAME=VALUE as for grad (a CSV file: X=houses.csv), or @FILE "
        "(a JSON object of values, as --save writes it). Repeatable.", show_default=False)
    ] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", help="What is trained, with its starting value: w=zeros(3,1), "
        "w=0.1*randn(3,1), b=0, or @FILE. Repeatable.", show_default=False)] = None,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate.")] = 0.1,
    epochs: Annotated[int, typer.Option(
        "--epochs", help="Most passes over the data; 0 just evaluates the loss.")] = 1000,
    optimizer: Annotated[Optimizer, typer.Option(
        "--optimizer", help="sgd: p <- p - lr*g; momentum (0.9) or adam, as PyTorch's.")
    ] = Optimizer["sgd"],
    batch_size: Annotated[int, typer.Option(
        "--batch-size", help="Rows per step, taken from every --at array with the data's row "
        "count in a seeded order each epoch; 0: all rows (full batch).")] = 0,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Seed of randn(r, c) in the values and of the batches' order.")
    ] = 0,
    tol: Annotated[float, typer.Option(
        "--tol", help="Stop once an epoch changes the loss by less than this (0: never).")
    ] = 0.0,
    file: FileOpt = None,
    format: Annotated[TrainFormat, typer.Option(
        "--format", help="Output format: table for people, json for scripts, html for a "
        "report page with the loss plot.")
    ] = TrainFormat.table,
    output: PageOpt = None,
    save: Annotated[Path | None, typer.Option(
        "--save", help="Write the trained params to this JSON file; --at @FILE reads them "
        "back.", show_default=False, dir_okay=False)] = None,
) -> None:
    """Fit the params of PROGRAM to the data by gradient descent: every step is the engine's
    forward pass and one reverse sweep, then the optimizer's update."""
    from .inputs import parse_at
    from .render import emit, to_json
    from .render.train import fit_json, fit_table, params_json, progress_bar
    from .train_loop import Settings, fit

    try:
        source = read_source(expr, file)
        data = parse_at(at or [], seed, files=True)
        params = _values(param, "--param", seed)
        settings = Settings(lr=lr, epochs=epochs, optimizer=optimizer.value,
                            batch_size=batch_size, seed=seed, tol=tol)
        _page_only(format is TrainFormat.html, output)
        with progress_bar(epochs, Path(file).name if file else "the program") as progress:
            report = fit(source, data, params, settings, progress=progress)
        if save is not None:
            write_file(save, to_json(params_json(report)) + "\n")
        if format is TrainFormat.html:
            from .render.html import fit_page

            _page(fit_page(report), output)
            return
    except AutodiffError as err:
        raise fail(err) from None
    emit(report, format.value, as_json=fit_json, as_plain=lambda r: "", as_table=fit_table)


@app.command("train-gate", epilog=examples(
             "autodiff train-gate xor",
             "autodiff train-gate and --hidden 0 --weights 10,10,-15 --epochs 0",
             "autodiff train-gate xor --hidden 0",
             "autodiff train-gate --table 0,0,1,0 --hidden 4,4 --format json"))
def train_gate(
    gate: Annotated[str | None, typer.Argument(
        metavar="GATE", help="and, or, nand, nor, xor or xnor (default xor).",
        show_default=False)] = None,
    table: Annotated[str | None, typer.Option(
        "--table", help="Any 2-input gate: its outputs for inputs 00, 01, 10, 11, e.g. 0,1,1,0.",
        show_default=False)] = None,
    hidden: Annotated[str, typer.Option(
        "--hidden", help="Hidden layer sizes: 0 = a single perceptron, 8 = one layer of 8, "
        "4,4 = two layers.")] = ",".join(map(str, HIDDEN)),
    activation: Annotated[Activation, typer.Option(
        "--activation", help="Activation of the hidden layers (the output is sigmoid).")
    ] = DEFAULT_ACTIVATION,
    loss: Annotated[Loss, typer.Option(
        "--loss", help="mse: mean squared error; bce: binary cross-entropy.")
    ] = DEFAULT_LOSS,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate: W <- W - lr * dL/dW.")] = LR,
    epochs: Annotated[int, typer.Option(
        "--epochs", help="Most gradient steps; 0 just evaluates the starting weights.")
    ] = EPOCHS,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random start weights.")
                    ] = SEED,
    tol: Annotated[float, typer.Option(
        "--tol", help="Stop once every row is right and the loss is below this.")] = TOL,
    weights: Annotated[str | None, typer.Option(
        "--weights", help="Start weights, comma-separated, layer by layer and neuron by "
        "neuron: each neuron's weights from inputs 1, 2, ... then its bias; a perceptron "
        "takes w1,w2,b (the seed's AND: 10,10,-15).", show_default=False)] = None,
    format: Annotated[TrainFormat, typer.Option(
        "--format", help="Output format: table for people, json for scripts, html for a "
        "report page with plots.")
    ] = TrainFormat.table,
    output: PageOpt = None,
) -> None:
    """Learn a logic gate by gradient descent.

    The network and its loss are one graph of the engine; its reverse sweep gives dL/dW."""
    from .render import emit
    from .render.train import progress_bar, train_json, train_table
    from .train import parse_hidden, parse_weights, resolve_gate
    from .train import train_gate as run

    try:
        _page_only(format is TrainFormat.html, output)
        name, _bits = resolve_gate(gate, table)
        sizes = parse_hidden(hidden)
        start = parse_weights(weights) if weights is not None else None
        with progress_bar(epochs, name) as progress:
            result = run(gate, table=table, hidden=sizes, activation=activation.value,
                         loss=loss.value, lr=lr, epochs=epochs, seed=seed, tol=tol,
                         weights=start, progress=progress)
        if format is TrainFormat.html:
            from .render.html import train_page

            _page(train_page(result), output)
            return
    except AutodiffError as err:
        raise fail(err) from None
    emit(result, format.value, as_json=train_json, as_plain=lambda r: "",
         as_table=train_table)


def main() -> None:
    """Console entry point: never a traceback, always one of the documented exit codes
    (argv.Group turns every failure into one; this catches what happens outside it)."""
    from .argv import run

    sys.exit(run(lambda: app_for(sys.argv[1:])(standalone_mode=False)))


def app_for(args: list[str]) -> typer.Typer:
    """The app, with only the command named on the line when there is one: Typer builds
    every command's options from its signature on each run, and start-up is a feature."""
    if args and not args[0].startswith("-"):
        only = [c for c in app.registered_commands if _command_name(c) == args[0]]
        if only:
            one = copy.copy(app)
            one.registered_commands = only
            return one
    return app


def _command_name(info: Any) -> str:
    return str(info.name or info.callback.__name__.lower().replace("_", "-"))


# -- the toolkit: grad --mode/--check/--order/--batch, hessian, diff, check -------------


def _names(wrt: str | None) -> list[str] | None:
    from .inputs import split_names

    return split_names(wrt) if wrt is not None else None


def _grad_report(expr: str | None, at: list[str] | None, wrt: str | None, file: str | None,
                 format: Format, mode: "Mode | None", check: bool, tol: float,
                 order: int, seed: int) -> typer.Exit:
    """grad with --mode, --check or --order; exit 1 if a gradient check fails."""
    from .gradoptions import grad_report
    from .inputs import parse_at
    from .render import emit
    from .render.gradreport import report_json, report_plain, report_table

    try:
        source = read_source(expr, file)
        report = grad_report(source, parse_at(at or [], seed, files=True), _names(wrt),
                             mode.value if mode else None, check, tol, order)
    except AutodiffError as err:
        return fail(err)
    emit(report, format.value, as_json=report_json, as_plain=report_plain,
         as_table=report_table)
    if not report.ok:
        bad = [c for c in report.checks or [] if not c.ok]
        sys.stderr.write("error: the gradient check failed for "
                         + ", ".join(f"{c.name} (error {c.error:.2g})" for c in bad)
                         + f"; --tol is {tol:g}\n")
        return typer.Exit(1)
    return typer.Exit(0)


def _grad_batch(path: str, expr: str | None, file: str | None, at: list[str] | None,
                wrt: str | None, mode: "Mode | None", check: bool, order: int,
                budget: float | None) -> typer.Exit:
    """grad --batch: exit 0 if every line succeeded, 1 otherwise."""
    from .batch import run
    from .limits import bounded_lines
    from .render import encodes_unicode, to_json, write

    others = [name for name, given in (("EXPR", expr is not None), ("--file", file),
              ("--at", at), ("--wrt", wrt), ("--check", check), ("--order", order != 1))
              if given]
    if others:
        return fail(UsageError(f"--batch reads everything from its file; leave out "
                               f"{', '.join(others)}"))
    try:
        seconds = _budget(budget)
    except UsageError as err:
        return fail(err)
    try:
        stream, _size = open_lines(path)  # a line that is not UTF-8: that line's JSON error
    except UsageError as err:
        return fail(err)
    ok = True
    try:
        with stream:
            ascii_only = not encodes_unicode(sys.stdout)
            for result in run(bounded_lines(stream), mode.value if mode else "reverse",
                              seconds):
                ok = ok and "error" not in result
                write(to_json(result, ascii_only) + "\n")
            sys.stdout.flush()
    except BrokenPipeError:  # the reader stopped early (| head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return typer.Exit(1)
    return typer.Exit(0 if ok else 1)


@app.command(epilog=examples(
             'autodiff hessian "x^2*y + y^3" --at x=1,y=2',
             'autodiff hessian "(a+b)*(b+1)" --at a=3,b=2 --format json',
             'autodiff hessian "sin(x*y)" --at x=1,y=2 --wrt x'))
def hessian(
    expr: ExprArg = None,
    at: AtOpt = None,
    wrt: WrtOpt = None,
    file: FileOpt = None,
    format: FormatOpt = Format.table,
) -> None:
    """Value, gradient and Hessian at a point.

    The Hessian holds all second derivatives, computed by differentiating the graph of the
    gradient again (reverse over reverse)."""
    from .higher import hessian as compute
    from .inputs import parse_at
    from .render import emit
    from .render.hessian import hessian_json, hessian_plain, hessian_table

    try:
        result = compute(read_source(expr, file), parse_at(at or [], files=True),
                         _names(wrt))
    except AutodiffError as err:
        raise fail(err) from None
    emit(result, format.value, as_json=hessian_json, as_plain=hessian_plain,
         as_table=hessian_table)


class DiffFormat(str, Enum):
    text = "text"
    latex = "latex"
    json = "json"


@app.command(epilog=examples(
             'autodiff diff "x^2*sin(x)" --wrt x',
             'autodiff diff "(a+b)*(b+1)"',
             'autodiff diff "x/y" --wrt y --format latex',
             'autodiff diff "b = 4*a; c = b + 3; d = a + 2; e = c*d" --wrt a',
             'autodiff diff "exp(-x^2)" --wrt x --order 2'))
def diff(
    expr: ExprArg = None,
    wrt: WrtOpt = None,
    file: FileOpt = None,
    format: Annotated[DiffFormat, typer.Option(
        "--format", help="text: our own language (it parses back); latex: for a solution "
        "sheet; json: both.")] = DiffFormat.text,
    order: Annotated[int, typer.Option(
        "--order", help="2 for the second derivative, 3 for the third, ...")] = 1,
    expand: Annotated[bool, typer.Option(
        "--expand", help="Print the derivative as one expression however long it is, "
        "instead of a program with named parts.")] = False,
) -> None:
    """The derivative of EXPR as an expression.

    Simplified, or as LaTeX. Every free name is a variable; without --wrt, each one's
    partial derivative is printed. A derivative longer than 120 characters prints as a
    program whose named parts come first (--expand prints it whole)."""
    from .render.diff import diff_json, diff_latex, diff_text
    from .symbolic import derivative

    try:
        d = derivative(read_source(expr, file), _names(wrt), order)
        if format is DiffFormat.json:
            from .render import encodes_unicode, to_json

            text = to_json(diff_json(d, expand), not encodes_unicode(sys.stdout)) + "\n"
        else:
            text = (diff_latex if format is DiffFormat.latex else diff_text)(d, expand)
    except AutodiffError as err:
        raise fail(err) from None
    from .render import write

    write(text)


@app.command(name="check", epilog=examples(
             'autodiff check "(a+b)*(b+1)" --at a=3,b=2 --expect a=3,b=8 --value 15',
             'autodiff check "x/y" --at x=1,y=3 --expect x=0.3333 --tol 1e-3',
             'autodiff check "sin(x)" --at x=0 --expect x=1 --format json > results.json'))
def check_answers(
    expr: ExprArg = None,
    at: AtOpt = None,
    expect: Annotated[list[str] | None, typer.Option(
        "--expect", help="The expected partial derivatives: a=3,b=8 (repeatable; values "
        "may be constant expressions such as 1/3).", show_default=False)] = None,
    value: Annotated[str | None, typer.Option(
        "--value", help="The expected value of EXPR.", show_default=False)] = None,
    tol: Annotated[float, typer.Option(
        "--tol", help="Relative tolerance: an answer matches when |got - expected| <= "
        "atol + tol*|expected|.")] = 1e-6,
    atol: Annotated[float, typer.Option(
        "--atol", help="Absolute tolerance, for answers near 0.")] = 1e-9,
    file: FileOpt = None,
    format: Annotated[Format, typer.Option(
        "--format", help="table for people; json is Gradescope's results.json; plain is "
        "one line per answer: name expected got ok|WRONG.")] = Format.table,
) -> None:
    """Check the value and partials of EXPR.

    Answers for the value and the partial derivatives, checked at the point given by --at.
    Exit 0 if all match, 1 if any is wrong, with a table of which and by how much."""
    from .grading import check_answers as compute
    from .grading import read_answer, read_answers
    from .inputs import parse_at
    from .render import emit
    from .render.check import check_json, check_plain, check_table, refused_notes

    try:
        source = read_source(expr, file)
        point = parse_at(at or [], files=True)
        expected = read_answers(expect or [], "--expect")  # one bad answer fails alone
        want = None if value is None else read_answer(value)
        if not (math.isfinite(tol) and math.isfinite(atol) and tol >= 0 and atol >= 0):
            raise UsageError(f"--tol and --atol must be finite and must not be negative, got "
                             f"--tol {tol:g} --atol {atol:g}")
        result = compute(source, point, expected, want, tol, atol)
    except AutodiffError as err:
        raise fail(err) from None
    emit(result, format.value, as_json=check_json, as_plain=check_plain, as_table=check_table)
    if format is not Format.table:  # the table says it under itself
        sys.stderr.write(refused_notes(result))
    if not result.ok:
        raise typer.Exit(1)


def _budget(seconds: float | None) -> float:
    """--budget's seconds, or the default; a UsageError unless finite and positive."""
    from .limits import BUDGET

    if seconds is None:
        return BUDGET
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"--budget must be a finite number of seconds > 0, got {seconds:g}")
    return seconds


class GradeFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


@app.command(name="grade", epilog=examples(
             "autodiff grade examples/grader/problems.json examples/grader/submissions.jsonl",
             "autodiff grade examples/grader/problems.json examples/grader/submissions.csv "
             "--out results/",
             "autodiff grade examples/grader/problems.json examples/grader/submissions.jsonl "
             "--format json"))
def grade_class(
    problems: Annotated[Path, typer.Argument(
        metavar="PROBLEMS", help='The problems: a JSON list [{"id", "expr", "at", "ask"?, '
        '"points"?, ...}] (docs/grading.md).', show_default=False,
        dir_okay=False)],
    submissions: Annotated[str, typer.Argument(
        metavar="SUBMISSIONS", help='The answers: JSON lines {"student", "problem", "value", '
        '"gradient", ...}, or a CSV (a file named *.csv) with a row per student and a column '
        'per answer ("p1.value", "p1.d/dx"); "-" reads JSON lines from standard input.',
        show_default=False)],
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write a Gradescope results.json per student (DIR/<student>.json) and "
        "DIR/summary.csv here.", show_default=False, file_okay=False)] = None,
    format: Annotated[GradeFormat, typer.Option(
        "--format", help="table for people; json: every answer of every student; csv: "
        "summary.csv.")] = GradeFormat.table,
    budget: Annotated[float | None, typer.Option(
        "--budget", metavar="SECONDS", help="The work each submission line may do, estimated "
        "before it runs (default 1 second).", show_default=False)] = None,
) -> None:
    """Grade a class: every student's answers to every problem, each answer a test.

    Exit 0 when every line of SUBMISSIONS was read, 1 when some were not (each is said on
    standard error, the rest is graded), 2 for a usage error (PROBLEMS, options)."""
    from .grade import grade, load_problems
    from .limits import bounded_lines
    from .render import emit
    from .render.grade import grade_csv, grade_json, grade_table, issue_lines, progress_lines

    try:
        seconds = _budget(budget)
        key = load_problems(read_file(problems), str(problems))
        stream, size = open_lines(submissions, bom=True)
        with stream, progress_lines(bounded_lines(stream), size, Path(submissions).name) as lines:
            report = grade(key, lines, submissions.lower().endswith(".csv"), seconds)
        if out is not None:
            write_files(out, _results(report))
    except AutodiffError as err:
        raise fail(err) from None
    emit(report, "plain" if format is GradeFormat.csv else format.value, as_json=grade_json,
         as_plain=grade_csv, as_table=grade_table)
    if report.issues:
        sys.stdout.flush()
        sys.stderr.write(issue_lines(report, "standard input" if submissions == "-" else
                                     submissions))
        raise typer.Exit(1)


def _values(specs: list[str] | None, option: str, seed: int = 0) -> dict[str, Any]:
    """NAME=VALUE,... as --at reads them, errors naming the option they came from."""
    from .inputs import parse_at

    try:
        return parse_at(specs or [], seed, files=True)
    except UsageError as err:
        if option != "--at":
            err.message = err.message.replace("--at", option, 1)
            err.hint = err.hint.replace("--at", option)
        raise


def _results(report: "ClassReport") -> list[tuple[str, str]]:
    """DIR/summary.csv, DIR/issues.csv (if any), and a Gradescope results.json each."""
    from .render import to_json
    from .render.grade import grade_csv, issues_csv, result_files

    files = [("summary.csv", grade_csv(report))]
    if report.issues:
        files.append(("issues.csv", issues_csv(report)))
    return files + [(name, to_json(data) + "\n") for name, data in result_files(report)]


@app.command(epilog=examples(
             "autodiff quiz --count 30 --seed 7 --out quiz",
             "autodiff quiz --students examples/quiz/roster.csv --difficulty 2 --out quiz",
             "autodiff quiz --count 5 --kinds graph,trace --difficulty 3 --out quiz",
             "autodiff quiz --students examples/quiz/roster.csv "
             "--template examples/quiz/template.json --out quiz"))
def quiz(
    out: Annotated[Path, typer.Option(
        "--out", help="Directory to write problems.json, key.jsonl, sheets/ and solutions/ "
        "to (made if missing; files of the same names are replaced).", show_default=False,
        file_okay=False)],
    students: Annotated[Path | None, typer.Option(
        "--students", help="Roster CSV: the first column holds the names, under a header "
        "\"student\" or \"name\" (or an LMS export's first column).", show_default=False,
        dir_okay=False)] = None,
    count: Annotated[int | None, typer.Option(
        "--count", help="Or this many students, named s01, s02, ...", show_default=False)
    ] = None,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="Seed of every variant: with the student's name, it fixes "
        "their numbers.")] = 0,
    kinds: Annotated[str | None, typer.Option(
        "--kinds", help="Exercises, in order: graph, trace, neuron, perceptron, step "
        "(default: all five; none with --template).", show_default=False)] = None,
    difficulty: Annotated[int, typer.Option(
        "--difficulty", help="1: by hand, small integers; 2: decimals, a "
        "function; 3: up to ~15 nodes, reused intermediates, a 2-2-1 network.")] = 1,
    template: Annotated[list[Path] | None, typer.Option(
        "--template", help="An exercise of your own, a JSON file (docs/quiz.md, "
        "Templates); repeatable.", show_default=False, dir_okay=False)] = None,
) -> None:
    """Backprop exercises, one variant per student, with worked solutions and a key:
    problems.json and key.jsonl are grade's PROBLEMS and a perfect SUBMISSIONS, so
    `autodiff grade DIR/problems.json DIR/key.jsonl` gives everyone full marks."""
    from .quiz import count_names, load_template, make_quiz, read_roster
    from .render import write
    from .render.quiz import quiz_files, summary

    try:
        if (students is None) == (count is None):
            raise UsageError("give either --students ROSTER.csv or --count N",
                             hint="for example: autodiff quiz --count 30 --out quiz")
        names = read_roster(read_file(students)) if students is not None else \
            count_names(count or 0)
        templates = [load_template(read_file(t), str(t)) for t in template or []]
        made = make_quiz(names, seed=seed, kinds=_names(kinds), difficulty=difficulty,
                         templates=templates)
        write_files(out, quiz_files(made))
    except AutodiffError as err:
        raise fail(err) from None
    write(summary(made, str(out)))


if __name__ == "__main__":
    main()
