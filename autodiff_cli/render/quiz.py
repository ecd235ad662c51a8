"""A quiz as files: grade's PROBLEMS (problems.json) and the key (key.jsonl), and per
student a sheet and a worked solution, each in Markdown and in LaTeX.

A sheet or a solution is first a list of blocks (headings, paragraphs, code, tables) of plain
text; markdown() and latex() write the same blocks, each escaping for its own format. The
worked solution's rows are trace's own words (render/trace.py): every local derivative,
gradient * local, and chain-rule sum, as `autodiff trace` prints them."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from ..quiz import Exercise, Part, Quiz, Sheet, ascii_letters, submission
from ..trace import Step, TraceReport
from .latex import GREEK
from .trace import chain_text, local_text, product_text, show, term_lines

Block = tuple[Any, ...]  # ("h1"|"h2"|"h3"|"p", text), ("code", text), ("table", head, rows)


def quiz_files(q: Quiz) -> list[tuple[str, str]]:
    """Every file of the quiz as (path under DIR, text), in a fixed order."""
    out = [("problems.json", problems_json(q)), ("key.jsonl", key_jsonl(q))]
    for sheet in q.sheets:
        blocks, solved = sheet_blocks(q, sheet), solution_blocks(q, sheet)
        out += [(f"sheets/{sheet.file}.md", markdown(blocks)),
                (f"sheets/{sheet.file}.tex", latex(blocks)),
                (f"solutions/{sheet.file}.md", markdown(solved)),
                (f"solutions/{sheet.file}.tex", latex(solved))]
    return out


def problems_json(q: Quiz) -> str:
    """One problem per line of the list: a diff between two quizzes reads line by line."""
    lines = [json.dumps(p, ensure_ascii=False) for p in q.problems()]
    return "[\n" + ",\n".join(lines) + "\n]\n"


def key_jsonl(q: Quiz) -> str:
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in q.key())


def summary(q: Quiz, out: str) -> str:
    """What quiz wrote, for the terminal."""
    problems = sum(len(ex.parts) for s in q.sheets for ex in s.exercises)
    return (f"{len(q.sheets)} students, {len(q.kinds)} exercises each ({', '.join(q.kinds)}), "
            f"{problems} problems, difficulty {q.difficulty}, seed {q.seed}\n"
            f"wrote {out}/problems.json, {out}/key.jsonl, and a sheet and a solution per "
            f"student in {out}/sheets/ and {out}/solutions/ (.md and .tex)\n"
            f"grade the class: autodiff grade {out}/problems.json SUBMISSIONS\n")


# -- the blocks ------------------------------------------------------------------------------

def _tolerance(ex: Exercise) -> str:
    if ex.rtol is None:
        return "Answers must be exact (to 6 significant digits)."
    digits = 4 if ex.rtol >= 1e-3 else 6
    return (f"Give at least {digits} significant digits: an answer within "
            f"{show(ex.rtol)} of the right one (relatively, or {show(ex.atol or 0)} "
            "absolutely) counts.")


def _given(ex: Exercise) -> Block:
    return ("table", ("given", "value"), [(n, show(v)) for n, v in ex.at.items()])


def _where(p: Part, a: str) -> str:
    return f"{p.id} {a}"


def _exercise_head(k: int, ex: Exercise) -> list[Block]:
    return [("h2", f"{k}. {name(ex.title)} ({ex.id})"), ("p", ex.prompt),
            ("code", ex.source)]


def sheet_blocks(q: Quiz, sheet: Sheet) -> list[Block]:
    blocks: list[Block] = [
        ("h1", f"Backprop quiz: {name(sheet.student)}"),
        ("p", f"{len(sheet.exercises)} exercises, difficulty {q.difficulty}. Each program's "
         "last statement is its output. A number may be given as a decimal or a fraction "
         "such as 1/3.")]
    for k, ex in enumerate(sheet.exercises, 1):
        blocks += _exercise_head(k, ex)
        blocks.append(_given(ex))
        if ex.kind == "perceptron":
            rows = [(show(p.at["x1"]), show(p.at["x2"]), code(_where(p, "value")), "")
                    for p in ex.parts]
            blocks.append(("table", ("x1", "x2", "answer (problem, name)", "y"), rows))
            blocks.append(("p", "Which logic gate is it? ..........................."))
        else:
            blocks.append(("table", ("what", "answer (problem, name)", "your answer"),
                           [(p.labels[a], code(_where(p, a)), "") for p in ex.parts
                            for a in p.ask]))
        blocks.append(("p", _tolerance(ex)))
    blocks += [("h2", "Handing in"),
               ("p", "Your answers as JSON lines, one line per problem: replace each null by "
                "your number (the problem and answer names are those in the tables)."),
               ("code", "".join(json.dumps(submission(sheet.student, p, dict.fromkeys(p.ask)),
                                           ensure_ascii=False) + "\n"
                                for ex in sheet.exercises for p in ex.parts).rstrip("\n"))]
    return blocks


def solution_blocks(q: Quiz, sheet: Sheet) -> list[Block]:
    blocks: list[Block] = [
        ("h1", f"Solution: {name(sheet.student)}"),
        ("p", f"{len(sheet.exercises)} exercises, difficulty {q.difficulty}, seed {q.seed}. "
         "Every number is the engine's: `autodiff trace` prints the same passes.")]
    for k, ex in enumerate(sheet.exercises, 1):
        blocks += _exercise_head(k, ex)
        blocks.append(_given(ex))
        blocks.append(("table", ("what", "answer (problem, name)", "answer"),
                       [(p.labels[a], code(_where(p, a)), show(p.answers[a]))
                        for p in ex.parts for a in p.ask]))
        if ex.gate:
            blocks.append(("p", f"The outputs make the gate {ex.gate}."))
        for caption, r in ex.traces:
            blocks += worked(r, ex.backward, caption)
        if ex.updates:
            blocks.append(("h3", f"One step, learning rate lr = {show(ex.lr)}"))
            blocks.append(("table", ("weight", "W − lr · ∂L/∂W", "after the step"),
                           [(w, code(f"{show(old)} - {show(ex.lr)} * {_factor(g)}"), show(new))
                            for w, old, g, new in ex.updates]))
    return blocks


def _factor(x: float) -> str:
    text = show(x)
    return f"({text})" if text.startswith("-") else text


def worked(r: TraceReport, backward: bool, caption: str = "") -> list[Block]:
    """The forward pass, and the backward pass and chain rule, as trace reports them."""
    head = f"{caption}: " if caption else ""
    blocks: list[Block] = [
        ("h3", f"{head}forward pass"),
        ("table", ("node", "expression", "op", "inputs", "value"),
         [(n.name, code(" ".join(n.text.split())), n.op,
           ", ".join(r.nodes[a].name for a in n.inputs), show(n.value)) for n in r.nodes])]
    if not backward:
        return blocks
    by_node: dict[int, list[Step]] = {}
    for s in r.steps:
        by_node.setdefault(s.node, []).append(s)
    rows = []
    for i in r.order:
        node = r.nodes[i]
        steps = by_node.get(i, [])
        if not steps:
            rows.append((node.name, show(node.grad), "", "", ""))
        for k, s in enumerate(steps):
            rows.append((node.name if k == 0 else "", show(node.grad) if k == 0 else "",
                         r.nodes[s.input].name, code(local_text(r, s)),
                         code(product_text(r, s))))
    d = f"∂{r.output_name}/∂node"
    blocks += [("h3", f"{head}backward pass"),
               ("table", ("node", d, "input", "local derivative", "gradient * local"), rows),
               ("h3", f"{head}chain rule"),
               ("table", ("gradient", "terms: what each use sends back"),
                [(code(chain_text(r, c)), "; ".join(code(t) if "∂" in t else t
                                                     for t in term_lines(r, c)))
                 for c in r.sums])]
    return blocks


# -- Markdown --------------------------------------------------------------------------------

_MD_SPECIAL = "\\*_[]<>|"


def md(text: str) -> str:
    """Text that Markdown shows as it is; `code` in it stays code."""
    out = []
    for k, part in enumerate(" ".join(text.split()).split("`")):
        if k % 2:
            out.append("`" + part.replace("|", "\\|") + "`")  # GFM: | in a table's code
        else:
            out.append("".join("\\" + c if c in _MD_SPECIAL else c for c in part))
    return "".join(out)


def code(text: str) -> str:
    """Text to show as code in a cell or a paragraph."""
    return f"`{text}`" if text else ""


def name(text: str) -> str:
    """A student's name or a title as plain text (a backtick would start code)."""
    return text.replace("`", "'")


def _fence(text: str) -> str:
    run, longest = 0, 0
    for c in text:
        run = run + 1 if c == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        kind = block[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + md(block[1]))
        elif kind == "p":
            out.append(md(block[1]))
        elif kind == "code":
            fence = _fence(block[1])
            out.append(f"{fence}text\n{block[1]}\n{fence}")
        else:
            _, head, rows = block
            lines = ["| " + " | ".join(md(h) for h in head) + " |",
                     "|" + "|".join("---" for _ in head) + "|"]
            lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in rows]
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


# -- LaTeX -----------------------------------------------------------------------------------

_TEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
        "#": r"\#", "_": r"\_", "%": r"\%", "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
        "|": r"\textbar{}", "-": "-{}", "∂": r"\ensuremath{\partial}",
        "²": r"\ensuremath{^2}", "←": r"\ensuremath{\leftarrow}", "⊙": r"\ensuremath{\odot}",
        "ᵀ": r"\ensuremath{^{\top}}", "…": r"\ldots{}", "−": "-{}",
        "·": r"\ensuremath{\cdot}", "÷": r"\ensuremath{\div}", "⋮": r"\ensuremath{\vdots}",
        "\t": " ", "\n": " "}


def tex(text: str) -> str:
    """tex_text, with `code` in it set in \\texttt."""
    return "".join(rf"\texttt{{{tex_text(part)}}}" if k % 2 else tex_text(part)
                   for k, part in enumerate(text.split("`")))


def tex_text(text: str) -> str:
    """Text that LaTeX prints as it is: its special characters escaped, Greek letters and
    the few symbols trace writes as math, letters of Latin-1 left to inputenc, other
    accented letters without their accents, and any other character as a question mark
    (pdflatex has no glyph for it)."""
    out = []
    for c in text:
        if c in _TEX:
            out.append(_TEX[c])
        elif c.isascii() or (ord(c) < 0x100 and unicodedata.category(c).startswith("L")):
            out.append(c)
        elif unicodedata.category(c).startswith("L") and ascii_letters(c):
            out.append(ascii_letters(c))
        else:
            name = unicodedata.name(c, "").split()
            greek = name[-1].lower() if name[:1] == ["GREEK"] and name[-1].lower() in GREEK \
                else ""
            if greek and "CAPITAL" in name:
                greek = greek.capitalize() if greek.capitalize() in _CAPITALS else ""
            out.append(rf"\ensuremath{{\{greek}}}" if greek else "?")
    return "".join(out)


_CAPITALS = ("Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi",
             "Omega")  # the capitals LaTeX has a command for

_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[utf8]{inputenc}
\usepackage{amsmath,amssymb}
\usepackage[margin=2cm]{geometry}
\usepackage{longtable}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6em}
"""


def _columns(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """l for a short column; the long ones (over 24 characters) share what is left of the
    page as paragraphs, so a wide table wraps instead of running off it."""
    longest = [max([len(h), *(len(r[k]) for r in rows)]) for k, h in enumerate(head)]
    long_ = [k for k, n in enumerate(longest) if n > 24]
    if not long_:
        return ["l"] * len(head)
    share = max(0.15, (0.95 - 0.1 * (len(head) - len(long_))) / len(long_))
    return [f"p{{{share:.2f}\\textwidth}}" if k in long_ else "l" for k in range(len(head))]


def latex(blocks: list[Block]) -> str:
    out = [_PREAMBLE + "\\begin{document}"]
    for block in blocks:
        kind = block[0]
        if kind == "h1":
            out.append(rf"\section*{{{tex(block[1])}}}")
        elif kind == "h2":
            out.append(rf"\subsection*{{{tex(block[1])}}}")
        elif kind == "h3":
            out.append(rf"\subsubsection*{{{tex(block[1])}}}")
        elif kind == "p":
            out.append(tex(block[1]))
        elif kind == "code":
            lines = [r"\texttt{" + r"\ " * (len(line) - len(line.lstrip(" ")))
                     + tex_text(line.lstrip(" ")) + "}" for line in block[1].split("\n")]
            out.append("{\\small\\raggedright\n" + "\\\\\n".join(lines) + "\\par}")
        else:
            _, head, rows = block
            spec = "|".join(_columns(head, rows))
            body = [" & ".join(rf"\textbf{{{tex(h)}}}" for h in head) + r" \\ \hline"]
            body += [" & ".join(tex(c) for c in row) + (r" \rule{0pt}{1.4em}" if not row[-1]
                                                         else "") + r" \\" for row in rows]
            out.append("{\\small\n\\begin{longtable}{" + spec + "}\n" + "\n".join(body)
                       + "\n\\end{longtable}\n}")
    out.append(r"\end{document}")
    return "\n\n".join(out) + "\n"
