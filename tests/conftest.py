"""Shared fixtures: real packages built here, a real loopback index, real virtual environments."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.builders import (
    TELLTALE_ENV,
    clean_env,
    make_sdist,
    make_venv,
    make_wheel,
)
from support.wheelhouse import BUILD_DEPENDENCIES, Wheelhouse, load_wheelhouse

from peep_setuptools.hashes import Digest, hash_file


@dataclass(frozen=True)
class Packages:
    """The archives on the session index, by short name."""

    root: Path
    files: dict[str, Path]
    default_telltale: Path

    def __getitem__(self, key: str) -> Path:
        return self.files[key]

    def sha256(self, key: str) -> Digest:
        return hash_file(str(self.files[key]))["sha256"]

    def peep(self, key: str) -> str:
        return self.sha256(key).peep_line()

    def pip(self, key: str) -> str:
        return self.sha256(key).pip_option()


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Wheelhouse) -> Packages:
    root = tmp_path_factory.mktemp("packages")
    telltale = root / "default-telltale"
    files = {
        "alpha-1.0": make_wheel(root, "alpha", "1.0"),
        "alpha-2.0": make_wheel(root, "alpha", "2.0"),  # a newer decoy: never chosen for ==1.0
        "beta-1.0": make_sdist(root, "beta", "1.0", telltale=telltale),
        "gamma-1.0": make_sdist(root, "gamma", "1.0", telltale=telltale, backend="setuptools"),
        "delta-1.0": make_wheel(root, "delta", "1.0"),
        "delta-1.0-win": make_wheel(root, "delta", "1.0", tag="cp27-cp27m-win32"),
        "epsilon-1.0": make_wheel(root / "other", "epsilon", "1.0"),
        "zeta-1.0": make_wheel(root, "zeta", "1.0", requires_python="<3"),
        # the build backend and all it needs, pinned: the same wheels on every machine
        **{project: wheelhouse.newest(project) for project in BUILD_DEPENDENCIES},
    }
    return Packages(root, files, telltale)


_PROJECTS = {
    "alpha-1.0": "alpha",
    "alpha-2.0": "alpha",
    "beta-1.0": "beta",
    "gamma-1.0": "gamma",
    "delta-1.0": "delta",
    "delta-1.0-win": "delta",
    "zeta-1.0": "zeta",
    **{project: project for project in BUILD_DEPENDENCIES},
}


@pytest.fixture(scope="session")
def wheelhouse() -> Wheelhouse:
    """The pinned wheels of tests/wheelhouse.txt (fails, never skips, if they are missing)."""
    return load_wheelhouse()


@pytest.fixture(scope="session")
def index(packages: Packages) -> Iterator[object]:
    """One loopback index for the session: ``/simple/`` has everything, ``/other/`` epsilon.

    Builds of sdists get their backend, and all it needs, from the pinned wheelhouse
    (``packages["setuptools"]``, ``["wheel"]`` and ``["packaging"]``).
    """
    from support.indexserver import IndexServer

    server = IndexServer().start()
    for key, project in _PROJECTS.items():
        server.add_file(project, packages[key], requires_python="<3" if project == "zeta" else None)
    server.add_file("epsilon", packages["epsilon-1.0"], index="other")
    yield server
    server.stop()


@pytest.fixture
def telltale(tmp_path: Path) -> Path:
    """The file that sdist build code writes to if it ever runs."""
    return tmp_path / "telltale"


@pytest.fixture
def env(tmp_path: Path, telltale: Path) -> dict[str, str]:
    """A child environment: no PIP_* help from this machine, private caches, the telltale."""
    cache = tmp_path / "xdg-cache"
    return clean_env(
        {
            TELLTALE_ENV: str(telltale),
            "XDG_CACHE_HOME": str(cache),
            "XDG_STATE_HOME": str(tmp_path / "xdg-state"),  # the cache key lives here
            "PIP_CACHE_DIR": str(cache / "pip"),
            "UV_CACHE_DIR": str(cache / "uv"),
        }
    )


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A fresh virtual environment without pip (peep then runs its own pip with --python)."""
    return make_venv(tmp_path / "venv")


@pytest.fixture
def write(tmp_path: Path):
    """Write a requirements file in tmp_path and return its path as a string."""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return str(path)

    return _write


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PEEP_TESTS", "1")
    # A suite started as a background job (`cmd &` in a script) inherits SIGINT ignored, and
    # so would every peep we start: Python keeps an inherited SIG_IGN, and the Ctrl-C tests
    # would wait for an interrupt that never comes. A handler here is reset to the default in
    # each child at exec, so the children get SIGINT as a terminal would send it.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
