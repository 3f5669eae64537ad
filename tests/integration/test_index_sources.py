"""End to end: indexes read as pip reads them (issue 12).

``file://`` trees (with an ``index.html``, a PEP 691 JSON file, or just the archives), a
project missing from one index, an extra index that cannot be read, and indexes from pip's
own configuration file. In each case the hashes still decide what is installed.
"""

from __future__ import annotations

import socket

import pytest
from support.builders import installed
from support.indexserver import Fault, IndexServer

pytestmark = pytest.mark.slow

SKIPPED_TAIL = "the requirements found elsewhere are still checked against their hashes"


def tree_of(tmp_path, packages, *keys, layout="html", name="tree"):
    """A local PEP 503 tree holding the session packages ``keys``; its file:// URL."""
    exporter = IndexServer()  # never started: it only lays the files out
    for key in keys:
        exporter.add_file(key.rsplit("-", 1)[0], packages[key])
    return exporter.export_tree(tmp_path / name, layout=layout)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("layout", ["html", "json", "bare"])
def test_file_url_index_is_read_like_pip(peep, venv, write, packages, tmp_path, layout):
    url = tree_of(tmp_path, packages, "alpha-1.0", "alpha-2.0", layout=layout)
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", url, check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert "Warning" not in done.stdout


def test_project_missing_from_a_file_url_index_is_looked_for_elsewhere(
    peep, venv, write, packages, index, tmp_path
):
    tree = tree_of(tmp_path, packages, "epsilon-1.0")
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nepsilon==1.0 {packages.pip('epsilon-1.0')}\n",
    )
    done = peep.install(reqs, "-i", tree, "--extra-index-url", index.index_url, check=0)
    got = installed(venv)
    assert (got["alpha"], got["epsilon"]) == ("1.0", "1.0")
    assert "Warning" not in done.stdout


def test_version_missing_from_a_file_url_index_lists_the_versions(
    peep, venv, write, packages, tmp_path
):
    tree = tree_of(tmp_path, packages, "alpha-1.0", "alpha-2.0")
    reqs = write("reqs.txt", f"alpha==1.5 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", tree, check=1)
    assert (
        f"    {reqs}:1: alpha==1.5 not found on {tree} (from versions: 1.0, 2.0)\n" in done.stdout
    )


@pytest.mark.parametrize("failure", ["refused", "http-500"])
def test_an_extra_index_that_fails_is_one_warning(peep, venv, write, packages, index, failure):
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )
    with IndexServer() as broken:
        if failure == "refused":
            extra = f"http://127.0.0.1:{closed_port()}/simple/"
            reason = "connection refused"
        else:
            extra = broken.index_url
            for project in ("alpha", "delta"):
                broken.set_fault(f"/simple/{project}/", Fault.status(500))
            reason = "HTTP 500 Internal Server Error"
        args = ("-i", index.index_url, "--extra-index-url", extra, "--retries", "0")
        done = peep.install(reqs, *args, "--jobs", "1", check=0)
    got = installed(venv)
    assert (got["alpha"], got["delta"]) == ("1.0", "1.0")
    warnings = [line for line in done.stdout.splitlines() if line.startswith("Warning")]
    assert warnings == [
        f"Warning: skipped {extra}, which could not be read (could not fetch "
        f"{extra}alpha/: {reason}); {SKIPPED_TAIL}"
    ], done.stdout


def test_an_extra_index_that_fails_is_the_error_when_nothing_else_has_the_file(
    peep, venv, write, packages, index
):
    extra = f"http://127.0.0.1:{closed_port()}/simple/"
    reqs = write("reqs.txt", f"epsilon==1.0 {packages.pip('epsilon-1.0')}\n")
    args = ("-i", index.index_url, "--extra-index-url", extra, "--retries", "0")
    done = peep.install(reqs, *args, check=1)
    assert (
        f"    {reqs}:1: epsilon==1.0: could not fetch {extra}epsilon/: connection refused\n"
    ) in done.stdout
    assert "epsilon" not in installed(venv)


def test_indexes_from_pip_configuration(peep, venv, write, packages, index, tmp_path):
    tree = tree_of(tmp_path, packages, "epsilon-1.0", layout="bare")
    config = tmp_path / "pip.conf"
    config.write_text(f"[global]\nindex-url = {index.index_url}\nextra-index-url = {tree}\n")
    peep.env["PIP_CONFIG_FILE"] = str(config)
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nepsilon==1.0 {packages.pip('epsilon-1.0')}\n",
    )
    peep.install(reqs, check=0)
    got = installed(venv)
    assert (got["alpha"], got["epsilon"]) == ("1.0", "1.0")


def test_a_file_url_index_cannot_smuggle_a_wrong_file(peep, venv, write, packages, tmp_path):
    url = tree_of(tmp_path, packages, "alpha-1.0")
    wheel = tmp_path / "tree" / "alpha" / packages["alpha-1.0"].name
    wheel.write_bytes(packages["alpha-2.0"].read_bytes())  # swapped after hashing
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "-i", url, check=1)
    assert "DIDN'T MATCH" in done.stdout
    assert "alpha" not in installed(venv)
