"""Fixtures the end-to-end files share: a loopback index, the one runner of the CLI, a file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.indexserver import IndexServer
from support.peeprun import Peep


@pytest.fixture
def srv(packages) -> Iterator[IndexServer]:
    """A loopback index serving alpha, beta and delta 1.0 (as wheels)."""
    with IndexServer() as server:
        for key in ("alpha-1.0", "delta-1.0", "beta-1.0"):
            server.add_file(key.split("-")[0], packages[key])
        yield server


@pytest.fixture
def peep(env, tmp_path, request) -> Peep:
    """Runs the real ``peep`` CLI in a clean environment; ``install`` targets the test's venv."""
    return Peep.create(env, tmp_path, lambda: request.getfixturevalue("venv"))


@pytest.fixture
def reqs(write, packages) -> str:
    """``reqs.txt`` pinning alpha 1.0 with pip's ``--hash``."""
    return write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
