"""``python setup.py peep_install`` and the ``peep_requirements`` keyword: the setuptools front end.

This is the only module that imports setuptools. setuptools loads it for ``--help-commands``
and for every ``setup()`` that passes ``peep_requirements``, and through ``setup_requires`` it
arrives without our dependencies: so it imports only setuptools and the standard library at
the top, and the pipeline (stdlib and ``packaging``, which setuptools vendors) when it runs.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, ClassVar, Union

# setuptools ships no type information (no py.typed); its names are Any to mypy.
from setuptools import Command  # type: ignore[import-untyped]
from setuptools.errors import ExecError, OptionError, SetupError  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from typing import TypeGuard  # 3.10+, but annotations are never evaluated

    from peep_setuptools.api import InstallOptions, InstallResult

DEFAULT_REQUIREMENTS = "requirements.txt"
INSTALLERS = ("pip", "uv")

#: what setup.cfg, the command line or the keyword may hold for a list option
ListValue = Union[str, Sequence[str], None]

_LIST_SEPARATORS = re.compile(r"[,\n]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:")

logger = logging.getLogger("peep_setuptools")


def split_list(value: ListValue) -> tuple[str, ...]:
    """Return the items of a newline- or comma-separated option (or of a list), stripped."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else list(value)
    parts = (part.strip() for item in items for part in _LIST_SEPARATORS.split(item))
    return tuple(part for part in parts if part)


def resolve_path(path: str, base: str) -> str:
    """Return ``path`` made absolute against ``base`` (``~`` expanded)."""
    return os.path.normpath(os.path.join(base, os.path.expanduser(path)))


def resolve_location(location: str, base: str) -> str:
    """Like ``resolve_path``, but URLs (``https://…``, ``file:…``) are returned unchanged."""
    return location if _URL.match(location) else resolve_path(location, base)


def setup_dir(dist: object) -> str:
    """Return the directory of the running setup.py, against which relative paths resolve."""
    src_root = getattr(dist, "src_root", None)
    if isinstance(src_root, str) and src_root:
        return os.path.abspath(src_root)
    # distutils keeps only the basename in script_name; argv[0] has the path.
    script = sys.argv[0] if sys.argv else ""
    if script and os.path.basename(script) == getattr(dist, "script_name", None):
        return os.path.dirname(os.path.abspath(script))
    return os.getcwd()


def validate_peep_requirements(dist: object, attr: str, value: object) -> None:
    """Check the ``peep_requirements`` keyword when ``setup()`` runs, before any command.

    ``value`` is a path or a list of paths, relative to setup.py. Raises
    ``setuptools.errors.SetupError`` (printed by setuptools as ``error in … setup command``)
    if it is of the wrong type, a file is missing, or a file does not parse (``file:line``).
    """
    if not _is_path_list(value):
        raise SetupError(f"{attr} must be a path or a list of paths, not {value!r}")
    paths = [resolve_path(path, setup_dir(dist)) for path in split_list(value)]
    if not paths:
        raise SetupError(f"{attr} names no requirements file")
    _check_files(paths, what=attr, error=SetupError)
    from peep_setuptools.errors import PeepError
    from peep_setuptools.requirements.files import load_reqfiles

    try:
        load_reqfiles(paths)
    except PeepError as exc:
        raise SetupError(f"{attr}: {exc}") from exc


def _is_path_list(value: object) -> TypeGuard[ListValue]:
    if isinstance(value, str):
        return True
    return isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)


def _check_files(paths: Sequence[str], *, what: str, error: type[Exception]) -> None:
    for path in paths:
        if not os.path.isfile(path):
            raise error(f"{what}: requirements file {path} does not exist")


class PeepInstall(Command):  # type: ignore[misc]
    """Verify every archive named by hashed requirement files, then install them all."""

    description = "install hashed requirements into this Python, verifying every archive first"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = [
        (
            "requirement=",
            "r",
            "hashed requirements files, comma- or newline-separated "
            f"(default: the peep_requirements keyword, else {DEFAULT_REQUIREMENTS})",
        ),
        ("index-url=", "i", "base URL of the package index (default: pip's)"),
        ("extra-index-url=", None, "more index URLs, comma- or newline-separated"),
        ("find-links=", "f", "archive directories or URLs, comma- or newline-separated"),
        ("no-index", None, "ignore package indexes (only --find-links)"),
        ("dry-run", None, "fetch and verify only; install nothing"),
        ("force-reinstall", None, "reinstall even requirements installed at their version"),
        ("installer=", None, "the installer verified archives are handed to: pip or uv"),
        ("strict", None, "build sdists ourselves, with hash-verified build dependencies only"),
        (
            "build-requirements=",
            None,
            "hashed files of build dependencies (never installed), comma- or newline-separated",
        ),
    ]
    boolean_options: ClassVar[list[str]] = ["no-index", "dry-run", "force-reinstall", "strict"]

    def initialize_options(self) -> None:
        """Set every option to "not given"."""
        self.requirement: ListValue = None
        self.index_url: str | None = None
        self.extra_index_url: ListValue = None
        self.find_links: ListValue = None
        self.no_index: bool = False
        # Our own option: recent setuptools (84) has no global --dry-run; where it still
        # exists (80.x: setup.py -n), finalize_options honours it too.
        self.dry_run: bool = False
        self.force_reinstall: bool = False
        self.installer: str | None = None
        self.strict: bool = False
        self.build_requirements: ListValue = None

    def finalize_options(self) -> None:
        """Resolve paths against setup.py's directory; raise OptionError for bad values."""
        base = setup_dir(self.distribution)
        given = split_list(self.requirement)
        if not given:
            given = split_list(getattr(self.distribution, "peep_requirements", None))
        self.requirement_files = tuple(
            resolve_path(path, base) for path in given or (DEFAULT_REQUIREMENTS,)
        )
        self.index_url = (self.index_url or "").strip() or None
        self.extra_index_urls = split_list(self.extra_index_url)
        self.find_links_locations = tuple(
            resolve_location(link, base) for link in split_list(self.find_links)
        )
        self.no_index = bool(self.no_index)
        self.dry_run = bool(self.dry_run) or bool(getattr(self.distribution, "dry_run", False))
        self.force_reinstall = bool(self.force_reinstall)
        installer = (self.installer or os.environ.get("PEEP_INSTALLER") or "pip").strip().lower()
        if installer not in INSTALLERS:
            raise OptionError(
                f"peep_install: --installer must be one of {', '.join(INSTALLERS)}, "
                f"not {self.installer!r}"
            )
        self.installer = installer
        _check_files(self.requirement_files, what="peep_install", error=OptionError)

    def install_options(self) -> InstallOptions:
        """Return the library options these command options stand for; the target is this Python."""
        from peep_setuptools.api import InstallOptions
        from peep_setuptools.requirements.files import IndexOptions

        base = setup_dir(self.distribution)
        build_files = tuple(resolve_path(p, base) for p in split_list(self.build_requirements))

        return InstallOptions(
            python=sys.executable,
            index=IndexOptions(
                index_url=self.index_url,
                extra_index_urls=self.extra_index_urls,
                find_links=self.find_links_locations,
                no_index=self.no_index,
            ),
            dry_run=self.dry_run,
            force_reinstall=self.force_reinstall,
            installer="uv" if self.installer == "uv" else "pip",
            strict=bool(self.strict) or bool(build_files),
            build_requirements=build_files,
            quiet=self.verbose == 0,
        )

    def run(self) -> None:
        """Verify and install; raise ExecError (exit 1) when anything does not verify."""
        from peep_setuptools import api
        from peep_setuptools.errors import (
            EXIT_USAGE,
            PeepError,
            Terminated,
            VerificationFailed,
            terminate_like_ctrl_c,
        )

        with _messages_to_stdout(_level(self.verbose)):
            try:
                with terminate_like_ctrl_c():
                    result = api.install(self.requirement_files, self.install_options())
            except Terminated as exc:
                # setuptools turns a KeyboardInterrupt into exit 1; CI wants 143 (129).
                sys.stderr.write("peep_install: interrupted; nothing was installed\n")
                raise SystemExit(exc.exit_code) from None
            except VerificationFailed as exc:
                # The same report as `peep install` prints, on stdout, before setuptools'
                # one-line "error: ..." on stderr.
                sys.stdout.write(exc.report)
                sys.stdout.flush()
                raise ExecError(f"peep_install: {exc}") from exc
            except PeepError as exc:
                error = OptionError if exc.exit_code == EXIT_USAGE else ExecError
                raise error(f"peep_install: {exc}") from exc
            _log_summary(result)


def _level(verbose: object) -> int:
    # setup.py -q sets verbose to 0, -v to 2 (the default is 1).
    level = verbose if isinstance(verbose, int) else 1
    if level <= 0:
        return logging.WARNING
    return logging.INFO if level == 1 else logging.DEBUG


@contextmanager
def _messages_to_stdout(level: int) -> Iterator[None]:
    """Show the library's messages on stdout, as ``peep`` does, for the duration of a run."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = (logger.handlers[:], logger.level, logger.propagate)
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    # Not also through setuptools' root handlers: each message once.
    logger.propagate = False
    try:
        yield
    finally:
        handler.flush()
        handlers, old_level, propagate = saved
        logger.handlers[:] = handlers
        logger.setLevel(old_level)
        logger.propagate = propagate


def _log_summary(result: InstallResult) -> None:
    if result.dry_run:
        return
    target = os.path.abspath(sys.executable)
    if result.installed:
        logger.info(
            "peep_install: verified and installed %d archive(s) into %s",
            len(result.installed),
            target,
        )
    else:
        logger.info("peep_install: nothing to install into %s", target)
