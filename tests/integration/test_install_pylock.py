"""``peep install -r pylock.toml``: PEP 751 lock files, verified like requirement files."""

from __future__ import annotations

import pytest
from support.builders import installed
from support.pylock import session_lock, sha512_hex

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.report import MISMATCH_HEAD, NOT_PROCEEDING

pytestmark = pytest.mark.slow


def test_a_lock_file_installs_its_chosen_files(peep, venv, write, packages, index):
    lock = write("pylock.toml", session_lock(packages, index))
    peep.install(lock, "--no-cache", check=0)
    got = installed(venv)
    assert (got["alpha"], got["beta"], got["epsilon"]) == ("1.0", "1.0", "1.0")
    assert "delta" not in got


def test_lock_option_takes_any_name_and_a_mismatch_installs_nothing(
    peep, venv, write, packages, index, telltale
):
    wrong = Digest("sha256", "1" * 64)
    lock = write("locks/team.toml", session_lock(packages, index, beta_hash=wrong.hex))
    done = peep("install", "--lock", lock, "--python", str(venv), "--no-cache", check=1)
    assert MISMATCH_HEAD in done.stdout
    assert f"beta: expected sha256:{wrong.hex}" in done.stdout
    assert f"({lock}: packages[2].sdist, " in done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    assert not telltale.exists()
    assert "alpha" not in installed(venv)


def test_an_invalid_lock_file_is_a_usage_error(peep, venv, write):
    lock = write("pylock.dev.toml", 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\n')
    done = peep.install(lock, check=2)
    assert f"peep: error: {lock}: packages[0].name: is required" in done.stderr


def test_the_strongest_hash_is_the_one_checked(peep, venv, write, packages, index):
    text = session_lock(packages, index).replace(sha512_hex(packages["alpha-1.0"]), "e" * 128)
    done = peep.install(write("pylock.toml", text), check=1)
    assert f"alpha: expected sha512:{'e' * 128}" in done.stdout
