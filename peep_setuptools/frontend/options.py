"""The ``peep install`` options: defined once, parsed once, mapped once onto InstallOptions.

``peep install`` adds them to its subcommand (``add_install_options``); ``setup.py
peep_install`` spells each as a ``[peep_install]`` key and hands them, as arguments, to
``parse_install``. The index, connection and verbosity options are every command's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, NoReturn

from peep_setuptools.errors import UsageError
from peep_setuptools.requirements.lines import IndexOptions, parse_only_binary
from peep_setuptools.values import DEFAULT_JOBS, InstallOptions

if TYPE_CHECKING:
    from peep_setuptools.installing.picking import Filters

INSTALLERS = ("pip", "uv")


def add_install_options(install: argparse.ArgumentParser) -> None:
    """Add every ``peep install`` option to ``install``, in the order --help lists them."""
    install.add_argument(
        "-r",
        "--requirement",
        dest="requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a hashed requirements file, or a PEP 751 pylock.toml / pylock.NAME.toml (repeatable)",
    )
    add_index_options(install)
    install.add_argument(
        "--python", metavar="PATH", help="install into this interpreter's environment"
    )
    install.add_argument(
        "--dry-run", action="store_true", help="fetch and verify only; install nothing"
    )
    install.add_argument(
        "--force-reinstall", action="store_true", help="reinstall even what is installed"
    )
    install.add_argument(
        "--keep-mismatched",
        metavar="DIR",
        help="move archives that fail their hash check to DIR (renamed *.mismatched) "
        "instead of deleting them",
    )
    install.add_argument(
        "--installer",
        choices=INSTALLERS,
        default=None,
        help="the installer to hand verified files to (default: $PEEP_INSTALLER, else pip)",
    )
    _add_install_choices(install)
    add_verbosity(install)
    _add_completeness(install)


def _add_install_choices(install: argparse.ArgumentParser) -> None:
    """Where archives come from and go to: cache, compile, jobs, lock files, --strict."""
    cache_group = install.add_mutually_exclusive_group()
    cache_group.add_argument(
        "--cache-dir",
        metavar="DIR",
        help="the verified archive cache (default: $PEEP_CACHE_DIR, else "
        "$XDG_CACHE_HOME/peep-setuptools or ~/.cache/peep-setuptools)",
    )
    cache_group.add_argument(
        "--no-cache", action="store_true", help="neither read nor write the archive cache"
    )
    compile_group = install.add_mutually_exclusive_group()
    compile_group.add_argument(
        "--compile",
        dest="compile",
        action="store_const",
        const="compile",
        default="default",
        help="byte-compile installed files",
    )
    compile_group.add_argument(
        "--no-compile",
        dest="compile",
        action="store_const",
        const="no-compile",
        help="do not byte-compile installed files",
    )
    install.add_argument(
        "--jobs",
        type=_positive_int,
        default=DEFAULT_JOBS,
        metavar="N",
        help="parallel downloads (default: %(default)s)",
    )
    install.add_argument(
        "--lock",
        dest="lock_files",
        action="append",
        default=[],
        metavar="FILE",
        help="a PEP 751 lock file, whatever its name (repeatable)",
    )
    install.add_argument(
        "--strict",
        action="store_true",
        help="build sdists ourselves, with hash-verified build dependencies only",
    )
    install.add_argument(
        "--build-requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a hashed requirements file of build dependencies, never installed (implies --strict)",
    )


def _add_completeness(install: argparse.ArgumentParser) -> None:
    """The options that keep the files true: dependencies, installed copies, hashes, report."""
    complete = install.add_mutually_exclusive_group()
    complete.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="install even when a verified archive needs a project no line pins (a warning)",
    )
    complete.add_argument(
        "--require-complete",
        action="store_true",
        help="refuse when a verified archive needs a project no line pins (the default)",
    )
    install.add_argument(
        "--verify-installed",
        action="store_true",
        help="check installed copies against their verified wheels instead of skipping them; "
        "reinstall those that differ",
    )
    install.add_argument(
        "--write-hashes",
        action="store_true",
        help="write the hashes of every file of each version that has none into its file, "
        "for review, and install nothing in that run (a run with no hash missing installs)",
    )
    add_report_option(install)


def add_report_option(parser: argparse.ArgumentParser) -> None:
    """--report FILE.json (install and check)."""
    parser.add_argument(
        "--report",
        metavar="FILE.json",
        help="write a JSON report (schema version 1); '-' for stdout (messages go to stderr)",
    )


def add_index_options(parser: argparse.ArgumentParser) -> None:
    """The index and connection options; they override the files' and pip's configuration."""
    group = parser.add_argument_group(
        "index options (override those in the files and pip's configuration)"
    )
    group.add_argument("-i", "--index-url", metavar="URL")
    group.add_argument("--extra-index-url", action="append", default=[], metavar="URL")
    group.add_argument("-f", "--find-links", action="append", default=[], metavar="PATH_OR_URL")
    group.add_argument("--no-index", action="store_true")
    group.add_argument("--trusted-host", action="append", default=[], metavar="HOST")
    group.add_argument(
        "--only-binary",
        action="append",
        default=[],
        metavar="NAMES",
        help=":all: or comma-separated names that must come as wheels",
    )
    group.add_argument(
        "--cert", metavar="PATH", help="CA bundle; wins over PIP_CERT and SSL_CERT_FILE"
    )
    group.add_argument("--timeout", type=float, metavar="SECONDS")
    group.add_argument("--retries", type=_non_negative_int, metavar="N")


def add_verbosity(parser: argparse.ArgumentParser) -> None:
    """-q and -v (``running.log_level`` reads them)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    group.add_argument("-v", "--verbose", action="store_true", help="say where each file came from")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


class _RaisingParser(argparse.ArgumentParser):
    """For ``setup.py peep_install``: a bad option is a UsageError for setuptools to report."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_install(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``peep install`` options (without the command's name); raise UsageError if bad."""
    parser = _RaisingParser(prog="peep install")
    add_install_options(parser)
    parser.set_defaults(command="install")
    return parser.parse_args(argv)


# -- onto InstallOptions --------------------------------------------------------------------


def install_options(args: argparse.Namespace) -> InstallOptions:
    """The InstallOptions ``peep install`` as parsed asks for."""
    return dataclasses.replace(
        network_options(args),
        python=args.python,
        dry_run=args.dry_run,
        force_reinstall=args.force_reinstall,
        keep_mismatched=args.keep_mismatched,
        compile=args.compile,
        jobs=args.jobs,
        cache_dir=args.cache_dir,
        no_cache=args.no_cache,
        verify_installed=args.verify_installed,
        installer=_installer(args.installer),
        lock_files=tuple(args.lock_files),
        strict=args.strict or bool(args.build_requirements),
        build_requirements=tuple(args.build_requirements),
        allow_incomplete=args.allow_incomplete,
    )


def _installer(given: str | None) -> Literal["pip", "uv"]:
    chosen = given or os.environ.get("PEEP_INSTALLER", "").strip().lower() or "pip"
    if chosen == "uv":
        return "uv"
    if chosen != "pip":
        raise UsageError(f"PEEP_INSTALLER must be one of {', '.join(INSTALLERS)}, not {chosen!r}")
    return "pip"


def index_options(args: argparse.Namespace) -> IndexOptions:
    """The index options given on the command line (``add_index_options``)."""
    return IndexOptions(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(args.find_links),
        no_index=args.no_index,
        trusted_hosts=tuple(args.trusted_host),
        only_binary=parse_only_binary(args.only_binary),
    )


def network_options(args: argparse.Namespace) -> InstallOptions:
    """InstallOptions with the index and connection options from the command line only."""
    return InstallOptions(
        index=index_options(args), cert=args.cert, timeout=args.timeout, retries=args.retries
    )


def filters_of(args: argparse.Namespace) -> Filters:
    """The Filters the command line asks for; commands without filter options get none."""
    from peep_setuptools.installing.picking import Filters

    return Filters(
        tuple(getattr(args, "python_version", ())),
        tuple(getattr(args, "platform", ())),
        tuple(getattr(args, "implementation", ())),
        getattr(args, "pre", False),
        getattr(args, "format", None),
    )
