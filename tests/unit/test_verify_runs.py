"""peep verify's view of what runs: launchers read as syntax trees, bytecode that shadows."""

from __future__ import annotations

import importlib.util
import marshal
import os
import py_compile
import sys
from pathlib import Path

import pytest

from peep_setuptools.checks.bytecode import namespace_folders, shadowing
from peep_setuptools.checks.scripts import (
    EntryPoint,
    check_copied_script,
    check_script,
    parse_entry_points,
)

ENTRY = EntryPoint("tool", "console_scripts", "tool_pkg.cli:Main.run [extra]")
PY = sys.executable

PIP_26 = """import sys
from tool_pkg.cli import Main
if __name__ == '__main__':
    sys.argv[0] = sys.argv[0].removesuffix('.exe')
    sys.exit(Main.run())
"""
DISTLIB_OLD = """# -*- coding: utf-8 -*-
import re
import sys
from tool_pkg.cli import Main
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(Main.run())
"""
DISTLIB_NEW = """# -*- coding: utf-8 -*-
import re
import sys
if __name__ == "__main__":
    from tool_pkg.cli import Main
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit(Main.run())
"""
UV = """# -*- coding: utf-8 -*-
import sys
from tool_pkg.cli import Main
if __name__ == "__main__":
    if sys.argv[0].endswith("-script.pyw"):
        sys.argv[0] = sys.argv[0][:-11]
    elif sys.argv[0].endswith(".exe"):
        sys.argv[0] = sys.argv[0][:-4]
    sys.exit(Main.run())
"""


def _script(tmp_path: Path, text: str, shebang: str | None = None) -> str:
    path = tmp_path / "tool"
    path.write_text((f"#!{PY}\n" if shebang is None else shebang) + text, encoding="utf-8")
    return str(path)


def test_entry_points() -> None:
    text = (
        "[console_scripts]\nTool = tool_pkg.cli:Main.run [extra]\n"
        "[gui_scripts]\ntool-gui=tool_pkg:gui\n[other]\nx = y:z\n"
    )
    assert parse_entry_points(text) == (
        EntryPoint("Tool", "console_scripts", "tool_pkg.cli:Main.run [extra]"),
        EntryPoint("tool-gui", "gui_scripts", "tool_pkg:gui"),
    )
    with pytest.raises(ValueError, match="no section headers"):
        parse_entry_points("x = y:z\n")


@pytest.mark.parametrize("template", [PIP_26, DISTLIB_OLD, DISTLIB_NEW, UV])
def test_installers_launchers_pass(tmp_path: Path, template: str) -> None:
    assert check_script(_script(tmp_path, template), ENTRY, PY) is None


def test_sh_trampoline_for_long_paths_passes(tmp_path: Path) -> None:
    for quote in ('"', "'", ""):
        shebang = f"#!/bin/sh\n'''exec' {quote}{PY}{quote} \"$0\" \"$@\"\n' '''\n"
        assert check_script(_script(tmp_path, PIP_26, shebang), ENTRY, PY) is None


RUNS = "it does not only run tool_pkg.cli:Main.run [extra]"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (PIP_26.replace("import sys\n", "import sys\nimport os\n"), RUNS),
        (PIP_26.replace("import sys\n", "import sys\nprint('x')\n"), RUNS),
        (PIP_26.replace("tool_pkg.cli", "tool_pkg.evil"), RUNS),
        (PIP_26.replace("Main.run()", "Main.other()"), RUNS),
        (PIP_26.replace("Main.run()", "Main.run(1)"), RUNS),
        (PIP_26.replace("from tool_pkg.cli import Main\n", ""), RUNS),
        (PIP_26 + "from tool_pkg.cli import Main\n", RUNS),
        (PIP_26.replace("from tool_pkg.cli import Main", "from tool_pkg.cli import Main, x"), RUNS),
        (
            PIP_26.replace(
                "sys.argv[0].removesuffix('.exe')", "__import__('os').system('id') or 'x'"
            ),
            RUNS,
        ),
        (PIP_26.replace("removesuffix('.exe')", "removesuffix(open('/x').read())"), RUNS),
        (DISTLIB_OLD.replace("'', sys.argv[0])", "lambda m: exec('1'), sys.argv[0])"), RUNS),
        (DISTLIB_OLD.replace("re.sub", "os.sub"), RUNS),
        (UV.replace('    elif sys.argv[0].endswith(".exe"):', '    elif exec("1"):'), RUNS),
        (UV.replace("sys.argv[0] = sys.argv[0][:-11]", "sys.argv[1] = 'x'"), RUNS),
        (PIP_26.replace("if __name__ == '__main__':", "if True:"), RUNS),
        (PIP_26 + "else:\n    pass\n", RUNS),
        ("import sys\n", RUNS),
        ("", RUNS),
        ("# -*- coding: latin-1 -*-\n" + PIP_26, "it declares the encoding iso-8859-1"),
        (PIP_26.replace("import sys", "import sys\x00"), "it is not Python"),
        (PIP_26 + "(\n", "it is not Python"),
    ],
)
def test_rewritten_launchers_fail(tmp_path: Path, text: str, why: str) -> None:
    assert check_script(_script(tmp_path, text), ENTRY, PY) == why


@pytest.mark.parametrize(
    ("shebang", "why"),
    [
        ("", "its first line does not start an interpreter directly"),
        ("#!/usr/bin/env python3\n", "its first line does not start an interpreter directly"),
        (f"#!{PY} -c 1\n", "its first line does not start an interpreter directly"),
        (f"#!{PY}\r\n", "its first line does not start an interpreter directly"),
        ("#!python\n", "it starts python, not " + PY),
        ("#!/bin/sh\nexec python\n", "its first line does not start an interpreter directly"),
        (
            f"#!/bin/sh\n'''exec' \"$(id){PY}\" \"$0\" \"$@\"\n' '''\n",
            "its first line does not start an interpreter directly",
        ),
        (
            f"#!/bin/sh\n'''exec' \"{PY}\" \"$0\" \"$@\"; id\n' '''\n",
            "its first line does not start an interpreter directly",
        ),
        (
            f"#!/bin/sh\n'''exec' {PY} evil.py \"$0\" \"$@\"\n' '''\n",
            "its first line does not start an interpreter directly",
        ),
    ],
)
def test_launchers_that_start_something_else_fail(tmp_path: Path, shebang: str, why: str) -> None:
    assert check_script(_script(tmp_path, PIP_26, shebang), ENTRY, PY) == why


def test_another_interpreter_fails(tmp_path: Path) -> None:
    other = tmp_path / "bin" / "python"
    other.parent.mkdir()
    other.symlink_to(os.path.realpath(PY))  # the same binary, another environment
    path = _script(tmp_path, PIP_26, f"#!{other}\n")
    assert check_script(path, ENTRY, PY) == f"it starts {other}, not {PY}"
    assert check_script(str(tmp_path / "gone"), ENTRY, PY) == (
        "cannot read it: No such file or directory"
    )


def _pyc(source: Path, code: str, *, level: int = 0, stale: bool = False) -> Path:
    pyc = Path(importlib.util.cache_from_source(str(source), optimization=level or ""))
    pyc.parent.mkdir(exist_ok=True)
    stat = source.stat()
    mtime = (int(stat.st_mtime) ^ (1 if stale else 0)) & 0xFFFFFFFF
    header = b"\0" * 4 + mtime.to_bytes(4, "little") + stat.st_size.to_bytes(4, "little")
    body = marshal.dumps(compile(code, str(source), "exec", dont_inherit=True, optimize=level))
    pyc.write_bytes(importlib.util.MAGIC_NUMBER + header + body)
    return pyc


def test_shadowing_bytecode_and_modules(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    genuine, planted, stale, other = (pkg / f"{n}.py" for n in ("genuine", "planted", "stale", "o"))
    for source in (genuine, planted, stale, other):
        source.write_text("def f():\n    return 'verified'\n")
    py_compile.compile(str(genuine))
    py_compile.compile(str(genuine), optimize=2)
    _pyc(genuine, "def f():\n    return 'verified'\n", level=1)
    pyc = _pyc(planted, "def f():\n    return 'planted'\n")
    opt = _pyc(planted, "def f():\n    return 'planted'\n", level=2)
    _pyc(stale, "x = 1\n", stale=True)
    (pkg / "__pycache__" / "o.cpython-11.pyc").write_bytes(b"not for this interpreter")
    fifo = Path(importlib.util.cache_from_source(str(other)))
    os.mkfifo(fifo)  # an import would hang on it; the probe must not
    extension = pkg / f"genuine{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    extension.write_bytes(b"")
    (pkg / "stale").mkdir()
    (pkg / "stale" / "__init__.py").write_text("")
    init = pkg / "__init__.py"
    init.write_text("")
    init_extension = pkg / f"__init__{importlib.machinery.EXTENSION_SUFFIXES[-1]}"
    init_extension.write_bytes(b"")  # a package's __init__ is looked up the same way
    sources = [genuine, planted, stale, other, init]
    found = shadowing(PY, [*map(str, sources), "/nowhere/x.py"])
    assert found == {
        str(genuine): ((str(extension), "an extension module"),),
        str(planted): (
            (str(pyc), "other code than its source"),
            (str(opt), "other code than its source"),
        ),
        str(stale): ((str(pkg / "stale"), "a package"),),
        str(other): ((str(fifo), "not a regular file"),),
        str(init): ((str(init_extension), "an extension module"),),
    }


def test_namespace_folders_are_those_above_the_modules_without_an_init() -> None:
    expected = [
        "ns/sub/__init__.py",
        "ns/sub/inner/x.py",  # inside a package: its folders are walked instead
        "ns2/deep/m.py",
        "pkg/__init__.cpython-311-x86_64-linux-gnu.so",  # an extension __init__: a package
        "pkg/m.py",
        "top.py",
        "data-files/x.py",  # not a name Python imports
        "f-1.0.dist-info/METADATA",
    ]
    assert namespace_folders(expected) == ["ns", "ns2", "ns2/deep"]


def test_code_above_a_namespace_folder_is_found(tmp_path: Path) -> None:
    folder = tmp_path / "ns"
    (folder / "sub").mkdir(parents=True)
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    init = folder / "__init__.pyc"  # a sourceless __init__ is imported too
    init.write_bytes(b"")
    module = tmp_path / f"ns{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    module.write_bytes(b"")
    found = shadowing(PY, [], [str(folder), str(quiet), "/nowhere/ns"])
    assert found == {
        str(folder): (
            (str(init), "it makes a package of the namespace folder"),
            (str(module), "a module of the namespace folder's name"),
        )
    }


@pytest.mark.parametrize(
    ("installed", "why"),
    [
        (f"#!{PY}\nprint('tool')\n", None),
        (f"#!/bin/sh\n'''exec' '{PY}' \"$0\" \"$@\"\n' '''\nprint('tool')\n", None),
        (f"#!{PY}\nprint('tool')\nimport os\n", "it differs from the wheel's copy"),
        (
            "#!/usr/bin/env python\nprint('tool')\n",
            "its first line does not start an interpreter directly",
        ),
        ("#!python\nprint('tool')\n", "it starts python, not " + PY),
    ],
)
def test_copied_scripts_get_only_a_new_first_line(tmp_path: Path, installed: str, why: str) -> None:
    path = tmp_path / "tool"
    path.write_text(installed)
    assert check_copied_script(str(path), b"#!python\nprint('tool')\n", PY) == why


def test_copied_scripts_without_python_first_line_are_copied_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "tool.sh"
    path.write_bytes(b"#!/bin/sh\necho hi\n")
    assert check_copied_script(str(path), b"#!/bin/sh\necho hi\n", PY) is None
    assert check_copied_script(str(path), b"#!/bin/sh\necho ho\n", PY) == (
        "it differs from the wheel's copy"
    )
    path.write_bytes(b"#!/bin/sh\necho hi\n" + b"#" * 10000)
    assert check_copied_script(str(path), b"#!/bin/sh\necho hi\n", PY) == (
        "it is larger than the wheel's copy"
    )


def test_what_runs_instead_of_a_verified_extension_module(tmp_path: Path) -> None:
    first, *later = importlib.machinery.EXTENSION_SUFFIXES
    assert ".abi3.so" in later
    verified = tmp_path / "m.abi3.so"
    verified.write_bytes(b"")
    planted = tmp_path / f"m{first}"
    planted.write_bytes(b"")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "__init__.py").write_text("")
    own = tmp_path / f"n{first}"  # a later suffix beside it does not win
    own.write_bytes(b"")
    (tmp_path / "n.abi3.so").write_bytes(b"")
    found = shadowing(PY, [str(verified), str(own), str(tmp_path / "x.cpython-0-none.so")])
    assert found == {
        str(verified): (
            (str(planted), "an extension module"),
            (str(tmp_path / "m"), "a package"),
        )
    }
