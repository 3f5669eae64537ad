"""Installers we hand verified local archives to: pip (default) or uv, always as subprocesses."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, runtime_checkable

from packaging.utils import NormalizedName, canonicalize_name

from peep_setuptools.archives import is_wheel
from peep_setuptools.errors import BackendError, TargetError
from peep_setuptools.frozen import frozen
from peep_setuptools.installing.children import (
    BUILDS_AT_ONCE,
    INSTALLS_AT_ONCE,
    ChildRun,
    run_count,
)
from peep_setuptools.installing.children import pip_runner as _pip_runner
from peep_setuptools.installing.children import run_all as _run_all
from peep_setuptools.installing.handoff import (
    Origin,
    Staged,
    VerifiedArchive,
    local_line,
    stage,
    staged_folder,
    write_installer_input,
)
from peep_setuptools.installing.sources import PIP, UV, BuildIndex, Sources, child_env
from peep_setuptools.probing import locate_uv
from peep_setuptools.target import Target

if TYPE_CHECKING:
    from peep_setuptools.checks.landed import Stamps
    from peep_setuptools.installing.bytecode import Compiler
    from peep_setuptools.installing.warmpip import WarmStarts
    from peep_setuptools.installing.warmuv import UvStartedAhead

__all__ = [
    "BuildIndex",
    "Compile",
    "InstallerBackend",
    "PipBackend",
    "UvBackend",
    "VerifiedArchive",
    "WheelBuilder",
    "backend_named",
    "find_uv",
]

Compile = Literal["default", "compile", "no-compile"]

logger = logging.getLogger(__name__)


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
    ) -> None:
        """Install every archive in one call; raise BackendError if the installer fails.

        Installed copies are replaced: the verified files win over whatever is installed.
        """


def _wheels_in(folder: str) -> list[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, name) for name in names if is_wheel(name)]


@contextlib.contextmanager
def _compiling(
    target: Target,
    archives: Sequence[VerifiedArchive],
    env: Mapping[str, str],
    workdir: str,
    compiles: bool,
) -> Iterator[Compiler | None]:
    """Our compile child while pip installs (``bytecode``), if we compile; None if not.

    pip failed: what it finished is compiled, as pip would have done. Interrupted: stopped.
    """
    if not compiles:
        yield None
        return
    from peep_setuptools.installing.bytecode import Compiler

    wheels = [(a.name, a.path) for a in archives]  # an sdist: none compiled before pip's end
    schemes = dict(target.install_paths)
    compiler = Compiler.start(target.python, env, cwd=workdir, schemes=schemes, wheels=wheels)
    try:
        yield compiler
    except BackendError:
        if compiler is not None:
            compiler.finish([])
        raise
    except BaseException:
        if compiler is not None:
            compiler.stop()
        raise


@frozen
class _RequirementsFileBackend:
    """What pip and uv share: one run over a requirements file listing the verified archives.

    Subclasses spell the installer's command line; the order of its options is the same.
    """

    compile: Compile = "default"
    quiet: bool = False
    #: send the installer's standard output to our standard error
    stdout_to_stderr: bool = False
    #: installers started while we fetched, waiting for a run (``started_ahead``)
    warm: WarmStarts | UvStartedAhead | None = field(default=None, compare=False, repr=False)
    #: the installer's name, for messages (each subclass's own)
    name: str = "the installer"

    #: the installer's flag for replacing what is installed
    _reinstall: ClassVar[str]
    #: cached wheels are handed over where they lie in the cache (see ``handoff.stage``)
    _hands_over_in_place: ClassVar[bool] = False
    #: how the installer is told where to look (``sources.py``)
    _sources: ClassVar[Sources]

    def install(
        self,
        archives: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
    ) -> None:
        """Install every archive; raise BackendError if the installer fails.

        Fresh wheels that write disjoint files may go to several installer runs
        (``batches.py``). Index options (with their credentials) are handed over only when
        an sdist is left to build, and never on the command line; then the environment
        records what the requirements said (``recorded.py``). A run that one of the ``warm``
        installers can run goes to it.
        """
        program = self._program(target)  # uv is looked for before any file is written
        at_once, at_most = self._batches(archives)
        batches, hooks_last = [list(archives)], False
        if run_count(len(archives), at_once=at_once, at_most=at_most) > 1:
            # The split's readers of every wheel: not loaded by a run that cannot split. A
            # wheel built in this run is read once, for the split and the compile choice.
            from peep_setuptools.installing.batches import split_runs

            archives = [a.with_facts() for a in archives]
            batches, hooks_last = split_runs(
                archives, at_once=at_once, at_most=at_most, target=target
            )
        compiles = self._compiles_after(archives)
        if len(batches) > 1:
            side_by_side = " side by side" if at_once > 1 else ""
            logger.info(
                "Installing the %d archives in %d installer runs%s (no two write the same file).",
                *(len(archives), len(batches), side_by_side),
            )
        runs: list[ChildRun] = []
        origins: list[Origin] = []
        for number, batch in enumerate(batches):
            staged = stage(batch, workdir, in_place=self._hands_over_in_place, batch=number)
            env, command = self._install_run(staged, number, target, workdir, build_index)
            names = [canonicalize_name(a.name) for a in batch]
            command += self._options(names, target, compiles, split=len(batches) > 1)
            runs.append(ChildRun([*program, *command], batch, env))
            origins += staged.origins
        out, warm = self.stdout_to_stderr, self.warm
        from peep_setuptools.checks.landed import stamps

        before = stamps(target, [a.name for a in archives])  # what the installer must replace
        with _compiling(target, archives, runs[0].env, workdir, compiles) as compiler:
            # The run writing start-up hooks (.pth files) starts alone, after the others:
            # no installer is then started with them in place.
            for some in (runs[:-1], runs[-1:]) if hooks_last else (runs,):
                _run_all(
                    some, workdir=workdir, action="install", out=out, at_once=at_once, ahead=warm
                )
            self._finish(target, archives, origins, before, compiler=compiler)

    def _install_run(
        self, staged: Staged, number: int, target: Target, workdir: str, build_index: BuildIndex
    ) -> tuple[dict[str, str], list[str]]:
        """The environment and ``install ...`` arguments of one run; its input file written."""
        if staged.folder is not None:
            source_lines, env, args = self._sources.pinned(
                staged.folder, staged.in_place, target.prefix
            )
        else:  # an sdist to build: its build dependencies come from the index
            source_lines, env, args = self._sources.index(
                build_index, workdir, "install", target.prefix
            )
        name = f"verified-requirements-{number}.txt" if number else "verified-requirements.txt"
        reqs = os.path.join(workdir, name)
        write_installer_input([*source_lines, *staged.lines], reqs)
        return env, self._install_args(target, reqs, args)

    def _install_args(self, target: Target, reqs: str, args: Sequence[str]) -> list[str]:
        command = ["install", "--no-deps", "--require-hashes", *self._target_args(target)]
        return [*command, "-r", reqs, *args]

    def _options(
        self, names: Sequence[NormalizedName], target: Target, compiles: bool, *, split: bool
    ) -> list[str]:
        """The options after the sources: replacing what is installed, compiling, output."""
        command = self._reinstall_args(names, target)
        command += [*self._compile_args(compiles), *self._quiet()]
        return command + (self._split_args() if split else [])

    def _finish(
        self,
        target: Target,
        archives: Sequence[VerifiedArchive],
        origins: Sequence[Origin],
        before: Stamps,
        *,
        compiler: Compiler | None,
    ) -> None:
        """After a successful install: bytecode (pip), then what the environment records."""
        if compiler is not None:
            compiler.installer_done()  # it compiles while we look
        from peep_setuptools.checks.landed import not_installed

        missing = not_installed(target, [(a.name, a.version) for a in archives], before)
        if missing:  # an installer that exits 0 having left some out: not our success
            raise BackendError(
                f"{self.name} exited 0 but did not install {', '.join(missing)} into "
                f"{target.python}; a setting of its own may have made it skip them"
            )
        names = [canonicalize_name(a.name) for a in (archives if compiler else origins)]
        if not names:  # (a compiler has archives to compile)
            return
        # Loaded only when there is something to read back: a warm uv run has nothing.
        from peep_setuptools.checks.located import probe_installed
        from peep_setuptools.installing.bytecode import records_of
        from peep_setuptools.installing.recorded import record_origins

        try:
            found = probe_installed(target.python, names)
        except TargetError as exc:
            logger.warning("Warning: cannot read what was installed: %s", exc)
            if compiler is not None:
                compiler.finish([])
            return
        if compiler is not None:
            compiler.finish(records_of([found[n] for n in names if n in found]))
        record_origins(found, origins)

    def _quiet(self) -> list[str]:
        return ["--quiet"] if self.quiet else []

    def _reinstall_args(self, names: Sequence[NormalizedName], target: Target) -> list[str]:
        """The installer's flag for replacing what is installed: the verified files win."""
        return [self._reinstall]

    def _batches(self, archives: Sequence[VerifiedArchive]) -> tuple[int, int]:
        """(installer runs side by side, wheels per run at most) for a split install."""
        raise NotImplementedError

    def _split_args(self) -> list[str]:
        """Options for each run of a split install."""
        return []

    def _compiles_after(self, archives: Sequence[VerifiedArchive]) -> bool:
        """Whether we byte-compile after the installer (which then runs with --no-compile)."""
        return False

    def _program(self, target: Target) -> list[str]:
        """The command that installs: ``python -m pip`` or ``uv pip``."""
        raise NotImplementedError

    def _target_args(self, target: Target) -> list[str]:
        """Options right after ``--require-hashes``: how to reach the target, no prompts."""
        raise NotImplementedError

    def _compile_args(self, after: bool) -> list[str]:
        """The installer's compile options; ``after``: we compile once it is done."""
        raise NotImplementedError


@frozen
class PipBackend(_RequirementsFileBackend):
    """``python -m pip install --no-deps --require-hashes -r verified.txt``."""

    name: str = "pip"
    _reinstall: ClassVar[str] = "--force-reinstall"
    _sources: ClassVar[Sources] = PIP

    def build_wheels(
        self,
        sdists: Sequence[VerifiedArchive],
        *,
        target: Target,
        workdir: str,
        build_index: BuildIndex,
    ) -> list[str]:
        """``pip wheel --no-deps --require-hashes`` of each sdist, a few side by side.

        pip builds one sdist after another, each a single-threaded build backend in its own
        isolated environment; separate runs use every core.
        """
        out = os.path.join(workdir, "built")
        index_lines, env, args = self._sources.index(build_index, workdir, "build", target.prefix)
        program = [*self._program(target), "wheel", "--no-deps", "--require-hashes"]
        program += self._target_args(target)
        runs = []
        for number, sdist in enumerate(sdists):
            reqs = os.path.join(workdir, f"verified-sdist-{number:04d}.txt")
            write_installer_input([*index_lines, local_line(sdist)], reqs)
            command = [*program, "-r", reqs, "--wheel-dir", out, *args, *self._quiet()]
            runs.append(ChildRun(command, [sdist], env))
        out_err = self.stdout_to_stderr
        _run_all(runs, workdir=workdir, action="build", out=out_err, at_once=BUILDS_AT_ONCE)
        return _wheels_in(out)

    def start_ahead(
        self, target: Target, workdir: str, names: Sequence[NormalizedName]
    ) -> WarmStarts | None:
        """The target's pip, as many as will install side by side, importing while we fetch.

        The target's own pip (``python -m pip``), or ours run by its ``__pip-runner__.py``
        (``warmpip.py``); not ``pip --python``.
        """
        from peep_setuptools.installing.warmpip import WarmStarts

        at_once, at_most = self._batches(())
        runs = max(1, min(at_once, run_count(len(names), at_once=at_once, at_most=at_most)))
        program = self._program(target)
        return WarmStarts.start(program, child_env(), workdir, self.stdout_to_stderr, runs)

    def _program(self, target: Target) -> list[str]:
        """The target's own pip, or ours run by the target when it has none.

        ``pip --python`` would start our interpreter and pip only for pip to start the
        target with its ``__pip-runner__.py``; we start that directly (~70 ms less).
        """
        if target.has_pip:
            return [target.python, "-m", "pip"]
        runner = _pip_runner()
        if runner is not None:
            return [target.python, runner]
        return [sys.executable, "-m", "pip", "--python", target.python]

    def _target_args(self, target: Target) -> list[str]:
        return ["--disable-pip-version-check", "--no-input"]

    def _batches(self, archives: Sequence[VerifiedArchive]) -> tuple[int, int]:
        # pip's resolver work grows with the square of its requirements, and one pip uses one
        # core: two runs of 200 take ~0.6x the time of one of 400 (benchmarks/RESULTS.md).
        return INSTALLS_AT_ONCE, 200

    def _split_args(self) -> list[str]:
        # Each run would take the others' packages for missing; peep checks dependencies.
        return ["--no-warn-conflicts"]

    def _compile_args(self, after: bool) -> list[str]:
        # pip compiles one file after another; we compile the same files on every core when
        # there is enough to compile. "default" compiles either way, as it did before.
        return ["--no-compile"] if after or self.compile == "no-compile" else ["--compile"]

    def _compiles_after(self, archives: Sequence[VerifiedArchive]) -> bool:
        from peep_setuptools.installing.bytecode import compile_after_pays  # pip's only

        return self.compile != "no-compile" and compile_after_pays(archives)


#: local wheels one uv run installs at most (``UvBackend._batches``)
_UV_WHEELS_PER_RUN = 50


@frozen
class UvBackend(_RequirementsFileBackend):
    """``uv pip install --no-deps --require-hashes --python TARGET -r verified.txt``."""

    name: str = "uv"
    _reinstall: ClassVar[str] = "--reinstall"
    _hands_over_in_place: ClassVar[bool] = True
    _sources: ClassVar[Sources] = UV

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
        _, env, args = self._sources.index(build_index, workdir, "build", target.prefix)

        runs = []
        for sdist in sdists:
            command = [uv, "build", "--wheel", "--out-dir", out, "--python", target.python]
            runs.append(ChildRun([*command, *args, sdist.path, *self._quiet()], [sdist], env))
        out_err = self.stdout_to_stderr
        _run_all(runs, workdir=workdir, action="build", out=out_err, at_once=BUILDS_AT_ONCE)
        return _wheels_in(out)

    def _program(self, target: Target) -> list[str]:
        """uv, found on PATH or beside this interpreter."""
        return [find_uv(), "pip"]

    def _target_args(self, target: Target) -> list[str]:
        return ["--python", target.python]

    def _batches(self, archives: Sequence[VerifiedArchive]) -> tuple[int, int]:
        # uv locks the environment (its runs cannot overlap) and its memory grows with the
        # local wheels it unpacks: runs of at most 50 keep it near its 40-wheel figure. Wheels
        # from our cache it has seen before where they lie (in place), and only links: one run.
        every_one_cached = archives and all(a.from_cache for a in archives)
        return 1, max(1, len(archives)) if every_one_cached else _UV_WHEELS_PER_RUN

    def _compile_args(self, after: bool) -> list[str]:
        return ["--compile-bytecode"] if self.compile == "compile" else []

    def _reinstall_args(self, names: Sequence[NormalizedName], target: Target) -> list[str]:
        # --reinstall implies --refresh: uv reads again every local wheel it has unpacked
        # before (~35 ms for 40 small cached wheels); pointless where none is installed,
        # by its metadata's name or by its folder's (uv knows one by its folder's name).
        # An egg-link may name any project (see Target.egg_links): then always.
        there = {*target.installed, *target.pip_names}
        installed = target.egg_links or any(name in there for name in names)
        return [self._reinstall] if installed else []

    def start_ahead(
        self, target: Target, workdir: str, names: Sequence[NormalizedName]
    ) -> UvStartedAhead | None:
        """uv, started now for the one run of ``names`` it will likely be (``warmuv.py``).

        Its command is that of a run of wheels from the index (their folder as ``stage``
        names it); a run that differs (an sdist to build, a split) starts afresh.
        """
        if not names or run_count(len(names), at_once=1, at_most=_UV_WHEELS_PER_RUN) > 1:
            return None
        from peep_setuptools.installing.warmuv import LATER, UvStartedAhead

        _, env, args = self._sources.pinned(staged_folder(workdir, 0), (), target.prefix)
        command = [*self._program(target), *self._install_args(target, LATER, args)]
        command += self._options(names, target, self._compiles_after(()), split=False)
        return UvStartedAhead.start(command, env, workdir, self.stdout_to_stderr)


def backend_named(
    installer: Literal["pip", "uv"], compile: Compile, quiet: bool, to_stderr: bool
) -> InstallerBackend:
    """The backend ``InstallOptions.installer`` names; BackendError if uv is not installed."""
    if installer == "uv":
        find_uv()
        return UvBackend(compile, quiet, to_stderr)
    return PipBackend(compile, quiet, to_stderr)


def find_uv() -> str:
    """The uv executable; BackendError (exit 1) if it is not installed."""
    found = locate_uv()
    if found is None:
        raise BackendError(
            "the uv installer was asked for but uv is not installed; install it "
            "(pip install uv) or use the default pip installer"
        )
    return found
