"""Running ``peep install`` as parsed, as both front ends do: progress, messages, reports.

``api`` returns values and raises ``VerificationFailed`` carrying them; here they become
the JSON report (--report), the hashes written for review (--write-hashes), and the
progress and messages shown (``messages_to`` adds the front end's handler for one run).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import stat
import sys
import tempfile
import traceback
from collections.abc import Iterator
from typing import TYPE_CHECKING, Literal, TextIO

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from peep_setuptools import __version__, api
from peep_setuptools.atomic import replace_text
from peep_setuptools.errors import PeepError, VerificationFailed
from peep_setuptools.frontend.options import filters_of, install_options
from peep_setuptools.urls import redact_text
from peep_setuptools.values import InstallerOutput, InstallResult

# The network half (progress, picking, the index client) is imported where it is used: a
# no-op ``peep install``, where everything is installed, must not pay for it.
if TYPE_CHECKING:
    from peep_setuptools.hashes import Digest
    from peep_setuptools.index.pages import IndexClient
    from peep_setuptools.installing.picking import Filters
    from peep_setuptools.installing.progress import Progress
    from peep_setuptools.values import Verified

logger = logging.getLogger(__name__)


def run_install(args: argparse.Namespace, *, out: TextIO | None = None) -> InstallResult:
    """Run ``peep install`` as parsed; then --write-hashes (on failure) and --report."""
    out = out or sys.stdout
    check_report_path(args.report)
    try:
        result = api.install(
            args.requirements,
            install_options(args),
            progress=progress_for(args),
            # --report - puts the JSON on stdout: the installer's output goes to stderr
            output=InstallerOutput(quiet=args.quiet, to_stderr=args.report == "-"),
        )
    except VerificationFailed as exc:
        run: Verified | None = exc.verified
        if args.write_hashes and run is not None and any(v.kind == "missing" for v in run.verdicts):
            write_missing_hashes(run, filters_of(args))
        write_report(args.report, "install", run, None, out)
        raise report_moved(args, exc) from None
    write_report(args.report, "install", result.verification, result, out)
    return result


def progress_for(args: argparse.Namespace) -> Progress:
    """A live line on a terminal, a line per file elsewhere, nothing with -q."""
    from peep_setuptools.installing.progress import LineProgress, LiveProgress, NoProgress

    if args.quiet:
        return NoProgress()
    if sys.stderr.isatty() and not args.verbose:
        return LiveProgress(sys.stderr)
    # --report - puts the JSON on stdout; every human line then goes to stderr
    stream = sys.stderr if getattr(args, "report", None) == "-" else sys.stdout
    return LineProgress(stream, verbose=args.verbose)


# -- --write-hashes -------------------------------------------------------------------------


def write_missing_hashes(run: Verified, filters: Filters) -> None:
    """Pin every file of each version that has no hash, in the file that names it."""
    from peep_setuptools.installing.picking import TOFU_NOTE, hash_version
    from peep_setuptools.requirements.editing import NewRequirement, apply_edit, plan_edit

    by_file: dict[str, list[NewRequirement]] = {}
    with index_of(run) as client:
        for verdict in run.verdicts:
            req = verdict.requirement
            if verdict.kind != "missing" or req.version is None:
                continue
            if req.url is not None:
                digests: tuple[Digest, ...] = (verdict.actual["sha256"],)
            else:
                version = Version(req.version)
                digests = hash_version(client, client.http, req.name, version, filters)
            by_file.setdefault(req.location.path, []).append(
                NewRequirement(req.display_name, req.version, digests)
            )
    wrote = []
    for path, news in by_file.items():
        if any(r.url is not None for r in run.requirements if r.location.path == path):
            news = [n for n in news if not _is_url_req(run, n.key)]
        edit = plan_edit(path, news, style=filters.style)
        apply_edit(edit)
        wrote.append(f"{path} ({', '.join(f'{n.name}=={n.version}' for n in news)})")
    if wrote:
        logger.warning(
            "Wrote the hashes of every file of these versions to %s.\n%s\n"
            "Review the changes, then run peep install again; nothing was installed.",
            "; ".join(wrote),
            TOFU_NOTE.format(where=client.where),
        )


@contextlib.contextmanager
def index_of(run: Verified) -> Iterator[IndexClient]:
    """A client on the index settings the verification used, closed after."""
    assert run.index is not None  # noqa: S101 -- set whenever an archive was fetched
    client = run.index.open()
    try:
        yield client
    finally:
        client.http.close()


def _is_url_req(run: Verified, name: NormalizedName) -> bool:
    return any(r.name == name and r.url is not None for r in run.requirements)


# -- --report -------------------------------------------------------------------------------


def report_moved(args: argparse.Namespace, exc: VerificationFailed) -> VerificationFailed:
    """With ``--report -`` stdout carries the JSON: the human report moves to stderr."""
    if getattr(args, "report", None) != "-":
        return exc
    sys.stderr.write(exc.report)
    return VerificationFailed(
        str(exc), "", verdicts=exc.verdicts, problems=exc.problems, verified=exc.verified
    )


def check_report_path(path: str | None) -> None:
    """Fail before the run, not after installing, when the report could not be written.

    The report replaces the file at ``path`` in one rename (``write_report``): what is there
    must be a regular file, not a link to follow, a FIFO or a device, and a file can be made
    in its folder.
    """
    if not path or path == "-":
        return
    why = _unwritable(path)
    if why is not None:
        raise PeepError(f"cannot write the report {path}: {why}; nothing was done")


def _unwritable(path: str) -> str | None:
    """Why no report can replace ``path``, or None."""
    try:
        mode: int | None = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return exc.strerror or str(exc)
    folder = os.path.dirname(os.path.abspath(path))
    if mode is not None and stat.S_ISLNK(mode):
        # A link planted at the path (a dangling one passed the old check) is not followed.
        return "it is a symbolic link (give the path of the file itself)"
    if mode is not None and stat.S_ISDIR(mode):
        return "it is a folder"
    if mode is not None and not stat.S_ISREG(mode):
        return "it is no regular file (--report - writes to standard output)"
    if not os.path.isdir(folder):
        return f"there is no folder {folder}"
    if mode is not None and not os.access(path, os.W_OK):
        return "permission denied"
    try:  # what the rename needs: a new file in the folder (a read-only mount, a quota)
        handle, probe = tempfile.mkstemp(prefix=".peep-", suffix=".tmp", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def write_report(
    path: str | None,
    command: Literal["install", "check"],
    run: Verified | None,
    result: InstallResult | None,
    out: TextIO,
) -> None:
    """Write the JSON report of ``run`` (None: nothing was fetched) and ``result``."""
    if not path:
        return
    from peep_setuptools.installing import jsonreport

    installed = {canonicalize_name(a.name) for a in result.installed} if result else set()
    completeness = run.completeness if run is not None else None
    if run is not None:
        rows = jsonreport.records(
            run.verdicts,
            run.problems,
            installed=installed,
            skipped=result.skipped if result else run.skipped,
            not_applicable=run.not_applicable,
        )
        ok = run.archives_ok
        python: str | None = run.target.python
    else:
        rows = jsonreport.records(
            (),
            installed=installed,
            skipped=result.skipped if result else (),
            not_applicable=result.not_applicable if result else (),
        )
        ok, python = result is not None, None
    complete = completeness is None or completeness.complete
    # install: ok when it went through; check: when every hash and dependency checked out
    ok = result is not None if command == "install" else ok and complete
    report = jsonreport.build(command, rows, python=python, completeness=completeness, ok=ok)
    text = jsonreport.dumps(report)
    if path == "-":
        out.write(text)
        out.flush()
        return
    try:  # one rename: never half a report, never written through a link planted since
        replace_text(path, text)
    except OSError as exc:
        raise PeepError(f"cannot write the report {path}: {exc.strerror or exc}") from exc


# -- messages -------------------------------------------------------------------------------


def log_level(args: argparse.Namespace) -> int:
    """The level of the messages -q, -v or neither show."""
    if getattr(args, "quiet", False):
        return logging.WARNING
    return logging.DEBUG if getattr(args, "verbose", False) else logging.INFO


def bug_report(program: str) -> str:
    """What a front end prints for an unexpected exception (exit 3): hint, then traceback.

    The traceback is the handled exception's, with the secrets of its URLs hidden: a bug's
    own exception may quote a URL with its credentials (urlsplit's do).
    """
    hint = (
        f"{program}: this is a bug in peep-setuptools {__version__}, not in your input; "
        "please report it with the traceback below."
    )
    return f"{hint}\n{redact_text(traceback.format_exc())}"


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
