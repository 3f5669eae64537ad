"""Which file of a version each pinned hash belongs to: an index's files, or a lock's.

Only a run that looks files up needs this (``fetch`` for an index requirement, and
``lock.write``): a run the verified cache serves never loads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Callable

from peep_setuptools.archives import Link
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Algorithm, Digest


def advertised(link: Link, unplaced: Sequence[Digest] = ()) -> Mapping[Algorithm, Digest]:
    """The digests the index gives for ``link`` (hints: the bytes are what counts)."""
    return {digest.algorithm: digest for digest in link.hashes}


@frozen
class Placement:
    """Which files of a version carry a requirement's allowed hashes."""

    #: each file with an allowed hash, and the allowed hashes it has, in link order
    placed: tuple[tuple[Link, tuple[Digest, ...]], ...]
    #: the allowed hashes no file was seen to have
    unplaced: tuple[Digest, ...]
    #: False when some file's digest in the algorithm of an unplaced hash was not known
    certain: bool


#: (link, the allowed hashes not yet placed) -> the file's digests, as far as known
DigestSource = Callable[[Link, Sequence[Digest]], Mapping[Algorithm, Digest]]


def place_hashes(
    allowed: Sequence[Digest], files: Iterable[Link], digests_of: DigestSource = advertised
) -> Placement:
    """Find the file each allowed hash belongs to; stop once every hash has one.

    ``digests_of`` gives a file's digests: the index's advertised ones by default, or
    (for a lock file) the downloaded bytes' when the index does not say enough.
    """
    unplaced = list(allowed)
    placed: dict[str, tuple[Link, tuple[Digest, ...]]] = {}
    certain = True
    for link in files:
        if link.filename in placed or not unplaced:
            continue
        digests = digests_of(link, unplaced)
        if any(d.algorithm not in digests for d in unplaced):
            certain = False
        matched = tuple(
            d for d in allowed if d.algorithm in digests and digests[d.algorithm].matches(d)
        )
        if matched:
            unplaced = [d for d in unplaced if d not in matched]
            placed[link.filename] = (link, matched)
    return Placement(tuple(placed.values()), tuple(unplaced), certain)


def unplaced_message(
    location: str, pinned: str, where: str, unplaced: Sequence[Digest], files: Sequence[Link]
) -> str:
    """Say that no file of the version has these allowed hashes (a typo, or a stale pin)."""
    hashes = ", ".join(str(d) for d in unplaced)
    names = ", ".join(dict.fromkeys(link.filename for link in files))
    return (
        f"{location}: {pinned}: no file of this version on {where} has the allowed "
        f"hash {hashes} (files: {names}); remove the hash or correct it"
    )
