"""The trace report as a picture: Graphviz DOT and Mermaid flowchart text, and DOT rendered to
SVG, PNG or PDF by Graphviz's `dot` program when it is installed.

Nodes are labelled with name, op, value and gradient; an edge runs from an input to the node
that uses it, labelled with the local derivative where a gradient flows along it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ..errors import UsageError
from ..trace import TraceNode, TraceReport, partial
from .trace import local_text, show

IMAGE_FORMATS = ("svg", "png", "pdf")
DOT_TIMEOUT = 300  # seconds; dot can be slow on graphs of many thousand nodes


def _label_lines(r: TraceReport, n: TraceNode) -> list[str]:
    lines = [n.name, n.op, f"value = {show(n.value)}"]
    if n.reached or n.op == "var":
        lines.append(f"{partial(r.output_name, n.name)} = {show(n.grad)}")
    return lines


def _edges(r: TraceReport) -> list[tuple[int, int, str]]:
    """(input, node, label) for every input of every node, in evaluation order."""
    locals_ = {(s.node, s.position): local_text(r, s) for s in r.steps}
    return [(a, n.id, locals_.get((n.id, k), ""))
            for n in r.nodes for k, a in enumerate(n.inputs)]


# -- Graphviz DOT --------------------------------------------------------------------------

def dot_escape(text: str) -> str:
    """Text for inside a DOT double-quoted string: backslashes and quotes escaped (so that
    Graphviz's own escapes such as \\N and \\l cannot be triggered), line breaks as \\n."""
    return (text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "")
            .replace("\n", "\\n"))


def to_dot(r: TraceReport) -> str:
    lines = ["digraph autodiff {", "  rankdir=LR;",
             '  node [shape=box, style=rounded, fontname="Helvetica"];',
             '  edge [fontname="Helvetica", fontsize=10];']
    for n in r.nodes:
        extra = ", penwidth=2" if n.id == r.output else ""
        label = dot_escape("\n".join(_label_lines(r, n)))
        lines.append(f'  n{n.id} [label="{label}"{extra}];')
    for a, i, label in _edges(r):
        attrs = f' [label="{dot_escape(label)}"]' if label else ""
        lines.append(f"  n{a} -> n{i}{attrs};")
    lines.append("}")
    return "\n".join(lines) + "\n"


# -- Mermaid -------------------------------------------------------------------------------

_MERMAID = {"#": "#35;", '"': "#quot;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "`": "#96;",
            "\r": "", "\n": "<br/>"}


def mermaid_escape(text: str) -> str:
    """Text for inside a Mermaid double-quoted label: quotes, markup and '#' as Mermaid's
    entity codes, line breaks as <br/> (added after escaping, so it stays a line break)."""
    return "".join(_MERMAID.get(c, c) for c in text)


def to_mermaid(r: TraceReport) -> str:
    lines = ["flowchart LR"]
    for n in r.nodes:
        label = "<br/>".join(mermaid_escape(line) for line in _label_lines(r, n))
        lines.append(f'  n{n.id}["{label}"]')
    for a, i, label in _edges(r):
        lines.append(f'  n{a} -->|"{mermaid_escape(label)}"| n{i}' if label
                     else f"  n{a} --> n{i}")
    return "\n".join(lines) + "\n"


# -- rendering through Graphviz -------------------------------------------------------------

def render_image(dot: str, path: Path) -> None:
    """Render DOT text to path (.svg, .png or .pdf) with Graphviz's `dot`. Raises UsageError
    if dot is not installed or fails."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in IMAGE_FORMATS:
        raise UsageError(f"cannot render {path.name}: the image formats are "
                         f"{', '.join('.' + f for f in IMAGE_FORMATS)}")
    program = shutil.which("dot")
    if program is None:
        raise UsageError(
            f"rendering {path.name} needs Graphviz's dot program, which is not installed",
            hint="install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew "
            "install graphviz), or print the graph with --format dot and render it elsewhere")
    try:
        done = subprocess.run([program, f"-T{fmt}", f"-o{path}"], input=dot.encode("utf-8"),
                              capture_output=True, timeout=DOT_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(f"dot took longer than {DOT_TIMEOUT} s; the graph is too large to "
                         "draw", hint="print it with --format dot instead") from None
    except OSError as err:
        raise UsageError(f"cannot run {program}: {err}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"dot failed to render {path.name}"
                         + (f": {message[0]}" if message else ""))
