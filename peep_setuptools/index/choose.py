"""Pure: which archive of a pinned version to fetch, and why each other file was passed over."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, NamedTuple

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName
from packaging.version import Version

from peep_setuptools.archives import Link, files_of, parse_filename
from peep_setuptools.frozen import frozen
from peep_setuptools.hashes import Digest

#: why a file of the pinned version cannot be used here
Unfit = Literal["requires-python", "tags", "only-binary"]


class _Rank(NamedTuple):
    """A fitting file's sort key: lower is better."""

    yanked: bool
    unhinted: bool
    tag_rank: int


@frozen
class Choice:
    """The file to fetch for ``name==version`` (None if none fits) and the reasons."""

    link: Link | None
    #: why ``link`` was preferred; "" when there is no link
    reason: str
    #: every file of the version that cannot be used here, with why
    unfit: tuple[tuple[Link, Unfit], ...]
    #: files that fit but ranked below ``link``, with why
    passed_over: tuple[tuple[Link, str], ...]
    #: every file of the version, in the order of the links
    files: tuple[Link, ...]


def unfit_text(link: Link, why: Unfit) -> str:
    """Why ``link`` cannot be used here, in words."""
    if why == "requires-python":
        return f"Requires-Python {link.requires_python} excludes this Python"
    if why == "tags":
        return "built for another interpreter or platform"
    return "an sdist, refused by --only-binary"


def python_ok(requires_python: str | None, python_version: Version) -> bool:
    """Tell whether ``python_version`` is in the Requires-Python range (a broken one is ignored)."""
    if not requires_python:
        return True
    try:
        specifier = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True  # as pip does: a broken constraint is ignored, not obeyed
    return specifier.contains(python_version, prereleases=True)


def choose_archive(
    links: Iterable[Link],
    *,
    name: NormalizedName,
    version: Version,
    tags: Sequence[Tag],
    python_version: Version,
    allowed: Sequence[Digest],
    only_binary: bool,
) -> Choice:
    """Pick the archive to fetch for ``name==version``, saying why (pure).

    Candidates: that exact project and version, Python version accepted by
    Requires-Python, wheels whose tags we support, sdists unless ``only_binary``.
    Preference: not yanked, then an advertised hash among ``allowed``, then the
    wheel with the best tag (``tags`` is most preferred first), wheels before sdists,
    then the order of ``links``.
    """
    rank = tag_ranks(tags)
    allowed_set = set(allowed)
    unfit: list[tuple[Link, Unfit]] = []
    fitting: list[tuple[_Rank, Link]] = []
    files = tuple(files_of(links, name, version))
    for link in files:
        tag_rank, why = _fit(link, rank, python_version, only_binary)
        if why is not None:
            unfit.append((link, why))
            continue
        hinted = any(digest in allowed_set for digest in link.hashes)
        fitting.append((_Rank(link.yanked, not hinted, tag_rank), link))
    if not fitting:
        return Choice(None, "", tuple(unfit), (), files)
    best_key, best = min(fitting, key=lambda item: item[0])
    passed_over = tuple(
        (link, _why_lower(key, best_key)) for key, link in fitting if link is not best
    )
    reason = _why_best(best_key, best, hinted_any=any(not k.unhinted for k, _ in fitting))
    return Choice(best, reason, tuple(unfit), passed_over, files)


#: the last (tags, ranks): every requirement of a run asks with the same target's tags
_last_ranks: tuple[Sequence[Tag], dict[Tag, int]] | None = None


def tag_ranks(tags: Sequence[Tag]) -> dict[Tag, int]:
    """Each tag's preference (0 is best); the dict of a target's ~1000 tags is made once.

    Building it took ~0.2 ms, on every requirement of a run and for each cached archive too.
    Only an immutable tuple is remembered (by identity, so no hashing of it either).
    """
    global _last_ranks  # a one-entry memo; replacing it is atomic
    last = _last_ranks
    if last is not None and last[0] is tags:
        return last[1]
    rank = {tag: i for i, tag in reversed(list(enumerate(tags)))}
    if isinstance(tags, tuple):
        _last_ranks = (tags, rank)
    return rank


def _fit(
    link: Link, rank: dict[Tag, int], python_version: Version, only_binary: bool
) -> tuple[int, Unfit | None]:
    """(tag rank, None) for a file that fits; (0, why not) for one that does not."""
    if not python_ok(link.requires_python, python_version):
        return 0, "requires-python"
    parsed = parse_filename(link.filename)
    if link.is_wheel and parsed is not None:
        ranks = [rank[tag] for tag in parsed.tags if tag in rank]
        return (min(ranks), None) if ranks else (0, "tags")
    if only_binary:
        return 0, "only-binary"
    return len(rank), None  # after every wheel


def _why_best(key: _Rank, link: Link, *, hinted_any: bool) -> str:
    kind = "the wheel that best fits this interpreter" if link.is_wheel else "the sdist"
    if not key.unhinted:
        why = "the index gives it an allowed hash"
    elif hinted_any:
        why = kind
    else:
        why = f"{kind}; the index gives no file an allowed hash"
    return why + (" (yanked, but no other file fits)" if key.yanked else "")


def _why_lower(key: _Rank, best: _Rank) -> str:
    if key.yanked and not best.yanked:
        return "yanked"
    if key.unhinted and not best.unhinted:
        return "the index gives it no allowed hash"
    return "fits this interpreter less well" if key.tag_rank > best.tag_rank else "listed later"
