"""The one pipeline every front end calls: parse, find, fetch, verify, and only then install."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for_futures
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol, Union
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, UndefinedComparison, UndefinedEnvironmentName
from packaging.utils import canonicalize_name
from packaging.version import Version

from . import porting, pylock_write, strict
from .backends import (
    BuildIndex,
    Compile,
    InstallerBackend,
    PipBackend,
    UvBackend,
    VerifiedArchive,
    WheelBuilder,
    find_uv,
)
from .builddeps import BuildRequirement
from .cache import ArchiveCache, CachedArchive, default_cache_dir
from .download import fetch, quarantine
from .errors import (
    DownloadError,
    IndexLookupError,
    PeepError,
    RequirementsFileError,
    UsageError,
    VerificationFailed,
)
from .hashes import Algorithm, Digest, hash_file
from .http import HttpClient, HttpSettings, redact_url
from .index import IndexClient, Link, select_archive
from .pipconfig import DEFAULT_INDEX_URL, PipDefaults, pip_defaults
from .progress import NoProgress, Progress
from .pylock import LockSelection, is_lock_file, load_pylock, select_files
from .report import render
from .reqfile import IndexOptions, ReqLine, RequirementsSet, load_reqfiles, merge_requirements
from .target import Target, probe
from .verify import Problem, Verdict, algorithms_for, verify

logger = logging.getLogger("peep_setuptools")

DEFAULT_JOBS = 8
#: seconds an interrupted run waits for its download threads to clean up
_ABORT_GRACE = 5.0


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
    #: move archives that fail their hash check here (for forensics) instead of deleting them
    keep_mismatched: str | None = None
    #: the verified archive cache; None means $PEEP_CACHE_DIR or ~/.cache/peep-setuptools
    cache_dir: str | None = None
    no_cache: bool = False
    #: fetch and verify even what is installed at its pinned version (for an observer)
    fetch_installed: bool = False
    #: PEP 751 lock files to install from, besides ``pylock*.toml`` files among the -r files
    lock_files: tuple[str, ...] = ()
    #: build sdists ourselves from verified build dependencies only (see strict.py)
    strict: bool = False
    #: files pinning build dependencies (with hashes) for strict mode; never installed
    build_requirements: tuple[str, ...] = ()


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
    cache: ArchiveCache | None = None
    progress: Progress = field(default_factory=NoProgress)


_Outcome = Union[Verdict, Problem]


@dataclass(frozen=True)
class Verified:
    """What a run knows once every archive is fetched and checked, before installing."""

    target: Target
    #: the requirement files read, includes too
    files: tuple[str, ...]
    #: the requirements that apply to the target, merged
    requirements: tuple[ReqLine, ...]
    skipped: tuple[ReqLine, ...]
    not_applicable: tuple[ReqLine, ...]
    verdicts: tuple[Verdict, ...]
    problems: tuple[Problem, ...]
    client: IndexClient
    http: HttpClient


class InstallObserver(Protocol):
    """Extra checks a front end runs on the verified archives (``peep check``, ``verify``)."""

    def verified(self, run: Verified) -> Collection[str]:
        """Return the canonical names to leave out of the install, or raise a PeepError.

        Called once every archive is checked, before a failed check is reported.
        """
        ...


def install(
    requirement_files: Sequence[str],
    options: InstallOptions | None = None,
    *,
    backend: InstallerBackend | None = None,
    progress: Progress | None = None,
    observer: InstallObserver | None = None,
) -> InstallResult:
    """Verify every archive named by the files, then install them all in one installer call.

    Archives come from the verified cache when it holds one with an allowed hash (re-hashed
    on the way out), else from the index; ``progress`` hears about each of them.

    Raises VerificationFailed (its ``report`` is peep's text) when any hash is missing or
    wrong or any archive cannot be had, and other PeepErrors for bad input; nothing is
    installed unless every archive verified.
    """
    options = options or InstallOptions()
    environ = os.environ if options.environ is None else options.environ
    locks = [*options.lock_files, *(f for f in requirement_files if is_lock_file(f))]
    if not requirement_files and not locks:
        raise RequirementsFileError("no requirements file given; use -r FILE")
    reqset = load_reqfiles([f for f in requirement_files if not is_lock_file(f)], environ=environ)
    target = probe(options.python)
    applicable, not_applicable = _split_by_markers(reqset.requirements, target)
    locked = _from_locks(locks, target, options.index.only_binary | reqset.options.only_binary)
    applicable += locked.requirements
    not_applicable += locked.not_applicable
    for req in not_applicable:
        logger.info(
            "Ignoring %s (%s): markers do not apply to this interpreter", req.text, req.location
        )
    requirements = merge_requirements(applicable)
    build_reqs: tuple[ReqLine, ...] = ()
    if options.strict and options.build_requirements:
        build_set = load_reqfiles(options.build_requirements, environ=environ)
        build_reqs = merge_requirements(_split_by_markers(build_set.requirements, target)[0])
    to_fetch, skipped = _split_installed(
        requirements, target, options.force_reinstall or options.fetch_installed
    )
    for req in skipped:
        logger.info("Skipping %s==%s: already installed.", req.display_name, req.version)
    if not to_fetch:
        logger.info("Nothing to install: every requirement is installed at its pinned version.")
        return InstallResult((), skipped, not_applicable, (), options.dry_run)
    # Before any download: an installer that is asked for but missing fails fast.
    chosen = None if options.dry_run else backend or _backend(options)

    defaults = pip_defaults(environ)
    merged = _effective_index(defaults, reqset.options, options.index)
    settings = _http_settings(options, defaults, merged)
    cache_root = options.cache_dir or default_cache_dir(environ)
    cache = None if options.no_cache else ArchiveCache(cache_root)
    progress = progress or NoProgress()

    workdir = tempfile.mkdtemp(prefix="peep-")  # 0700: only we can swap files in it
    http = HttpClient(settings)
    try:
        index_urls = _index_urls(merged)
        session = _Session(
            target=target,
            options=merged,
            client=IndexClient(index_urls, list(merged.find_links), http),
            http=http,
            workdir=workdir,
            index_names=_index_names(index_urls, merged),
            cache=cache,
            progress=progress,
        )
        progress.begin(len(to_fetch) + len(build_reqs))
        try:
            outcomes = _fetch_all(session, [*to_fetch, *build_reqs], options.jobs)
        finally:
            progress.end()
        tools = _verified_tools(outcomes)  # build requirements and wheels, for --strict
        outcomes = outcomes[: len(to_fetch)] + [
            o for o in outcomes[len(to_fetch) :] if not (isinstance(o, Verdict) and o.kind == "ok")
        ]
        outcomes += [Problem(req, message) for req, message in locked.problems]
        builder = None
        if options.strict:
            builder = strict.StrictBuilder(
                python=target.python, tools=tools, marker_env=target.marker_env, workdir=workdir
            )
            outcomes += _unmet_build_requirements(session, builder, outcomes)
        verdicts = tuple(o for o in outcomes if isinstance(o, Verdict))
        problems = [o for o in outcomes if isinstance(o, Problem)]
        report = render(verdicts, problems)
        if options.keep_mismatched:
            _quarantine(verdicts, options.keep_mismatched)
        left_out: Collection[str] = ()
        if observer is not None:
            left_out = observer.verified(
                Verified(
                    target,
                    reqset.files,
                    requirements,
                    skipped,
                    not_applicable,
                    verdicts,
                    tuple(problems),
                    session.client,
                    http,
                )
            )
        if report:
            raise VerificationFailed(_summary(verdicts, problems), report)
        skipped += tuple(v.requirement for v in verdicts if v.requirement.name in left_out)
        archives = tuple(_archive(v) for v in verdicts if v.requirement.name not in left_out)
        if not archives and not options.dry_run:
            logger.info("Nothing to install: every installed copy checked out.")
            return InstallResult((), skipped, not_applicable, verdicts, False)
        if options.dry_run:
            logger.info(
                "All %d archives match their hashes; not installing (--dry-run).", len(verdicts)
            )
            return InstallResult((), skipped, not_applicable, verdicts, True)
        assert chosen is not None  # noqa: S101 -- set whenever this is not a dry run
        build_index = BuildIndex(
            index_url=None if merged.no_index else (merged.index_url or DEFAULT_INDEX_URL),
            extra_index_urls=merged.extra_index_urls,
            find_links=merged.find_links,
            no_index=merged.no_index,
            trusted_hosts=merged.trusted_hosts,
            cert=settings.cert,
        )
        if builder is not None:
            archives = _strict_build(session, builder, archives)
        archives = _with_built_wheels(
            archives, chosen, cache, target=target, workdir=workdir, build_index=build_index
        )
        chosen.install(
            archives,
            target=target,
            workdir=workdir,
            build_index=build_index,
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
    to: Literal["pip", "peep", "pylock"] = "pip",
    environ: Mapping[str, str] | None = None,
    options: InstallOptions | None = None,
    lock_dir: str | None = None,
) -> str:
    """Return the files rewritten in another format.

    Requirement files become one requirements file in pip's or peep's hash format
    (includes flattened, comments kept), or with ``to="pylock"`` a PEP 751 lock file
    whose files and hashes are looked up on the index (``options`` gives the index
    options, as for ``install``; local files get paths relative to ``lock_dir``, else
    absolute ones). A lock file (``pylock*.toml`` or any ``*.toml``) becomes a
    requirements file in pip's or peep's format. Raises UsageError, RequirementsFileError,
    IndexLookupError or DownloadError.
    """
    environ = os.environ if environ is None else environ
    locks = [p for p in paths if is_lock_file(p) or p.endswith(".toml")]
    if locks:
        if len(paths) > 1:
            raise UsageError("peep port reads one lock file at a time, and nothing beside it")
        if to == "pylock":
            raise UsageError(f"{locks[0]} is a lock file already; port it --to pip or --to peep")
        lock = load_pylock(locks[0])
        for warning in lock.warnings:
            logger.warning("%s", warning)
        return porting.port_lock(lock, to=to)
    reqset = load_reqfiles(paths, environ=environ)
    if to != "pylock":
        return porting.port_entries(reqset.entries, to=to)
    return _port_to_pylock(reqset, options or InstallOptions(), environ, lock_dir)


def _port_to_pylock(
    reqset: RequirementsSet,
    options: InstallOptions,
    environ: Mapping[str, str],
    lock_dir: str | None,
) -> str:
    defaults = pip_defaults(environ)
    merged = _effective_index(defaults, reqset.options, options.index)
    index_urls = _index_urls(merged)
    workdir = tempfile.mkdtemp(prefix="peep-port-")
    http = HttpClient(_http_settings(options, defaults, merged))
    downloads = itertools.count()

    def hash_link(
        link: Link, algorithms: Sequence[Algorithm]
    ) -> tuple[dict[Algorithm, Digest], int]:
        # Only for files the index gives no usable hash for; the bytes are not kept.
        into = os.path.join(workdir, f"{next(downloads):04d}")
        fetched = fetch(link, into, http, algorithms=algorithms)
        os.unlink(fetched.path)
        return dict(fetched.digests), fetched.size

    try:
        packages = pylock_write.pin_requirements(
            reqset.requirements,
            find=IndexClient(index_urls, list(merged.find_links), http).find_links,
            hash_link=hash_link,
            index_urls=index_urls,
            where=_index_names(index_urls, merged),
            lock_dir=lock_dir,
        )
    finally:
        http.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return pylock_write.render_pylock(packages)


def _http_settings(
    options: InstallOptions, defaults: PipDefaults, merged: IndexOptions
) -> HttpSettings:
    return HttpSettings(
        cert=options.cert or defaults.cert,
        timeout=options.timeout if options.timeout is not None else defaults.timeout,
        retries=options.retries if options.retries is not None else defaults.retries,
        trusted_hosts=merged.trusted_hosts,
    )


def _index_urls(merged: IndexOptions) -> list[str]:
    if merged.no_index:
        return []
    return [merged.index_url or DEFAULT_INDEX_URL, *merged.extra_index_urls]


def _index_names(index_urls: Sequence[str], merged: IndexOptions) -> str:
    """The indexes and find-links locations, for messages, passwords hidden."""
    return (
        ", ".join(redact_url(u) for u in [*index_urls, *merged.find_links])
        or "no index (--no-index and no --find-links)"
    )


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
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="peep-fetch")
    futures = [pool.submit(_fetch_one, session, i, req) for i, req in numbered]
    try:
        return [future.result() for future in futures]
    except BaseException:
        # Ctrl-C: do not wait out stalled downloads. Cancel queued ones and break the
        # sockets of running ones, then give workers a moment to delete their .part files.
        session.http.abort()
        pool.shutdown(wait=False, cancel_futures=True)
        wait_for_futures(futures, timeout=_ABORT_GRACE)
        raise
    finally:
        pool.shutdown(wait=False)


def _quarantine(verdicts: Sequence[Verdict], folder: str) -> None:
    for verdict in verdicts:
        if verdict.kind != "mismatch":
            continue
        try:
            moved = quarantine(verdict.path, folder, verdict.actual["sha256"])
        except DownloadError as exc:
            logger.warning("%s", exc)
        else:
            logger.warning("Kept the mismatching archive as %s", moved)


def _fetch_one(session: _Session, number: int, req: ReqLine) -> _Outcome:
    try:
        cached = _from_cache(session, number, req)
        if cached is not None:
            return cached
        link = _find(session, req)
        if link.yanked:
            reason = f": {link.yanked_reason}" if link.yanked_reason else ""
            logger.warning("%s (%s) is yanked on the index%s", link.filename, req.location, reason)
        into = os.path.join(session.workdir, f"{number:04d}")
        fetched = fetch(link, into, session.http, algorithms=algorithms_for(req))
        logger.debug(
            "Fetched %s (%d bytes) from %s", fetched.filename, fetched.size, redact_url(link.url)
        )
        session.progress.advance(fetched.filename, fetched.size, redact_url(link.url), cached=False)
        verdict = verify(req, fetched.digests, url=redact_url(link.url), path=fetched.path)
        if verdict.kind == "ok" and session.cache is not None:
            session.cache.store(
                fetched.path, fetched.digests["sha256"], requires_python=link.requires_python
            )
        return verdict
    except IndexLookupError as exc:
        return Problem(req, str(exc))
    except DownloadError as exc:
        # The URL alone may not say which project it was for (a redirect, a CDN).
        pinned = f"=={req.version}" if req.version else ""
        return Problem(req, f"{req.display_name}{pinned}: {exc}")


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
        find_uv()
        return UvBackend(compile=options.compile, quiet=options.quiet)
    return PipBackend(compile=options.compile, quiet=options.quiet)


# -- the verified cache ---------------------------------------------------------------------


def _from_cache(session: _Session, number: int, req: ReqLine) -> Verdict | None:
    """The verdict on a cached archive with an allowed hash that fits the target, or None."""
    cache = session.cache
    if cache is None or not req.digests:
        return None
    entry = _fitting(session, req, cache.lookup(req.digests))
    if entry is None:
        return None
    into = os.path.join(session.workdir, f"{number:04d}")
    copied = cache.take(entry, into, algorithms=algorithms_for(req))
    if copied is None:  # unreadable or tampered with: dropped; fetch it again
        return None
    logger.debug("Using %s (%d bytes) from the cache: %s", copied.filename, copied.size, entry.path)
    session.progress.advance(copied.filename, copied.size, copied.source, cached=True)
    return verify(req, copied.digests, url=copied.source, path=copied.path)


def _fitting(
    session: _Session, req: ReqLine, entries: Sequence[CachedArchive]
) -> CachedArchive | None:
    if not entries:
        return None
    if req.url is not None:
        wanted = unquote(urlsplit(req.url).path.rsplit("/", 1)[-1])
        return next((e for e in entries if e.filename == wanted), None)
    if req.version is None:
        return None
    # The same choice as for index links: tags, Requires-Python, --only-binary.
    options = session.options
    by_name = {e.filename: e for e in entries}
    link = select_archive(
        [Link(e.path, e.filename, (), e.requires_python) for e in entries],
        name=req.name,
        version=Version(req.version),
        tags=session.target.tags,
        python_version=session.target.python_version,
        allowed=req.digests,
        only_binary=":all:" in options.only_binary or req.name in options.only_binary,
    )
    return by_name[link.filename] if link is not None else None


def _with_built_wheels(
    archives: Sequence[VerifiedArchive],
    backend: InstallerBackend,
    cache: ArchiveCache | None,
    *,
    target: Target,
    workdir: str,
    build_index: BuildIndex,
) -> tuple[VerifiedArchive, ...]:
    """Swap each verified sdist for a wheel built from it, from the cache or built now.

    Without a cache (or with a backend that cannot build), the installer builds the sdists
    itself, every time. Wheels are keyed by the sdist's sha256 and the target's best tag.
    """
    sdists = [a for a in archives if not a.path.endswith(".whl")]
    if not sdists or cache is None or not isinstance(backend, WheelBuilder):
        _note_sdists(sdists)
        return tuple(archives)
    tag = str(target.tags[0]) if target.tags else "none"
    wheels: dict[str, VerifiedArchive] = {}
    to_build = []
    for number, sdist in enumerate(sdists):
        entry = cache.built_wheel(sdist.digest, tag)
        into = os.path.join(workdir, "cached-wheels", f"{number:04d}")
        copied = cache.take(entry, into) if entry is not None else None
        if copied is None:
            to_build.append(sdist)
            continue
        logger.debug("Using the wheel built earlier from %s: %s", sdist.path, copied.source)
        wheels[sdist.path] = VerifiedArchive(sdist.name, copied.path, copied.digests["sha256"])
    if to_build:
        _note_sdists(to_build)
        built = backend.build_wheels(
            to_build, target=target, workdir=workdir, build_index=build_index
        )
        by_project = {_wheel_project(path): path for path in built}
        for sdist in to_build:
            path = by_project.get(canonicalize_name(sdist.name))
            if path is None:  # not ours to guess: the installer gets the sdist
                continue
            digest = hash_file(path)["sha256"]
            cache.store_built_wheel(sdist.digest, tag, path, digest)
            wheels[sdist.path] = VerifiedArchive(sdist.name, path, digest)
    return tuple(wheels.get(a.path, a) for a in archives)


def _wheel_project(path: str) -> str:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        return parse_wheel_filename(os.path.basename(path))[0]
    except InvalidWheelFilename:
        return ""


# -- lock files and strict mode -----------------------------------------------------------


def _from_locks(paths: Sequence[str], target: Target, only_binary: frozenset[str]) -> LockSelection:
    """The requirements PEP 751 lock files ask of the target: chosen URLs with their hashes."""
    chosen: list[ReqLine] = []
    skipped: list[ReqLine] = []
    problems: list[tuple[ReqLine, str]] = []
    for path in paths:
        lock = load_pylock(path)
        for warning in lock.warnings:
            logger.warning("%s", warning)
        selection = select_files(
            lock,
            marker_env=target.marker_env,
            tags=target.tags,
            python_version=target.python_version,
            only_binary=only_binary,
        )
        chosen += selection.requirements
        skipped += selection.not_applicable
        problems += selection.problems
    return LockSelection(tuple(chosen), tuple(skipped), tuple(problems))


def _verified_tools(outcomes: Sequence[_Outcome]) -> tuple[strict.Tool, ...]:
    return strict.tools_from(o.path for o in outcomes if isinstance(o, Verdict) and o.kind == "ok")


def _candidates(session: _Session, unmet: Sequence[BuildRequirement], start: int) -> list[_Outcome]:
    """Fetch what the index offers for unmet build requirements: peep's missing-hash block."""
    lines: list[ReqLine] = []
    outcomes: list[_Outcome] = []
    for need in unmet:
        req = need.requirement
        name = canonicalize_name(req.name)
        line = ReqLine(
            location=need.location,
            text=str(req),
            name=name,
            display_name=req.name,
            version=None,
            url=None,
            extras=(),
            marker=None,
            digests=(),
            hash_style="pip",
        )
        try:
            version = strict.pin_candidate(need, session.client.find_links(name))
        except DownloadError as exc:
            outcomes.append(Problem(line, f"build dependency {req}: {exc}"))
            continue
        if version is None:
            outcomes.append(
                Problem(line, f"build dependency {req} not found on {session.index_names}")
            )
            continue
        lines.append(replace(line, text=f"{req.name}=={version}", version=version))
    # Numbered past the requirements' own download folders, so that none is reused.
    outcomes += [_fetch_one(session, start + i, line) for i, line in enumerate(lines)]
    return outcomes


def _unmet_build_requirements(
    session: _Session, builder: strict.StrictBuilder, outcomes: Sequence[_Outcome]
) -> list[_Outcome]:
    """--strict, before anything runs: every verified sdist's static build requirements."""
    unmet: dict[str, BuildRequirement] = {}
    for outcome in outcomes:
        if (
            isinstance(outcome, Verdict)
            and outcome.kind == "ok"
            and not outcome.path.endswith(".whl")
        ):
            _, missing = builder.static_unmet(outcome.path)
            for need in missing:
                unmet.setdefault(str(need.requirement), need)
    return _candidates(session, list(unmet.values()), 10000) if unmet else []


def _strict_build(
    session: _Session,
    builder: strict.StrictBuilder,
    archives: Sequence[VerifiedArchive],
) -> tuple[VerifiedArchive, ...]:
    """Build every sdist from verified wheels only; dynamic needs are checked first."""
    prepared: dict[str, strict.Prepared] = {}
    unmet: list[BuildRequirement] = []
    for number, archive in enumerate(archives):
        if archive.path.endswith(".whl"):
            continue
        system, _ = builder.static_unmet(archive.path)
        outcome = builder.prepare(archive.path, system, number)
        if isinstance(outcome, strict.Prepared):
            prepared[archive.path] = outcome
        else:
            unmet += outcome
    if unmet:
        found = _candidates(session, unmet, 20000)
        verdicts = [o for o in found if isinstance(o, Verdict)]
        problems = [o for o in found if isinstance(o, Problem)]
        raise VerificationFailed(_summary(verdicts, problems), render(verdicts, problems))
    built: list[VerifiedArchive] = []
    for archive in archives:
        if archive.path in prepared:
            path = builder.build(prepared[archive.path])
            logger.info("Built %s with verified build dependencies only", os.path.basename(path))
            built.append(VerifiedArchive(archive.name, path, hash_file(path)["sha256"]))
        else:
            built.append(archive)
    return tuple(built)
