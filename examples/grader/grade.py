"""The library side of `autodiff grade`, for a script of your own: grade a class, then do
what you like with the report (here: print each student's score and the issues).

    python grade.py problems.json submissions.jsonl      (or submissions.csv)

The command does the same and more (tables, --format json|csv, --out DIR with Gradescope
results.json files):  autodiff grade problems.json submissions.jsonl --out results/
"""

from __future__ import annotations

import sys
from pathlib import Path

from autodiff_cli import AutodiffError
from autodiff_cli.grade import grade, load_problems


def main(argv: list[str]) -> int:
    problems_file, submissions_file = argv
    try:
        problems = load_problems(Path(problems_file).read_text("utf-8"))
    except AutodiffError as err:  # a problem that is wrong: no grades at all
        print(f"error: {err}", file=sys.stderr)
        return 2
    with open(submissions_file, encoding="utf-8", newline="") as lines:
        report = grade(problems, lines, csv_format=submissions_file.endswith(".csv"))
    for s in report.students:
        print(f"{s.student:<10} {s.score:>4g} / {s.max_score:g}")
    for issue in report.issues:  # lines that could not be read; the rest is graded
        print(f"line {issue.line}: {issue.message}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
