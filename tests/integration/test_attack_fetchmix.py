"""Attacks on a warm run: cached archives taken beside fresh downloads, and handed over.

A warm run takes small cached archives in its own thread while workers fetch the rest (and
take the large ones); uv is handed cached wheels where they lie in the cache. Each archive
must still be the one its requirement pinned, in its place, and a cache file changed after
peep hashed it must not be installed.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support.builders import installed, make_venv, origin, write_wheel
from support.uvwrap import logging_uv

pytestmark = pytest.mark.slow

#: over fetch._TAKEN_HERE: taken by a worker, not the calling thread
_LARGE = 1536 * 1024


def _cached_file(cache: Path, digest) -> Path:
    folder = cache / "archives" / digest.hex[:2] / digest.hex
    (found,) = [p for p in folder.iterdir() if p.name != "entry.json"]
    return found


@pytest.fixture(scope="module")
def mixed(tmp_path_factory, publish):
    """Six projects mix0..mix5, each at its own version; mix2 and mix5 are large."""
    root = tmp_path_factory.mktemp("mixed")
    files = {}
    for n in range(6):
        payload = {f"mix{n}/__init__.py": f"VERSION = '{n}.0'\nORIGIN = 'mix{n}'\n".encode()}
        if n in (2, 5):
            payload[f"mix{n}/blob.bin"] = os.urandom(_LARGE)  # stays large when deflated
        files[f"mix{n}"] = write_wheel(root, f"mix{n}", f"{n}.0", payload)
    return publish(files)


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_cached_and_fetched_archives_keep_their_requirements(
    peep, venv, tmp_path, write, index, mixed, installer
):
    digests = mixed
    reqs = write(
        "reqs.txt", "".join(f"mix{n}=={n}.0 {digests[f'mix{n}'].pip_option()}\n" for n in range(6))
    )
    common = ("-i", index.index_url, "--installer", installer, "--jobs", "3")
    peep.install(reqs, *common, "--dry-run", check=0)  # fills the cache
    for n in (1, 4, 5):  # these are fetched again (mix5 is large, mix2 large and cached)
        shutil.rmtree(_cached_file(peep.cache, digests[f"mix{n}"]).parent)
    report = tmp_path / "report.json"
    peep.install(reqs, *common, "--report", str(report), check=0)
    got = [(r["name"], r["source"]) for r in json.loads(report.read_text())["requirements"]]
    sources = ["index" if n in (1, 4, 5) else "cache" for n in range(6)]
    assert got == [(f"mix{n}", sources[n]) for n in range(6)]
    assert {k: v for k, v in installed(venv).items() if k.startswith("mix")} == {
        f"mix{n}": f"{n}.0" for n in range(6)
    }
    for n in range(6):
        assert origin(venv, f"mix{n}") == f"mix{n}"
    peep.assert_cache_clean()


def test_a_cache_file_swapped_after_peep_hashed_it_is_not_installed_by_uv(
    peep, venv, tmp_path, write, packages, index
):
    # uv gets cached wheels at their cache path: a file changed between peep's hash and uv's
    # read (its mtime kept, by which uv knows a file it unpacked before) must never be
    # installed: uv refuses it (--require-hashes) or, having unpacked the file before (and
    # checked that against the same hash), installs what it unpacked then and never reads
    # the changed one (into a new environment peep passes no --reinstall, which would make
    # uv read every cached file again).
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    cached_run = ("-i", index.index_url, "--installer", "uv")
    peep.install(reqs, *cached_run, "--dry-run", check=0)
    cached = _cached_file(peep.cache, packages.sha256("alpha-1.0"))
    evil = write_wheel(tmp_path / "evil", "alpha", "1.0", {"alpha/__init__.py": b"ORIGIN='evil'\n"})
    armed = tmp_path / "armed"
    # As uv starts reading its requirements: after peep verified every file (a uv started
    # ahead waits for them; the wrapper swaps the file once they came).
    logging_uv(
        peep,
        tmp_path,
        before_exec=(
            f"if [ \"$1\" = pip ] && [ -e '{armed}' ]; then\n"
            f"  touch -r '{cached}' '{armed}'; cp '{evil}' '{cached}'\n"
            f"  touch -r '{armed}' '{cached}'\n"
            "fi"
        ),
    )
    for uv_has_unpacked_it in (True, False):
        shutil.copyfile(packages["alpha-1.0"], cached)
        if uv_has_unpacked_it:
            peep.install(reqs, *cached_run, python=make_venv(tmp_path / "first"), check=0)
        else:
            shutil.rmtree(peep.env["UV_CACHE_DIR"], ignore_errors=True)
        armed.touch()
        fresh = make_venv(tmp_path / f"fresh-{uv_has_unpacked_it}")
        done = peep.install(reqs, *cached_run, python=fresh, check=None)
        if uv_has_unpacked_it:
            assert done.returncode == 0, done.stdout + done.stderr
            assert origin(fresh, "alpha") == "wheel"  # the verified file, not the evil one
        else:
            assert done.returncode == 1, done.stdout + done.stderr
            assert "Hash mismatch" in done.stdout + done.stderr
            assert "alpha" not in installed(fresh)
        armed.unlink()


@pytest.mark.parametrize("jobs", ["1", "4"])
def test_a_tampered_cache_entry_whose_download_fails_installs_nothing(
    peep, venv, write, packages, index, jobs
):
    # Taken in the calling thread, found changed, dropped, fetched again there: the index
    # then fails. That failure is the run's (exit 1), not a success of the cached others.
    from support.indexserver import Fault

    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )
    peep.install(reqs, "-i", index.index_url, "--dry-run", check=0)
    _cached_file(peep.cache, packages.sha256("alpha-1.0")).write_bytes(b"changed")
    alpha = f"/files/simple/{packages['alpha-1.0'].name}"
    index.set_fault(alpha, Fault.status(404))
    try:
        done = peep.install(reqs, "-i", index.index_url, "--jobs", jobs, check=1)
    finally:
        index.set_fault(alpha, None)
    out = done.stdout + done.stderr
    assert "does not have the hash it is stored under" in out
    assert "1 could not be found or downloaded" in out
    assert "Traceback" not in out
    peep.assert_nothing_installed()


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_file_url_naming_the_cache_itself(
    peep, venv, tmp_path, write, packages, index, installer
):
    # The requirement names the cache's own file: taken (and hashed) as any cached archive,
    # installed once, and the cache entry is neither dropped nor changed.
    pin = packages.pip("alpha-1.0")
    peep.install(
        write("warm.txt", f"alpha==1.0 {pin}\n"), "-i", index.index_url, "--dry-run", check=0
    )
    cached = _cached_file(peep.cache, packages.sha256("alpha-1.0"))
    reqs = write("reqs.txt", f"alpha @ {cached.as_uri()} {pin}\n")
    peep.install(reqs, "--no-index", "--installer", installer, check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert cached.read_bytes() == packages["alpha-1.0"].read_bytes()
    peep.assert_cache_clean()


def test_the_same_archive_by_index_and_by_url_is_refused_warm(peep, write, packages, index):
    pin = packages.pip("alpha-1.0")
    url = f"{index.url}/files/simple/{packages['alpha-1.0'].name}"
    peep.install(
        write("warm.txt", f"alpha==1.0 {pin}\n"), "-i", index.index_url, "--dry-run", check=0
    )
    reqs = write("reqs.txt", f"alpha==1.0 {pin}\nalpha @ {url} {pin}\n")
    done = peep.install(reqs, "-i", index.index_url, check=2)
    assert "ask for different archives of alpha; keep one of them" in done.stderr
    peep.assert_nothing_installed()
