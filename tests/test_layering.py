"""The import rules of STYLE.md, checked on the source: no pip, front ends on top, one way down."""

from __future__ import annotations

import ast
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "peep_setuptools"
FRONT_ENDS = {"cli", "__main__", "setuptools_command", "commands", "adding"}
# Modules at the bottom import nothing of ours but these.
FOUNDATION = {"errors", "hashes"}


def _stdlib_names() -> set[str]:
    if hasattr(sys, "stdlib_module_names"):  # Python 3.10+
        return set(sys.stdlib_module_names)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = {p.stem for p in stdlib.glob("*.py")} | {p.name for p in stdlib.iterdir() if p.is_dir()}
    dynload = stdlib / "lib-dynload"
    names |= {p.name.split(".")[0] for p in dynload.glob("*.so")} if dynload.is_dir() else set()
    return names | set(sys.builtin_module_names)


STDLIB = _stdlib_names()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: ours
                base = node.module or ""
                if base:
                    found.add(f"peep_setuptools.{base}")
                else:
                    found.update(f"peep_setuptools.{alias.name}" for alias in node.names)
            elif node.module:
                found.add(node.module)
    return found


MODULES = sorted(p for p in PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_runtime_imports_only_stdlib_packaging_and_ourselves(path):
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "setuptools":
            assert path.stem == "setuptools_command", f"{path.name} imports setuptools"
            continue
        assert top in STDLIB or top in {"packaging", "peep_setuptools"}, (
            f"{path.name} imports {name}"
        )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_imports_point_one_way(path):
    ours = {n.split(".")[1] for n in _imports(path) if n.startswith("peep_setuptools.")}
    if path.stem in FOUNDATION:
        assert ours <= FOUNDATION - {path.stem} | ({"errors"} if path.stem != "errors" else set())
        if path.stem == "errors":
            assert not ours
    if path.stem not in FRONT_ENDS:
        assert not ours & FRONT_ENDS, f"{path.name} imports a front end: {ours & FRONT_ENDS}"
    if path.stem not in FRONT_ENDS | {"api", "__init__"}:
        assert "api" not in ours, f"{path.name} imports api; only front ends do"


def test_no_circular_imports():
    for path in MODULES:
        if path.stem in {"__main__", "setuptools_command"}:
            continue
        subprocess.run(
            [sys.executable, "-c", f"import peep_setuptools.{path.stem}"],
            check=True,
            cwd=PACKAGE.parent,
        )


def test_package_re_exports_the_library_api_lazily():
    code = (
        "import sys, peep_setuptools as p; assert 'peep_setuptools.api' not in sys.modules;"
        "from peep_setuptools import install, hash_files, port_file, PeepError;"
        "from peep_setuptools import api, errors;"
        "assert install is api.install and PeepError is errors.PeepError"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
