"""How large an input may be. Larger inputs are refused at once with a LimitError (exit 2)
rather than taking minutes, gigabytes or the machine's swap. The README's "Limits" section
gives these numbers and what they cost."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TextIO

from .errors import LimitError

MAX_CHARS = 10_000_000  # characters of one source: EXPR, --file, standard input, a batch line
MAX_TOKENS = 3_000_000  # its numbers, names, operators, brackets and separators
MAX_REPORT_TOKENS = 1_000_000  # tokens of a source that trace and graph report node by node
MAX_NODES = 5_000_000  # nodes of one graph, the graphs of symbolic derivatives included
MAX_TANGENTS = 10_000_000  # tangents a forward-mode trace keeps: variables x nodes
MAX_ENTRIES = 10_000_000  # entries of one array value (80 MB): a CSV file, randn, a result
MAX_TOTAL_ENTRIES = 50_000_000  # entries of all array values of one graph together
MAX_CSV_BYTES = 200_000_000  # size of a CSV file given with --at NAME=FILE.csv

# one match per token of the grammar, near enough: a name, a number, '**', a comment, or
# any other character that is not white space
_TOKEN = re.compile(r"[^\W\d]\w*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\*\*|#[^\n]*|\S")


def check_source(source: str, max_tokens: int | None = None, what: str = "") -> None:
    """Raise LimitError if source is longer than MAX_CHARS or has more than max_tokens
    (MAX_TOKENS) tokens. Costs one pass of a regular expression (C speed), and nothing for
    text shorter than the limit."""
    max_tokens = MAX_TOKENS if max_tokens is None else max_tokens
    if len(source) > MAX_CHARS:
        raise LimitError(f"the input has {len(source):,} characters; the limit is "
                         f"{MAX_CHARS:,}", hint=HINT)
    if len(source) > max_tokens:
        tokens = _TOKEN.subn("", source)[1]
        if tokens > max_tokens:
            raise LimitError(f"the input has {tokens:,} tokens (numbers, names, operators "
                             f"and brackets); the limit{what} is {max_tokens:,}", hint=HINT)


def read_text(stream: TextIO, what: str) -> str:
    """All of stream without its final line break(s), or LimitError once it is longer than
    MAX_CHARS (it is never read whole into memory then)."""
    text = stream.read(MAX_CHARS + 1)
    if len(text) > MAX_CHARS:
        raise LimitError(f"{what} is longer than {MAX_CHARS:,} characters, the limit",
                         hint=HINT)
    return text.rstrip("\r\n")


def bounded_lines(stream: TextIO) -> Iterator[str]:
    """The lines of stream, none read whole if longer than MAX_CHARS: such a line comes as
    its first MAX_CHARS + 1 characters (the rest is skipped), for the reader to refuse."""
    while True:
        line = stream.readline(MAX_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_CHARS and not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):
                rest = stream.readline(MAX_CHARS)
        yield line


def check_nodes(count: int) -> None:
    if count > MAX_NODES:
        raise LimitError(f"the graph would have more than {MAX_NODES:,} nodes", hint=HINT)


def check_tangents(variables: int, nodes: int) -> None:
    if variables * nodes > MAX_TANGENTS:
        raise LimitError(f"a forward-mode trace of {nodes:,} nodes and {variables:,} variables "
                         f"keeps {variables * nodes:,} tangents; the limit is "
                         f"{MAX_TANGENTS:,}", hint="--wrt names fewer variables; grad --mode "
                         "forward keeps only the output's tangents")


def check_entries(entries: int, what: str = "an array") -> None:
    if entries > MAX_ENTRIES:
        raise LimitError(f"{what} would have {entries:,} entries; the limit is "
                         f"{MAX_ENTRIES:,}", hint=HINT)


HINT = "the README's section \"Limits\" says what fits and why"
