"""``peep check | add | upgrade | verify``.

``add`` and ``upgrade`` themselves, and the pinning that ``check --fix`` shares with them,
live in ``adding``; the options of ``peep install`` in ``frontend.options``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from peep_setuptools import api
from peep_setuptools.errors import EXIT_FAILED, EXIT_OK, UsageError, VerificationFailed
from peep_setuptools.frontend.options import (
    add_index_options,
    add_report_option,
    add_verbosity,
    filters_of,
    network_options,
)
from peep_setuptools.frontend.running import check_report_path, report_moved, write_report

# What only check, verify and --report use is imported where they run,
# so that a plain ``peep install`` starts faster.
if TYPE_CHECKING:
    from peep_setuptools.values import InstallOptions, Verified

logger = logging.getLogger(__name__)

# -- the command line -----------------------------------------------------------------------


def register(commands: argparse._SubParsersAction[Any], only: str | None = None) -> None:
    """Add our subcommands to ``commands``: all of them, or the one named ``only``."""
    if only in (None, "check"):
        _add_check(commands)
    if only in (None, "add", "upgrade"):
        _add_editors(commands)  # built together: they share the options after their own
    if only in (None, "verify"):
        _add_verify(commands)


def _add_check(commands: argparse._SubParsersAction[Any]) -> None:
    check = commands.add_parser(
        "check", help="verify every archive and report dependencies the files leave out"
    )
    _add_reqfiles(check, required=True)
    add_index_options(check)
    check.add_argument("--python", metavar="PATH", help="check for this interpreter")
    check.add_argument(
        "--fix",
        action="store_true",
        help="add the missing dependencies (newest fitting version, all its hashes)",
    )
    check.add_argument(
        "--strict",
        action="store_true",
        help="also check the build dependencies of every sdist (their whole closure)",
    )
    check.add_argument(
        "--build-requirements",
        action="append",
        default=[],
        metavar="FILE",
        help="a hashed requirements file of build dependencies (implies --strict); with "
        "--fix, the missing ones are written to the first (created if need be)",
    )
    add_filter_options(check)
    add_report_option(check)
    add_verbosity(check)


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that choose which files of a version to hash (see ``Filters``)."""
    group = parser.add_argument_group("which files to hash (default: all of the version)")
    group.add_argument("--python-version", action="append", default=[], metavar="X.Y")
    group.add_argument("--platform", action="append", default=[], metavar="TAG_OR_GLOB")
    group.add_argument("--implementation", action="append", default=[], metavar="cp|pp|...")
    group.add_argument("--pre", action="store_true", help="allow pre-releases")
    group.add_argument(
        "--format", choices=("peep", "pip"), help="hash format (default: the file's own)"
    )


def _add_editors(commands: argparse._SubParsersAction[Any]) -> None:
    """``peep add`` and ``peep upgrade``, which edit one requirements file."""
    add = _add_editor(
        commands,
        "add",
        "pin NAME[==VERSION] with the hashes of its files",
        "specs",
        "NAME[==VERSION]",
    )
    add.add_argument(
        "--from",
        dest="from_files",
        action="append",
        default=[],
        metavar="ARCHIVE",
        help="hash these local archives (vetted by you) instead of the index's files",
    )
    add.add_argument(
        "--missing", action="store_true", help="add the dependencies 'peep check' finds missing"
    )
    add.add_argument("--python", metavar="PATH", help="with --missing: check for this interpreter")

    upgrade = _add_editor(
        commands, "upgrade", "move pins to the newest versions, new hashes", "names", "NAME"
    )
    upgrade.add_argument("--dry-run", action="store_true", help="show the diff; write nothing")
    for editor in (add, upgrade):  # after their own options, as --help lists them
        add_index_options(editor)
        add_filter_options(editor)
        add_verbosity(editor)


def _add_verify(commands: argparse._SubParsersAction[Any]) -> None:
    verify = commands.add_parser(
        "verify", help="check installed distributions against the verified archives"
    )
    _add_reqfiles(verify, required=True)
    verify.add_argument("--python", metavar="PATH", help="check this interpreter's environment")
    add_index_options(verify)
    add_verbosity(verify)


def _add_editor(
    commands: argparse._SubParsersAction[Any], name: str, help: str, dest: str, metavar: str
) -> argparse.ArgumentParser:
    """A command that edits one requirements file: its NAMEs, then -r FILE."""
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help)
    parser.add_argument(dest, nargs="*", metavar=metavar)
    parser.add_argument(
        "-r", "--requirement", dest="requirement", default="requirements.txt", metavar="FILE"
    )
    return parser


def _add_reqfiles(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "-r",
        "--requirement",
        dest="requirements",
        action="append",
        required=required,
        metavar="FILE",
        help="a hashed requirements file (repeatable)",
    )


# -- running them ---------------------------------------------------------------------------


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run check, add, upgrade or verify; return the exit code. Raises PeepError for user errors."""
    from peep_setuptools.cli.adding import run_add, run_upgrade  # see _check

    out = out or sys.stdout
    if args.command == "check":
        return _check(args, out)
    if args.command == "add":
        if not args.missing:
            return run_add(args)
        if args.specs or args.from_files:
            raise UsageError("--missing adds what 'peep check' finds; give no names with it")
        args.requirements, args.fix, args.report = [args.requirement], True, None
        return _check(args, sys.stdout)
    if args.command == "upgrade":
        return run_upgrade(args, out)
    return _verify(args)


def _options(args: argparse.Namespace) -> InstallOptions:
    # check and verify look at what is installed too; verify does not judge the dependencies
    build = getattr(args, "build_requirements", [])
    if getattr(args, "fix", False):
        build = [path for path in build if os.path.exists(path)]  # --fix creates it
    return dataclasses.replace(
        network_options(args),
        python=getattr(args, "python", None),
        strict=getattr(args, "strict", False) or bool(build),
        build_requirements=tuple(build),
        check_dependencies=args.command != "verify",
        pin_filters=filters_of(args),
    )


# -- check ----------------------------------------------------------------------------------


def _check(args: argparse.Namespace, out: TextIO) -> int:
    build_files = getattr(args, "build_requirements", [])
    if build_files:
        args.strict = True
    if getattr(args, "strict", False) and args.fix and not build_files:
        raise UsageError(
            "--strict --fix writes the build dependencies to --build-requirements FILE"
        )
    if args.fix:
        # Imported by the commands that edit files: ``peep install`` builds this module's
        # parsers, and a no-op run must not load the editing code for them.
        from peep_setuptools.cli.adding import refuse_lock_files

        what = "add --missing" if args.command == "add" else "check --fix"
        refuse_lock_files(args.requirements, what)
    check_report_path(args.report)
    if args.platform or args.python_version or args.implementation:
        logger.info(
            "Note: --platform, --python-version and --implementation choose the files whose "
            "hashes --fix writes;\nmarkers and dependencies are evaluated for %s.",
            args.python or "this interpreter",
        )
    try:
        verified = api.verify(args.requirements, _options(args))
    except VerificationFailed as exc:
        run: Verified | None = exc.verified
        write_report(args.report, "check", run, None, out)
        if run is not None and run.pins is not None and not args.fix and run.archives_ok:
            # check installs nothing: its one line says what --fix would do instead
            count = len(run.completeness.missing) if run.completeness else 0
            exc = VerificationFailed(
                f"{count} dependenc{'y is' if count == 1 else 'ies are'} missing from the "
                "requirements files; 'peep check --fix' adds them",
                exc.report,
                verdicts=exc.verdicts,
                problems=exc.problems,
                verified=run,
            )
        if not args.fix or run is None or not (run.build_proposed or run.pins):
            raise report_moved(args, exc) from None
        return _fix(args, run, exc, build_files)
    write_report(args.report, "check", verified, None, out)
    if verified.completeness is not None:
        logger.info("Every dependency is in %s.", " or ".join(verified.completeness.files))
    return EXIT_OK


def _fix(
    args: argparse.Namespace, run: Verified, exc: VerificationFailed, build_files: list[str]
) -> int:
    """Check --fix: pin the unpinned build dependencies, then the missing dependencies.

    Raises ``exc`` again when something else failed, which no pin can fix.
    """
    from peep_setuptools.cli.adding import fix_build_requirements, fix_missing  # see _check

    filters = filters_of(args)
    if run.build_proposed:
        fix_build_requirements(run, build_files[0], filters)
    if run.problems or len(run.build_proposed) < sum(v.kind != "ok" for v in run.verdicts):
        raise report_moved(args, exc)
    if run.pins is None:
        return EXIT_OK
    assert run.completeness is not None  # noqa: S101 -- set whenever pins are
    logger.warning("%s", run.completeness.render().rstrip())
    return EXIT_OK if fix_missing(run.pins, filters) else EXIT_FAILED


# -- verify ---------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    checked = api.verify_environment(args.requirements, _options(args))
    for check in checked.checks:
        text = check.render()
        if text:
            (logger.warning if not check.ok else logger.info)("%s", text)
    bad, count = checked.differing, len(checked.checks)
    if bad:
        logger.error("%d of %d requirements differ from what is installed.", len(bad), count)
        return EXIT_FAILED
    if count:  # none: the library said there was nothing to verify
        logger.info("All %d requirements are installed as verified.", count)
    return EXIT_OK


__all__ = [
    "register",
    "run",
]
