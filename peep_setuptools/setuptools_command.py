"""``python setup.py peep_install`` and the ``peep_requirements`` keyword: the setuptools front end.

This is the only module that imports setuptools. setuptools loads it for ``--help-commands``
and for every ``setup()`` that passes ``peep_requirements``, and through ``setup_requires`` it
arrives without our dependencies: so it imports only setuptools and the standard library at
the top, and the pipeline (stdlib and ``packaging``, which setuptools vendors) when it runs.

The command is ``peep install`` under another name: each option stands for the ``peep
install`` option of the same name (OPTIONS), and the command hands them, as arguments, to
the parser and runner both front ends share (``frontend``): one mapping onto
InstallOptions, one progress display and one set of notes and reports.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Literal, Union

# setuptools ships no type information (no py.typed); its names are Any to mypy.
from setuptools import Command  # type: ignore[import-untyped]
from setuptools.errors import ExecError, OptionError, SetupError  # type: ignore[import-untyped]

from peep_setuptools.frozen import frozen

if TYPE_CHECKING:
    import argparse
    from typing import TypeGuard  # 3.10+, but annotations are never evaluated

    from peep_setuptools.values import InstallResult

DEFAULT_REQUIREMENTS = "requirements.txt"

#: what setup.cfg, the command line or the keyword may hold for a list option
ListValue = Union[str, Sequence[str], None]

_LIST_SEPARATORS = re.compile(r"[,\n]")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^file:")

logger = logging.getLogger(__name__)


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
    for path in paths:
        if not os.path.isfile(path):
            # Most often an sdist build (python -m build, pip install) that the sdist
            # left the file out of: only MANIFEST.in puts it there.
            raise SetupError(
                f"{attr}: requirements file {path} does not exist. A build from an sdist "
                "(python -m build, pip install) sees only the files the sdist ships: add "
                f"'include {os.path.relpath(path, setup_dir(dist))}' to MANIFEST.in"
            )
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


#: how a value becomes ``peep install`` arguments: a flag given or not; one text; a list of
#: texts; paths (relative to setup.py); places that are paths or URLs (find_links)
Kind = Literal["flag", "text", "texts", "path", "paths", "locations"]


@frozen
class Option:
    """A ``[peep_install]`` key; it stands for the ``peep install`` option of the same name."""

    key: str
    kind: Kind
    help: str
    short: str | None = None

    @property
    def flag(self) -> str:
        """The option on both command lines: ``--index-url`` for ``index_url``."""
        return "--" + self.key.replace("_", "-")


#: Every ``peep install`` option that makes sense in a build (README's table, checked by a
#: test against ``frontend.options``). Left out: --python (the target is the Python running
#: setup.py), -q/-v (setuptools' own), --write-hashes (it edits the files: use ``peep``).
OPTIONS = (
    Option(
        "requirement",
        "paths",
        "hashed requirements files (or pylock.toml), comma- or newline-separated "
        f"(default: the peep_requirements keyword, else {DEFAULT_REQUIREMENTS})",
        "r",
    ),
    Option("index_url", "text", "base URL of the package index (default: pip's)", "i"),
    Option("extra_index_url", "texts", "more index URLs, comma- or newline-separated"),
    Option(
        "find_links", "locations", "archive directories or URLs, comma- or newline-separated", "f"
    ),
    Option("no_index", "flag", "ignore package indexes (only --find-links)"),
    Option("trusted_host", "texts", "hosts trusted without HTTPS or a valid certificate"),
    Option("only_binary", "texts", ":all: or names that must come as wheels, comma-separated"),
    Option("cert", "path", "CA bundle; wins over PIP_CERT and SSL_CERT_FILE"),
    Option("timeout", "text", "network timeout in seconds"),
    Option("retries", "text", "how often to retry a failed connection"),
    Option("dry_run", "flag", "fetch and verify only; install nothing"),
    Option("force_reinstall", "flag", "reinstall even requirements installed at their version"),
    Option("keep_mismatched", "path", "move archives that fail their hash check to this folder"),
    Option("installer", "text", "pip or uv (default: $PEEP_INSTALLER, else pip)"),
    Option("cache_dir", "path", "the verified archive cache (default: peep's)"),
    Option("no_cache", "flag", "neither read nor write the archive cache"),
    Option("compile", "flag", "byte-compile installed files"),
    Option("no_compile", "flag", "do not byte-compile installed files"),
    Option("jobs", "text", "parallel downloads"),
    Option(
        "lock", "paths", "PEP 751 lock files, whatever their names, comma- or newline-separated"
    ),
    Option("strict", "flag", "build sdists ourselves, with hash-verified build dependencies only"),
    Option(
        "build_requirements",
        "paths",
        "hashed files of build dependencies (never installed), comma- or newline-separated",
    ),
    Option(
        "allow_incomplete", "flag", "install even when a dependency is not in the files (a warning)"
    ),
    Option("require_complete", "flag", "refuse when a dependency is not in the files (default)"),
    Option("verify_installed", "flag", "check installed copies against their verified wheels"),
    Option("report", "path", "write a JSON report to this file ('-': stdout)"),
)
_BY_KEY = {option.key: option for option in OPTIONS}
#: other spellings: the keyword's plural, and dashes as pip.conf writes them (index-url)
ALIASES = {
    "requirements": "requirement",
    **{option.key.replace("_", "-"): option.key for option in OPTIONS if "_" in option.key},
}
_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})
_COMMAND_LINE = "command line"


@frozen
class _Given:
    """One option as the user gave it: the spelling, where (setup.cfg, command line), value."""

    spelling: str
    source: str
    value: object

    def where(self) -> str:
        if self.source == _COMMAND_LINE:
            return f"--{self.spelling.replace('_', '-')} on the command line"
        return f"{self.spelling} in {self.source}"


class PeepInstall(Command):  # type: ignore[misc]
    """Verify every archive named by hashed requirement files, then install them all."""

    description = "install hashed requirements into this Python, verifying every archive first"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = [
        *((o.flag[2:] + ("" if o.kind == "flag" else "="), o.short, o.help) for o in OPTIONS),
        ("requirements=", None, "the same as --requirement"),
    ]
    # No boolean_options: setuptools would turn `no_index = maybe` into an error that names
    # neither the option nor the file; finalize_options reads booleans itself.

    def initialize_options(self) -> None:
        """Set every option, in each spelling, to "not given"."""
        for spelling in (*_BY_KEY, *ALIASES):
            setattr(self, spelling, None)
        self.args: argparse.Namespace | None = None

    def finalize_options(self) -> None:
        """Turn the options into ``peep install`` arguments; raise OptionError for bad ones."""
        from peep_setuptools.errors import UsageError
        from peep_setuptools.frontend.options import parse_install

        base = setup_dir(self.distribution)
        given = self._given()
        parts: list[tuple[_Given | None, list[str]]] = [
            (g, _arguments(_BY_KEY[key], g, base)) for key, g in given.items()
        ]
        if "requirement" in given:
            files = _items(given["requirement"].value)
        else:
            keyword = split_list(getattr(self.distribution, "peep_requirements", None))
            files = keyword or (() if "lock" in given else (DEFAULT_REQUIREMENTS,))
            parts.append((None, _arguments(_BY_KEY["requirement"], _Given("", "", files), base)))
        _check_files([resolve_path(f, base) for f in files], what="peep_install", error=OptionError)
        if getattr(self.distribution, "dry_run", False):  # setup.py -n, where it still exists
            parts.append((None, ["--dry-run"]))
        verbose = self.verbose if isinstance(self.verbose, int) else 1
        if verbose != 1:  # setup.py -q sets 0, -v 2
            parts.append((None, ["--quiet" if verbose <= 0 else "--verbose"]))
        try:
            self.args = parse_install([arg for _, args in parts for arg in args])
        except UsageError as exc:
            raise OptionError(f"peep_install: {_culprit(parts)}{exc}") from exc

    def _given(self) -> dict[str, _Given]:
        """Each option given, once: the command line wins; two spellings elsewhere clash."""
        sources = self.distribution.get_option_dict("peep_install")
        found: dict[str, _Given] = {}
        for spelling in (*_BY_KEY, *ALIASES):
            value = getattr(self, spelling, None)
            if value is None:
                continue
            source = sources.get(spelling, ("setup.py", None))[0]
            given = _Given(spelling, str(source), value)
            key = ALIASES.get(spelling, spelling)
            other = found.get(key)
            if other is not None:
                if (other.source == _COMMAND_LINE) != (source == _COMMAND_LINE):
                    if other.source == _COMMAND_LINE:
                        continue
                else:
                    raise OptionError(
                        f"peep_install: {other.where()} and {given.where()} are the same "
                        "option; give one of them"
                    )
            found[key] = given
        return found

    def run(self) -> None:
        """Verify and install; raise ExecError (exit 1) when anything does not verify."""
        try:  # from the first import: one as the command loaded was setuptools' exit 1
            self._run()
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (Terminated)
            from peep_setuptools.errors import INTERRUPTED, interrupted_exit_code

            # setuptools turns it into exit 1 ("interrupted"): peep's codes, 130 (CI
            # wants 143, 129), as `peep` exits with
            sys.stderr.write(f"peep_install: {INTERRUPTED}\n")
            raise SystemExit(interrupted_exit_code(exc)) from None

    def _run(self) -> None:
        from peep_setuptools.errors import (
            EXIT_BUG,
            EXIT_USAGE,
            PeepError,
            VerificationFailed,
            terminate_like_ctrl_c,
        )
        from peep_setuptools.frontend.running import (
            bug_report,
            log_level,
            messages_to,
            run_install,
        )

        assert self.args is not None  # noqa: S101 -- finalize_options ran
        with messages_to(sys.stdout, log_level(self.args)):
            try:
                with terminate_like_ctrl_c():
                    result = run_install(self.args)
            except VerificationFailed as exc:
                # The same report as `peep install` prints, on stdout, before setuptools'
                # one-line "error: ..." on stderr.
                sys.stdout.write(exc.report)
                sys.stdout.flush()
                raise ExecError(f"peep_install: {exc}") from exc
            except PeepError as exc:
                error = OptionError if exc.exit_code == EXIT_USAGE else ExecError
                raise error(f"peep_install: {exc}") from exc
            except Exception:
                # A bug: shown as `peep` shows one (exit 3). Left to setuptools, Python
                # prints the traceback as it is (a URL's credentials too) and exits 1.
                sys.stderr.write(bug_report("peep_install"))
                raise SystemExit(EXIT_BUG) from None
            _log_summary(result)


def _arguments(option: Option, given: _Given, base: str) -> list[str]:
    """The ``peep install`` arguments one option stands for, as ``--flag=value``."""
    if option.kind == "flag":
        return [option.flag] if _boolean(given) else []
    value = given.value
    if option.kind in ("text", "path"):
        items: tuple[str, ...] = (str(value).strip(),) if str(value).strip() else ()
    else:
        items = _items(value)
    if option.kind in ("path", "paths"):
        # "-" is stdout (--report -), not a file
        items = tuple(item if item == "-" else resolve_path(item, base) for item in items)
    elif option.kind == "locations":
        items = tuple(resolve_location(item, base) for item in items)
    return [f"{option.flag}={item}" for item in items]


def _items(value: object) -> tuple[str, ...]:
    """The items of a list option: a comma- or newline-separated text, or a list of texts."""
    return split_list(value if _is_path_list(value) else str(value))


def _boolean(given: _Given) -> bool:
    """A flag from the command line (1), or a setup.cfg value such as true, no, 0."""
    value = given.value
    if isinstance(value, (bool, int)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise OptionError(
        f"peep_install: {given.where()}: {str(value)!r} is not a boolean; "
        "use true or false (also yes/no, on/off, 1/0)"
    )


def _culprit(parts: Sequence[tuple[_Given | None, list[str]]]) -> str:
    """Name the option whose arguments the parser refuses on their own, if one does."""
    from peep_setuptools.errors import UsageError
    from peep_setuptools.frontend.options import parse_install

    for given, args in parts:
        if given is None:
            continue
        try:
            parse_install(args)
        except UsageError:
            return f"{given.where()}: "
    return ""


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
