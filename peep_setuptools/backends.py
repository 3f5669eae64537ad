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
from typing import Literal, Protocol, runtime_checkable

from .errors import BackendError
from .hashes import Digest
from .target import Target

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
) -> None:
    try:
        done = subprocess.run(command, env=env, check=False)
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
    return [os.path.join(folder, name) for name in names if name.endswith(".whl")]


@dataclass(frozen=True)
class PipBackend:
    """``python -m pip install --no-deps --require-hashes -r verified.txt``."""

    compile: Compile = "default"
    quiet: bool = False
    name: str = "pip"

    def install(
        self,
        archives: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
        force_reinstall: bool,
    ) -> None:
        """Run the target's own pip, or ours with ``--python`` when it has none."""
        reqs = os.path.join(workdir, "verified-requirements.txt")
        write_requirements(archives, reqs)
        command = self._pip(target)
        command += ["install", "--no-deps", "--require-hashes", "--disable-pip-version-check"]
        command += ["--no-input", "-r", reqs, *build_index.pip_args()]
        if build_index.cert:
            command += ["--cert", build_index.cert]
        if force_reinstall:
            command.append("--force-reinstall")
        if self.compile != "default":
            command.append(f"--{self.compile}")
        if self.quiet:
            command.append("--quiet")
        _run(command, archives, child_env())

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
        command = self._pip(target)
        command += ["wheel", "--no-deps", "--require-hashes", "--disable-pip-version-check"]
        command += ["--no-input", "-r", reqs, "--wheel-dir", out, *build_index.pip_args()]
        if build_index.cert:
            command += ["--cert", build_index.cert]
        if self.quiet:
            command.append("--quiet")
        _run(command, sdists, child_env(), action="build")
        return _wheels_in(out)

    @staticmethod
    def _pip(target: Target) -> list[str]:
        if target.has_pip:
            return [target.python, "-m", "pip"]
        return [sys.executable, "-m", "pip", "--python", target.python]


@dataclass(frozen=True)
class UvBackend:
    """``uv pip install --no-deps --require-hashes --python TARGET -r verified.txt``."""

    compile: Compile = "default"
    quiet: bool = False
    name: str = "uv"

    def install(
        self,
        archives: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
        force_reinstall: bool,
    ) -> None:
        """Run uv, found on PATH or beside this interpreter."""
        uv = find_uv()
        reqs = os.path.join(workdir, "verified-requirements.txt")
        write_requirements(archives, reqs)
        command = [uv, "pip", "install", "--no-deps", "--require-hashes"]
        command += ["--python", target.python, "-r", reqs, *build_index.pip_args()]
        if force_reinstall:
            command.append("--reinstall")
        if self.compile == "compile":
            command.append("--compile-bytecode")
        if self.quiet:
            command.append("--quiet")
        env = child_env({"SSL_CERT_FILE": build_index.cert} if build_index.cert else None)
        _run(command, archives, env)

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
        env = child_env({"SSL_CERT_FILE": build_index.cert} if build_index.cert else None)

        def build(sdist: VerifiedArchive) -> None:
            command = [uv, "build", "--wheel", "--out-dir", out, "--python", target.python]
            command += [*_uv_build_index_args(build_index), sdist.path]
            if self.quiet:
                command.append("--quiet")
            _run(command, [sdist], env, action="build")

        # One source per `uv build`, so run them side by side, as `uv pip install` would.
        with ThreadPoolExecutor(max_workers=min(len(sdists), 4) or 1) as pool:
            for future in [pool.submit(build, sdist) for sdist in sdists]:
                future.result()
        return _wheels_in(out)


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
