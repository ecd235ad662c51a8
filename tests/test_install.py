"""Packaging: build the sdist and, from it, the wheel; install the wheel into a fresh venv
and run the console script from a directory that is not the repository.

This proves the grammar ships inside the wheel: the installed package has no source tree to
fall back to. Slow (about 15 s; dependencies come from the package index), but run by default.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow

IGNORE = shutil.ignore_patterns(".git", "__pycache__", "*.pyc", ".hypothesis", ".pytest_cache",
                                ".ruff_cache", ".mypy_cache", "dist", "build", "*.egg-info",
                                ".venv", "venv")


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    p = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{args}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    return p.stdout


@dataclass
class Installed:
    wheel: Path
    bin: Path  # the fresh venv's scripts directory
    cwd: Path  # an empty directory outside the repository
    env: dict[str, str]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    root = tmp_path_factory.mktemp("install")
    src, dist, env_dir, elsewhere = (root / n for n in ("src", "dist", "venv", "elsewhere"))
    shutil.copytree(REPO, src, ignore=IGNORE)
    elsewhere.mkdir()
    (root / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["TMPDIR"] = str(root / "tmp")  # a fresh parser cache as well
    # sdist first, then the wheel from the unpacked sdist, as an installer from PyPI would
    run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
        cwd=root, env=env)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bin_dir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheels[0])],
        cwd=elsewhere, env=env, timeout=300)
    return Installed(wheels[0], bin_dir, elsewhere, env)


def test_wheel_contains_the_grammar(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as whl:
        names = whl.namelist()
        assert "autodiff_cli/grammars/expr.lark" in names
        shipped = whl.read("autodiff_cli/grammars/expr.lark").decode("utf-8")
    assert shipped == (REPO / "grammars" / "expr.lark").read_text("utf-8")
    assert not [n for n in names if n.startswith(("tests/", "grammars/"))]


def test_installed_console_script_runs_from_elsewhere(installed: Installed) -> None:
    out = run([str(installed.bin / "autodiff"), "grad", "(a+b)*(b+1)", "--at", "a=3,b=2",
               "--format", "json"], cwd=installed.cwd, env=installed.env)
    data = json.loads(out)
    assert data["value"] == 15.0
    assert data["gradient"] == {"a": 3.0, "b": 8.0}


def test_installed_package_is_the_one_in_the_venv(installed: Installed) -> None:
    out = run([str(installed.bin / "python"), "-c",
               "import autodiff_cli, autodiff_cli.parse as p; "
               "print(autodiff_cli.__file__); print(len(p.grammar_text()))"],
              cwd=installed.cwd, env=installed.env)
    path, size = out.split()
    assert Path(path).resolve().is_relative_to(installed.bin.parent.resolve())
    assert int(size) > 0
