"""Installers we hand verified local archives to: pip (default) or uv, always as subprocesses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Literal, Protocol, runtime_checkable

from peep_setuptools.archives import is_wheel
from peep_setuptools.errors import BackendError
from peep_setuptools.hashes import Digest
from peep_setuptools.target import Target

# Bootstrap recipes set these for setuptools' own fetch of our plugin; they must not reach
# the pip we run, whose hash options are its own (and whose build-isolation pip would
# otherwise refuse the unpinned build backend of every sdist).
_SCRUBBED_ENV = ("PIP_REQUIRE_HASHES", "PIP_CONSTRAINT", "PIP_NO_DEPS", "PIP_TARGET", "PIP_USER")

Compile = Literal["default", "compile", "no-compile"]


@dataclass(frozen=True)
class VerifiedArchive:
    """A local archive whose bytes matched an allowed hash."""

    name: str
    path: str
    digest: Digest


@dataclass(frozen=True)
class BuildIndex:
    """Index options for the one thing the installer still fetches: sdists' build backends."""

    index_url: str | None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None

    def pip_args(self) -> list[str]:
        """The same options spelled for pip's and uv's command lines."""
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        for link in self.find_links:
            args += ["--find-links", link]
        for host in self.trusted_hosts:
            args += ["--trusted-host", host]
        return args


@runtime_checkable
class WheelBuilder(Protocol):
    """A backend that can also build wheels from verified sdists, so that we can cache them."""

    def build_wheels(
        self,
        sdists: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
    ) -> list[str]:
        """Build one wheel per sdist for ``target``; return their paths; raise BackendError."""


class InstallerBackend(Protocol):
    """Installs already verified local archives into the target, without dependencies."""

    @property
    def name(self) -> str:
        """The installer's name, for messages."""

    def install(
        self,
        archives: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
        force_reinstall: bool,
    ) -> None:
        """Install every archive in one call; raise BackendError if the installer fails."""


def write_requirements(archives: Sequence[VerifiedArchive], path: str) -> None:
    """Write the verified files as ``name @ file:///... --hash=...``; the installer checks too."""
    lines = [
        f"{a.name} @ {Path(a.path).resolve().as_uri()} {a.digest.pip_option()}\n" for a in archives
    ]
    Path(path).write_text("".join(lines), encoding="utf-8")


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment less the bootstrap-only pip variables."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env.update(extra or {})
    return env


def _run(
    command: list[str],
    archives: Sequence[VerifiedArchive],
    env: dict[str, str],
    *,
    action: Literal["install", "build"] = "install",
    stdout_to_stderr: bool = False,
) -> None:
    try:
        # With a JSON report on stdout, the installer's chatter must not land in it.
        stdout = sys.stderr if stdout_to_stderr else None
        done = subprocess.run(command, env=env, check=False, stdout=stdout)
    except OSError as exc:
        raise BackendError(f"cannot run {command[0]}: {exc}") from exc
    if done.returncode != 0:
        names = ", ".join(a.name for a in archives)
        raise BackendError(
            f"{' '.join(command[:4])} exited {done.returncode} while {action}ing {names}; "
            "its output above names the package that failed. The archives were verified, but "
            f"the installer could not {action} them."
        )


def _wheels_in(folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, name) for name in names if is_wheel(name)]


@dataclass(frozen=True)
class _RequirementsFileBackend:
    """What pip and uv share: one run over a requirements file listing the verified archives.

    Subclasses spell the installer's command line; the order of its options is the same.
    """

    compile: Compile = "default"
    quiet: bool = False
    #: send the installer's standard output to our standard error
    stdout_to_stderr: bool = False

    #: the installer's flag for replacing what is installed
    _reinstall: ClassVar[str]

    def install(
        self,
        archives: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
        force_reinstall: bool,
    ) -> None:
        """Install every archive in one installer run; raise BackendError if it fails."""
        program = self._program(target)  # uv is looked for before any file is written
        reqs = os.path.join(workdir, "verified-requirements.txt")
        write_requirements(archives, reqs)
        command = [*program, "install", "--no-deps", "--require-hashes", *self._target_args(target)]
        command += ["-r", reqs, *build_index.pip_args(), *self._cert_args(build_index)]
        if force_reinstall:
            command.append(self._reinstall)
        command += self._compile_args()
        if self.quiet:
            command.append("--quiet")
        _run(command, archives, self._env(build_index), stdout_to_stderr=self.stdout_to_stderr)

    def _program(self, target: Target) -> list[str]:
        """The command that installs: ``python -m pip`` or ``uv pip``."""
        raise NotImplementedError

    def _target_args(self, target: Target) -> list[str]:
        """Options right after ``--require-hashes``: how to reach the target, no prompts."""
        raise NotImplementedError

    def _cert_args(self, build_index: BuildIndex) -> list[str]:
        return []

    def _compile_args(self) -> list[str]:
        raise NotImplementedError

    def _env(self, build_index: BuildIndex) -> dict[str, str]:
        return child_env()


@dataclass(frozen=True)
class PipBackend(_RequirementsFileBackend):
    """``python -m pip install --no-deps --require-hashes -r verified.txt``."""

    name: str = "pip"
    _reinstall: ClassVar[str] = "--force-reinstall"

    def build_wheels(
        self,
        sdists: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
    ) -> list[str]:
        """``pip wheel --no-deps --require-hashes``: one pip run for all the sdists."""
        reqs = os.path.join(workdir, "verified-sdists.txt")
        out = os.path.join(workdir, "built")
        write_requirements(sdists, reqs)
        command = [*self._program(target), "wheel", "--no-deps", "--require-hashes"]
        command += [*self._target_args(target), "-r", reqs, "--wheel-dir", out]
        command += [*build_index.pip_args(), *self._cert_args(build_index)]
        if self.quiet:
            command.append("--quiet")
        _run(
            command,
            sdists,
            self._env(build_index),
            action="build",
            stdout_to_stderr=self.stdout_to_stderr,
        )
        return _wheels_in(out)

    def _program(self, target: Target) -> list[str]:
        """The target's own pip, or ours with ``--python`` when it has none."""
        if target.has_pip:
            return [target.python, "-m", "pip"]
        return [sys.executable, "-m", "pip", "--python", target.python]

    def _target_args(self, target: Target) -> list[str]:
        return ["--disable-pip-version-check", "--no-input"]

    def _cert_args(self, build_index: BuildIndex) -> list[str]:
        return ["--cert", build_index.cert] if build_index.cert else []

    def _compile_args(self) -> list[str]:
        return [f"--{self.compile}"] if self.compile != "default" else []


@dataclass(frozen=True)
class UvBackend(_RequirementsFileBackend):
    """``uv pip install --no-deps --require-hashes --python TARGET -r verified.txt``."""

    name: str = "uv"
    _reinstall: ClassVar[str] = "--reinstall"

    def build_wheels(
        self,
        sdists: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
    ) -> list[str]:
        """``uv build --wheel`` of each sdist (uv builds one source per call)."""
        uv = find_uv()
        out = os.path.join(workdir, "built")
        env = self._env(build_index)

        def build(sdist: VerifiedArchive) -> None:
            command = [uv, "build", "--wheel", "--out-dir", out, "--python", target.python]
            command += [*_uv_build_index_args(build_index), sdist.path]
            if self.quiet:
                command.append("--quiet")
            _run(command, [sdist], env, action="build", stdout_to_stderr=self.stdout_to_stderr)

        # One source per `uv build`, so run them side by side, as `uv pip install` would.
        with ThreadPoolExecutor(max_workers=min(len(sdists), 4) or 1) as pool:
            for future in [pool.submit(build, sdist) for sdist in sdists]:
                future.result()
        return _wheels_in(out)

    def _program(self, target: Target) -> list[str]:
        """uv, found on PATH or beside this interpreter."""
        return [find_uv(), "pip"]

    def _target_args(self, target: Target) -> list[str]:
        return ["--python", target.python]

    def _compile_args(self) -> list[str]:
        return ["--compile-bytecode"] if self.compile == "compile" else []

    def _env(self, build_index: BuildIndex) -> dict[str, str]:
        # uv reads the CA bundle from the environment; it has no --cert.
        return child_env({"SSL_CERT_FILE": build_index.cert} if build_index.cert else None)


def _uv_build_index_args(build_index: BuildIndex) -> list[str]:
    # `uv build` spells pip's --trusted-host as --allow-insecure-host.
    return [
        "--allow-insecure-host" if arg == "--trusted-host" else arg
        for arg in build_index.pip_args()
    ]


def find_uv() -> str:
    """The uv executable; BackendError (exit 1) if it is not installed."""
    beside = Path(sys.executable).with_name("uv")
    found = shutil.which("uv") or (str(beside) if beside.exists() else None)
    if found is None:
        raise BackendError(
            "the uv installer was asked for but uv is not installed; install it "
            "(pip install uv) or use the default pip installer"
        )
    return found
