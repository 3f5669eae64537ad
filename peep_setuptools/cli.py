"""The ``peep`` command: install | hash | port, a thin front end over ``api``."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from . import __version__, api
from .errors import EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, PeepError, VerificationFailed
from .reqfile import IndexOptions

BUG_HINT = (
    "peep: this is a bug in peep-setuptools {version}, not in your input; please report it "
    "with the traceback below."
)


class _Parser(argparse.ArgumentParser):
    """argparse, but errors name the program and exit 2 with the usage line (as argparse does)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _get_main_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="peep",
        description="Install Python packages only when every archive matches a pinned hash.",
    )
    parser.add_argument("--version", action="version", version=f"peep-setuptools {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    install = commands.add_parser(
        "install", help="verify every archive, then install them all (--no-deps)"
    )
    install.add_argument(
        "-r",
        "--requirement",
        dest="requirements",
        action="append",
        required=True,
        metavar="FILE",
        help="a hashed requirements file (repeatable)",
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
        "--installer",
        choices=("pip", "uv"),
        default="pip",
        help="the installer to hand verified files to (default: pip)",
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
        default=api.DEFAULT_JOBS,
        metavar="N",
        help="parallel downloads (default: %(default)s)",
    )
    _add_verbosity(install)

    hash_cmd = commands.add_parser("hash", help="print the hash lines of local archives")
    hash_cmd.add_argument("files", nargs="+", metavar="FILE")
    hash_cmd.add_argument(
        "--format",
        choices=("peep", "pip"),
        default="peep",
        help="'# sha256:' lines (peep, default) or --hash=sha256:HEX (pip)",
    )

    port = commands.add_parser(
        "port", help="rewrite requirement files in pip's --hash format (or peep's)"
    )
    port.add_argument("files", nargs="+", metavar="FILE")
    port.add_argument(
        "--to", choices=("pip", "peep"), default="pip", help="the format to write (default: pip)"
    )
    return parser


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


def _only_binary(values: Sequence[str]) -> frozenset[str]:
    from packaging.utils import canonicalize_name

    names: set[str] = set()
    for value in values:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if part == ":none:":
                names.clear()
            else:
                names.add(part if part == ":all:" else canonicalize_name(part))
    return frozenset(names)


def _install_options(args: argparse.Namespace) -> api.InstallOptions:
    return api.InstallOptions(
        python=args.python,
        index=IndexOptions(
            index_url=args.index_url,
            extra_index_urls=tuple(args.extra_index_url),
            find_links=tuple(args.find_links),
            no_index=args.no_index,
            trusted_hosts=tuple(args.trusted_host),
            only_binary=_only_binary(args.only_binary),
        ),
        cert=args.cert,
        timeout=args.timeout,
        retries=args.retries,
        dry_run=args.dry_run,
        force_reinstall=args.force_reinstall,
        installer=args.installer,
        compile=args.compile,
        quiet=args.quiet,
        jobs=args.jobs,
    )


def _run(args: argparse.Namespace) -> int:
    if args.command == "install":
        api.install(args.requirements, _install_options(args))
    elif args.command == "hash":
        for line in api.hash_files(args.files, style=args.format):
            print(line)
    else:
        sys.stdout.write(api.port_file(args.files, to=args.to))
    return EXIT_OK


def _configure_logging(args: argparse.Namespace) -> None:
    level = logging.INFO
    if getattr(args, "quiet", False):
        level = logging.WARNING
    elif getattr(args, "verbose", False):
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("peep_setuptools")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``peep``; return its exit code (0, 1 failed, 2 usage, 3 bug, 130 interrupted)."""
    args = _get_main_parser().parse_args(argv)
    _configure_logging(args)
    try:
        return _run(args)
    except VerificationFailed as exc:
        sys.stdout.write(exc.report)
        sys.stdout.flush()
        print(f"peep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except PeepError as exc:
        print(f"peep: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("peep: interrupted; nothing was installed by this run", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        print(BUG_HINT.format(version=__version__), file=sys.stderr)
        traceback.print_exc()
        return EXIT_BUG
