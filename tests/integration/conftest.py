"""Fixtures the end-to-end files share, one home each.

Real packages built here and a real loopback index serving them (``packages``, ``index``,
``publish``, ``srv``, ``server``), a clean child environment and a fresh venv (``env``,
``venv``, ``telltale``), the one runner of the CLI (``peep``), requirement files (``write``,
``reqs``), and clients of the index (``client``, ``ca``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from packaging.utils import parse_sdist_filename, parse_wheel_filename
from support.builders import (
    TELLTALE_ENV,
    clean_env,
    make_sdist,
    make_venv,
    make_wheel,
)
from support.httpclient import http_settings
from support.indexserver import IndexServer
from support.peeprun import Peep
from support.wheelhouse import BUILD_DEPENDENCIES, Wheelhouse, load_wheelhouse

from peep_setuptools.hashes import Digest, hash_file
from peep_setuptools.index.http import HttpClient

# -- packages and the loopback index ----------------------------------------------------------


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
def index(packages: Packages) -> Iterator[IndexServer]:
    """One loopback index for the session: ``/simple/`` has everything, ``/other/`` epsilon.

    Builds of sdists get their backend, and all it needs, from the pinned wheelhouse
    (``packages["setuptools"]``, ``["wheel"]`` and ``["packaging"]``).
    """
    server = IndexServer().start()
    for key, project in _PROJECTS.items():
        server.add_file(project, packages[key], requires_python="<3" if project == "zeta" else None)
    server.add_file("epsilon", packages["epsilon-1.0"], index="other")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def publish(index: IndexServer) -> Callable[[Mapping[str, Path]], dict[str, Digest]]:
    """Serve more archives on the session index; returns their sha256 digests by the same keys.

    Each archive is served under the project its filename names.
    """

    def _publish(files: Mapping[str, Path]) -> dict[str, Digest]:
        for path in files.values():
            if path.name.endswith(".whl"):
                project = parse_wheel_filename(path.name)[0]
            else:
                project = parse_sdist_filename(path.name)[0]
            index.add_file(project, path)
        return {key: hash_file(str(path))["sha256"] for key, path in files.items()}

    return _publish


@pytest.fixture
def srv(packages) -> Iterator[IndexServer]:
    """A loopback index of its own: alpha and delta 1.0 (wheels), beta 1.0 (an sdist)."""
    with IndexServer() as server:
        for key in ("alpha-1.0", "delta-1.0", "beta-1.0"):
            server.add_file(key.split("-")[0], packages[key])
        yield server


@pytest.fixture
def server() -> Iterator[IndexServer]:
    """An empty loopback index of its own: the test adds what it serves."""
    with IndexServer() as empty:
        yield empty


# -- the child's environment, its target venv, and the one runner of the CLI -------------------


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
def peep(env, tmp_path, request) -> Iterator[Peep]:
    """Runs the real ``peep`` CLI in a clean environment; ``install`` targets the test's venv."""
    runner = Peep.create(env, tmp_path, lambda: request.getfixturevalue("venv"))
    yield runner
    runner.stop()


# -- requirement files ----------------------------------------------------------------------


@pytest.fixture
def write(tmp_path: Path):
    """Write a requirements file in tmp_path and return its path as a string."""

    def _write(name: str, text: str) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def srv_reqs(write, packages) -> str:
    """A requirements file (pip's format) pinning what ``srv`` serves."""
    return write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"delta==1.0 {packages.pip('delta-1.0')}\n"
        f"beta==1.0 {packages.pip('beta-1.0')}\n",
    )


@pytest.fixture
def reqs(write, packages) -> str:
    """``reqs.txt`` pinning alpha 1.0 with pip's ``--hash``."""
    return write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")


# -- clients of the index ---------------------------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[HttpClient]:
    """An HttpClient with ``http_settings``' defaults (short timeout, 2 retries, no netrc)."""
    with HttpClient(http_settings(tmp_path)) as http:
        yield http


@pytest.fixture(scope="session")
def ca():
    """A certificate authority of the tests' own (``trustme``; skips where it is missing)."""
    trustme = pytest.importorskip("trustme")
    return trustme.CA()
