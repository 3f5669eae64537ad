"""``peep add | upgrade`` and ``check --fix``: pin versions with hashes.

Only those commands load this module (and the editing code); their options are
``commands``'s, which every ``peep`` command builds.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from peep_setuptools.archives import parse_filename
from peep_setuptools.errors import EXIT_OK, IndexLookupError, PeepError, UsageError
from peep_setuptools.frontend.options import filters_of, index_options
from peep_setuptools.frontend.running import index_of
from peep_setuptools.hashes import Digest, hash_file
from peep_setuptools.lock.names import is_lock_file
from peep_setuptools.requirements.editing import Edit, NewRequirement, apply_edit, plan_edit
from peep_setuptools.requirements.files import load_reqfiles
from peep_setuptools.requirements.lines import IndexOptions, parse_reqfile
from peep_setuptools.requirements.spec import ReqLine

# The network half (picking, pinning, settings: http, ssl, index pages) is imported by the
# functions that use it: ``peep install`` builds its parser from this module, and a no-op
# run, where everything is installed, must not pay for it.
if TYPE_CHECKING:
    from peep_setuptools.installing.picking import Filters, Pins
    from peep_setuptools.values import Verified

logger = logging.getLogger(__name__)


# -- check --fix --------------------------------------------------


def fix_missing(pins: Pins, filters: Filters) -> bool:
    """Write the pins of missing dependencies into their files; True if all were found."""
    from peep_setuptools.installing.picking import TOFU_NOTE

    for path, news in pins.by_file:
        edit = plan_edit(path, news, style=filters.style)
        logger.warning("Adding to %s:\n%s", path, edit.diff().rstrip())
        apply_edit(edit)
    if pins.by_file:
        logger.warning(
            "%s\nThe added projects may need more; run peep check again.",
            TOFU_NOTE.format(where=pins.where),
        )
    for clause in pins.unfound:
        logger.error("%s", clause)
    return not pins.unfound


def refuse_lock_files(paths: Sequence[str], command: str) -> None:
    """Raise UsageError if any of ``paths`` is a lock file, which ``command`` cannot edit."""
    from peep_setuptools.installing.report import LOCK_ONLY

    for path in paths:
        if is_lock_file(path) or path.endswith(".toml"):
            raise UsageError(f"peep {command} does not edit {path}: {LOCK_ONLY}")


def fix_build_requirements(run: Verified, path: str, filters: Filters) -> None:
    """--strict --fix: pin the build dependencies no file pins, in ``path``, as ``peep add``."""
    from peep_setuptools.installing.picking import TOFU_NOTE, hash_version

    with index_of(run) as client:
        news = [
            NewRequirement(
                v.requirement.display_name,
                str(v.requirement.version),
                hash_version(
                    client,
                    client.http,
                    v.requirement.name,
                    Version(str(v.requirement.version)),
                    filters,
                ),
            )
            for v in run.build_proposed
        ]
    # A new file gets pip's format, as the missing-hash block shows; else the file's own.
    empty = not os.path.exists(path) or os.path.getsize(path) == 0
    edit = plan_edit(path, news, style=filters.style or ("pip" if empty else None))
    logger.warning("Adding to %s:\n%s", path, edit.diff().rstrip())
    apply_edit(edit)
    logger.warning(
        "%s\nReview the changes, then run peep check or install again with "
        "--build-requirements %s; a backend may still ask for more when it runs.",
        TOFU_NOTE.format(where=client.where),
        path,
    )


# -- add and upgrade ------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    """``peep add`` without --missing (``commands`` runs that as ``check --fix``)."""
    from peep_setuptools.installing.picking import TOFU_NOTE, hash_version, newest_version

    refuse_lock_files([args.requirement], "add")
    filters = filters_of(args)
    if not args.specs and not args.from_files:
        raise UsageError("name a project (NAME or NAME==VERSION) or give --from ARCHIVE")
    if args.from_files:
        news = _from_files(args.from_files, args.specs)
        edit = plan_edit(args.requirement, news, style=filters.style)
        apply_edit(edit)
        _say_added(news, edit)
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
            digests = hash_version(
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
        _say_added(news, edit)
        logger.warning("%s", TOFU_NOTE.format(where=session.where))
    return EXIT_OK


def run_upgrade(args: argparse.Namespace, out: TextIO) -> int:
    """``peep upgrade``: move one file's pins to the newest versions (--dry-run: the diff)."""
    from peep_setuptools.installing.picking import TOFU_NOTE, hash_version, newest_version

    refuse_lock_files([args.requirement], "upgrade")
    filters = filters_of(args)
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
            digests = hash_version(
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


def _say_added(news: Sequence[NewRequirement], edit: Edit) -> None:
    """Name each pin written; one that replaced a pin says which (``peep add`` replaces)."""
    body = edit.before[1:] if edit.before.startswith("\ufeff") else edit.before
    before = {e.name: e for e in parse_reqfile(body, path=edit.path) if isinstance(e, ReqLine)}
    for new in news:
        count = f"{len(new.digests)} hash{'' if len(new.digests) == 1 else 'es'}"
        old = before.get(new.key)
        if old is None:
            logger.info("Pinned %s==%s in %s with %s.", new.name, new.version, edit.path, count)
        else:
            logger.info(
                "Replaced %s==%s with %s==%s in %s, with %s.",
                old.display_name,
                old.version,
                old.display_name,
                new.version,
                edit.path,
                count,
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
        groups.setdefault((parsed.name, parsed.version), []).append(digest)
        spelled.setdefault(parsed.name, parsed.name)
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


class _IndexSession:
    """An index client for add and upgrade, on the settings every command resolves."""

    def __init__(self, args: argparse.Namespace, path: str) -> None:
        from peep_setuptools.installing.settings import resolve_settings

        environ = os.environ
        in_file = IndexOptions()
        if os.path.exists(path):
            in_file = load_reqfiles([path], environ=environ).options
        settings = resolve_settings(
            environ,
            in_file,
            index_options(args),
            cert=args.cert,
            timeout=args.timeout,
            retries=args.retries,
        )
        self.client = settings.open()
        self.http = self.client.http
        self.where = self.client.where

    def __enter__(self) -> _IndexSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
