"""End to end: ``python setup.py peep_install`` in real downstream projects and real venvs.

Every venv here gets pip and setuptools from the hash-pinned wheelhouse (tests/wheelhouse.txt),
our plugin as a wheel built once per session from this checkout, and the requirements from the
session's loopback index. Nothing reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import pty
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.version import Version
from support.builders import clean_env, installed, make_venv, make_wheel
from support.peeprun import describe, run_with_terminal_stderr
from support.wheelhouse import WHEELHOUSE_LIST, Wheelhouse

from peep_setuptools import __version__
from peep_setuptools.checks.completeness import UNCHECKED_HEAD
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.backends import find_uv
from peep_setuptools.installing.report import MISMATCH_HEAD, MISSING_HEAD, NOT_PROCEEDING
from peep_setuptools.setuptools_command import resolve_location, split_list

pytestmark = [pytest.mark.slow, pytest.mark.setuptools_command]

REPO = Path(__file__).resolve().parents[2]
OLDEST_SETUPTOOLS = "80.9.0"
if sys.version_info >= (3, 10):
    NEWEST_SETUPTOOLS = "84.2.1"
    PIP = "26.3"
    PACKAGING = "26.4"
else:
    # The newest releases that still install on Python 3.9 (all in tests/wheelhouse.txt).
    NEWEST_SETUPTOOLS = "82.0.1"
    PIP = "26.0.1"
    PACKAGING = "26.3"
#: the first pip that takes hashes from constraints files (the one-step bootstrap recipe)
PIP_WITH_CONSTRAINT_HASHES = Version("26.1")
#: what pip prints when a file does not match a hash it was given
PIP_MISMATCH = "THESE PACKAGES DO NOT MATCH THE HASHES"

# ---------------------------------------------------------------------------------------------
# Session-wide material: our own plugin wheel (the wheelhouse is conftest's)


@dataclass(frozen=True)
class Plugin:
    """Our wheel, built from this checkout, and a tampered twin with the same filename."""

    wheel: Path
    tampered: Path
    version: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.wheel.read_bytes()).hexdigest()

    @property
    def pin(self) -> str:
        return f"peep-setuptools=={self.version} --hash=sha256:{self.sha256}"


_SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "README.rst", "LICENSE", "MANIFEST.in")


def _build_plugin(root: Path, version: str) -> Plugin:
    """Our wheel, from a copy of the checkout stamped ``version`` (so the build leaves no
    trace in the checkout), and its tampered twin."""
    source = root / "source"
    source.mkdir(parents=True)
    for name in _SOURCES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, source / name)
    shutil.copytree(
        REPO / "peep_setuptools",
        source / "peep_setuptools",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    init = source / "peep_setuptools" / "__init__.py"
    text, count = re.subn(r"(?m)^__version__ = .*$", f"__version__ = {version!r}", init.read_text())
    assert count == 1, "cannot find __version__ in peep_setuptools/__init__.py"
    init.write_text(text)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "-w",
            str(root / "real"),
            str(source),
        ],
        env=clean_env({"PIP_CACHE_DIR": str(root / "pip-cache")}),
        check=True,
    )
    (wheel,) = (root / "real").glob("peep_setuptools-*.whl")
    tampered = root / "tampered" / wheel.name
    tampered.parent.mkdir()
    shutil.copy2(wheel, tampered)
    with zipfile.ZipFile(tampered, "a") as archive:  # other bytes, same name and contents
        archive.comment = b"tampered"
    return Plugin(wheel, tampered, version)


@pytest.fixture(scope="session")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Plugin:
    """Our wheel stamped with the release of its version (1.0.0.dev0 -> 1.0.0): what most
    projects use. ``dev_plugin`` is the pre-release twin."""
    return _build_plugin(tmp_path_factory.mktemp("plugin"), Version(__version__).base_version)


@pytest.fixture(scope="session")
def dev_plugin(tmp_path_factory: pytest.TempPathFactory) -> Plugin:
    """Our wheel as a pre-release (the checkout's own version, or X.Y.Z.dev0 after a release).

    setuptools 80.x judges setup_requires with its vendored packaging 24, for which a bare
    ``peep_setuptools`` excludes pre-releases: it would not recognise the plugin it fetched
    into .eggs and would crash fetching it again over it. README's line allows them.
    """
    version = Version(__version__)
    stamped = str(version) if version.is_prerelease else f"{version.base_version}.dev0"
    return _build_plugin(tmp_path_factory.mktemp("dev-plugin"), stamped)


#: the setup_requires line README documents, exactly
DOCUMENTED_SETUP_REQUIRES = re.search(
    r'setup_requires=\["peep_setuptools[^"]*"\]', (REPO / "README.rst").read_text(encoding="utf-8")
).group(0)


# ---------------------------------------------------------------------------------------------
# Helpers: venvs, projects, running setup.py


def build_venv(
    path: Path, wheelhouse: Wheelhouse, *pins: str, wheels: tuple[Path, ...] = ()
) -> Path:
    """A venv without pip; then uv installs ``pins`` from the wheelhouse, and ``wheels``."""
    python = make_venv(path)
    subprocess.run(
        [
            find_uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--no-index",
            "--find-links",
            str(wheelhouse.path),
            *pins,
            *map(str, wheels),
        ],
        env=clean_env({"UV_CACHE_DIR": str(path.parent / "uv-cache")}),
        check=True,
    )
    return python


def write_project(
    root: Path, *, setup_args: str = "", setup_cfg: str = "", files: dict[str, str] | None = None
) -> Path:
    """A downstream project: setup.py calling setup(name="myapp", ..., <setup_args>)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "setup.py").write_text(
        "from setuptools import setup\n\n"
        f'setup(name="myapp", version="1.0", py_modules=[], {setup_args})\n',
        encoding="utf-8",
    )
    (root / "setup.cfg").write_text(textwrap.dedent(setup_cfg), encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def setup_py(
    python: Path,
    project: Path,
    *args: str,
    env: dict[str, str],
    code: int = 0,
    traceback: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``python setup.py ARGS`` in the project; assert its exit code and (no) traceback."""
    done = subprocess.run(
        [str(python), "setup.py", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == code, describe(done)
    assert ("Traceback" in done.stderr) == traceback, describe(done)
    return done


def setup_requires_cfg(find_links: Path, index_url: str, peep_install: str = "") -> str:
    """setup.cfg for setup_requires: setuptools fetches our plugin from ``find_links`` only."""
    # easy_install's index_url keeps setuptools' `pip wheel` off PyPI: the loopback index has
    # no peep-setuptools, so the find-links directory is the only source of the plugin.
    return (
        f"[easy_install]\nfind_links = {find_links}\nindex_url = {index_url}\n\n"
        f"[peep_install]\nindex_url = {index_url}\n{peep_install}"
    )


def pip_version(python: Path) -> Version:
    out = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, text=True, check=True
    )
    return Version(out.stdout.split()[1])


def egg_of_plugin(project: Path) -> list[Path]:
    return sorted((project / ".eggs").glob("peep_setuptools-*.egg"))


# ---------------------------------------------------------------------------------------------
# 1. Through setup_requires, in a venv with nothing but pip and setuptools


@pytest.mark.parametrize("setuptools_version", [NEWEST_SETUPTOOLS, OLDEST_SETUPTOOLS])
def test_setup_requires_fetches_the_plugin_which_installs_verified_requirements(
    tmp_path, wheelhouse, plugin, packages, index, env, telltale, setuptools_version
):
    python = build_venv(
        tmp_path / "venv", wheelhouse, f"pip=={PIP}", f"setuptools=={setuptools_version}"
    )
    assert "packaging" not in installed(python)
    project = write_project(
        tmp_path / "myapp",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(plugin.wheel.parent, index.index_url),
        files={
            "requirements.txt": f"{packages.peep('alpha-1.0')}\nalpha==1.0\n"
            f"delta==1.0 {packages.pip('delta-1.0')}\n",
            "tampered.txt": f"gamma==1.0 {packages.pip('gamma-1.0')}\n"
            f"beta==1.0 {packages.pip('alpha-1.0')}\n",
        },
    )

    done = setup_py(python, project, "peep_install", env=env)
    got = installed(python)
    assert (got["alpha"], got["delta"]) == ("1.0", "1.0")
    assert "peep-setuptools" not in got and "packaging" not in got
    assert [egg.name.split("-")[1] for egg in egg_of_plugin(project)] == [plugin.version]
    assert "fetch_build_eggs are deprecated" in done.stderr  # setuptools' own warning
    assert "running peep_install" in done.stdout
    assert not telltale.exists()

    # One tampered hash: peep's block, setuptools' error line, exit 1, and nothing installed
    # (gamma verified, but is not installed either; no sdist build code ran).
    done = setup_py(
        python, project, "peep_install", "--requirement", "tampered.txt", env=env, code=1
    )
    assert MISMATCH_HEAD in done.stdout
    assert f"    beta: expected sha256:{packages.sha256('alpha-1.0').hex}\n" in done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    assert re.search(
        r"^error: peep_install: verification failed \(1 did not match", done.stderr, re.M
    )
    got = installed(python)
    assert "gamma" not in got and "beta" not in got and "peep-setuptools" not in got
    assert not telltale.exists()


def _git(project: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=project,
        env=clean_env({"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(project)}),
        capture_output=True,
        check=True,
    )


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("setuptools_version", [OLDEST_SETUPTOOLS, NEWEST_SETUPTOOLS])
def test_runs_again_and_after_git_clean_with_a_prerelease_plugin(
    tmp_path, wheelhouse, dev_plugin, packages, index, env, setuptools_version
):
    assert Version(dev_plugin.version).is_prerelease
    python = build_venv(
        tmp_path / "venv", wheelhouse, f"pip=={PIP}", f"setuptools=={setuptools_version}"
    )
    assert "packaging" not in installed(python)  # setuptools' vendored copy judges the plugin
    project = write_project(
        tmp_path / "myapp",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(dev_plugin.wheel.parent, index.index_url),
        files={"requirements.txt": f"alpha==1.0 {packages.pip('alpha-1.0')}\n"},
    )
    _git(project, "init", "-q")
    _git(project, "add", ".")
    _git(project, "commit", "-q", "-m", "myapp")

    setup_py(python, project, "peep_install", env=env)
    assert installed(python)["alpha"] == "1.0"
    assert [egg.name.split("-")[1] for egg in egg_of_plugin(project)] == [dev_plugin.version]
    done = setup_py(python, project, "peep_install", env=env)  # the plugin from .eggs
    assert "Skipping alpha==1.0: already installed." in done.stdout
    _git(project, "clean", "-fdxq")
    assert not (project / ".eggs").exists()
    done = setup_py(python, project, "peep_install", "--force-reinstall", env=env)
    assert "verified and installed 1 archive(s)" in done.stdout
    assert egg_of_plugin(project)

    # README's troubleshooting: the plugin not found is setuptools' traceback after pip's line
    (tmp_path / "empty").mkdir()
    missing = write_project(
        tmp_path / "missing",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(tmp_path / "empty", index.index_url),
    )
    done = setup_py(python, missing, "peep_install", env=env, code=1, traceback=True)
    requirement = DOCUMENTED_SETUP_REQUIRES.split('"')[1]
    assert f"No matching distribution found for {requirement}" in done.stderr
    assert "fetch_build_eggs are deprecated" in done.stderr
    assert "returned non-zero exit status 1." in done.stderr.splitlines()[-1]

    if setuptools_version == OLDEST_SETUPTOOLS:
        # What README's line avoids: a bare name, and setuptools 80.9 crashes the second time.
        bare = write_project(
            tmp_path / "bare",
            setup_args='setup_requires=["peep_setuptools"]',
            setup_cfg=setup_requires_cfg(dev_plugin.wheel.parent, index.index_url),
        )
        setup_py(python, bare, "--version", env=env)
        done = setup_py(python, bare, "--version", env=env, code=1, traceback=True)
        assert "OSError: [Errno 39] Directory not empty" in done.stderr


# ---------------------------------------------------------------------------------------------
# 2. peep-setuptools installed normally in the build environment (no setup_requires)


@pytest.fixture(scope="module")
def installed_venv(tmp_path_factory, wheelhouse, plugin) -> Path:
    """One venv for the tests below; each installs (or not) a project of its own."""
    root = tmp_path_factory.mktemp("installed")
    return build_venv(
        root / "venv",
        wheelhouse,
        f"pip=={PIP}",
        f"setuptools=={NEWEST_SETUPTOOLS}",
        f"packaging=={PACKAGING}",
        wheels=(plugin.wheel,),
    )


def test_help_commands_lists_peep_install(installed_venv, tmp_path, env):
    project = write_project(tmp_path / "myapp")
    done = setup_py(installed_venv, project, "--help-commands", env=env)
    assert re.search(
        r"^  peep_install +install hashed requirements into this Python", done.stdout, re.M
    )
    done = setup_py(installed_venv, project, "peep_install", "--help", env=env)
    for option in (
        "--requirement",
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "--no-index",
        "--dry-run",
        "--force-reinstall",
        "--installer",
    ):
        assert option in done.stdout


def test_command_line_overrides_setup_cfg(installed_venv, tmp_path, packages, index, env):
    project = write_project(
        tmp_path / "myapp",
        setup_cfg="""
            [peep_install]
            requirement = does-not-exist.txt
            index_url = http://127.0.0.1:9/nothing-listens-here/
            """,
        files={"reqs/epsilon.txt": f"epsilon==1.0 {packages.pip('epsilon-1.0')}\n"},
    )
    args = ("peep_install", "-r", "reqs/epsilon.txt", "--index-url", f"{index.url}/other/")
    done = setup_py(installed_venv, project, *args, env=env)
    assert installed(installed_venv)["epsilon"] == "1.0"
    assert "verified and installed 1 archive(s)" in done.stdout

    done = setup_py(installed_venv, project, *args, env=env)
    assert "Skipping epsilon==1.0: already installed." in done.stdout
    done = setup_py(installed_venv, project, *args, "--force-reinstall", env=env)
    assert "Skipping" not in done.stdout
    assert "verified and installed 1 archive(s)" in done.stdout


@pytest.mark.parametrize(
    ("value", "items"),
    [
        (None, ()),
        ("", ()),
        ("a.txt", ("a.txt",)),
        ("a.txt, b.txt", ("a.txt", "b.txt")),
        ("\n  a.txt\n  b.txt,c.txt\n", ("a.txt", "b.txt", "c.txt")),
        (["a.txt", "b.txt, c.txt"], ("a.txt", "b.txt", "c.txt")),
    ],
)
def test_split_list(value, items):
    assert split_list(value) == items


@pytest.mark.parametrize(
    ("location", "resolved"),
    [
        ("wheels", "/project/wheels"),
        ("../wheels", "/wheels"),
        ("/abs/wheels", "/abs/wheels"),
        ("https://mirror.example/links/", "https://mirror.example/links/"),
        ("file:///srv/wheels", "file:///srv/wheels"),
    ],
)
def test_resolve_location(location, resolved):
    assert resolve_location(location, "/project") == resolved


def test_setup_cfg_lists_and_relative_paths(installed_venv, tmp_path, packages, env):
    # Two files on two lines; find_links, comma-separated, are directories relative to setup.py.
    for sub, key in (("wheels", "delta-1.0"), ("more/wheels", "alpha-2.0")):
        (tmp_path / "myapp" / sub).mkdir(parents=True)
        shutil.copy2(packages[key], tmp_path / "myapp" / sub)
    project = write_project(
        tmp_path / "myapp",
        setup_cfg="""
            [peep_install]
            requirement =
                one.txt
                reqs/two.txt
            find_links = wheels, more/wheels
            no_index = 1
            """,
        files={
            "one.txt": f"delta==1.0 {packages.pip('delta-1.0')}\n",
            "reqs/two.txt": f"alpha==2.0 {packages.pip('alpha-2.0')}\n",
        },
    )
    done = setup_py(installed_venv, project, "peep_install", "--dry-run", env=env)
    assert "All 2 archives match their hashes; not installing (--dry-run)." in done.stdout
    assert "delta" not in installed(installed_venv)


def test_dry_run_verifies_and_installs_nothing(installed_venv, tmp_path, packages, index, env):
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex_url = {index.index_url}\n",
        files={
            "requirements.txt": f"{packages.peep('zeta-1.0')}\nzeta==1.0 ; python_version < '3'\n"
            f"beta==1.0 {packages.pip('beta-1.0')}\n"
        },
    )
    done = setup_py(installed_venv, project, "peep_install", "--dry-run", env=env)
    assert "not installing (--dry-run)" in done.stdout
    assert "beta" not in installed(installed_venv)
    # the same from setup.cfg
    (project / "setup.cfg").write_text(
        f"[peep_install]\nindex_url = {index.index_url}\ndry_run = true\n", encoding="utf-8"
    )
    done = setup_py(installed_venv, project, "peep_install", env=env)
    assert "not installing (--dry-run)" in done.stdout
    assert "beta" not in installed(installed_venv)


def test_prints_what_peep_install_prints(installed_venv, tmp_path, packages, index, env):
    # Not a terminal: a line per file; the notes about the sdist (its dependencies cannot be
    # read without building it, and building it fetches its backend unverified).
    alpha, gamma = packages["alpha-1.0"].name, packages["gamma-1.0"].name
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex-url = {index.index_url}\n",  # as pip.conf has it
        files={
            "requirements.txt": f"{packages.peep('alpha-1.0')}\nalpha==1.0\n"
            f"gamma==1.0 {packages.pip('gamma-1.0')}\n"
        },
    )
    done = setup_py(installed_venv, project, "peep_install", "--dry-run", env=env)
    assert f"Fetched {alpha} (" in done.stdout and f"Fetched {gamma} (" in done.stdout
    assert f"{UNCHECKED_HEAD}\n\n    gamma (" in done.stdout
    assert "\r" not in done.stdout + done.stderr
    assert "dash-separated" not in done.stderr  # setuptools leaves our section alone

    done = setup_py(installed_venv, project, "-v", "peep_install", "--dry-run", env=env)
    # from the verified cache now, and -v says where each file came from
    assert re.search(rf"^Cached {re.escape(alpha)} \(.*\) from /", done.stdout, re.M)

    done = setup_py(installed_venv, project, "-q", "peep_install", env=env)
    assert "Fetched" not in done.stdout and UNCHECKED_HEAD not in done.stdout
    assert "Note: building the sdists of gamma makes the installer fetch" in done.stdout
    assert installed(installed_venv)["gamma"] == "1.0"


@pytest.mark.skipif(not hasattr(pty, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_gets_the_live_line(installed_venv, tmp_path, packages, index, env):
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex_url = {index.index_url}\ndry_run = true\n"
        "force-reinstall = yes\n",
        files={
            "requirements.txt": f"{packages.peep('alpha-1.0')}\nalpha==1.0\n"
            f"delta==1.0 {packages.pip('delta-1.0')}\n"
        },
    )
    done, seen = run_with_terminal_stderr(
        [str(installed_venv), "setup.py", "peep_install"], env=env, cwd=project
    )
    assert done.returncode == 0, done.stdout
    assert "\rVerifying: 2/2 files" in seen
    assert "Fetched" not in done.stdout
    assert "not installing (--dry-run)" in done.stdout


def test_missing_hash_prints_the_lines_to_add(installed_venv, tmp_path, packages, index, env):
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex_url = {index.index_url}\n",
        files={"requirements.txt": "beta==1.0\n"},
    )
    done = setup_py(installed_venv, project, "peep_install", env=env, code=1)
    assert MISSING_HEAD in done.stdout
    assert f"{packages.peep('beta-1.0')}\nbeta==1.0\n" in done.stdout
    assert "error: peep_install: verification failed (1 had no hashes" in done.stderr
    assert "beta" not in installed(installed_venv)


@pytest.fixture(scope="module")
def needy(index, tmp_path_factory):
    """f7s-app needs f7s-lib, on the session index."""
    root = tmp_path_factory.mktemp("f7s")
    app = make_wheel(root, "f7s-app", "1.0", requires_dist=["f7s-lib"])
    index.add_file("f7s-app", app)
    index.add_file("f7s-lib", make_wheel(root, "f7s-lib", "1.0"))
    return hash_file(str(app))["sha256"]


def test_missing_dependency_refused_unless_allow_incomplete(
    installed_venv, tmp_path, needy, index, env
):
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex_url = {index.index_url}\n",
        files={"requirements.txt": f"f7s-app==1.0 {needy.pip_option()}\n"},
    )
    done = setup_py(installed_venv, project, "peep_install", env=env, code=1)
    assert (
        "    f7s-app==1.0 requires f7s-lib, which is not in "
        f"{project / 'requirements.txt'} ({project / 'requirements.txt'}:1)\n"
    ) in done.stdout
    assert "\nf7s-lib==1.0 --hash=sha256:" in done.stdout
    assert done.stderr.strip().endswith(
        "error: peep_install: 1 dependency is missing from the requirements files; "
        "nothing was installed (--allow-incomplete installs anyway)"
    )
    assert "f7s-app" not in installed(installed_venv)
    (project / "setup.cfg").write_text(
        f"[peep_install]\nindex_url = {index.index_url}\nallow_incomplete = true\n",
        encoding="utf-8",
    )
    done = setup_py(installed_venv, project, "peep_install", env=env)
    assert "f7s-app==1.0 requires f7s-lib, which is not in" in done.stdout
    assert installed(installed_venv)["f7s-app"] == "1.0"


def test_peep_requirements_keyword_is_the_default_and_checked_at_setup_time(
    installed_venv, tmp_path, packages, index, env
):
    project = write_project(
        tmp_path / "myapp",
        setup_args='peep_requirements=["deps/pinned.txt"]',
        setup_cfg=f"[peep_install]\nindex_url = {index.index_url}\n",
        files={"deps/pinned.txt": f"beta==1.0 {packages.pip('beta-1.0')}\n"},
    )
    done = setup_py(installed_venv, project, "peep_install", "--dry-run", env=env)
    assert "not installing (--dry-run)" in done.stdout

    broken = project / "deps" / "pinned.txt"
    broken.write_text(f"beta==1.0 {packages.pip('beta-1.0')}\nalpha>=1.0\n", encoding="utf-8")
    # Any command: the keyword is checked when setup() runs, before the command starts.
    done = setup_py(installed_venv, project, "--version", env=env, code=1)
    assert f"error in myapp setup command: peep_requirements: {broken}:2: " in done.stderr
    assert "'alpha>=1.0' is not pinned" in done.stderr

    broken.unlink()
    done = setup_py(installed_venv, project, "--version", env=env, code=1)
    assert f"requirements file {broken} does not exist" in done.stderr
    assert "add 'include deps/pinned.txt' to MANIFEST.in" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--installer", "conda"),
            "error: peep_install: --installer on the command line: argument --installer: "
            "invalid choice: 'conda' (choose from",
        ),
        (("-r", "nope.txt"), "error: peep_install: requirements file "),
        (("--bogus",), "error: option --bogus not recognized"),
    ],
)
def test_option_errors_are_one_line_and_exit_1(installed_venv, tmp_path, env, args, message):
    project = write_project(tmp_path / "myapp", files={"requirements.txt": ""})
    done = setup_py(installed_venv, project, "peep_install", *args, env=env, code=1)
    assert message in done.stderr


def test_bad_requirements_file_is_named_with_its_line(installed_venv, tmp_path, env):
    project = write_project(tmp_path / "myapp", files={"requirements.txt": "# pinned\nwombat>=2\n"})
    done = setup_py(installed_venv, project, "peep_install", env=env, code=1)
    assert (
        f"error: peep_install: {project / 'requirements.txt'}:2: 'wombat>=2' is not pinned"
        in done.stderr
    )


def test_a_bug_is_exit_3_with_the_hint_and_a_redacted_traceback(installed_venv, tmp_path, env):
    """As `peep` shows one; Python's own traceback (exit 1) showed a URL's credentials."""
    project = write_project(tmp_path / "myapp", files={"requirements.txt": ""})
    setup = project / "setup.py"
    # The smallest bug there is: peep's install raising what no code of ours expects, with
    # credentials in its message (as urlsplit's messages quote a netloc).
    setup.write_text(
        "import peep_setuptools.api as api\n\n"
        "def broken(*args, **kwargs):\n"
        "    raise ValueError('no http://user:s3cr3t@127.0.0.1:9/simple/?token=s3cr3t')\n\n"
        "api.install = broken\n" + setup.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    done = setup_py(installed_venv, project, "peep_install", env=env, code=3, traceback=True)
    hint, rest = done.stderr.split("\n", 1)
    assert hint.startswith("peep_install: this is a bug in peep-setuptools "), describe(done)
    assert rest.startswith("Traceback (most recent call last):")
    assert "ValueError: no http://user:****@127.0.0.1:9/simple/?token=****" in rest
    assert "s3cr3t" not in done.stdout + done.stderr


# ---------------------------------------------------------------------------------------------
# 3. Verifying the plugin itself


def test_bootstrap_recipe_hash_checks_the_plugin_with_the_newest_pip(
    tmp_path, wheelhouse, plugin, packages, index, env, telltale
):
    """PIP_REQUIRE_HASHES=1 PIP_CONSTRAINT=constraints.txt python setup.py peep_install.

    With pip 26.3 on Python 3.10+. No pip for Python 3.9 takes hashes from constraints (26.0.1
    is its last), so there the recipe must fail closed, as the README says of older pips.
    """
    python = build_venv(
        tmp_path / "venv", wheelhouse, f"pip=={PIP}", f"setuptools=={NEWEST_SETUPTOOLS}"
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(plugin.pin + "\n", encoding="utf-8")
    recipe = {**env, "PIP_REQUIRE_HASHES": "1", "PIP_CONSTRAINT": str(constraints)}
    requirements = f"{packages.peep('gamma-1.0')}\ngamma==1.0\n"  # an sdist built with setuptools

    if pip_version(python) < PIP_WITH_CONSTRAINT_HASHES:
        project = write_project(
            tmp_path / "old-pip",
            setup_args=DOCUMENTED_SETUP_REQUIRES,
            setup_cfg=setup_requires_cfg(plugin.wheel.parent, index.index_url),
            files={"requirements.txt": requirements},
        )
        done = setup_py(python, project, "peep_install", env=recipe, code=1, traceback=True)
        assert "must have their versions pinned with ==" in done.stdout + done.stderr
        assert not egg_of_plugin(project)
        assert "gamma" not in installed(python)
        assert not telltale.exists()
        return

    # A tampered plugin (same name, other bytes) is refused before any of its code runs.
    evil = write_project(
        tmp_path / "evil",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(plugin.tampered.parent, index.index_url),
        files={"requirements.txt": requirements},
    )
    # setuptools fails setup() itself, with its own traceback, before our code is imported.
    done = setup_py(python, evil, "peep_install", env=recipe, code=1, traceback=True)
    assert PIP_MISMATCH in done.stdout + done.stderr
    assert not egg_of_plugin(evil)
    assert "gamma" not in installed(python)

    # The right plugin is fetched, and our pip does not inherit the recipe's variables: the
    # sdist's unpinned build backend (setuptools>=40.8.0) still installs from the index.
    good = write_project(
        tmp_path / "good",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(plugin.wheel.parent, index.index_url),
        files={"requirements.txt": requirements},
    )
    setup_py(python, good, "peep_install", env=recipe)
    assert egg_of_plugin(good)
    assert installed(python)["gamma"] == "1.0"
    assert "gamma ran" in telltale.read_text()
    assert "peep-setuptools" not in installed(python)


def test_two_step_recipe_with_older_pip(tmp_path, wheelhouse, plugin, packages, index, env):
    """pip install --require-hashes -r build-requirements.txt, then python setup.py peep_install."""
    python = make_venv(tmp_path / "venv", with_pip=True)  # ensurepip's pip, older than 26.1
    pip = [
        str(python),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(wheelhouse.path),
    ]
    subprocess.run([*pip, f"setuptools=={OLDEST_SETUPTOOLS}"], env=env, check=True)
    packaging_pin = next(
        line
        for line in WHEELHOUSE_LIST.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"packaging=={PACKAGING} ")
    )
    project = write_project(
        tmp_path / "myapp",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(plugin.wheel.parent, index.index_url),
        files={"requirements.txt": f"alpha==1.0 {packages.pip('alpha-1.0')}\n"},
    )
    if pip_version(python) < PIP_WITH_CONSTRAINT_HASHES:
        # Such a pip takes no hashes from constraints: the one-step recipe fails closed.
        constraints = tmp_path / "constraints.txt"
        constraints.write_text(plugin.pin + "\n", encoding="utf-8")
        recipe = {**env, "PIP_REQUIRE_HASHES": "1", "PIP_CONSTRAINT": str(constraints)}
        done = setup_py(python, project, "peep_install", env=recipe, code=1, traceback=True)
        assert "must have their versions pinned with ==" in done.stdout + done.stderr
        assert not egg_of_plugin(project)
        shutil.rmtree(project / ".eggs", ignore_errors=True)

    build_reqs = tmp_path / "build-requirements.txt"
    build_reqs.write_text(f"{plugin.pin}\n{packaging_pin}\n", encoding="utf-8")

    refused = subprocess.run(
        [
            *pip,
            "--require-hashes",
            "--find-links",
            str(plugin.tampered.parent),
            "-r",
            str(build_reqs),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert PIP_MISMATCH in refused.stdout + refused.stderr
    assert "peep-setuptools" not in installed(python)

    subprocess.run(
        [*pip, "--require-hashes", "--find-links", str(plugin.wheel.parent), "-r", str(build_reqs)],
        env=env,
        check=True,
    )
    # setup_requires may stay: setuptools sees the plugin installed and fetches nothing.
    setup_py(python, project, "peep_install", env=env)
    assert installed(python)["alpha"] == "1.0"
    assert not (project / ".eggs").exists()


def test_a_planted_eggs_plugin_is_what_runs_even_under_the_recipe(
    tmp_path, wheelhouse, plugin, packages, index, env
):
    """The one-step recipe protects a fetch only: a plugin already in .eggs/ is not checked.

    (Issue 11 item 9: the README tells users to delete .eggs/ first and never cache it.)
    """
    python = build_venv(
        tmp_path / "venv", wheelhouse, f"pip=={PIP}", f"setuptools=={NEWEST_SETUPTOOLS}"
    )
    project = write_project(
        tmp_path / "myapp",
        setup_args=DOCUMENTED_SETUP_REQUIRES,
        setup_cfg=setup_requires_cfg(plugin.wheel.parent, index.index_url),
        files={"requirements.txt": f"alpha==1.0 {packages.pip('alpha-1.0')}\n"},
    )
    setup_py(python, project, "peep_install", env=env)
    (egg,) = egg_of_plugin(project)
    # What a restored CI cache or an earlier, other checkout could leave there.
    init = egg / "peep_setuptools" / "__init__.py"
    assert init.is_file(), f"{egg} is not an unpacked egg"
    mark = tmp_path / "planted-ran"
    init.write_text(
        init.read_text(encoding="utf-8")
        + f"\nopen({str(mark)!r}, 'w').write('the planted plugin ran')\n",
        encoding="utf-8",
    )
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(plugin.pin + "\n", encoding="utf-8")
    recipe = {**env, "PIP_REQUIRE_HASHES": "1", "PIP_CONSTRAINT": str(constraints)}
    setup_py(python, project, "peep_install", env=recipe)
    assert mark.read_text() == "the planted plugin ran"
    # The advice works: without .eggs/, the recipe fetches (and hash-checks) the plugin again.
    shutil.rmtree(project / ".eggs")
    mark.unlink()
    code = 0 if pip_version(python) >= PIP_WITH_CONSTRAINT_HASHES else 1
    setup_py(python, project, "peep_install", env=recipe, code=code, traceback=code == 1)
    assert not mark.exists()


def test_an_installed_requirement_without_a_hash_is_refused(
    tmp_path, wheelhouse, plugin, packages, index, env
):
    """Issue 11 item 8, through the setuptools command: a warm machine still checks the file."""
    python = build_venv(
        tmp_path / "venv",
        wheelhouse,
        f"pip=={PIP}",
        f"setuptools=={NEWEST_SETUPTOOLS}",
        f"packaging=={PACKAGING}",
        wheels=(plugin.wheel,),
    )
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex_url = {index.index_url}\n",
        files={"requirements.txt": f"alpha==1.0 {packages.pip('alpha-1.0')}\n"},
    )
    setup_py(python, project, "peep_install", env=env)
    assert installed(python)["alpha"] == "1.0"
    (project / "requirements.txt").write_text("alpha==1.0\n", encoding="utf-8")
    for args in ((), ("--dry-run",)):
        done = setup_py(python, project, "peep_install", *args, env=env, code=1)
        assert MISSING_HEAD in done.stdout
        assert f"{packages.peep('alpha-1.0')}\nalpha==1.0\n" in done.stdout
        assert "error: peep_install: verification failed (1 had no hashes" in done.stderr


def test_file_url_index_and_an_extra_index_that_fails(installed_venv, tmp_path, packages, env):
    # An air-gapped mirror as a local PEP 503 tree, and an extra index that is down (issue 12).
    from support.indexserver import IndexServer

    exporter = IndexServer()  # never started: it only lays the files out
    exporter.add_file("epsilon", packages["epsilon-1.0"])
    tree = exporter.export_tree(tmp_path / "mirror")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}/simple/"
    project = write_project(
        tmp_path / "myapp",
        setup_cfg=f"[peep_install]\nindex_url = {tree}\nextra_index_url = {down}\nretries = 0\n",
        files={"requirements.txt": f"epsilon==1.0 {packages.pip('epsilon-1.0')}\n"},
    )
    done = setup_py(installed_venv, project, "peep_install", "--dry-run", env=env)
    assert "All 1 archives match their hashes; not installing (--dry-run)." in done.stdout
    assert (
        f"Warning: skipped {down}, which could not be read (could not fetch {down}epsilon/: "
        "connection refused); the requirements found elsewhere are still checked against "
        "their hashes\n"
    ) in done.stdout
