"""A FIFO or a device where peep reads a file must not hang the run (or hide a change).

A cache restored from another job (a tarball restores FIFOs, and as root devices), a planted
file in an environment ``peep verify`` checks, or a ``file:`` URL may name one: opened as a
file, a FIFO blocks for ever and a device such as /dev/zero never ends. Each is refused as
not a regular file, at once: a cache entry is fetched again, an installed file is changed.
"""

from __future__ import annotations

import os
import stat

import pytest
from support.builders import site_packages

pytestmark = pytest.mark.slow

#: far below the run's own timeouts: only a hang takes this long
_QUICK = 60


def _plant(path, kind: str) -> None:
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path, 0o644)
    elif kind == "device":  # /dev/zero's own numbers; only root may make one
        os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 5))
    else:
        os.symlink("/dev/zero", path)


_KINDS = [
    "fifo",
    pytest.param(
        "device",
        marks=pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a device needs root"),
    ),
    "link",
]


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("what", ["archive", "entry.json"])
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_a_special_file_in_the_cache_is_fetched_again(
    peep, write, packages, index, kind, what, installer
):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, "--dry-run", check=0)
    digest = packages.sha256("alpha-1.0").hex
    folder = peep.cache / "archives" / digest[:2] / digest
    (archive,) = folder.glob("*.whl")
    _plant(archive if what == "archive" else folder / "entry.json", kind)
    index.clear_requests()
    peep.install(reqs, "-i", index.index_url, "--installer", installer, check=0, timeout=_QUICK)
    assert peep.installed() == {"alpha": "1.0"}
    assert index.requests_to(f"/files/simple/{packages['alpha-1.0'].name}")
    assert archive.is_file() and not archive.is_symlink()  # the cache holds the file again
    peep.assert_cache_clean()


@pytest.mark.parametrize("kind", _KINDS)
def test_verify_reports_a_special_file_as_changed(peep, venv, write, packages, index, kind):
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    _plant(site_packages(venv) / "alpha" / "__init__.py", kind)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*verify, check=1, timeout=_QUICK)
    assert "changed: alpha/__init__.py" in done.stdout + done.stderr


@pytest.mark.parametrize("kind", _KINDS)
def test_a_file_url_naming_a_special_file_fails(peep, venv, write, packages, tmp_path, kind):
    local = tmp_path / packages["alpha-1.0"].name
    local.write_bytes(b"")
    _plant(local, kind)
    reqs = write("reqs.txt", f"alpha @ {local.as_uri()} {packages.pip('alpha-1.0')}\n")
    done = peep.install(reqs, "--no-index", check=1, timeout=_QUICK)
    assert "not a regular file" in done.stdout + done.stderr
    peep.assert_nothing_installed()
