"""Docs that cannot drift: every ```console block of README.md and docs/*.md is run and its
output compared, one test per block (its id is FILE:LINE of the block's fence).

A console block is one or more steps. A step is a line starting with "$ " (the command; a
line ending in a backslash continues on the next one) followed by what it prints, stdout and
stderr as a terminal interleaves them. Then:
- the line "[exit N]" ends the output of a command that exits N; without it the exit code
  must be 0;
- a line "..." stands for any number of lines, and a line ending in "..." for any line that
  starts with the text before it;
- trailing spaces and trailing blank lines are not compared.
Commands run without a shell: the line is split by shlex.split and never evaluated. The one
pipe is "$ echo WORDS | autodiff ...": the words, joined by spaces, and a newline are the
command's standard input. `autodiff` runs in-process, `autodiff_cli.cli.app` through
typer.testing.CliRunner (test_console_script_prints_the_same checks that the console script
prints the same); any other command (cat, ls) runs as a program. The environment is
COLUMNS=80 and NO_COLOR=1, the working directory a fresh one per page in which examples/ is
the repository's, so `--at X=examples/houses.csv` works as written; a page's blocks run in
order in it, so one block may read what an earlier one wrote.
A comment on the line before a block's fence marks it: `<!-- docs-test: numpy_digits -->`
(a pytest mark; the floors step of .ci/run skips those), `<!-- docs-test: needs dot -->`
(skipped without Graphviz's dot).

After a deliberate change of output, one command rewrites every block's output in place:

    python tests/test_docs.py --update
    python -m pytest tests/test_docs.py --update-docs      (the same, through pytest)

An "..." line survives an update when the lines around it are still found.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
ENV: dict[str, str | None] = {"COLUMNS": "80", "NO_COLOR": "1", "FORCE_COLOR": None,
                              "TERM": "dumb", "LC_ALL": "C"}
EXIT = re.compile(r"\[exit (\d+)\]")
MARK = re.compile(r"<!-- docs-test: (.*) -->")
ELIDED = "..."


@dataclass(frozen=True)
class Step:
    command: str  # as written, continuation lines joined
    expected: tuple[str, ...]  # the output lines as written, without "[exit N]"
    exit_code: int
    first: int  # 0-based index of the "$ " line in the page
    end: int  # index one past the step's last line


@dataclass(frozen=True)
class Block:
    page: Path
    fence: int  # 0-based index of the ```console line
    steps: tuple[Step, ...]
    marks: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO).as_posix()}:{self.fence + 1}"


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        if lines[i].rstrip() != "```console":
            i += 1
            continue
        fence = i
        m = MARK.fullmatch(lines[fence - 1].strip()) if fence else None
        marks = tuple(w.strip() for w in m.group(1).split(",")) if m else ()
        i += 1
        steps = []
        while i < len(lines) and lines[i].rstrip() != "```":
            if not lines[i].startswith("$ "):
                raise ValueError(f"{page.name}:{i + 1}: a console block's output needs "
                                 "a '$ ' command before it")
            first, command = i, lines[i][2:]
            while command.endswith("\\") and i + 1 < len(lines):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            i += 1
            out = []
            while i < len(lines) and not lines[i].startswith("$ ") and \
                    lines[i].rstrip() != "```":
                out.append(lines[i])
                i += 1
            code = 0
            while out and not out[-1].strip():
                out.pop()
            if out and EXIT.fullmatch(out[-1].strip()):
                code = int(EXIT.fullmatch(out.pop().strip()).group(1))  # type: ignore[union-attr]
            steps.append(Step(command, tuple(out), code, first, i))
        found.append(Block(page, fence, tuple(steps), marks))
        i += 1
    return found


# -- running a command -----------------------------------------------------------------------

def words(command: str) -> tuple[list[str], str | None]:
    """The command's argv and its standard input ("echo WORDS | ..."), without a shell."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    tokens = list(lexer)
    if "|" not in tokens:
        return shlex.split(command), None
    cut = tokens.index("|")
    left, right = tokens[:cut], tokens[cut + 1:]
    if not left or left[0] != "echo" or "|" in right or not right:
        raise ValueError(f"the only pipe is 'echo WORDS | command': {command}")
    return right, " ".join(left[1:]) + "\n"


@contextlib.contextmanager
def working_in(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def run(command: str, cwd: Path) -> tuple[str, int]:
    """What the command prints (stdout and stderr interleaved) and its exit code."""
    argv, stdin = words(command)
    if argv[0] == "autodiff":
        from typer.testing import CliRunner

        from autodiff_cli.cli import app

        with working_in(cwd):
            result = CliRunner().invoke(app, argv[1:], input=stdin, env=ENV)
        return result.output, result.exit_code
    if shutil.which(argv[0]) is None:
        raise ValueError(f"{argv[0]} is not a program here: {command}")
    env = {k: v for k, v in os.environ.items() if k not in ENV}
    env.update({k: v for k, v in ENV.items() if v is not None})
    done = subprocess.run(argv, input=stdin, cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=60, check=False)
    return done.stdout + done.stderr, done.returncode


def new_workdir() -> Path:
    work = Path(tempfile.mkdtemp(prefix="autodiff-docs-"))
    (work / "examples").symlink_to(REPO / "examples", target_is_directory=True)
    return work


# -- comparing -------------------------------------------------------------------------------

def _fits(pattern: str, line: str) -> bool:
    pattern, line = pattern.rstrip(), line.rstrip()
    if pattern != ELIDED and pattern.endswith(ELIDED):
        return line.startswith(pattern[:-len(ELIDED)])
    return pattern == line


def matches(expected: tuple[str, ...] | list[str], actual: list[str]) -> bool:
    """expected, with its "..." lines, against the output's lines (iteratively)."""
    n, m = len(expected), len(actual)
    ok = [[False] * (m + 1) for _ in range(n + 1)]  # ok[i][j]: expected[i:] fits actual[j:]
    ok[n][m] = True
    for i in range(n - 1, -1, -1):
        for j in range(m, -1, -1):
            if expected[i].strip() == ELIDED:
                ok[i][j] = ok[i + 1][j] or (j < m and ok[i][j + 1])
            else:
                ok[i][j] = j < m and _fits(expected[i], actual[j]) and ok[i + 1][j + 1]
    return ok[0][0]


def output_lines(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def refreshed(expected: tuple[str, ...], actual: list[str]) -> list[str]:
    """The output as the docs should now show it: the actual lines, except that an old
    "..." stays where the lines around it are still found, and so does a line ending in
    "..." that still fits (else the whole output)."""
    if matches(expected, actual):
        return list(expected)
    patterns = [e.rstrip() for e in expected if e.strip() != ELIDED and e.rstrip() != ELIDED
                and e.rstrip().endswith(ELIDED)]
    keys = [next((p for p in patterns if _fits(p, line)), line) for line in actual]
    old = [e.rstrip() if e.strip() != ELIDED else ELIDED for e in expected]
    kept: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, keys, False).get_opcodes():
        if op == "equal":
            kept += old[i1:i2]
        elif ELIDED in old[i1:i2]:
            kept.append(ELIDED)
        else:
            kept += actual[j1:j2]
    return kept if matches(kept, actual) else actual


# -- the tests -------------------------------------------------------------------------------

BLOCKS = [block for page in PAGES for block in blocks_of(page)]
_workdirs: dict[Path, tuple[Path, list[Block]]] = {}  # page -> its directory, blocks run
_updates: dict[tuple[Path, int], list[str]] = {}  # (page, step's first line) -> new lines


def run_block(block: Block) -> list[tuple[Step, list[str], int]]:
    """Run the block in its page's directory, after the page's earlier blocks."""
    work, done = _workdirs.setdefault(block.page, (new_workdir(), []))
    for earlier in [b for b in BLOCKS if b.page == block.page and b.fence < block.fence]:
        if earlier not in done:
            for step in earlier.steps:
                run(step.command, work)
            done.append(earlier)
    results = []
    for step in block.steps:
        text, code = run(step.command, work)
        results.append((step, output_lines(text), code))
    done.append(block)
    return results


def _param(block: Block) -> object:
    marks = []
    for mark in block.marks:
        if mark == "needs dot":
            marks.append(pytest.mark.skipif(shutil.which("dot") is None,
                                            reason="Graphviz's dot is not installed"))
        else:
            marks.append(getattr(pytest.mark, mark))
    return pytest.param(block, id=block.id, marks=marks)


@pytest.fixture(scope="module", autouse=True)
def _rewrite_when_asked(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.config.getoption("--update-docs", default=False):
        write_updates()
    for work, _ in _workdirs.values():
        shutil.rmtree(work, ignore_errors=True)
    _workdirs.clear()


@pytest.mark.parametrize("block", [_param(b) for b in BLOCKS])
def test_console_block(block: Block, request: pytest.FixtureRequest) -> None:
    update = request.config.getoption("--update-docs", default=False)
    for step, actual, code in run_block(block):
        if update:
            _updates[(block.page, step.first)] = refreshed(step.expected, actual) + \
                ([f"[exit {code}]"] if code else [])
            continue
        if not matches(step.expected, actual):
            diff = difflib.unified_diff(list(step.expected), actual, "the docs", "printed",
                                        lineterm="")
            pytest.fail(f"{block.id}: $ {step.command}\n" + "\n".join(diff) +
                        "\n(python tests/test_docs.py --update rewrites the docs)",
                        pytrace=False)
        if code != step.exit_code:
            pytest.fail(f"{block.id}: $ {step.command}\nexits {code}, the docs say "
                        f"{step.exit_code}:\n" + "\n".join(actual), pytrace=False)


def test_every_page_has_been_read() -> None:
    assert len(BLOCKS) >= 20
    assert all(block.steps for block in BLOCKS)


def test_console_script_prints_the_same() -> None:
    """The real `autodiff` prints what the in-process runner does, stdout and stderr apart,
    on a few blocks: a table, a usage error, stdin, an error with a caret."""
    from conftest import subprocess_env
    from typer.testing import CliRunner

    from autodiff_cli.cli import app

    exe = shutil.which("autodiff", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("no autodiff console script next to this Python")
    commands = ['autodiff grad "(a+b)*(b+1)" --at a=3,b=2',
                "autodiff grad --nope",
                'echo "x^2" | autodiff grad - --at x=3',
                'autodiff grad "2x +* 3" --at x=1',
                'autodiff trace "sigmoid(X @ w)" --at "X=[[1,2],[3,4]],w=[0.5,-0.5]"']
    env = subprocess_env()
    env.update({k: v for k, v in ENV.items() if v is not None})
    for command in commands:
        argv, stdin = words(command)
        real = subprocess.run([exe, *argv[1:]], input=stdin, env=env, capture_output=True,
                              text=True, encoding="utf-8", check=False)
        ours = CliRunner().invoke(app, argv[1:], input=stdin, env=ENV)
        assert (ours.stdout, ours.stderr, ours.exit_code) == \
            (real.stdout, real.stderr, real.returncode), command


# -- the pages and their links ----------------------------------------------------------------

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(page: Path) -> list[str]:
    """The page's lines outside code fences."""
    kept, fence = [], 0
    for line in page.read_text(encoding="utf-8").splitlines():
        ticks = len(line) - len(line.lstrip("`"))
        if ticks >= 3 and (not fence or (ticks >= fence and not line.strip("`").strip())):
            fence = 0 if fence else ticks
        elif not fence:
            kept.append(line)
    return kept


def anchors(page: Path) -> set[str]:
    """GitHub's ids for the page's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated one numbered."""
    seen: dict[str, int] = {}
    for line in prose(page):
        m = re.match(r"#{1,6} (.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            seen[slug] = seen.get(slug, -1) + 1
            if seen[slug]:
                seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


def test_the_readme_is_short() -> None:
    assert len((REPO / "README.md").read_bytes()) < 15_000


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_link_between_pages_arrives(page: Path) -> None:
    for line in prose(page):
        for target in LINK.findall(line):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path, _, fragment = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            assert file.exists(), f"{page.name}: {target}: no such file"
            if fragment:
                assert fragment in anchors(file), f"{page.name}: {target}: no such heading"


def test_the_readme_links_every_page() -> None:
    linked = {(REPO / t.partition("#")[0]).resolve()
              for line in prose(REPO / "README.md") for t in LINK.findall(line)}
    assert set(PAGES[1:]) <= linked


# -- rewriting the docs ----------------------------------------------------------------------

def write_updates() -> None:
    for page in PAGES:
        steps = [s for b in BLOCKS if b.page == page for s in b.steps
                 if (page, s.first) in _updates]
        if not steps:
            continue
        lines = page.read_text(encoding="utf-8").splitlines()
        for step in sorted(steps, key=lambda s: s.first, reverse=True):
            head = step.first + 1  # the command's continuation lines stay as written
            while lines[head - 1].endswith("\\"):
                head += 1
            lines[head:step.end] = _updates[(page, step.first)]
        page.write_text("\n".join(lines) + "\n", encoding="utf-8")


def update_all() -> int:
    changed = 0
    for block in BLOCKS:
        for step, actual, code in run_block(block):
            new = refreshed(step.expected, actual) + ([f"[exit {code}]"] if code else [])
            old = list(step.expected) + ([f"[exit {step.exit_code}]"] if step.exit_code else [])
            changed += new != old
            _updates[(block.page, step.first)] = new
    write_updates()
    for work, _ in _workdirs.values():
        shutil.rmtree(work, ignore_errors=True)
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python tests/test_docs.py --update")
    sys.path.insert(0, str(REPO))
    print(f"{update_all()} command outputs changed")
