"""Compare each archive's digests with the hashes its requirement allows.

Pure, but for ``Verdict.with_facts``, which reads a verified wheel's zip directory once.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Literal

from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import ALGORITHMS, Algorithm, Digest, any_match
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.urls import redacting_repr

if TYPE_CHECKING:
    from peep_setuptools.checks.wheelfacts import WheelFacts

VerdictKind = Literal["ok", "missing", "mismatch"]


@redacting_repr
@frozen
class Verdict:
    """The outcome of checking one archive against one requirement."""

    requirement: ReqLine
    kind: VerdictKind
    #: the archive's digests, at least sha256 and every algorithm the requirement uses
    actual: Mapping[Algorithm, Digest]
    #: where the archive was fetched from (redacted), for messages
    url: str
    #: the archive's file name
    filename: str
    #: the local file that was hashed, the one that gets installed, while the run lasts;
    #: None in the values a run returns (``detached``): the run's folder is gone by then
    path: str | None
    #: the archive came from the verified cache (``url`` is then the cache file)
    from_cache: bool = False
    #: the archive's size in bytes (None: not known)
    size: int | None = None
    #: a verified wheel's zip directory and METADATA, read once for the stages after
    #: verification (``with_facts``); None for the others and in returned values
    facts: WheelFacts | None = field(default=None, compare=False, repr=False)

    @property
    def local_path(self) -> str:
        """``path``, for the stages inside the run (a returned verdict has none)."""
        if self.path is None:
            raise ValueError(f"{self.filename}: the run that fetched it has ended")
        return self.path

    def detached(self) -> Verdict:
        """The verdict as the library returns it: without the path its run removes."""
        return replace(self, path=None, facts=None)

    def without_directory(self) -> Verdict:
        """The verdict with its wheel's directory entries dropped (``with_facts``)."""
        return self if self.facts is None else replace(self, facts=self.facts.without_directory())

    def with_facts(self, *, keep_directory: bool = True) -> Verdict:
        """The verdict with its verified wheel's facts read (each wheel's zip once a run)."""
        if self.kind != "ok" or self.path is None or self.facts is not None:
            return self
        from peep_setuptools.checks.metadata import is_wheel
        from peep_setuptools.checks.wheelfacts import read_wheel_facts

        if not is_wheel(self.path):
            return self
        return replace(self, facts=read_wheel_facts(self.path, keep_directory=keep_directory))


def with_facts(verdicts: Sequence[Verdict]) -> tuple[Verdict, ...]:
    """``verdicts`` with their wheels' facts read; directories kept only if a split may use them.

    Wheels larger together than ``DIRECTORIES_KEPT_AT_MOST``, or with more members than
    ``MEMBERS_KEPT_AT_MOST``, are installed in one run: once the members pass it, the
    directories kept so far are dropped and no more are kept (never more than that many
    and one wheel's are held).
    """
    from peep_setuptools.checks.wheelfacts import DIRECTORIES_KEPT_AT_MOST, MEMBERS_KEPT_AT_MOST

    total = 0
    for verdict in verdicts:
        if verdict.kind == "ok" and verdict.path is not None:
            try:
                total += os.path.getsize(verdict.path)
            except OSError:
                total += DIRECTORIES_KEPT_AT_MOST + 1
    read: list[Verdict] = []
    keep = total <= DIRECTORIES_KEPT_AT_MOST
    members = 0
    for verdict in verdicts:
        verdict = verdict.with_facts(keep_directory=keep)
        if keep and verdict.facts is not None:
            members += len(verdict.facts.members)
            if members > MEMBERS_KEPT_AT_MOST:
                keep = False
                read = [v.without_directory() for v in read]
                verdict = verdict.without_directory()
        read.append(verdict)
    return tuple(read)


@redacting_repr
@frozen
class Problem:
    """A requirement whose archive could not be found or fetched."""

    requirement: ReqLine
    message: str


def algorithms_for(requirement: ReqLine) -> tuple[Algorithm, ...]:
    """Algorithms to compute while fetching: sha256 for reports, plus all the line uses."""
    wanted = {"sha256"} | {digest.algorithm for digest in requirement.digests}
    return tuple(algo for algo in ALGORITHMS if algo in wanted)


def verify(
    requirement: ReqLine,
    actual: Mapping[Algorithm, Digest],
    *,
    url: str,
    path: str,
    from_cache: bool = False,
    size: int | None = None,
) -> Verdict:
    """Judge one archive; any allowed hash matching is enough, as in pip and peep."""
    if not requirement.digests:
        kind: VerdictKind = "missing"
    elif any_match(requirement.digests, actual):
        kind = "ok"
    else:
        kind = "mismatch"
    filename = os.path.basename(path)
    return Verdict(requirement, kind, dict(actual), url, filename, path, from_cache, size)


def expected_display(requirement: ReqLine) -> list[str]:
    """The allowed hashes, each spelled as the file spells it."""
    return [d.display(requirement.hash_style) for d in requirement.digests]


def actual_display(requirement: ReqLine, actual: Mapping[Algorithm, Digest]) -> str:
    """The archive's hash in the file's spelling and algorithm (sha256 if it gives none)."""
    algos = [d.algorithm for d in requirement.digests] or ["sha256"]
    return actual[algos[0]].display(requirement.hash_style)
