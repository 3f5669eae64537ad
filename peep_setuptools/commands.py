"""``peep check | add | upgrade | verify`` and the install options that keep files true."""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from . import api, jsonreport
from .completeness import Completeness, Examined, check_completeness
from .download import fetch
from .editing import NewRequirement, apply_edit, plan_edit
from .errors import (
    EXIT_FAILED,
    EXIT_OK,
    IndexLookupError,
    PeepError,
    UsageError,
    VerificationFailed,
)
from .hashes import Digest, hash_file
from .http import HttpClient, HttpSettings, redact_url
from .index import IndexClient, Link, parse_filename
from .installed import InstalledCheck, check_installed, parse_record, probe_installed
from .metadata import ArchiveReadError, is_wheel, read_dependencies, read_wheel_member
from .pipconfig import DEFAULT_INDEX_URL, pip_defaults
from .reqfile import HashStyle, IndexOptions, load_reqfiles, parse_only_binary

logger = logging.getLogger("peep_setuptools")

COMMANDS = frozenset({"check", "add", "upgrade", "verify"})
TOFU_NOTE = (
    "Note: these hashes were taken from {where} as it serves the files today (trust on first "
    "use). Vet the files, or hash archives you have checked with --from FILE."
)
AddParser = Callable[[argparse.ArgumentParser], None]


# -- the command line -----------------------------------------------------------------------


def register(
    commands: argparse._SubParsersAction[Any],
    install: argparse.ArgumentParser,
    *,
    add_index_options: AddParser,
    add_verbosity: AddParser,
) -> None:
    """Add the subcommands to ``commands`` and the completeness options to ``install``."""
    install.add_argument(
        "--require-complete",
        action="store_true",
        help="refuse to install when a dependency of a verified archive is not in the files",
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
        "for review; install nothing",
    )
    _add_report(install)

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
    _add_filters(check)
    _add_report(check)
    add_verbosity(check)

    add = commands.add_parser("add", help="pin NAME[==VERSION] with the hashes of its files")
    add.add_argument("specs", nargs="*", metavar="NAME[==VERSION]")
    add.add_argument(
        "-r", "--requirement", dest="requirement", default="requirements.txt", metavar="FILE"
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
    add_index_options(add)
    _add_filters(add)
    add_verbosity(add)

    upgrade = commands.add_parser("upgrade", help="move pins to the newest versions, new hashes")
    upgrade.add_argument("names", nargs="*", metavar="NAME")
    upgrade.add_argument(
        "-r", "--requirement", dest="requirement", default="requirements.txt", metavar="FILE"
    )
    upgrade.add_argument("--dry-run", action="store_true", help="show the diff; write nothing")
    add_index_options(upgrade)
    _add_filters(upgrade)
    add_verbosity(upgrade)

    verify = commands.add_parser(
        "verify", help="check installed distributions against the verified archives"
    )
    _add_reqfiles(verify, required=True)
    verify.add_argument("--python", metavar="PATH", help="check this interpreter's environment")
    add_index_options(verify)
    add_verbosity(verify)


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


def _add_report(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        metavar="FILE.json",
        help="write a JSON report (schema version 1); '-' for stdout (messages go to stderr)",
    )


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("which files to hash (default: all of the version)")
    group.add_argument("--python-version", action="append", default=[], metavar="X.Y")
    group.add_argument("--platform", action="append", default=[], metavar="TAG_OR_GLOB")
    group.add_argument("--implementation", action="append", default=[], metavar="cp|pp|...")
    group.add_argument("--pre", action="store_true", help="allow pre-releases")
    group.add_argument(
        "--format", choices=("peep", "pip"), help="hash format (default: the file's own)"
    )


# -- running them ---------------------------------------------------------------------------


def run(args: argparse.Namespace, *, out: TextIO | None = None) -> int:
    """Run one of COMMANDS; return the exit code. Raises PeepError for user errors."""
    out = out or sys.stdout
    if getattr(args, "report", None) == "-":
        _messages_to_stderr()
    if args.command == "check":
        return _check(args, out)
    if args.command == "add":
        return _add(args)
    if args.command == "upgrade":
        return _upgrade(args, out)
    return _verify(args)


def run_install(
    args: argparse.Namespace,
    install: Callable[[api.InstallObserver], api.InstallResult],
    *,
    out: TextIO | None = None,
) -> int:
    """Run ``peep install`` through ``install`` with the hooks its options ask for."""
    out = out or sys.stdout
    if args.report == "-":
        _messages_to_stderr()
    hooks = _Hooks(
        completeness=True,
        require_complete=args.require_complete,
        verify_installed=args.verify_installed,
        write_hashes=_filters(args) if args.write_hashes else None,
    )
    try:
        result = install(hooks)
    except VerificationFailed as exc:
        _write_report(args.report, hooks, "install", None, out)
        if args.report == "-":  # stdout carries the JSON; the human report moves to stderr
            sys.stderr.write(exc.report)
            raise VerificationFailed(str(exc), "") from None
        raise
    if hooks.completeness is not None and (
        hooks.completeness.missing or hooks.completeness.unchecked
    ):
        logger.warning("%s", hooks.completeness.render().rstrip())
    _write_report(args.report, hooks, "install", result, out)
    return EXIT_OK


def _messages_to_stderr() -> None:
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)


def _options(args: argparse.Namespace) -> api.InstallOptions:
    # check and verify install nothing, and look at what is installed too
    return api.InstallOptions(
        python=getattr(args, "python", None),
        index=_index_options(args),
        cert=args.cert,
        timeout=args.timeout,
        retries=args.retries,
        quiet=getattr(args, "quiet", False),
        dry_run=True,
        fetch_installed=True,
    )


def _index_options(args: argparse.Namespace) -> IndexOptions:
    return IndexOptions(
        index_url=args.index_url,
        extra_index_urls=tuple(args.extra_index_url),
        find_links=tuple(args.find_links),
        no_index=args.no_index,
        trusted_hosts=tuple(args.trusted_host),
        only_binary=parse_only_binary(args.only_binary),
    )


@dataclass(frozen=True)
class Filters:
    """Which files of a version to hash, like hashin's options; empty means all."""

    python_versions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    implementations: tuple[str, ...] = ()
    pre: bool = False
    style: HashStyle | None = None

    def accepts(self, link: Link) -> bool:
        """Tell whether a file passes the filters (sdists always do)."""
        parsed = parse_filename(link.filename)
        if parsed is None:
            return False
        tags = parsed[2]
        return not tags or any(self._tag_ok(tag) for tag in tags)

    def _tag_ok(self, tag: Tag) -> bool:
        if (
            self.platforms
            and tag.platform != "any"
            and not any(fnmatch.fnmatch(tag.platform, p) for p in self.platforms)
        ):
            return False
        if self.implementations and not tag.interpreter.startswith(("py", *self.implementations)):
            return False
        return not self.python_versions or any(
            _interpreter_fits(tag, v) for v in self.python_versions
        )


def _interpreter_fits(tag: Tag, version: str) -> bool:
    major, _, minor = version.partition(".")
    digits = tag.interpreter.lstrip("abcdefghijklmnopqrstuvwxyz")
    if digits in (major, major + minor):
        return True
    # abi3 wheels built for 3.N serve every later 3.x
    if tag.abi == "abi3" and digits[:1] == major and digits[1:].isdigit() and minor.isdigit():
        return int(digits[1:]) <= int(minor)
    return False


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(
        tuple(getattr(args, "python_version", ())),
        tuple(getattr(args, "platform", ())),
        tuple(getattr(args, "implementation", ())),
        getattr(args, "pre", False),
        getattr(args, "format", None),
    )


# -- the hooks inside ``peep install`` (and check, verify) ---------------------------------


class _Hooks:
    """The InstallObserver for install, check and verify."""

    def __init__(
        self,
        *,
        completeness: bool = False,
        require_complete: bool = False,
        verify_installed: bool = False,
        write_hashes: Filters | None = None,
        verify_all: bool = False,
    ) -> None:
        self.want_completeness = completeness or require_complete
        self.require_complete = require_complete
        self.verify_installed = verify_installed or verify_all
        self.verify_all = verify_all
        self.write_hashes = write_hashes
        self.run: api.Verified | None = None
        self.completeness: Completeness | None = None
        self.checks: list[InstalledCheck] = []
        #: archive sizes, read while the files exist (the pipeline deletes them)
        self.sizes: dict[str, int] = {}

    def verified(self, run: api.Verified) -> Collection[str]:
        self.run = run
        for verdict in run.verdicts:
            with contextlib.suppress(OSError):
                self.sizes[verdict.path] = os.path.getsize(verdict.path)
        if self.write_hashes is not None and any(v.kind == "missing" for v in run.verdicts):
            _write_missing_hashes(run, self.write_hashes)
        if run.problems or any(v.kind != "ok" for v in run.verdicts):
            return ()  # the pipeline reports the failed hash checks
        if self.want_completeness:
            self.completeness = completeness_of(run)
            if self.require_complete and not self.completeness.complete:
                count = len(self.completeness.missing)
                raise VerificationFailed(
                    f"{count} dependenc{'y is' if count == 1 else 'ies are'} missing from "
                    "the requirements files (--require-complete); nothing was installed",
                    self.completeness.render(),
                )
        if self.verify_installed:
            return self._check_installed(run)
        return ()

    def _check_installed(self, run: api.Verified) -> set[str]:
        target = run.target
        verdicts = [
            v
            for v in run.verdicts
            if self.verify_all
            or (
                v.requirement.version is not None
                and target.installed_version(v.requirement.name) == Version(v.requirement.version)
            )
        ]
        dists = probe_installed(target.python, [v.requirement.name for v in verdicts])
        intact: set[str] = set()
        for verdict in verdicts:
            record = None
            if is_wheel(verdict.path):
                try:
                    record = parse_record(read_wheel_member(verdict.path, "RECORD"))
                except ArchiveReadError as exc:
                    raise PeepError(f"{verdict.url}: cannot read its RECORD: {exc}") from exc
            check = check_installed(
                verdict.requirement,
                dists.get(verdict.requirement.name),
                archive=verdict.path,
                record=record,
            )
            self.checks.append(check)
            if check.status == "ok":
                intact.add(verdict.requirement.name)
                logger.info(
                    "%s==%s: the installed files match the verified wheel.",
                    verdict.requirement.display_name,
                    verdict.requirement.version,
                )
            elif not self.verify_all:
                logger.warning("%s; reinstalling it.", check.render())
        return intact


def completeness_of(run: api.Verified) -> Completeness:
    """Read each verified archive's dependencies and check them against the files."""
    examined = [
        Examined(v.requirement, read_dependencies(v.path)) for v in run.verdicts if v.kind == "ok"
    ]
    return check_completeness(
        examined, run.requirements, marker_env=run.target.marker_env, files=run.files
    )


def _write_missing_hashes(run: api.Verified, filters: Filters) -> None:
    by_file: dict[str, list[NewRequirement]] = {}
    for verdict in run.verdicts:
        req = verdict.requirement
        if verdict.kind != "missing" or req.version is None:
            continue
        if req.url is not None:
            digests: tuple[Digest, ...] = (verdict.actual["sha256"],)
        else:
            digests = _hash_version(run.client, run.http, req.name, Version(req.version), filters)
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
            TOFU_NOTE.format(where=_index_names(run.client)),
        )


def _is_url_req(run: api.Verified, name: NormalizedName) -> bool:
    return any(r.name == name and r.url is not None for r in run.requirements)


# -- check ----------------------------------------------------------------------------------


def _check(args: argparse.Namespace, out: TextIO) -> int:
    hooks = _Hooks(completeness=True)
    try:
        api.install(
            args.requirements,
            _options(args),
            observer=hooks,
        )
    except VerificationFailed:
        _write_report(args.report, hooks, "check", None, out)
        raise
    _write_report(args.report, hooks, "check", None, out)
    result = hooks.completeness
    if result is None:
        return EXIT_OK
    text = result.render().rstrip()
    if result.complete:
        if text:
            logger.warning("%s", text)
        logger.info("Every dependency is in %s.", " or ".join(result.files))
        return EXIT_OK
    logger.warning("%s", text)
    if not args.fix:
        return EXIT_FAILED
    assert hooks.run is not None  # noqa: S101 -- set whenever completeness is
    return EXIT_OK if _fix(hooks.run, result, _filters(args)) else EXIT_FAILED


def _fix(run: api.Verified, result: Completeness, filters: Filters) -> bool:
    """Pin each missing dependency to its newest fitting version; True if all could be."""
    wanted: dict[NormalizedName, SpecifierSet] = {}
    spelled: dict[NormalizedName, str] = {}
    for missing in result.missing:
        wanted[missing.name] = (
            wanted.get(missing.name, SpecifierSet()) & missing.dependency.specifier
        )
        spelled.setdefault(missing.name, missing.dependency.name)
    pinned_in = {r.name: r.location.path for r in run.requirements}
    by_file: dict[str, list[NewRequirement]] = {}
    failed = []
    for name, specifier in wanted.items():
        links = run.client.find_links(name)
        version = newest_version(
            links, name, specifier=specifier, filters=filters, python=run.target.python_version
        )
        if version is None:
            failed.append(f"{spelled[name]}{specifier}")
            continue
        digests = _hash_version(run.client, run.http, name, version, filters, links=links)
        by_file.setdefault(pinned_in.get(name, run.files[0]), []).append(
            NewRequirement(spelled[name], str(version), digests)
        )
    for path, news in by_file.items():
        edit = plan_edit(path, news, style=filters.style)
        logger.warning("Adding to %s:\n%s", path, edit.diff().rstrip())
        apply_edit(edit)
    if by_file:
        logger.warning(
            "%s\nThe added projects may need more; run peep check again.",
            TOFU_NOTE.format(where=_index_names(run.client)),
        )
    for spec in failed:
        logger.error("No version of %s fits on %s", spec, _index_names(run.client))
    return not failed


# -- add and upgrade ------------------------------------------------------------------------


def _add(args: argparse.Namespace) -> int:
    filters = _filters(args)
    if args.missing:
        if args.specs or args.from_files:
            raise UsageError("--missing adds what 'peep check' finds; give no names with it")
        args.requirements, args.fix, args.report = [args.requirement], True, None
        return _check(args, sys.stdout)
    if not args.specs and not args.from_files:
        raise UsageError("name a project (NAME or NAME==VERSION) or give --from ARCHIVE")
    if args.from_files:
        news = _from_files(args.from_files, args.specs)
        edit = plan_edit(args.requirement, news, style=filters.style)
        apply_edit(edit)
        _say_added(news, args.requirement)
        return EXIT_OK
    news = []
    with _IndexSession(args, args.requirement) as session:
        for spec in args.specs:
            req = _parse_spec(spec)
            name = canonicalize_name(req.name)
            links = session.client.find_links(name)
            pinned = [s for s in req.specifier if s.operator in ("==", "===")]
            if pinned:
                version: Version | None = Version(pinned[0].version)
            else:
                version = newest_version(links, name, specifier=req.specifier, filters=filters)
            if version is None:
                raise IndexLookupError(f"no version of {spec} found on {session.where}")
            digests = _hash_version(
                session.client, session.http, name, version, filters, links=links
            )
            news.append(
                NewRequirement(
                    req.name,
                    str(version),
                    digests,
                    tuple(sorted(req.extras)),
                    str(req.marker) if req.marker else None,
                )
            )
        edit = plan_edit(args.requirement, news, style=filters.style)
        apply_edit(edit)
        _say_added(news, args.requirement)
        logger.warning("%s", TOFU_NOTE.format(where=session.where))
    return EXIT_OK


def _upgrade(args: argparse.Namespace, out: TextIO) -> int:
    filters = _filters(args)
    reqset = load_reqfiles([args.requirement])
    chosen = {canonicalize_name(n) for n in args.names}
    own = [
        r
        for r in reqset.requirements
        if r.location.path == args.requirement and r.url is None and r.version is not None
    ]
    unknown = chosen - {r.name for r in own}
    if unknown:
        raise UsageError(f"{', '.join(sorted(unknown))} not pinned in {args.requirement}")
    news = []
    with _IndexSession(args, args.requirement) as session:
        for req in own:
            if (chosen and req.name not in chosen) or req.version is None:
                continue
            links = session.client.find_links(req.name)
            newest = newest_version(links, req.name, specifier=SpecifierSet(), filters=filters)
            if newest is None or newest <= Version(req.version):
                logger.info("%s==%s is the newest.", req.display_name, req.version)
                continue
            digests = _hash_version(
                session.client, session.http, req.name, newest, filters, links=links
            )
            news.append(NewRequirement(req.display_name, str(newest), digests))
        edit = plan_edit(args.requirement, news, style=filters.style)
        if args.dry_run:
            out.write(edit.diff())
            return EXIT_OK
        apply_edit(edit)
        for new in news:
            logger.info("Upgraded %s to %s in %s", new.name, new.version, args.requirement)
        if news:
            logger.warning("%s", TOFU_NOTE.format(where=session.where))
    return EXIT_OK


def _say_added(news: Sequence[NewRequirement], path: str) -> None:
    for new in news:
        logger.info(
            "Pinned %s==%s in %s with %d hash%s.",
            new.name,
            new.version,
            path,
            len(new.digests),
            "" if len(new.digests) == 1 else "es",
        )


def _parse_spec(spec: str) -> Requirement:
    try:
        req = Requirement(spec)
    except InvalidRequirement as exc:
        raise UsageError(f"{spec!r} is not a requirement: {str(exc).splitlines()[0]}") from None
    if req.url:
        raise UsageError(f"{spec!r}: give NAME or NAME==VERSION, not a URL")
    return req


def _from_files(paths: Sequence[str], specs: Sequence[str]) -> list[NewRequirement]:
    groups: dict[tuple[NormalizedName, Version], list[Digest]] = {}
    spelled: dict[NormalizedName, str] = {}
    for path in paths:
        parsed = parse_filename(os.path.basename(path))
        if parsed is None:
            raise UsageError(f"{path} is not a wheel or sdist filename (name-version.ext)")
        try:
            digest = hash_file(path)["sha256"]
        except OSError as exc:
            raise PeepError(f"cannot hash {path}: {exc.strerror or exc}") from exc
        groups.setdefault((parsed[0], parsed[1]), []).append(digest)
        spelled.setdefault(parsed[0], parsed[0])
    named: dict[NormalizedName, str] = {}
    for spec in specs:
        name = _parse_spec(spec).name
        named[canonicalize_name(name)] = name
    spelled.update((k, v) for k, v in named.items() if k in spelled)
    if set(named) - {name for name, _ in groups}:
        raise UsageError("the --from archives are not of the projects named")
    return [
        NewRequirement(spelled[name], str(version), tuple(dict.fromkeys(digests)))
        for (name, version), digests in groups.items()
    ]


def newest_version(
    links: Iterable[Link],
    name: NormalizedName,
    *,
    specifier: SpecifierSet,
    filters: Filters,
    python: Version | None = None,
) -> Version | None:
    """The newest version with a file passing ``filters`` inside ``specifier`` (pure).

    Yanked files do not count; pre-releases only with ``filters.pre``; ``python`` drops
    files whose Requires-Python excludes it.
    """
    best = None
    for link in links:
        parsed = parse_filename(link.filename)
        if parsed is None or parsed[0] != name or link.yanked or not filters.accepts(link):
            continue
        version = parsed[1]
        if version.is_prerelease and not filters.pre:
            continue
        if not specifier.contains(version, prereleases=True):
            continue
        if python is not None and link.requires_python:
            try:
                if not SpecifierSet(link.requires_python).contains(python, prereleases=True):
                    continue
            except ValueError:
                pass
        if best is None or version > best:
            best = version
    return best


def _hash_version(
    client: IndexClient,
    http: HttpClient,
    name: NormalizedName,
    version: Version,
    filters: Filters,
    *,
    links: Sequence[Link] | None = None,
) -> tuple[Digest, ...]:
    """Download every file of ``name==version`` that passes the filters; their sha256s."""
    found = links if links is not None else client.find_links(name)
    chosen: dict[str, Link] = {}
    for link in found:
        parsed = parse_filename(link.filename)
        if parsed and parsed[0] == name and parsed[1] == version and filters.accepts(link):
            chosen.setdefault(link.filename, link)
    if not chosen:
        raise IndexLookupError(f"{name}=={version}: no file fits the filters")
    workdir = tempfile.mkdtemp(prefix="peep-add-")
    try:
        digests = []
        for number, link in enumerate(chosen.values()):
            fetched = fetch(link, os.path.join(workdir, f"{number:04d}"), http)
            logger.debug("Hashed %s from %s", fetched.filename, redact_url(link.url))
            digests.append(fetched.digests["sha256"])
        return tuple(dict.fromkeys(digests))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class _IndexSession:
    """An index client for add and upgrade: pip's defaults, then the file, then the CLI."""

    def __init__(self, args: argparse.Namespace, path: str) -> None:
        environ = os.environ
        in_file = IndexOptions()
        if os.path.exists(path):
            in_file = load_reqfiles([path], environ=environ).options
        defaults = pip_defaults(environ)
        merged = (
            IndexOptions(
                index_url=defaults.index_url,
                extra_index_urls=tuple(defaults.extra_index_urls),
                find_links=tuple(defaults.find_links),
                no_index=defaults.no_index,
                trusted_hosts=tuple(defaults.trusted_hosts),
            )
            .overridden_by(in_file)
            .overridden_by(_index_options(args))
        )
        self.http = HttpClient(
            HttpSettings(
                cert=args.cert or defaults.cert,
                timeout=args.timeout if args.timeout is not None else defaults.timeout,
                retries=args.retries if args.retries is not None else defaults.retries,
                trusted_hosts=merged.trusted_hosts,
            )
        )
        urls = (
            []
            if merged.no_index
            else [merged.index_url or DEFAULT_INDEX_URL, *merged.extra_index_urls]
        )
        self.client = IndexClient(urls, list(merged.find_links), self.http)
        self.where = _index_names(self.client)

    def __enter__(self) -> _IndexSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()


def _index_names(client: IndexClient) -> str:
    names = [redact_url(u) for u in (*client.index_urls, *client.find_links_locations)]
    return ", ".join(names) or "no index"


# -- verify ---------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    hooks = _Hooks(verify_all=True)
    api.install(args.requirements, _options(args), observer=hooks)
    bad = [c for c in hooks.checks if not c.ok]
    for check in hooks.checks:
        text = check.render()
        if text:
            (logger.warning if not check.ok else logger.info)("%s", text)
    if bad:
        logger.error(
            "%d of %d requirements differ from what is installed.", len(bad), len(hooks.checks)
        )
        return EXIT_FAILED
    logger.info("All %d requirements are installed as verified.", len(hooks.checks))
    return EXIT_OK


# -- reports --------------------------------------------------------------------------------


def _write_report(
    path: str | None,
    hooks: _Hooks,
    command: Literal["install", "check"],
    result: api.InstallResult | None,
    out: TextIO,
) -> None:
    if not path:
        return
    run = hooks.run
    installed = {canonicalize_name(a.name) for a in result.installed} if result else set()
    if run is not None:
        skipped = result.skipped if result else run.skipped
        rows = jsonreport.records(
            run.verdicts,
            run.problems,
            installed=installed,
            skipped=skipped,
            not_applicable=run.not_applicable,
            sizes=hooks.sizes,
        )
        ok = not run.problems and all(v.kind == "ok" for v in run.verdicts)
        python: str | None = run.target.python
    else:
        rows = jsonreport.records(
            (),
            installed=installed,
            skipped=result.skipped if result else (),
            not_applicable=result.not_applicable if result else (),
        )
        ok, python = result is not None, None
    complete = hooks.completeness is None or hooks.completeness.complete
    # install: ok when it went through; check: when every hash and dependency checked out
    ok = result is not None if command == "install" else ok and complete
    report = jsonreport.build(command, rows, python=python, completeness=hooks.completeness, ok=ok)
    text = jsonreport.dumps(report)
    if path == "-":
        out.write(text)
        out.flush()
        return
    try:
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as exc:
        raise PeepError(f"cannot write the report {path}: {exc.strerror or exc}") from exc


__all__ = [
    "COMMANDS",
    "Filters",
    "completeness_of",
    "newest_version",
    "register",
    "run",
    "run_install",
]
