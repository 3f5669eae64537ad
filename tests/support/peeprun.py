"""Running ``peep install`` as a child and checking that a failed run left nothing behind."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .builders import installed

__all__ = ["Runner", "describe", "files_under", "wait_for"]

_ARCHIVE = re.compile(r"\.(whl|tar\.gz|zip|tar\.bz2|tgz|tar\.xz|tar)$", re.IGNORECASE)
_HEX64 = re.compile(r"[0-9a-f]{64}")


def describe(done: subprocess.CompletedProcess[str]) -> str:
    """The exit code and both streams, for assertion messages."""
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


@dataclass
class Runner:
    """``peep install --python VENV`` with a private TMPDIR and cache, and after-run checks."""

    env: dict[str, str]
    cwd: Path
    venv: Path

    @classmethod
    def create(cls, env: dict[str, str], tmp_path: Path, venv: Path) -> Runner:
        """A runner whose child uses ``tmp_path/tmp`` as TMPDIR and ``tmp_path/cache`` as cache."""
        (tmp_path / "tmp").mkdir(exist_ok=True)
        child = {
            **env,
            "TMPDIR": str(tmp_path / "tmp"),
            "PEEP_CACHE_DIR": str(tmp_path / "cache"),
        }
        return cls(child, tmp_path, venv)

    @property
    def tmpdir(self) -> Path:
        """The child's TMPDIR."""
        return Path(self.env["TMPDIR"])

    @property
    def cache(self) -> Path:
        """The child's PEEP_CACHE_DIR (used once the verified cache exists)."""
        return Path(self.env["PEEP_CACHE_DIR"])

    def argv(self, reqfile: str, *args: str) -> list[str]:
        """The command line of ``peep install -r reqfile --python venv args...``."""
        return [
            sys.executable,
            "-m",
            "peep_setuptools",
            "install",
            "-r",
            reqfile,
            "--python",
            str(self.venv),
            *args,
        ]

    def install(
        self, reqfile: str, *args: str, check: int, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run it; assert the exit code, no traceback, and that its temp dirs are gone."""
        done = subprocess.run(
            self.argv(reqfile, *args),
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == check, describe(done)
        assert "Traceback" not in done.stdout + done.stderr, describe(done)
        self.assert_no_temp_dirs()
        return done

    def spawn(self, reqfile: str, *args: str) -> subprocess.Popen[str]:
        """Start it in the background (for interrupts); the caller waits for it."""
        return subprocess.Popen(
            self.argv(reqfile, *args),
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def interrupt(
        self, proc: subprocess.Popen[str], *, timeout: float = 20, sig: int = signal.SIGINT
    ) -> subprocess.CompletedProcess[str]:
        """Send SIGINT (as Ctrl-C does), or ``sig``, and collect the result promptly."""
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"peep hung after signal {sig}\n{out}\n{err}") from None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def assert_no_temp_dirs(self) -> None:
        """No ``peep-*`` work dir (and so no downloaded archive) is left in the child's TMPDIR."""
        left = sorted(p.name for p in self.tmpdir.glob("peep*"))
        assert left == [], left

    def installed(self) -> dict[str, str]:
        """What is installed in the target venv."""
        return installed(self.venv)

    def assert_nothing_installed(self, *names: str) -> None:
        """None of ``names`` (or nothing at all, if none given) is installed in the venv."""
        got = self.installed()
        if names:
            assert not set(names) & set(got), got
        else:
            assert got == {}, got

    def assert_cache_clean(self, good: Iterable[str] = ()) -> None:
        """Every archive in the cache has verified bytes, under its final name.

        In a folder named by a sha256 (``archives/ab/<hex>/``) an archive must hash to
        that name; elsewhere (``built/``) to the sha256 its ``entry.json`` records, or to
        one of ``good``. ``.part`` leftovers are not allowed; ``tmp/`` holds unfinished
        writes, which no reader ever looks at.
        """
        if not self.cache.exists():
            return
        allowed = set(good)
        for path in self.cache.rglob("*"):
            relative = path.relative_to(self.cache)
            if not path.is_file() or relative.parts[0] == "tmp":
                continue
            assert not path.name.endswith(".part"), f"partial file left in the cache: {path}"
            if not _ARCHIVE.search(path.name):
                continue
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
            folder = _HEX64.fullmatch(path.parent.name)
            if relative.parts[0] == "archives":
                assert folder is not None, f"archive outside a hash-named folder: {path}"
                assert actual == folder.group(0), f"{path} does not hash to its folder name"
                continue
            entry = path.parent / "entry.json"
            recorded = json.loads(entry.read_text()).get("sha256") if entry.exists() else None
            assert actual == recorded or actual in allowed, f"unverified file: {path}"


def wait_for(predicate: object, timeout: float = 20.0) -> bool:
    """Poll a zero-argument callable until it returns true or ``timeout`` passes."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def files_under(root: Path) -> set[str]:
    """Relative paths of every file under ``root`` (for "nothing new appeared" checks)."""
    return {os.path.relpath(p, root) for p in root.rglob("*") if p.is_file()}


def run_with_terminal_stderr(
    command: list[str], *, env: dict[str, str], cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run ``command`` with stderr on a pseudo-terminal (so progress is drawn live).

    Returns the finished process (its stdout captured) and everything written to the terminal.
    """
    import pty

    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    return done, seen.decode()
