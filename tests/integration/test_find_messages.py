"""End to end: messages of finding and choosing archives name the real cause (issue 12)."""

from __future__ import annotations

import hashlib
import subprocess

import pytest
from support.builders import installed, make_sdist, make_wheel
from support.indexserver import IndexServer

from peep_setuptools.installing.report import MISMATCH_HEAD, NOT_PROCEEDING, PROBLEM_HEAD

pytestmark = pytest.mark.slow


def interpreter(venv) -> tuple[str, str]:
    """The target's sys.executable and Python version, as peep names them."""
    out = subprocess.run(
        [
            str(venv),
            "-c",
            "import sys, platform; print(sys.executable); print(platform.python_version())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    return out[0], out[1]


def test_hashes_pinned_for_another_interpreter_say_so(peep, venv, write, packages, index):
    # Only the win32 wheel's hash is pinned, as a lock made on that platform would have it.
    reqs = write("reqs.txt", f"delta==1.0 {packages.pip('delta-1.0-win')}\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    python, version = interpreter(venv)
    assert MISMATCH_HEAD not in done.stdout
    assert PROBLEM_HEAD in done.stdout
    assert (
        f"    {reqs}:1: delta==1.0: the allowed hashes are for other files of this version, "
        f"none of which fits {python} (Python {version}): delta-1.0-cp27-cp27m-win32.whl "
        "(built for another interpreter or platform); this interpreter needs "
        "delta-1.0-py3-none-any.whl, which no pinned hash vouches for. Vet it, then pin its "
        f"hash too with: peep add delta==1.0 -r {reqs}\n"
    ) in done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    assert "delta" not in installed(venv)


def test_a_real_mismatch_keeps_the_fearsome_message(peep, venv, write, packages, index):
    # The pinned hash is no file's on the index: that is no other interpreter's pin.
    wrong = hashlib.sha256(b"tampered").hexdigest()
    reqs = write("reqs.txt", f"delta==1.0 --hash=sha256:{wrong}\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    assert MISMATCH_HEAD in done.stdout
    assert "the allowed hashes are for other files" not in done.stdout


def test_requires_python_names_the_range(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"zeta==1.0 {packages.pip('zeta-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, check=1)
    python, version = interpreter(venv)
    assert (
        f"    {reqs}:1: zeta==1.0 has no file that fits {python} (Python {version}) on "
        f"{index.index_url}: Requires-Python <3 excludes this Python "
        "(zeta-1.0-py3-none-any.whl)\n"
    ) in done.stdout


def test_not_found_says_whether_the_project_or_the_version_is_missing(
    peep, venv, write, packages, index
):
    reqs = write(
        "reqs.txt",
        f"alpha==1.5 {packages.pip('alpha-1.0')}\nnosuch==1.0 {packages.pip('alpha-1.0')}\n",
    )
    done = peep.install(reqs, "-i", index.index_url, check=1)
    where = index.index_url
    assert (
        f"    {reqs}:1: alpha==1.5 not found on {where} (from versions: 1.0, 2.0)\n" in done.stdout
    )
    assert (
        f"    {reqs}:2: nosuch==1.0 not found on {where} (no project named nosuch)\n" in done.stdout
    )


def test_an_allowed_hash_that_no_file_has_is_a_warning(peep, venv, write, tmp_path, telltale):
    wheel = make_wheel(tmp_path / "kappa", "kappa", "1.0")
    sdist = make_sdist(tmp_path / "kappa", "kappa", "1.0", telltale=telltale)
    typo = hashlib.sha256(b"a typo").hexdigest()
    good = hashlib.sha256(sdist.read_bytes()).hexdigest()
    reqs = write("reqs.txt", f"kappa==1.0 --hash=sha256:{typo} --hash=sha256:{good}\n")
    with IndexServer() as srv:
        srv.add_file("kappa", wheel)
        srv.add_file("kappa", sdist)
        done = peep.install(reqs, "-i", srv.index_url, "-v", check=0)
    assert (
        f"Warning: {reqs}:1: kappa==1.0: no file of this version on {srv.index_url} has the "
        f"allowed hash sha256:{typo} (files: kappa-1.0-py3-none-any.whl, kappa-1.0.tar.gz); "
        "remove the hash or correct it\n"
    ) in done.stdout
    assert (
        f"kappa==1.0 ({reqs}:1): chose kappa-1.0.tar.gz: the index gives it an allowed hash; "
        "passed over kappa-1.0-py3-none-any.whl (the index gives it no allowed hash)\n"
    ) in done.stdout
    assert installed(venv)["kappa"] == "1.0"
