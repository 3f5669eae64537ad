"""End to end: a read-only or full cache, an unwritable target, requirement files that are
not regular files or that change while being read.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from support.peeprun import describe

pytestmark = pytest.mark.slow

CACHE_WARNING = "cannot write to the cache"


@contextlib.contextmanager
def unwritable(path: Path):
    """Make a directory unwritable, even for root (``chattr +i``); skip if we cannot."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)], check=False).returncode:
        pytest.skip("running as root without chattr +i: cannot make a directory unwritable")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=False)


def cache_warnings(done):
    return (done.stdout + done.stderr).count(CACHE_WARNING)


# -- the cache --------------------------------------------------------------------------------


def test_read_only_cache_installs_without_caching_with_one_warning(peep, reqs, srv):
    peep.cache.mkdir()
    with unwritable(peep.cache):
        done = peep.install(reqs, "-i", srv.index_url, check=0)
    assert peep.installed()["alpha"] == "1.0"
    assert cache_warnings(done) == 1, describe(done)
    assert list(peep.cache.iterdir()) == []


def test_full_cache_installs_without_caching_with_one_warning(peep, reqs, srv, write):
    unshare = shutil.which("unshare")
    if os.geteuid() != 0 or unshare is None:
        pytest.skip("needs root and unshare to mount a full tmpfs as the cache")
    peep.cache.mkdir()
    # A private mount namespace: a 64 KiB tmpfs, filled up, mounted over the cache dir.
    script = (
        'mount -t tmpfs -o size=64k,mode=0700 tmpfs "$PEEP_CACHE_DIR" || exit 97\n'
        'head -c 1048576 /dev/zero > "$PEEP_CACHE_DIR/filler" 2>/dev/null\n'
        'exec "$@"\n'
    )
    wrap = [unshare, "-m", "sh", "-c", script, "sh"]
    done = peep(*peep.install_args(reqs, "-i", srv.index_url), wrap=wrap, timeout=120)
    if done.returncode == 97:
        pytest.skip("cannot mount a tmpfs here")
    assert done.returncode == 0, describe(done)
    assert "No space left on device" in done.stdout + done.stderr
    assert cache_warnings(done) == 1, describe(done)
    assert peep.installed()["alpha"] == "1.0"


def test_cache_is_used_and_consistent_after_a_normal_run(peep, reqs, srv, packages):
    peep.install(reqs, "-i", srv.index_url, "--dry-run", check=0)
    assert list(peep.cache.glob("archives/*/*/*.whl"))
    peep.assert_cache_clean([packages.sha256("alpha-1.0").hex])


# -- the target -------------------------------------------------------------------------------


def test_unwritable_target_environment_is_our_error_naming_the_package(peep, reqs, srv, venv):
    site = next(venv.parent.parent.glob("lib/python*/site-packages"))
    with unwritable(site):
        done = peep.install(reqs, "-i", srv.index_url, check=1)
    error = done.stderr.strip().splitlines()[-1]
    assert error.startswith("peep: error: "), done.stderr
    assert "alpha" in error
    assert "alpha" not in peep.installed()


# -- requirement files that are not files -----------------------------------------------------


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: os.mkfifo(p), "it is not a regular file"),
        (lambda p: p.mkdir(), "it is a directory"),
        (None, "it is not a regular file"),
    ],
    ids=["fifo", "directory", "device"],
)
def test_requirements_file_that_is_not_a_file(peep, tmp_path, make, reason):
    if make is None:
        path = Path("/dev/zero")  # a device that would never stop giving bytes
    else:
        path = tmp_path / "reqs.txt"
        make(path)
    done = peep.install(str(path), "--no-index", check=2, timeout=30)
    assert f"cannot read requirements file '{path}': {reason}" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_included_fifo_names_the_including_line(peep, write, tmp_path):
    os.mkfifo(tmp_path / "more.txt")
    reqs = write("reqs.txt", "# first\n-r more.txt\n")
    done = peep.install(reqs, "--no-index", check=2, timeout=30)
    assert f"{reqs}:2: cannot read included file" in done.stderr
    assert "not a regular file" in done.stderr


def test_missing_and_unreadable_requirements_files(peep, tmp_path):
    done = peep.install(str(tmp_path / "nope.txt"), "--no-index", check=2)
    assert "nope.txt" in done.stderr and "No such file" in done.stderr


def test_requirements_file_changing_while_read(peep, write, srv, packages):
    good = f"alpha==1.0 {packages.pip('alpha-1.0')}\n" * 200
    reqs = write("reqs.txt", good)
    stop = threading.Event()

    def rewrite() -> None:
        # Not atomic: readers can see it empty, cut in the middle of a hash, or whole.
        while not stop.is_set():
            with open(reqs, "w", encoding="utf-8") as stream:
                for line in good.splitlines(keepends=True):
                    stream.write(line)
                    stream.flush()

    writer = threading.Thread(target=rewrite, daemon=True)
    writer.start()
    try:
        codes = []
        for _ in range(4):
            done = peep.install(reqs, "-i", srv.index_url, "--dry-run", timeout=60)
            codes.append(done.returncode)
            assert done.returncode in (0, 1, 2), describe(done)
            if done.returncode:
                message = done.stderr + done.stdout
                assert reqs in message, describe(done)
    finally:
        stop.set()
        writer.join(timeout=5)
    peep.assert_no_temp_dirs()
    peep.assert_nothing_installed()
