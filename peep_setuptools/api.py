"""The one pipeline every front end calls: parse, find, fetch, verify, and only then install."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Union
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name
from packaging.version import Version

from . import porting
from .backends import BuildIndex, Compile, InstallerBackend, PipBackend, UvBackend, VerifiedArchive
from .download import fetch
from .errors import (
    DownloadError,
    IndexLookupError,
    PeepError,
    RequirementsFileError,
    VerificationFailed,
)
from .hashes import hash_file
from .http import HttpClient, HttpSettings, redact_url
from .index import IndexClient, Link, select_archive
from .pipconfig import DEFAULT_INDEX_URL, PipDefaults, pip_defaults
from .report import render
from .reqfile import IndexOptions, ReqLine, load_reqfiles, merge_requirements
from .target import Target, probe
from .verify import Problem, Verdict, algorithms_for, verify

logger = logging.getLogger("peep_setuptools")

DEFAULT_JOBS = 8


@dataclass(frozen=True)
class InstallOptions:
    """Everything a front end can ask of ``install``; None means "as pip would default"."""

    python: str | None = None
    #: index options from the command line; they override those in the files
    index: IndexOptions = field(default_factory=IndexOptions)
    cert: str | None = None
    timeout: float | None = None
    retries: int | None = None
    dry_run: bool = False
    force_reinstall: bool = False
    installer: Literal["pip", "uv"] = "pip"
    compile: Compile = "default"
    quiet: bool = False
    jobs: int = DEFAULT_JOBS
    #: the environment to read PIP_* defaults and ${VAR}s from; None means os.environ
    environ: Mapping[str, str] | None = None


@dataclass(frozen=True)
class InstallResult:
    """What ``install`` did."""

    installed: tuple[VerifiedArchive, ...]
    #: named requirements already installed at their pinned version
    skipped: tuple[ReqLine, ...]
    #: requirements whose environment markers do not apply to the target
    not_applicable: tuple[ReqLine, ...]
    verified: tuple[Verdict, ...]
    dry_run: bool


@dataclass(frozen=True)
class _Session:
    """Per-run state shared by the fetch workers."""

    target: Target
    options: IndexOptions
    client: IndexClient
    http: HttpClient
    workdir: str
    index_names: str


_Outcome = Union[Verdict, Problem]


def install(
    requirement_files: Sequence[str],
    options: InstallOptions | None = None,
    *,
    backend: InstallerBackend | None = None,
) -> InstallResult:
    """Verify every archive named by the files, then install them all in one installer call.

    Raises VerificationFailed (its ``report`` is peep's text) when any hash is missing or
    wrong or any archive cannot be had, and other PeepErrors for bad input; nothing is
    installed unless every archive verified.
    """
    options = options or InstallOptions()
    environ = os.environ if options.environ is None else options.environ
    if not requirement_files:
        raise RequirementsFileError("no requirements file given; use -r FILE")
    reqset = load_reqfiles(requirement_files, environ=environ)
    target = probe(options.python)
    applicable, not_applicable = _split_by_markers(reqset.requirements, target)
    for req in not_applicable:
        logger.info(
            "Ignoring %s (%s): markers do not apply to this interpreter", req.text, req.location
        )
    requirements = merge_requirements(applicable)
    to_fetch, skipped = _split_installed(requirements, target, options.force_reinstall)
    for req in skipped:
        logger.info("Skipping %s==%s: already installed.", req.display_name, req.version)

    defaults = pip_defaults(environ)
    merged = _effective_index(defaults, reqset.options, options.index)
    settings = HttpSettings(
        cert=options.cert or defaults.cert,
        timeout=options.timeout if options.timeout is not None else defaults.timeout,
        retries=options.retries if options.retries is not None else defaults.retries,
        trusted_hosts=merged.trusted_hosts,
    )
    if not to_fetch:
        logger.info("Nothing to install: every requirement is installed at its pinned version.")
        return InstallResult((), skipped, not_applicable, (), options.dry_run)

    workdir = tempfile.mkdtemp(prefix="peep-")  # 0700: only we can swap files in it
    http = HttpClient(settings)
    try:
        index_urls = (
            []
            if merged.no_index
            else [merged.index_url or DEFAULT_INDEX_URL, *merged.extra_index_urls]
        )
        session = _Session(
            target=target,
            options=merged,
            client=IndexClient(index_urls, list(merged.find_links), http),
            http=http,
            workdir=workdir,
            index_names=", ".join(redact_url(u) for u in index_urls + list(merged.find_links))
            or "no index (--no-index and no --find-links)",
        )
        outcomes = _fetch_all(session, to_fetch, options.jobs)
        verdicts = tuple(o for o in outcomes if isinstance(o, Verdict))
        problems = [o for o in outcomes if isinstance(o, Problem)]
        report = render(verdicts, problems)
        if report:
            raise VerificationFailed(_summary(verdicts, problems), report)
        archives = tuple(_archive(v) for v in verdicts)
        if options.dry_run:
            logger.info(
                "All %d archives match their hashes; not installing (--dry-run).", len(verdicts)
            )
            return InstallResult((), skipped, not_applicable, verdicts, True)
        _note_sdists(archives)
        chosen = backend or _backend(options)
        chosen.install(
            archives,
            target=target,
            workdir=workdir,
            build_index=BuildIndex(
                index_url=None if merged.no_index else (merged.index_url or DEFAULT_INDEX_URL),
                extra_index_urls=merged.extra_index_urls,
                find_links=merged.find_links,
                no_index=merged.no_index,
                trusted_hosts=merged.trusted_hosts,
                cert=settings.cert,
            ),
            force_reinstall=True,
        )
        return InstallResult(archives, skipped, not_applicable, verdicts, False)
    finally:
        http.close()
        shutil.rmtree(workdir, ignore_errors=True)


def hash_files(paths: Sequence[str], *, style: Literal["peep", "pip"] = "peep") -> list[str]:
    """Return the hash line of each archive: ``# sha256: B64`` or ``--hash=sha256:HEX``."""
    lines = []
    for path in paths:
        try:
            digest = hash_file(path)["sha256"]
        except OSError as exc:
            raise PeepError(f"cannot hash {path}: {exc.strerror or exc}") from exc
        lines.append(digest.peep_line() if style == "peep" else digest.pip_option())
    return lines


def port_file(
    paths: Sequence[str],
    *,
    to: Literal["pip", "peep"] = "pip",
    environ: Mapping[str, str] | None = None,
) -> str:
    """Return the files rewritten in one hash format, includes flattened, comments kept."""
    reqset = load_reqfiles(paths, environ=os.environ if environ is None else environ)
    return porting.port_entries(reqset.entries, to=to)


def _effective_index(
    defaults: PipDefaults, in_files: IndexOptions, on_command_line: IndexOptions
) -> IndexOptions:
    base = IndexOptions(
        index_url=defaults.index_url,
        extra_index_urls=tuple(defaults.extra_index_urls),
        find_links=tuple(defaults.find_links),
        no_index=defaults.no_index,
        trusted_hosts=tuple(defaults.trusted_hosts),
    )
    return base.overridden_by(in_files).overridden_by(on_command_line)


def _split_by_markers(
    requirements: Sequence[ReqLine], target: Target
) -> tuple[list[ReqLine], tuple[ReqLine, ...]]:
    applicable: list[ReqLine] = []
    skipped: list[ReqLine] = []
    environment = {**target.marker_env, "extra": ""}
    for req in requirements:
        if req.marker is None:
            applicable.append(req)
            continue
        try:
            applies = req.marker.evaluate(environment)
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
            raise RequirementsFileError(
                f"{req.location}: cannot evaluate the marker of {req.text!r}: {exc}"
            ) from exc
        (applicable if applies else skipped).append(req)
    return applicable, tuple(skipped)


def _split_installed(
    requirements: Sequence[ReqLine], target: Target, force: bool
) -> tuple[tuple[ReqLine, ...], tuple[ReqLine, ...]]:
    to_fetch: list[ReqLine] = []
    skipped: list[ReqLine] = []
    for req in requirements:
        installed = target.installed_version(req.name)
        # URL requirements always reinstall: a same-version archive must replace the code.
        if (
            not force
            and req.url is None
            and installed is not None
            and req.version is not None
            and installed == Version(req.version)
        ):
            skipped.append(req)
        else:
            to_fetch.append(req)
    return tuple(to_fetch), tuple(skipped)


def _fetch_all(session: _Session, requirements: Sequence[ReqLine], jobs: int) -> list[_Outcome]:
    numbered = list(enumerate(requirements))
    if jobs <= 1 or len(numbered) == 1:
        return [_fetch_one(session, i, req) for i, req in numbered]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="peep-fetch") as pool:
        return list(pool.map(lambda pair: _fetch_one(session, *pair), numbered))


def _fetch_one(session: _Session, number: int, req: ReqLine) -> _Outcome:
    try:
        link = _find(session, req)
        if link.yanked:
            reason = f": {link.yanked_reason}" if link.yanked_reason else ""
            logger.warning("%s (%s) is yanked on the index%s", link.filename, req.location, reason)
        into = os.path.join(session.workdir, f"{number:04d}")
        fetched = fetch(link, into, session.http, algorithms=algorithms_for(req))
        logger.debug(
            "Fetched %s (%d bytes) from %s", fetched.filename, fetched.size, redact_url(link.url)
        )
        return verify(req, fetched.digests, url=redact_url(link.url), path=fetched.path)
    except (IndexLookupError, DownloadError) as exc:
        return Problem(req, str(exc))


def _archive(verdict: Verdict) -> VerifiedArchive:
    return VerifiedArchive(verdict.requirement.display_name, verdict.path, verdict.actual["sha256"])


def _find(session: _Session, req: ReqLine) -> Link:
    if req.url is not None:
        filename = unquote(urlsplit(req.url).path.rsplit("/", 1)[-1])
        return Link(req.url, filename, (), None, False, None, req.url)
    assert req.version is not None  # noqa: S101 -- the parser only lets pinned names through
    only_binary = ":all:" in session.options.only_binary or req.name in session.options.only_binary
    links = session.client.find_links(req.name)
    link = select_archive(
        links,
        name=req.name,
        version=Version(req.version),
        tags=session.target.tags,
        python_version=session.target.python_version,
        allowed=req.digests,
        only_binary=only_binary,
    )
    if link is None:
        raise IndexLookupError(_not_found(req, links, session, only_binary))
    return link


def _not_found(req: ReqLine, links: Sequence[Link], session: _Session, only_binary: bool) -> str:
    same_version = [
        link.filename for link in links if _version_of(link.filename, req) == req.version
    ]
    where = session.index_names
    if not same_version:
        return f"{req.display_name}=={req.version} not found on {where}"
    why = "no wheel for this interpreter" + ("" if only_binary else " and no sdist")
    return (
        f"{req.display_name}=={req.version} has no file that fits {session.target.python} "
        f"on {where} "
        f"({why}; files: {', '.join(same_version)})"
    )


def _version_of(filename: str, req: ReqLine) -> str | None:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if filename.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    if canonicalize_name(name) != req.name or req.version is None:
        return None
    return req.version if version == Version(req.version) else None


def _summary(verdicts: Sequence[Verdict], problems: Sequence[Problem]) -> str:
    parts = []
    counts = {kind: sum(1 for v in verdicts if v.kind == kind) for kind in ("mismatch", "missing")}
    if counts["mismatch"]:
        parts.append(f"{counts['mismatch']} did not match their hashes")
    if counts["missing"]:
        parts.append(f"{counts['missing']} had no hashes")
    if problems:
        parts.append(f"{len(problems)} could not be found or downloaded")
    return "verification failed (" + "; ".join(parts) + "); nothing was installed"


def _note_sdists(archives: Sequence[VerifiedArchive]) -> None:
    sdists = [a.name for a in archives if not a.path.endswith(".whl")]
    if sdists:
        logger.warning(
            "Note: building the sdists of %s makes the installer fetch their build dependencies "
            "(such as setuptools) from the index WITHOUT hash checking; use --only-binary :all: "
            "to install wheels only.",
            ", ".join(sdists),
        )


def _backend(options: InstallOptions) -> InstallerBackend:
    if options.installer == "uv":
        return UvBackend(compile=options.compile, quiet=options.quiet)
    return PipBackend(compile=options.compile, quiet=options.quiet)
