"""How the command line itself is read, and how every failure is said.

Two things Typer does not do on its own:
- an EXPR that starts with '-' ("-x^2", "-1") is the expression, not an unknown option;
- every failure, Typer's own usage errors included, is a few plain lines on stderr, user text
  made printable (render/errors.printable), and exit code 0, 1 or 2; never a traceback.

Only Typer's public names are used: older Typers build on the click package, newer ones on
their own copy of click, and click's classes are found from what Typer exports.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

EXPR = "expr"  # the name of the EXPR argument of grad, trace, graph, hessian, diff, check
_OPTION = re.compile(r"--[A-Za-z][-\w]*(=|\Z)")  # what can only be meant as an option


def examples(*commands: str) -> str:
    """A command's epilog: its examples one per line, kept as written (click's \\b marks a
    paragraph it must not rewrap), so each can be copied and pasted as it is."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {command}" for command in commands)


def _click_exception() -> type[Exception]:
    """click's ClickException (the base of every usage error), from typer's public
    BadParameter: the furthest class up its hierarchy that defines format_message."""
    found: type[Exception] = typer.BadParameter
    for cls in typer.BadParameter.__mro__:
        if issubclass(cls, Exception) and "format_message" in vars(cls):
            found = cls
    return found


ClickException = _click_exception()


class Group(TyperGroup):
    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:
            rest = expression_first(cmd, rest, ctx.help_option_names)
        return name, cmd, rest

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        code = run(lambda: super(Group, self).main(
            args, prog_name, complete_var, standalone_mode=False,
            windows_expand_args=windows_expand_args, **extra))
        if standalone_mode:
            sys.exit(code)
        return code


def run(main: Any) -> int:
    """Call main() (a click main in non-standalone mode) and turn whatever happens into an
    exit code, with a short message on stderr for failures."""
    from .render.errors import printable

    try:
        result = main()
        return result if isinstance(result, int) else 0
    except ClickException as err:
        return _usage(err)
    except typer.Abort:
        return _say(["interrupted"], 130)
    except RecursionError:
        return _say(["error: the input is nested too deeply"], 2)
    except MemoryError:
        return _say(["error: out of memory: the input is too large",
                     "hint: docs/limits.md, section \"Limits\", says what fits"], 2)
    except Exception as exc:  # a bug of ours: say so briefly
        return _say([f"internal error: {type(exc).__name__}: {printable(str(exc))}",
                     "please report this with the command you ran"], 1)


def _usage(err: Any) -> int:
    """A click usage error as our two lines, or the help that click >= 8.2 raises (as
    NoArgsIsHelpError) for a command line with no arguments."""
    from .render.errors import printable

    # typer 0.21 with click 8.2 names an option's unset environment variable in every bad
    # value ("Invalid value for '--mode' (env var: 'None'): ..."): not ours to show
    message = str(err.format_message()).replace(" (env var: 'None')", "")
    if type(err).__name__ == "NoArgsIsHelpError":
        if message:  # empty when Typer's rich help has printed it already
            _say([message.rstrip("\n")], 0, sys.stdout)
        return 2
    ctx = getattr(err, "ctx", None)
    path = printable(ctx.command_path) if ctx is not None else "autodiff"
    return _say([f"error: {printable(message)}", f"hint: {path} --help shows the options"],
                int(getattr(err, "exit_code", 2)))


def _say(lines: list[str], code: int, stream: Any = None) -> int:
    stream = stream or sys.stderr
    try:
        stream.write("\n".join(lines) + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass
    return code


def expression_first(cmd: Any, args: list[str], help_names: Sequence[str]
                     ) -> list[str]:
    """args with an EXPR that starts with a single '-' ("-x^2", "-1") moved behind "--",
    where click reads it as the argument it is. Words that look like long options
    (--name, --name=value) and the command's own short options (-f, -h, -o) stay
    options; "-- --x" or "-- -f" gives such an EXPR."""
    params = cmd.params
    if "--" in args or not any(p.name == EXPR and p.param_type_name == "argument"
                               for p in params):
        return args
    takes_value: dict[str, bool] = {name: False for name in help_names}
    for p in params:
        if p.param_type_name == "option":
            flag = bool(getattr(p, "is_flag", False) or getattr(p, "count", False))
            for name in (*p.opts, *p.secondary_opts):
                takes_value[name] = not flag
    i = 0
    while i < len(args):
        word = args[i]
        if word in takes_value:
            i += 2 if takes_value[word] else 1
            continue
        if _OPTION.match(word) or _is_option(word, takes_value) or \
                not word.startswith("-") or word == "-":
            i += 1
            continue
        return [*args[:i], *args[i + 1:], "--", word]
    return args


def _is_option(word: str, takes_value: dict[str, bool]) -> bool:
    """-fVALUE, for a short option of the command that takes a value."""
    return len(word) > 2 and takes_value.get(word[:2], False)
