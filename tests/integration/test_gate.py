"""End to end: the gate checks the file, not only what it downloads (issue 11 item 8).

On a warm machine, where every requirement is installed at its pinned version already, a
requirement without a hash (or with one that cannot be valid) is still refused, and
``--dry-run`` still fetches and verifies every archive the file names: "dry run exits 0"
means "every pinned archive matches", installed or not. Lock entries installed at their
locked version are skipped like named requirements (issue 12).
"""

from __future__ import annotations

import pytest
from support.builders import installed

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.report import MISMATCH_HEAD, MISSING_HEAD, NOT_PROCEEDING

pytestmark = pytest.mark.slow


@pytest.fixture
def warm(peep, venv, write, packages, index):
    """A venv where alpha 1.0 (wheel) and beta 1.0 (sdist) were installed by peep."""
    reqs = write(
        "honest.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nbeta==1.0 {packages.pip('beta-1.0')}\n",
    )
    peep.install(reqs, "-i", index.index_url, check=0)
    got = installed(venv)
    assert (got["alpha"], got["beta"]) == ("1.0", "1.0")
    return venv


@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)], ids=["install", "dry-run"])
def test_an_installed_requirement_without_a_hash_is_refused(
    peep, warm, write, packages, index, dry_run
):
    # The hash line of the installed alpha was removed.
    reqs = write("removed.txt", f"alpha==1.0\nbeta==1.0 {packages.pip('beta-1.0')}\n")
    done = peep.install(reqs, "-i", index.index_url, *dry_run, python=warm, check=1)
    assert MISSING_HEAD in done.stdout
    # The line to add, with the hash of the archive the index serves.
    assert f"alpha==1.0 {packages.pip('alpha-1.0')}" in done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    assert "had no hashes" in done.stderr


def test_an_installed_requirement_with_a_malformed_hash_is_refused(peep, warm, write, index):
    reqs = write("malformed.txt", "alpha==1.0 --hash=sha256:abc\n")
    done = peep.install(reqs, "-i", index.index_url, python=warm, check=1)
    assert f"{reqs}:1:" in done.stderr
    done = peep.install(reqs, "-i", index.index_url, "--dry-run", python=warm, check=1)
    assert f"{reqs}:1:" in done.stderr


def test_dry_run_verifies_what_is_installed_too(peep, warm, write, packages, index):
    wrong = Digest("sha256", "1" * 64)
    reqs = write(
        "wrong.txt",
        f"alpha==1.0 {wrong.pip_option()}\nbeta==1.0 {packages.pip('beta-1.0')}\n",
    )
    done = peep.install(reqs, "-i", index.index_url, "--dry-run", python=warm, check=1)
    assert MISMATCH_HEAD in done.stdout
    assert f"alpha: expected sha256:{wrong.hex}" in done.stdout
    # A real install skips what is installed (as pip does) and installs nothing new.
    index.clear_requests()
    honest = write(
        "ok.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\nbeta==1.0 {packages.pip('beta-1.0')}\n"
    )
    done = peep.install(
        honest, "-i", index.index_url, "--dry-run", "--no-cache", python=warm, check=0
    )
    assert "All 2 archives match their hashes; not installing (--dry-run)." in done.stdout
    fetched = sorted(r.path.rsplit("/", 1)[-1] for r in index.requests if "/files/" in r.path)
    assert fetched == sorted([packages["alpha-1.0"].name, packages["beta-1.0"].name])


def test_a_locked_package_installed_at_its_version_is_not_reinstalled(
    peep, venv, write, packages, index
):
    alpha = index.add_file("alpha", packages["alpha-1.0"])
    lock = write(
        "pylock.toml",
        'lock-version = "1.0"\ncreated-by = "tests"\n\n'
        '[[packages]]\nname = "alpha"\nversion = "1.0"\n'
        f'[[packages.wheels]]\nurl = "{alpha}"\n'
        f'hashes = {{sha256 = "{packages.sha256("alpha-1.0").hex}"}}\n',
    )
    peep.install(lock, check=0)
    assert installed(venv)["alpha"] == "1.0"
    index.clear_requests()
    done = peep.install(lock, check=0)
    assert "Skipping alpha==1.0: already installed." in done.stdout
    assert "Nothing to install" in done.stdout
    assert index.requests == []
    # --dry-run still verifies the locked archive.
    done = peep.install(lock, "--dry-run", check=0)
    assert "All 1 archives match their hashes" in done.stdout
