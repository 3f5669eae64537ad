"""End to end: the cache is never a source of trust (issue 11 item 1).

Whoever can write the cache folder (a shared PEEP_CACHE_DIR, a CI cache restored from
another branch, a folder pre-created in /tmp by another user) must not get a wheel
installed for a pinned sdist: built wheels are reused only under a seal (an HMAC with a key
kept outside the cache) that the cache's writer cannot forge, and a cache (or an entry in
it) owned by another user, or writable by group or others, is not used at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from support.builders import installed, make_venv, origin, write_wheel

pytestmark = pytest.mark.slow

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
NOBODY = 65534
needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown to another user"
)
INSTALLERS = ["pip"] + (["uv"] if (Path(sys.executable).parent / "uv").exists() else [])


@pytest.fixture
def beta(write, packages):
    return write("beta.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")


@pytest.fixture
def alpha(write, packages):
    return write("alpha.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")


def builds(telltale: Path) -> int:
    return telltale.read_text().count("beta ran") if telltale.exists() else 0


def plant(cache: Path, tmp_path: Path) -> int:
    """Replace every built wheel with a planted one; point every digest in entry.json at it."""
    planted = 0
    for wheel in sorted((cache / "built").rglob("*.whl")):
        name, version, tag = wheel.name[: -len(".whl")].split("-", 2)
        evil = write_wheel(
            tmp_path / "evil" / str(planted),
            name,
            version,
            {f"{name}/__init__.py": b"ORIGIN = 'planted'\nVERSION = '1.0'\n"},
            tag=tag,
        )
        wheel.write_bytes(evil.read_bytes())
        planted += 1
        evil_hex = hashlib.sha256(evil.read_bytes()).hexdigest()
        for entry in cache.rglob("entry.json"):
            data = json.loads(entry.read_text())
            data = {
                k: evil_hex if isinstance(v, str) and _HEX64.match(v) else v
                for k, v in data.items()
            }
            entry.write_text(json.dumps(data))
    return planted


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_planted_built_wheel_is_never_installed(peep, beta, index, telltale, tmp_path, installer):
    peep.install(beta, "-i", index.index_url, "--installer", installer, check=0)
    before = builds(telltale)
    assert before >= 1
    assert plant(peep.cache, tmp_path) >= 1
    fresh = make_venv(tmp_path / "fresh")
    peep.venv = fresh
    done = peep.install(beta, "-i", index.index_url, "--installer", installer, check=0)
    # The sdist was built again (the telltale), and what is installed is not the plant.
    assert builds(telltale) > before, done.stdout + done.stderr
    assert installed(fresh)["beta"] == "1.0"
    assert origin(fresh, "beta") == "sdist"
    # ...and the next run reuses the honest wheel it built and sealed this time.
    again = make_venv(tmp_path / "again")
    peep.venv = again
    after = builds(telltale)
    peep.install(beta, "-i", index.index_url, "--installer", installer, check=0)
    assert builds(telltale) == after
    assert origin(again, "beta") == "sdist"


def test_a_wheel_built_from_one_sdist_is_not_reused_for_another(
    peep, beta, write, packages, index, telltale, tmp_path
):
    """An honest entry copied under another sdist's hash: the seal names the sdist."""
    peep.install(beta, "-i", index.index_url, check=0)
    (entry,) = (peep.cache / "built").rglob("entry.json")
    gamma_hex = packages.sha256("gamma-1.0").hex
    shutil.copytree(
        entry.parent, peep.cache / "built" / gamma_hex[:2] / gamma_hex / entry.parent.name
    )
    gamma = write("gamma.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    peep.venv = make_venv(tmp_path / "fresh")
    peep.install(gamma, "-i", index.index_url, check=0)
    assert "gamma ran" in telltale.read_text()
    got = installed(peep.venv)
    assert got.get("gamma") == "1.0" and "beta" not in got, got


def test_a_key_file_others_can_read_is_not_trusted(peep, beta, index, telltale, tmp_path, env):
    peep.install(beta, "-i", index.index_url, check=0)
    key = Path(env["XDG_STATE_HOME"]) / "peep-setuptools" / "cache-key"
    assert key.is_file()
    assert key.stat().st_mode & 0o777 == 0o600
    key.chmod(0o644)
    before = builds(telltale)
    peep.venv = make_venv(tmp_path / "fresh")
    done = peep.install(beta, "-i", index.index_url, check=0)
    out = done.stdout + done.stderr
    assert out.count(str(key)) == 1, out
    assert builds(telltale) > before
    assert origin(peep.venv, "beta") == "sdist"


def test_a_cache_writable_by_others_is_not_used(peep, alpha, index):
    peep.cache.mkdir()
    peep.cache.chmod(0o777)
    done = peep.install(alpha, "-i", index.index_url, check=0)
    out = done.stdout + done.stderr
    assert out.count(f"not using the cache at {peep.cache}") == 1, out
    assert "writable by group or others" in out
    assert peep.installed()["alpha"] == "1.0"
    assert list(peep.cache.iterdir()) == []


@needs_root
def test_a_cache_owned_by_another_user_is_not_used(peep, alpha, index, packages):
    # What another user pre-creates in /tmp, filled with an entry for the pinned hash.
    digest = packages.sha256("alpha-1.0")
    folder = peep.cache / "archives" / digest.hex[:2] / digest.hex
    folder.mkdir(parents=True)
    for path in [peep.cache, *peep.cache.rglob("*")]:
        os.chown(path, NOBODY, NOBODY)
    done = peep.install(alpha, "-i", index.index_url, check=0)
    out = done.stdout + done.stderr
    assert out.count(f"not using the cache at {peep.cache}") == 1, out
    assert f"owned by uid {NOBODY}" in out
    assert peep.installed()["alpha"] == "1.0"
    assert list(folder.iterdir()) == []


@needs_root
def test_an_entry_owned_by_another_user_is_not_used(peep, beta, index, telltale, tmp_path):
    peep.install(beta, "-i", index.index_url, check=0)
    before = builds(telltale)
    (entry,) = (peep.cache / "built").rglob("entry.json")
    for path in [entry.parent, *entry.parent.iterdir()]:
        os.chown(path, NOBODY, NOBODY)
    peep.venv = make_venv(tmp_path / "fresh")
    done = peep.install(beta, "-i", index.index_url, check=0)
    out = done.stdout + done.stderr
    assert out.count(str(entry.parent)) == 1, out
    assert builds(telltale) > before


def test_a_tampered_archive_entry_is_refetched(peep, alpha, index, packages, tmp_path):
    """Downloaded archives are re-hashed against the pinned hashes on every read."""
    peep.install(alpha, "-i", index.index_url, check=0)
    (wheel,) = (peep.cache / "archives").rglob("*.whl")
    evil = write_wheel(
        tmp_path / "evil", "alpha", "1.0", {"alpha/__init__.py": b"ORIGIN = 'planted'\n"}
    )
    wheel.write_bytes(evil.read_bytes())
    peep.venv = make_venv(tmp_path / "fresh")
    index.clear_requests()
    peep.install(alpha, "-i", index.index_url, check=0)
    assert origin(peep.venv, "alpha") == "wheel"
    assert any(r.path.endswith(packages["alpha-1.0"].name) for r in index.requests)
