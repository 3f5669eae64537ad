"""The import rules of STYLE.md, checked on the source: no pip, front ends on top, one way down."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "peep_setuptools"
#: the bottom layer: importable from everywhere, importing only each other
BOTTOM = {
    "__init__",
    "errors",
    "hashes",
    "archives",
    "placing",
    "urls",
    "atomic",
    "target",
    "probing",
    "signals",
    "tomlread",
    "frozen",
}
#: stage -> the stages it may import besides itself and the bottom; anything not named here
#: (the front ends, frontend, api, values and port) may import any stage
ALLOWED = {
    "requirements": set(),
    "lock": {"requirements"},
    "index": set(),
    "checks": {"requirements"},
    "installing": {"requirements", "lock", "index", "checks"},
}
#: the front ends: they may import anything, and nothing imports them (not even each other)
FRONT_ENDS = {"cli", "setuptools_command", "__main__"}
#: what the front ends share (the install options, the runner, the messages): below them
#: all, imported by them only; it may import api and any stage
SHARED_BY_FRONT_ENDS = {"frontend"}


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


MODULES = sorted(PACKAGE.rglob("*.py"))


def _unit(name: str) -> str:
    """The stage or top-level module a dotted name of ours belongs to."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _dotted(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@pytest.mark.parametrize("path", MODULES, ids=_dotted)
def test_runtime_imports_only_stdlib_packaging_and_ourselves(path):
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "setuptools":
            assert path.stem == "setuptools_command", f"{path.name} imports setuptools"
            continue
        assert top in STDLIB or top in {"packaging", "peep_setuptools"}, (
            f"{path.name} imports {name}"
        )


@pytest.mark.parametrize("path", MODULES, ids=_dotted)
def test_imports_point_one_way(path):
    me = _unit(_dotted(path))
    ours = {_unit(n) for n in _imports(path) if n.startswith("peep_setuptools.")} - {me}
    ours |= {"__init__"} if "peep_setuptools" in _imports(path) else set()
    ours.discard(me)
    if me == "__main__":
        assert ours <= {"cli"}, f"__main__ imports {ours}"
        return
    if path.name == "__init__.py" and me == "__init__":
        # the package re-exports the library API lazily (the backend Protocol from installing,
        # the index options from requirements)
        assert ours <= BOTTOM | {"api", "values", "installing", "requirements"}, (
            f"peep_setuptools/__init__ imports {ours}"
        )
        return
    front_ends = ours & FRONT_ENDS
    assert not front_ends, f"{_dotted(path)} imports a front end: {front_ends}"
    if me not in FRONT_ENDS:
        shared = ours & SHARED_BY_FRONT_ENDS
        assert not shared, f"{_dotted(path)} imports {shared}, which only front ends import"
    if me in BOTTOM:
        assert ours <= BOTTOM, f"{_dotted(path)} is at the bottom but imports {ours - BOTTOM}"
    elif me in ALLOWED:
        upward = ours - BOTTOM - ALLOWED[me]
        assert not upward, f"{_dotted(path)} imports {upward}: {me} may import only {ALLOWED[me]}"
    elif me not in FRONT_ENDS | SHARED_BY_FRONT_ENDS:
        assert "api" not in ours or me == "api", f"{_dotted(path)} imports api; only front ends do"


def test_no_circular_imports():
    for path in MODULES:
        if path.stem in {"__main__", "setuptools_command"}:
            continue
        subprocess.run(
            [sys.executable, "-c", f"import {_dotted(path)}"],
            check=True,
            cwd=PACKAGE.parent,
        )


def test_package_all_is_what_it_exports():
    import peep_setuptools

    assert set(peep_setuptools.__all__) == {"__version__", *peep_setuptools._EXPORTS}
    assert set(peep_setuptools.__all__) <= set(dir(peep_setuptools))
    for name in peep_setuptools.__all__:
        assert getattr(peep_setuptools, name) is not None


def test_package_re_exports_the_library_api_lazily():
    code = (
        "import sys, peep_setuptools as p; assert 'peep_setuptools.api' not in sys.modules;"
        "from peep_setuptools import install, hash_files, port_file, PeepError;"
        "from peep_setuptools import api, errors;"
        "assert install is api.install and PeepError is errors.PeepError"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


#: what a run that installs nothing must not import
NETWORK_HALF = (
    "ssl",
    "http.client",
    "urllib.request",
    "email.parser",
    "zipfile",
    "peep_setuptools.installing.fetch",
    "peep_setuptools.installing.cache",
    "peep_setuptools.installing.backends",
)


def test_the_command_line_sets_its_first_handlers_before_importing_the_package():
    # cli.run sets SIGTERM's and SIGHUP's handlers first thing: until then a signal ends
    # peep without its exit code; errors (urls, ipaddress) took milliseconds to import
    loaded = _loaded_by("import peep_setuptools.cli")
    ours = [m for m in loaded if m.startswith("peep_setuptools.")]
    assert ours == ["peep_setuptools.cli", "peep_setuptools.signals"], ours


def _loaded_by(statement: str) -> list[str]:
    """The modules loaded in a new interpreter once it has run ``statement``, sorted."""
    code = f"{statement}\nimport sys\nprint(*sorted(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=PACKAGE.parent, capture_output=True, text=True
    )
    return done.stdout.split()


def test_the_command_line_starts_without_the_network_half():
    # A no-op `peep install` (everything installed) never needs http, ssl or the index code;
    # importing them was a third of that run's time.
    code = (
        "import sys, peep_setuptools.cli.main;"
        "loaded = [m for m in ('ssl', 'http.client', 'urllib.request', 'email.parser',"
        " 'peep_setuptools.index.http', 'peep_setuptools.installing.fetch',"
        " 'peep_setuptools.installing.backends') if m in sys.modules];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def _peep_loading_none_of(
    argv: list[str], modules: tuple[str, ...], packages: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``peep`` (pip's configuration off) and check at exit that it loaded none of those."""
    code = (
        "import atexit, runpy, sys\n"
        "def check():\n"
        "    loaded = [m for m in sys.modules if m in MODULES or m.startswith(PACKAGES)]\n"
        "    assert not loaded, loaded\n"
        "    print('checked')\n"
        f"MODULES = {modules!r}\n"
        f"PACKAGES = {packages!r}\n"
        "atexit.register(check)\n"
        "sys.argv = ['peep', *sys.argv[1:]]\n"
        "runpy.run_module('peep_setuptools', run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        env={**env, "PIP_CONFIG_FILE": os.devnull},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "checked" in done.stdout, done.stderr
    return done


def test_a_no_op_install_never_loads_the_network_half(tmp_path):
    # The real command, everything installed: tighter than importing the command line.
    import packaging

    reqs = tmp_path / "reqs.txt"
    reqs.write_text(f"# sha256: {'A' * 43}\npackaging=={packaging.__version__}\n")
    argv = ["install", "-r", str(reqs), "-i", "http://127.0.0.1:9/simple/"]
    stages = ("peep_setuptools.index", "peep_setuptools.checks")
    # nor OpenSSL's libcrypto (nothing is hashed), the lock-file code (no lock file) or
    # the editing code (no file is edited)
    lock_code = tuple(f"peep_setuptools.lock.{m}" for m in ("model", "parse", "select"))
    editing = ("peep_setuptools.cli.adding", "peep_setuptools.requirements.editing")
    not_needed = (*NETWORK_HALF, "_hashlib", "hmac", *lock_code, *editing, *WARM_RUN_NEVER)
    not_needed += ("peep_setuptools.installing.verdicts",)  # nothing fetched, no verdict
    done = _peep_loading_none_of(argv, not_needed, stages)
    assert "already installed" in done.stdout + done.stderr


#: what a run that the verified cache serves alone must not import: the HTTP code, the
#: email parser (a plain METADATA is read without it; checks.metadata.header_fields),
#: tarfile (no sdist), the editing code (no file to edit), configparser (no pip
#: configuration file), concurrent.futures (small cached archives are taken without threads),
#: and what only a lookup's, a missing hash's or a missing dependency's messages need
#: (findings, placing, porting, checks.missing), nor check's, add's and verify's (cli.commands)
WARM_RUN_NEVER = (
    "configparser",
    "concurrent.futures",
    "email.parser",
    "email.policy",
    "socket",
    "tarfile",
    "peep_setuptools.requirements.editing",
    "ssl",
    "http.client",
    "urllib.request",
    "html.parser",
    "peep_setuptools.index.http",
    "peep_setuptools.index.pages",
    "peep_setuptools.index.download",
    "peep_setuptools.index.routes",
    "peep_setuptools.index.response",
    "peep_setuptools.installing.picking",
    "peep_setuptools.installing.findings",
    "peep_setuptools.requirements.porting",
    "peep_setuptools.checks.missing",
    "peep_setuptools.placing",
    "peep_setuptools.cli.commands",
)


def test_a_run_the_cache_serves_never_loads_the_http_code(tmp_path):
    # A warm run: every archive verified from the cache, no index to reach (port 9).
    from support.builders import make_wheel

    from peep_setuptools.api import hash_files

    # two: a single requirement is fetched without the threads' code anyway
    wheels = [make_wheel(tmp_path / "wheels", name, "1.0") for name in ("warmonly", "warmtoo")]
    lines = hash_files([str(wheel) for wheel in wheels])
    reqs = tmp_path / "reqs.txt"
    reqs.write_text(f"{lines[0]}\nwarmonly==1.0\n{lines[1]}\nwarmtoo==1.0\n")
    common = ["install", "--dry-run", "-r", str(reqs), "--cache-dir", str(tmp_path / "cache")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    cold = [*common, "--no-index", "--find-links", str(tmp_path / "wheels")]
    subprocess.run(
        [sys.executable, "-m", "peep_setuptools", *cold],
        env={**env, "PIP_CONFIG_FILE": os.devnull},
        check=True,
        capture_output=True,
    )
    warm = _peep_loading_none_of([*common, "-i", "http://127.0.0.1:9/simple/"], WARM_RUN_NEVER)
    assert "match their hashes" in warm.stdout + warm.stderr


def test_the_split_reads_plain_metadata_without_the_email_parser():
    # preparable reads each wheel's WHEEL and METADATA through checks.metadata.header_fields
    code = (
        "import sys, peep_setuptools.installing.batches, peep_setuptools.installing.preparable;"
        "loaded = [m for m in ('email.parser', 'email.message') if m in sys.modules];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_a_pkg_info_ended_by_cr_lf_is_read_without_the_email_parser():
    # some sdists' PKG-INFO (pyperclip's): importing the parser was ~4 ms of a warm run
    code = (
        "import sys; from peep_setuptools.checks.metadata import parse_metadata;"
        "text = 'Metadata-Version: 2.2\\r\\nName: p\\r\\nVersion: 1\\r\\n"
        "Requires-Dist: q\\r\\n\\r\\nLong\\r\\n';"
        "assert [str(r) for r in parse_metadata(text, sdist=True).requires] == ['q'];"
        "loaded = [m for m in ('email.parser', 'email.message') if m in sys.modules];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_an_install_that_cannot_split_loads_no_reader_of_the_split():
    # batches and preparable read every wheel; an install the cache serves to uv, or of a
    # few wheels, never splits. Lock files' code: only for them.
    code = (
        "import sys, peep_setuptools.api, peep_setuptools.installing.backends;"
        "never = ('peep_setuptools.installing.batches', 'peep_setuptools.installing.preparable',"
        " 'peep_setuptools.lock.model', 'email.message',"
        # what reads the target back after the installer: nothing to read after a warm uv run
        " 'peep_setuptools.checks.located', 'peep_setuptools.installing.recorded',"
        " 'peep_setuptools.installing.bytecode', 'csv');"
        "loaded = [m for m in never if m in sys.modules];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


def test_the_setuptools_command_runs_without_the_cli():
    # setup.py peep_install shares frontend/ with the peep command, and never loads cli/
    code = (
        "import sys, peep_setuptools.setuptools_command, peep_setuptools.frontend.options,"
        " peep_setuptools.frontend.running;"
        "loaded = [m for m in sys.modules if m.startswith('peep_setuptools.cli')];"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)
