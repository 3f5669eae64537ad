"""The ``peep`` command: install | hash | port, a thin front end over ``api``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TextIO

from peep_setuptools import __version__, api
from peep_setuptools.cli import commands as subcommands
from peep_setuptools.cli.adding import network_options
from peep_setuptools.errors import (
    EXIT_BUG,
    EXIT_OK,
    PeepError,
    UsageError,
    VerificationFailed,
    interrupted_exit_code,
    terminate_like_ctrl_c,
)
from peep_setuptools.urls import redact_text
from peep_setuptools.values import (
    DEFAULT_JOBS,
    InstallerOutput,
    InstallOptions,
    InstallResult,
)

if TYPE_CHECKING:
    from peep_setuptools.installing.progress import Progress

INSTALLERS = ("pip", "uv")

BUG_HINT = (
    "peep: this is a bug in peep-setuptools {version}, not in your input; please report it "
    "with the traceback below."
)


class _Parser(argparse.ArgumentParser):
    """argparse, but errors name the program and exit 2 with the usage line (as argparse does)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


class _RaisingParser(_Parser):
    """For ``setup.py peep_install``: a bad option is a UsageError for setuptools to report."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _get_main_parser(parser_class: type[_Parser] = _Parser) -> argparse.ArgumentParser:
    parser = parser_class(
        prog="peep",
        description="Install Python packages only when every archive matches a pinned hash.",
    )
    parser.add_argument("--version", action="version", version=f"peep-setuptools {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=parser_class)
    commands.required = True

    install = _add_install(commands)
    _add_hash(commands)
    _add_port(commands)
    subcommands.register(
        commands, install, add_index_options=_add_index_options, add_verbosity=_add_verbosity
    )
    return parser


def _add_install(commands: argparse._SubParsersAction[Any]) -> argparse.ArgumentParser:
    install: argparse.ArgumentParser = commands.add_parser(
        "install", help="verify every archive, then install them all (--no-deps)"
    )
    install.add_argument(
        "-r",
        "--requirement",
        dest="requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a hashed requirements file, or a PEP 751 pylock.toml / pylock.NAME.toml (repeatable)",
    )
    _add_index_options(install)
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
    return install


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
    _add_verbosity(install)


def _add_hash(commands: argparse._SubParsersAction[Any]) -> None:
    hash_cmd = commands.add_parser("hash", help="print the hash lines of local archives")
    hash_cmd.add_argument("files", nargs="+", metavar="FILE")
    hash_cmd.add_argument(
        "--format",
        choices=("peep", "pip"),
        default="peep",
        help="'# sha256:' lines (peep, default) or --hash=sha256:HEX (pip)",
    )


def _add_port(commands: argparse._SubParsersAction[Any]) -> None:
    port = commands.add_parser(
        "port",
        help="rewrite requirement files in pip's --hash format, peep's, or as a pylock.toml; "
        "or a pylock.toml as a requirements file",
    )
    port.add_argument("files", nargs="+", metavar="FILE")
    port.add_argument(
        "--to",
        choices=("pip", "peep", "pylock"),
        default="pip",
        help="the format to write (default: pip); pylock looks every file up on the index",
    )
    port.add_argument(
        "-o", "--output", metavar="FILE", help="write FILE (atomically) instead of stdout"
    )
    _add_index_options(port)


def _add_index_options(parser: argparse.ArgumentParser) -> None:
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


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
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


def _install_options(args: argparse.Namespace) -> InstallOptions:
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


def _progress(args: argparse.Namespace) -> Progress:
    """A live line on a terminal, a line per file elsewhere, nothing with -q."""
    from peep_setuptools.installing.progress import LineProgress, LiveProgress, NoProgress

    if args.quiet:
        return NoProgress()
    if sys.stderr.isatty() and not args.verbose:
        return LiveProgress(sys.stderr)
    # --report - puts the JSON on stdout; every human line then goes to stderr
    stream = sys.stderr if getattr(args, "report", None) == "-" else sys.stdout
    return LineProgress(stream, verbose=args.verbose)


def parse_install(argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``peep install`` options (without the command's name); raise UsageError if bad.

    ``setup.py peep_install`` translates its options into these, so both front ends share
    one parser, one mapping onto InstallOptions, and one way of running and printing.
    """
    return _get_main_parser(_RaisingParser).parse_args(["install", *argv])


def run_install(args: argparse.Namespace) -> InstallResult:
    """Run ``peep install`` as parsed: progress, notes and reports as on the command line."""

    def install() -> InstallResult:
        return api.install(
            args.requirements,
            _install_options(args),
            progress=_progress(args),
            # --report - puts the JSON on stdout: the installer's output goes to stderr
            output=InstallerOutput(quiet=args.quiet, to_stderr=args.report == "-"),
        )

    return subcommands.run_install(args, install)


def _run(args: argparse.Namespace) -> int:
    if args.command in subcommands.COMMANDS:
        return subcommands.run(args)
    if args.command == "install":
        run_install(args)
    elif args.command == "hash":
        lines = api.hash_files(args.files, style=args.format)
        # Several files: each peep line names its file in a trailing comment, which peep's
        # parsers (the original's too) ignore. pip's --hash options stay bare: pip strips a
        # comment to the end of the joined line, so it would swallow the hashes after it.
        named = len(lines) > 1 and args.format == "peep"
        for path, line in zip(args.files, lines):
            print(f"{line}  # {_printable(os.path.basename(path))}" if named else line)
    else:
        _port(args)
    return EXIT_OK


def _printable(name: str) -> str:
    """A file name for a comment: no line break or control character can end the comment."""
    return name if name.isprintable() else ascii(name)


def _port(args: argparse.Namespace) -> None:
    from peep_setuptools.lock.write import write_atomically

    options = network_options(args)
    # Local files in a lock are written relative to it; on stdout its place is unknown.
    lock_dir = os.path.dirname(os.path.abspath(args.output)) if args.output else None
    text = api.port_file(args.files, to=args.to, options=options, lock_dir=lock_dir)
    if args.output:
        write_atomically(args.output, text)
    else:
        sys.stdout.write(text)


def log_level(args: argparse.Namespace) -> int:
    """The level of the messages -q, -v or neither show."""
    if getattr(args, "quiet", False):
        return logging.WARNING
    return logging.DEBUG if getattr(args, "verbose", False) else logging.INFO


def _logging_for(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    # peep port, and --report -, write their result to stdout: no message may end up in it
    to_stderr = args.command == "port" or getattr(args, "report", None) == "-"
    return messages_to(sys.stderr if to_stderr else sys.stdout, log_level(args))


class _Redacting(logging.Formatter):
    """Every message shown hides URL credentials, whichever module (or exception) wrote it."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


@contextlib.contextmanager
def messages_to(stream: TextIO, level: int) -> Iterator[None]:
    """Show the library's messages on ``stream`` for one run, then take the handler away."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Redacting("%(message)s"))
    # Modules log to loggers below the package's; its handlers (a NullHandler, or ones an
    # embedding program added) stay, and root's are not used: each message once.
    logger = logging.getLogger("peep_setuptools")
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    try:
        yield
    finally:
        handler.flush()
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peep``; return its exit code (0, 1 failed, 2 usage, 3 bug, 130/143/129 signals)."""
    parser = _get_main_parser()
    args = parser.parse_args(argv)
    if args.command == "install" and not args.requirements and not args.lock_files:
        parser.error("peep install: the following arguments are required: -r/--requirement")
    with _logging_for(args):
        return _main(args)


def _main(args: argparse.Namespace) -> int:
    try:
        with terminate_like_ctrl_c():
            return _run(args)
    except VerificationFailed as exc:
        sys.stdout.write(exc.report)
        sys.stdout.flush()
        print(f"peep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except PeepError as exc:
        print(f"peep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (errors.Terminated)
        print(
            "peep: interrupted; nothing was installed unless the installer had already started",
            file=sys.stderr,
        )
        return interrupted_exit_code(exc)
    except Exception:
        print(BUG_HINT.format(version=__version__), file=sys.stderr)
        traceback.print_exc()
        return EXIT_BUG
