"""The command line's files: the source it reads (EXPR, "-" or --file), the files it reads
(PROBLEMS, a roster, a template) and writes (a page, --save, grade's and quiz's results).
Every failure is a UsageError that names the file; nothing here computes."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from .errors import UsageError


def read_source(expr: str | None, file: str | None) -> str:
    """The expression from the argument, standard input ("-") or --file."""
    if file is not None and expr is not None:
        raise UsageError("give either EXPR or --file, not both")
    if file is not None:
        return read_file(file)
    if expr is None:
        raise UsageError("missing EXPR", hint='for example: autodiff grad "(a+b)*(b+1)" '
                         "--at a=3,b=2")
    if expr == "-":
        from .limits import read_text

        try:
            return read_text(sys.stdin, "standard input")
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"cannot read standard input: {err}") from None
    return expr


def read_file(path: str | Path) -> str:
    """A UTF-8 text file, within limits.MAX_CHARS, without its final line break."""
    from .limits import read_text

    try:
        with open(path, encoding="utf-8", newline="") as stream:
            return read_text(stream, str(path))
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {path}: {getattr(err, 'strerror', None) or err}"
                         ) from None


def open_lines(path: str, bom: bool = False) -> tuple[TextIO, int]:
    """A stream of lines ("-": standard input) and its size in characters, near enough (0
    if unknown); bytes that are not UTF-8 read as U+FFFD, for that line to fail alone. The
    caller closes it."""
    import os

    if path == "-":
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")
        return sys.stdin, 0
    try:
        stream = open(path, encoding="utf-8-sig" if bom else "utf-8",  # noqa: SIM115
                      errors="replace", newline="")
        return stream, os.fstat(stream.fileno()).st_size
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or err}") from None


def write_file(path: str | Path, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8", newline="")
    except OSError as err:
        raise UsageError(f"cannot write {path}: {err.strerror or err}") from None


def write_files(out: Path, files: Iterable[tuple[str, str]]) -> None:
    """Files (a path under out, its text) into the folder out, made if missing."""
    for name, text in files:
        target = out / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"cannot write to {target.parent}: {err.strerror or err}"
                             ) from None
        write_file(target, text)
