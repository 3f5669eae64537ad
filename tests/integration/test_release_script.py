"""End to end: examples/release.sh, the README's verified release build, as a user runs it.

A setuptools project using the documented ``peep_requirements`` keyword is released by the
script against a loopback index that serves our plugin (built from this checkout), pip,
packaging and setuptools from the hash-pinned wheelhouse, ``build`` and what it needs on this
Python (repacked from the test environment), and the project's requirement. Then each of the
three things the script installs is served tampered: the script must stop, say which step
failed, and leave nothing in dist/.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.builders import wheel_from_installed
from support.indexserver import IndexServer
from support.peeprun import describe

from integration import test_setuptools_command as command
from integration.test_setuptools_command import (
    DOCUMENTED_SETUP_REQUIRES,
    NEWEST_SETUPTOOLS,
    OLDEST_SETUPTOOLS,
    PACKAGING,
    PIP,
    PIP_MISMATCH,
    REPO,
    Plugin,
    Wheelhouse,
)
from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.report import MISMATCH_HEAD

pytestmark = pytest.mark.slow

# The session fixture of the setuptools command's tests: our plugin wheel (the wheelhouse is
# conftest's).
plugin = command.plugin

SCRIPT = REPO / "examples" / "release.sh"
#: what ``python -m build`` needs besides packaging, for this Python (markers evaluated)
_FRONT_END = "build"


def _needed(name: str, seen: set[str]) -> None:
    """``name`` and its dependencies on this interpreter, as installed in the test venv."""
    key = name.lower().replace("-", "_")
    if key in seen or key == "packaging":  # packaging: the wheelhouse's pinned one
        return
    seen.add(key)
    for text in importlib.metadata.requires(name) or ():
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            _needed(req.name, seen)


@pytest.fixture(scope="module")
def front_end(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ...]:
    """``build`` and its dependencies for this Python, repacked as wheels (offline)."""
    root = tmp_path_factory.mktemp("front-end")
    names: set[str] = set()
    _needed(_FRONT_END, names)
    return tuple(wheel_from_installed(name, root) for name in sorted(names))


def _wheel(wheelhouse: Wheelhouse, name: str, version: str) -> Path:
    (found,) = wheelhouse.path.glob(f"{name}-{version}-*.whl")
    return found


def _tampered(path: Path, into: Path) -> Path:
    """The same filename and contents, other bytes."""
    into.mkdir(parents=True, exist_ok=True)
    copy = into / path.name
    shutil.copy2(path, copy)
    with zipfile.ZipFile(copy, "a") as archive:
        archive.comment = b"tampered"
    return copy


def _pin(path: Path) -> str:
    name, version = path.name.split("-")[:2]
    return f"{name}=={version} {hash_file(str(path))['sha256'].pip_option()}"


class Release:
    """A project, the files the loopback index serves for it, and a way to run the script."""

    def __init__(self, root: Path, files: dict[str, Path], env: dict[str, str]) -> None:
        self.root = root
        self.files = files
        self.env = env
        self.project = root / "myapp"

    def write_project(self) -> None:
        """The project and its three hashed files, pinning the genuine archives."""
        files = {
            "setup.py": (
                "from setuptools import setup\n\n"
                'setup(name="myapp", version="1.0", py_modules=["myapp"],\n'
                f"      {DOCUMENTED_SETUP_REQUIRES},\n"
                '      peep_requirements=["requirements.txt"])\n'
            ),
            "myapp.py": "import alpha\n",
            # without it, the wheel built from the sdist cannot find requirements.txt
            "MANIFEST.in": "include requirements.txt\n",
            "bootstrap-requirements.txt": "INDEX\n"
            + "".join(f"{_pin(self.files[k])}\n" for k in ("pip", "plugin", "packaging")),
            "build-requirements.txt": "INDEX\n"
            + "".join(f"{_pin(p)}\n" for k, p in self.files.items() if k.startswith("build:")),
            "requirements.txt": f"INDEX\n{_pin(self.files['alpha'])}\n",
        }
        self.project.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (self.project / name).write_text(text, encoding="utf-8")

    def run(self, served: dict[str, Path], code: int) -> subprocess.CompletedProcess[str]:
        """Serve ``served`` on a new loopback index and run the script against it."""
        with IndexServer() as server:
            for path in served.values():
                server.add_file(path.name.split("-")[0], path)
            for name in (
                "bootstrap-requirements.txt",
                "build-requirements.txt",
                "requirements.txt",
            ):
                target = self.project / name
                text = target.read_text(encoding="utf-8").split("\n", 1)[1]
                target.write_text(f"--index-url {server.index_url}\n{text}", encoding="utf-8")
            done = subprocess.run(
                ["sh", str(SCRIPT)],
                cwd=self.project,
                env={**self.env, "PYTHON": sys.executable},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        assert done.returncode == code, describe(done)
        return done


@pytest.fixture
def release(tmp_path, wheelhouse, plugin, packages, front_end, env) -> Iterator[Release]:
    yield _release(tmp_path, wheelhouse, plugin, packages, front_end, env, NEWEST_SETUPTOOLS)


def _release(
    tmp_path: Path,
    wheelhouse: Wheelhouse,
    plugin: Plugin,
    packages: object,
    front_end: tuple[Path, ...],
    env: dict[str, str],
    setuptools_version: str,
) -> Release:
    files = {
        "pip": _wheel(wheelhouse, "pip", PIP),
        "plugin": plugin.wheel,
        "packaging": _wheel(wheelhouse, "packaging", PACKAGING),
        "build:setuptools": _wheel(wheelhouse, "setuptools", setuptools_version),
        **{f"build:{p.name.split('-')[0]}": p for p in front_end},
        "alpha": packages["alpha-1.0"],  # type: ignore[index]
    }
    made = Release(tmp_path, files, env)
    made.write_project()
    return made


@pytest.mark.parametrize("setuptools_version", [NEWEST_SETUPTOOLS, OLDEST_SETUPTOOLS])
def test_the_release_script_builds_from_verified_archives_only(
    tmp_path,
    wheelhouse,
    plugin,
    packages,
    front_end,
    env,
    setuptools_version,
):
    made = _release(tmp_path, wheelhouse, plugin, packages, front_end, env, setuptools_version)
    done = made.run(made.files, code=0)
    dist = made.project / "dist"
    assert sorted(p.name for p in dist.iterdir()) == [
        "myapp-1.0-py3-none-any.whl",
        "myapp-1.0.tar.gz",
    ]
    assert "release.sh: 5/5" in done.stdout
    assert "released myapp-1.0-py3-none-any.whl myapp-1.0.tar.gz into dist/" in done.stdout
    # the sdist ships the keyword's file, so its own wheel build found it
    with tarfile.open(dist / "myapp-1.0.tar.gz") as sdist:
        assert "myapp-1.0/requirements.txt" in sdist.getnames()
    # nothing fetched or built setuptools behind our back: the build used the verified one
    assert "WITHOUT hash checking" not in done.stdout + done.stderr
    assert not (made.project / ".eggs").exists()


@pytest.mark.parametrize(
    ("tampered", "step", "evidence"),
    [
        ("plugin", "pip or the plugin in bootstrap-requirements.txt did not verify", PIP_MISMATCH),
        (
            "build:setuptools",
            "the build requirements in build-requirements.txt did not verify",
            MISMATCH_HEAD,
        ),
        ("alpha", "the project's requirements did not verify", MISMATCH_HEAD),
    ],
)
def test_a_tampered_archive_stops_the_release_with_nothing_in_dist(
    release, tmp_path, tampered, step, evidence
):
    served = dict(release.files)
    served[tampered] = _tampered(release.files[tampered], tmp_path / "evil")
    done = release.run(served, code=1)
    assert f"release.sh: {step}" in done.stderr
    assert "nothing was released (dist/ is untouched)" in done.stderr
    assert evidence in done.stdout + done.stderr
    assert not (release.project / "dist").exists()
    assert not (release.project / "build").exists()
