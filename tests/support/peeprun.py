"""Running peep as a child, the one way the tests do, and checking what a run left behind."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .builders import installed

__all__ = ["Peep", "describe", "files_under", "reading_its_pipe", "wait_for"]

_ARCHIVE = re.compile(r"\.(whl|tar\.gz|zip|tar\.bz2|tgz|tar\.xz|tar)$", re.IGNORECASE)
_HEX64 = re.compile(r"[0-9a-f]{64}")
# The PIP_* variables the tests set themselves (builders.clean_env and the env fixture).
_OURS = {"PIP_CONFIG_FILE", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INPUT", "PIP_CACHE_DIR"}


def describe(done: subprocess.CompletedProcess[str]) -> str:
    """The exit code and both streams, for assertion messages."""
    return f"exit {done.returncode}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"


@dataclass
class Peep:
    """Runs ``python -m peep_setuptools`` as a child process, the way users run it.

    The one way the tests run peep. The child gets ``env`` (scrubbed by the ``env``
    fixture: ``PIP_CONFIG_FILE=/dev/null``, no ``PIP_*`` help from this machine) plus a
    private ``TMPDIR`` and ``PEEP_CACHE_DIR``. After every run it asserts the exit code
    (when ``check`` is given), that no traceback was printed (unless ``check`` is 3, a
    bug), and that the run left no ``peep-*`` work dir behind. ``install`` targets the
    test's ``venv`` unless given ``python=``; ``interpreter`` runs peep itself.
    """

    env: dict[str, str]
    cwd: Path
    new_venv: Callable[[], Path]
    interpreter: str = sys.executable
    #: what ``spawn`` started; ``stop`` ends those still running
    spawned: list[subprocess.Popen[str]] = field(default_factory=list)

    @classmethod
    def create(cls, env: dict[str, str], tmp_path: Path, venv: Callable[[], Path]) -> Peep:
        """A runner whose child uses ``tmp_path/tmp`` as TMPDIR and ``tmp_path/cache`` as cache.

        ``venv`` is called the first time a test needs its target (so that tests that
        install nothing make no virtual environment).
        """
        # Nothing from this machine's pip configuration may help (the env fixture's work).
        assert env.get("PIP_CONFIG_FILE") == os.devnull, env.get("PIP_CONFIG_FILE")
        helpers = sorted(k for k in env if k.startswith("PIP_") and k not in _OURS)
        assert helpers == [], helpers
        (tmp_path / "tmp").mkdir(exist_ok=True)
        child = {
            **env,
            "TMPDIR": str(tmp_path / "tmp"),
            "PEEP_CACHE_DIR": str(tmp_path / "cache"),
        }
        return cls(child, tmp_path, venv)

    @functools.cached_property
    def venv(self) -> Path:
        """The interpreter of the target environment (the test's ``venv`` unless set)."""
        return self.new_venv()

    @property
    def tmpdir(self) -> Path:
        """The child's TMPDIR."""
        return Path(self.env["TMPDIR"])

    @property
    def cache(self) -> Path:
        """The child's cache: PEEP_CACHE_DIR, or the default under XDG_CACHE_HOME."""
        if "PEEP_CACHE_DIR" in self.env:
            return Path(self.env["PEEP_CACHE_DIR"])
        return Path(self.env["XDG_CACHE_HOME"]) / "peep-setuptools"

    def argv(self, *args: str) -> list[str]:
        """The command line of ``python -m peep_setuptools ARGS...``."""
        return [self.interpreter, "-m", "peep_setuptools", *args]

    def install_args(self, reqfile: str, *args: str, python: Path | None = None) -> list[str]:
        """The arguments of ``peep install -r REQFILE --python VENV ARGS...``."""
        return ["install", "-r", reqfile, "--python", str(python or self.venv), *args]

    def __call__(
        self, *args: str, check: int | None = None, timeout: float = 600, wrap: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """Run ``peep ARGS...`` (behind the command ``wrap``, if any) and check the result."""
        done = subprocess.run(
            [*wrap, *self.argv(*args)],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return self.checked(done, check)

    def install(
        self,
        reqfile: str,
        *args: str,
        python: Path | None = None,
        check: int | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """``peep install -r REQFILE --python VENV ARGS...``, checked as ``__call__`` does."""
        return self(*self.install_args(reqfile, *args, python=python), check=check, timeout=timeout)

    def checked(
        self, done: subprocess.CompletedProcess[str], check: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Assert the exit code (if given), no traceback (but for a bug), no temp dirs left."""
        if check is not None:
            assert done.returncode == check, describe(done)
        assert "Traceback" not in done.stdout + done.stderr or check == 3, describe(done)
        self.assert_no_temp_dirs()
        return done

    def on_terminal(self, *args: str, check: int | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``peep ARGS...`` with stderr on a pseudo-terminal (so progress is drawn live).

        The result's ``stderr`` is all that the terminal showed.
        """
        done, seen = run_with_terminal_stderr(self.argv(*args), env=self.env, cwd=self.cwd)
        done.stderr = seen
        return self.checked(done, check)

    def spawn(self, *args: str, wrap: Sequence[str] = ()) -> subprocess.Popen[str]:
        """Start ``peep ARGS...`` in the background; ``finish`` or ``interrupt`` collects it.

        A run still going when the test ends (it failed before collecting it) is killed.
        ``wrap``: a command it runs behind (``nohup``).
        """
        proc = subprocess.Popen(
            [*wrap, *self.argv(*args)],
            # a run that hangs (``interrupt``) shows every thread's stack on SIGABRT
            env={**self.env, "PYTHONFAULTHANDLER": "1"},
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.spawned.append(proc)
        return proc

    def stop(self) -> None:
        """Kill and reap every spawned run that is still going."""
        for proc in self.spawned:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    def finish(
        self, *procs: subprocess.Popen[str], check: int | None = None, timeout: float = 600
    ) -> list[subprocess.CompletedProcess[str]]:
        """Wait for spawned runs, all of them, then check each result as ``__call__`` does."""
        outputs = [proc.communicate(timeout=timeout) for proc in procs]
        return [
            self.checked(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), check)
            for proc, (out, err) in zip(procs, outputs)
        ]

    def interrupt(
        self, proc: subprocess.Popen[str], *, timeout: float = 20, sig: int = signal.SIGINT
    ) -> subprocess.CompletedProcess[str]:
        """Send SIGINT (as Ctrl-C does), or ``sig``, and collect the result promptly."""
        proc.send_signal(sig)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler (``spawn``): where each thread is
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            raise AssertionError(f"peep hung after signal {sig}\n{out}\n{err}") from None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def assert_no_temp_dirs(self) -> None:
        """No ``peep-*`` work dir (and so no downloaded archive) is left in the child's TMPDIR.

        Nor any process still in one (an installer, or a pip started ahead of the install).
        """
        left = sorted(p.name for p in self.tmpdir.glob("peep*"))
        assert left == [], left
        inside = []
        for cwd in Path("/proc").glob("[0-9]*/cwd"):
            with contextlib.suppress(OSError):  # gone, or another user's
                if os.readlink(cwd).startswith(f"{self.tmpdir}{os.sep}"):
                    inside.append(f"{cwd.parent.name}: {(cwd.parent / 'cmdline').read_bytes()!r}")
        assert inside == [], inside

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
        writes, which no reader ever looks at. A file in ``links/`` must be one of those
        checked (a hard link to it).
        """
        if not self.cache.exists():
            return
        allowed = set(good)
        entries = {
            (info.st_dev, info.st_ino)
            for part in ("archives", "built")
            for info in (p.lstat() for p in (self.cache / part).rglob("*") if p.is_file())
        }
        for path in self.cache.rglob("*"):
            relative = path.relative_to(self.cache)
            if not path.is_file() or relative.parts[0] == "tmp":
                continue
            if relative.parts[0] == "links":
                info = path.lstat()
                assert (info.st_dev, info.st_ino) in entries, f"not a cache entry's file: {path}"
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


def reading_its_pipe(pid: int, fd: int) -> bool:
    """Whether the pip started ahead (``warmpip``) in process ``pid`` waits for its run.

    Its imports done, it blocks reading ``fd`` (the descriptor named on its command line):
    the system call /proc shows it in (read(2) on x86-64 and arm64 Linux).
    """
    try:
        call = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    return call[:2] in (["0", hex(fd)], ["63", hex(fd)])
