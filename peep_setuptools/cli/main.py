"""The ``peep`` command: install | hash | port, a thin front end over ``api``."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from peep_setuptools import __version__, api
from peep_setuptools.errors import (
    EXIT_BUG,
    EXIT_OK,
    INTERRUPTED,
    PeepError,
    VerificationFailed,
    interrupted_exit_code,
    terminate_like_ctrl_c,
)
from peep_setuptools.frontend.options import add_index_options, add_install_options, network_options
from peep_setuptools.frontend.running import bug_report, log_level, messages_to, run_install


class _Parser(argparse.ArgumentParser):
    """argparse, but errors name the program and exit 2 with the usage line (as argparse does)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


#: the subcommands ``cli.commands`` adds and runs, imported for them only (~0.2 ms)
_THEIRS = ("check", "add", "upgrade", "verify")
#: every subcommand, in the order ``peep --help`` lists them
COMMANDS = ("install", "hash", "port", *_THEIRS)


def _get_main_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``peep`` parser: every subcommand, or only ``command`` (``_command_named``).

    A run parses one subcommand, and building the others' options took ~1.2 ms of each
    start; a subcommand's parser, its help and its errors are the same either way.
    """
    parser = _Parser(
        prog="peep",
        description="Install Python packages only when every archive matches a pinned hash.",
    )
    parser.add_argument("--version", action="version", version=f"peep-setuptools {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    if command in (None, "install"):
        install = commands.add_parser(
            "install", help="verify every archive, then install them all (--no-deps)"
        )
        add_install_options(install)
    if command in (None, "hash"):
        _add_hash(commands)
    if command in (None, "port"):
        _add_port(commands)
    if command is None or command in _THEIRS:
        from peep_setuptools.cli import commands as subcommands

        subcommands.register(commands, command)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` starts with; None (all of them) for anything else.

    The top-level parser has no option that takes a value, so a first argument that names
    a subcommand is the one argparse runs; ``--help``, ``--version`` and a mistyped
    command get the whole parser.
    """
    return argv[0] if argv and argv[0] in COMMANDS else None


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
    add_index_options(port)


def _run(args: argparse.Namespace) -> int:
    if args.command in _THEIRS:
        from peep_setuptools.cli import commands as subcommands

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


def _logging_for(args: argparse.Namespace) -> contextlib.AbstractContextManager[None]:
    # peep port, and --report -, write their result to stdout: no message may end up in it
    to_stderr = args.command == "port" or getattr(args, "report", None) == "-"
    return messages_to(sys.stderr if to_stderr else sys.stdout, log_level(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peep``; return its exit code (0, 1 failed, 2 usage, 3 bug, 130/143/129 signals)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = _get_main_parser(_command_named(argv))
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
        print(f"peep: {INTERRUPTED}", file=sys.stderr)
        return interrupted_exit_code(exc)
    except Exception:
        sys.stderr.write(bug_report("peep"))
        return EXIT_BUG
