"""The verified cache end to end: warm runs are offline, tampering is caught, sdists built once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from support.builders import installed, make_venv, origin

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def cache(peep) -> Path:
    """The child's default cache, $XDG_CACHE_HOME/peep-setuptools: no PEEP_CACHE_DIR here."""
    del peep.env["PEEP_CACHE_DIR"]
    return peep.cache


@pytest.fixture
def reqs(write, packages) -> str:
    return write(
        "reqs.txt",
        f"{packages.peep('alpha-1.0')}\nalpha==1.0\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )


def _cached_file(cache: Path, digest) -> Path:
    folder = cache / "archives" / digest.hex[:2] / digest.hex
    (found,) = [p for p in folder.iterdir() if p.name != "entry.json"]
    return found


def test_second_install_makes_no_request_at_all(peep, venv, tmp_path, reqs, index, cache, packages):
    peep.install(reqs, "-i", index.index_url, check=0)
    assert _cached_file(cache, packages.sha256("alpha-1.0")).name == packages["alpha-1.0"].name
    index.clear_requests()
    fresh = make_venv(tmp_path / "fresh")
    done = peep.install(reqs, "-i", index.index_url, "-v", python=fresh, check=0)
    assert index.requests == []
    got = installed(fresh)
    assert (got["alpha"], got["delta"]) == ("1.0", "1.0")
    # -v says where each file came from.
    assert f"Cached {packages['alpha-1.0'].name}" in done.stdout
    assert str(cache) in done.stdout


def test_no_index_with_a_full_cache_works_offline(peep, venv, tmp_path, reqs, index):
    peep.install(reqs, "-i", index.index_url, check=0)
    fresh = make_venv(tmp_path / "fresh")
    index.clear_requests()
    peep.install(reqs, "--no-index", python=fresh, check=0)
    assert installed(fresh)["delta"] == "1.0"
    assert index.requests == []


# uv is handed cached archives in place (its own cache knows local files by path and mtime),
# pip a second name of the file hashed (a hard link): both must catch a cache file that changed.
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_tampered_cache_file_is_dropped_refetched_and_installed(
    peep, venv, tmp_path, reqs, index, cache, packages, installer
):
    peep.install(reqs, "-i", index.index_url, "--installer", installer, check=0)
    cached = _cached_file(cache, packages.sha256("alpha-1.0"))
    stat_before = cached.stat()
    cached.write_bytes(b"not the archive that was verified")
    os.utime(cached, ns=(stat_before.st_atime_ns, stat_before.st_mtime_ns))  # hide the change
    index.clear_requests()
    fresh = make_venv(tmp_path / "fresh")
    done = peep.install(
        reqs, "-i", index.index_url, "--installer", installer, python=fresh, check=0
    )
    assert "does not have the hash it is stored under" in done.stdout + done.stderr
    assert installed(fresh)["alpha"] == "1.0"
    fetched = [r.path for r in index.requests if r.path.endswith(".whl")]
    assert fetched == [f"/files/simple/{packages['alpha-1.0'].name}"]
    # ...and the cache holds the real file again.
    assert cached.read_bytes() == packages["alpha-1.0"].read_bytes()
    assert origin(fresh, "alpha") == "wheel"


def test_a_users_own_wheel_is_never_linked_into_the_cache_nor_given_its_mode(
    peep, venv, tmp_path, write, packages, cache
):
    # pip's runs keep a downloaded wheel in the cache as a second name of the download (and
    # give it the cache's mode, 0644). A file: URL is downloaded like any other: the user's
    # file is read into the run's folder, never linked, never chmodded.
    mine = tmp_path / "mine" / packages["alpha-1.0"].name
    mine.parent.mkdir()
    mine.write_bytes(packages["alpha-1.0"].read_bytes())
    mine.chmod(0o600)
    reqs = write("local.txt", f"alpha @ {mine.as_uri()} {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "--installer", "pip", check=0)
    assert installed(venv)["alpha"] == "1.0"
    cached = _cached_file(cache, packages.sha256("alpha-1.0"))
    assert (stat.S_IMODE(mine.stat().st_mode), mine.stat().st_nlink) == (0o600, 1)
    assert not os.path.samestat(mine.stat(), cached.stat())
    assert stat.S_IMODE(cached.stat().st_mode) == 0o644


def test_no_cache_neither_reads_nor_writes(peep, venv, tmp_path, reqs, index, cache):
    peep.install(reqs, "-i", index.index_url, "--no-cache", check=0)
    assert not cache.exists()
    peep.install(reqs, "-i", index.index_url, check=0)  # fills the cache (reinstalls nothing)
    index.clear_requests()
    fresh = make_venv(tmp_path / "fresh")
    peep.install(reqs, "-i", index.index_url, "--no-cache", python=fresh, check=0)
    assert any(r.path.endswith(".whl") for r in index.requests)


def test_cache_dir_option_and_env(peep, venv, tmp_path, reqs, index, cache):
    chosen = tmp_path / "chosen-cache"
    peep.install(reqs, "-i", index.index_url, "--cache-dir", str(chosen), "--dry-run", check=0)
    assert (chosen / "archives").is_dir()
    assert not cache.exists()
    peep.env["PEEP_CACHE_DIR"] = str(tmp_path / "env-cache")
    peep.install(reqs, "-i", index.index_url, "--dry-run", check=0)
    assert (tmp_path / "env-cache" / "archives").is_dir()


def test_an_unwritable_cache_warns_once_and_installs(peep, venv, tmp_path, reqs, index):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    done = peep.install(reqs, "-i", index.index_url, "--cache-dir", str(blocker / "c"), check=0)
    assert (done.stdout + done.stderr).count("continuing without caching") == 1
    assert installed(venv)["alpha"] == "1.0"


def test_two_runs_sharing_one_cache_at_once_both_succeed(
    peep, tmp_path, reqs, index, cache, packages
):
    venvs = [make_venv(tmp_path / f"venv{i}") for i in range(2)]
    procs = [peep.spawn(*peep.install_args(reqs, "-i", index.index_url, python=v)) for v in venvs]
    peep.finish(*procs, check=0, timeout=300)
    for v in venvs:
        assert installed(v)["alpha"] == "1.0"
    # No temp files or half entries are left behind under final names.
    assert _cached_file(cache, packages.sha256("delta-1.0")).read_bytes() == (
        packages["delta-1.0"].read_bytes()
    )
    assert list((cache / "tmp").iterdir()) == []


def test_jobs_1_and_jobs_8_install_the_same(peep, tmp_path, write, packages, index):
    reqs = write(
        "many.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('delta-1.0')}\n"
        f"beta==1.0 {packages.pip('beta-1.0')}\n",
    )
    results = []
    for jobs in ("1", "8"):
        target = make_venv(tmp_path / f"venv-{jobs}")
        peep.install(
            reqs, "-i", index.index_url, "--jobs", jobs, "--no-cache", python=target, check=0
        )
        results.append(installed(target))
    assert results[0] == results[1]
    assert {"alpha", "beta", "delta"} <= set(results[0])


def test_a_warm_sdist_is_not_built_again(peep, venv, tmp_path, write, packages, index, telltale):
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    builds = telltale.read_text().count("beta ran")
    assert builds >= 1
    fresh = make_venv(tmp_path / "fresh")
    index.clear_requests()
    done = peep.install(reqs, "-i", index.index_url, python=fresh, check=0)
    assert telltale.read_text().count("beta ran") == builds
    assert installed(fresh)["beta"] == "1.0"
    assert index.requests == []
    assert "WITHOUT hash checking" not in done.stdout + done.stderr


# uv is handed a built wheel in place too: both must catch one that changed.
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_tampered_built_wheel_is_rebuilt(
    peep, venv, tmp_path, write, packages, index, telltale, cache, installer
):
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, "--installer", installer, check=0)
    builds = telltale.read_text().count("beta ran")
    (wheel,) = (cache / "built").rglob("*.whl")
    wheel.write_bytes(b"swapped")
    fresh = make_venv(tmp_path / "fresh")
    done = peep.install(
        reqs, "-i", index.index_url, "--installer", installer, python=fresh, check=0
    )
    assert "does not have the hash" in done.stdout + done.stderr
    assert telltale.read_text().count("beta ran") > builds
    assert installed(fresh)["beta"] == "1.0"


def test_no_op_runs_start_no_installer(peep, venv, tmp_path, reqs, index):
    peep.install(reqs, "-i", index.index_url, check=0)
    # A fake uv first on PATH: it would leave a mark if any installer were started. Its
    # query of the target (uv python find, probing.prime_uv) starts with the probe, before
    # anyone knows there is nothing to install: not an installer.
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    mark = tmp_path / "installer-ran"
    fake = bin_dir / "uv"
    fake.write_text(f'#!/bin/sh\n[ "$1" = python ] || echo ran "$@" > {mark}\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    peep.env["PATH"] = f"{bin_dir}{os.pathsep}{peep.env['PATH']}"
    index.clear_requests()
    done = peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    assert "Nothing to install" in done.stdout
    assert not mark.exists(), mark.read_text()
    assert index.requests == []


def test_json_report_says_which_archives_came_from_the_cache(peep, venv, reqs, index, tmp_path):
    import json

    peep.install(
        reqs, "-i", index.index_url, "--dry-run", "--report", str(tmp_path / "1.json"), check=0
    )
    peep.install(
        reqs, "-i", index.index_url, "--dry-run", "--report", str(tmp_path / "2.json"), check=0
    )
    first, second = (json.loads((tmp_path / f"{n}.json").read_text()) for n in (1, 2))
    assert {r["source"] for r in first["requirements"]} == {"index"}
    assert {r["source"] for r in second["requirements"]} == {"cache"}
