"""Choosing, from a parsed PEP 751 lock file, the file to install for one interpreter (pure).

Markers (with the lock's extras and dependency groups), ``requires-python`` and wheel tags
decide; every applicable package becomes one ``ReqLine`` with a URL and its strongest hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from packaging.markers import Marker
from packaging.tags import Tag
from packaging.utils import (
    NormalizedName,
)
from packaging.version import Version

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.lock.model import (
    LockedFile,
    LockedPackage,
    LockFile,
    LockLocation,
    LockSelection,
)
from peep_setuptools.requirements.spec import ReqLine
from peep_setuptools.target import MarkerEnvironment, MarkerEvaluationError, evaluate_marker


def _applies(marker: Marker, environment: MarkerEnvironment, where: str) -> bool:
    try:
        return evaluate_marker(marker, environment, lock_file=True)
    except MarkerEvaluationError as exc:
        raise RequirementsFileError(
            f"{where}: cannot evaluate the marker {marker}: {exc}"
        ) from None


def select_files(
    lock: LockFile,
    *,
    marker_env: Mapping[str, str],
    tags: Sequence[Tag],
    python_version: Version,
    only_binary: frozenset[str] = frozenset(),
    extras: Sequence[str] = (),
    groups: Sequence[str] | None = None,
) -> LockSelection:
    """Choose, for each package that applies to the target, the file to install (pure).

    ``tags`` is the target's wheel tags, most preferred first. The best wheel wins, then
    the sdist, then the archive. ``groups`` defaults to the lock's ``default-groups``.
    Raises RequirementsFileError when the lock as a whole does not fit the target
    (requires-python, environments) or locks one project twice for it; a package with no
    fitting file is returned among ``problems``.
    """
    environment: MarkerEnvironment = {
        **marker_env,
        "extra": "",
        "extras": frozenset(extras),
        "dependency_groups": frozenset(lock.default_groups if groups is None else groups),
    }
    python = marker_env.get("python_full_version", str(python_version))
    _check_lock_fits(lock, environment, python_version, python)
    rank = {tag: i for i, tag in reversed(list(enumerate(tags)))}
    chosen: list[ReqLine] = []
    skipped: list[ReqLine] = []
    problems: list[tuple[ReqLine, str]] = []
    seen: dict[NormalizedName, str] = {}
    for package in lock.packages:
        location = LockLocation(lock.path, 0, package.key)
        if package.marker is not None and not _applies(
            package.marker, environment, f"{location}.marker"
        ):
            skipped.append(_requirement(package, location, None))
            continue
        if package.name in seen:
            raise RequirementsFileError(
                f"{location}: {package.display_name} is locked again for this interpreter "
                f"(also at {seen[package.name]}); their markers must not both apply"
            )
        seen[package.name] = package.key
        binary_only = package.name in only_binary or ":all:" in only_binary
        picked = _choose(package, rank, binary_only, python_version, python)
        if isinstance(picked, str):
            problems.append((_requirement(package, location, None), picked))
        else:
            index_file = picked.kind != "archive" and package.version is not None
            where = LockLocation(lock.path, 0, picked.key, index_file=index_file)
            chosen.append(_requirement(package, where, picked))
    return LockSelection(tuple(chosen), tuple(skipped), tuple(problems))


def _choose(
    package: LockedPackage,
    rank: Mapping[Tag, int],
    only_binary: bool,
    python_version: Version,
    python: str,
) -> LockedFile | str:
    """The package's file for the target, or why it has none."""
    if package.requires_python is not None and not package.requires_python.contains(
        python_version, prereleases=True
    ):
        return (
            f"{package.display_name} requires Python {package.requires_python}, "
            f"and the target is Python {python}"
        )
    return _pick(package, rank, only_binary)


def _check_lock_fits(
    lock: LockFile, environment: MarkerEnvironment, python_version: Version, python: str
) -> None:
    """Raise RequirementsFileError unless the lock as a whole is for the target."""
    if lock.requires_python is not None and not lock.requires_python.contains(
        python_version, prereleases=True
    ):
        raise RequirementsFileError(
            f"{lock.path}: requires-python: the lock is for Python {lock.requires_python}, "
            f"and the target is Python {python}"
        )
    if lock.environments and not any(
        _applies(m, environment, f"{lock.path}: environments") for m in lock.environments
    ):
        raise RequirementsFileError(
            f"{lock.path}: environments: none of the locked environments "
            f"({'; '.join(str(m) for m in lock.environments)}) is the target's"
        )


def _pick(package: LockedPackage, rank: Mapping[Tag, int], only_binary: bool) -> LockedFile | str:
    """The best file, or why there is none."""
    best: tuple[int, LockedFile] | None = None
    for wheel in package.wheels:
        ranks = [rank[tag] for tag in wheel.tags if tag in rank]
        if ranks and (best is None or min(ranks) < best[0]):
            best = (min(ranks), wheel)
    if best is not None:
        return best[1]
    if only_binary:
        return f"{package.display_name} has no wheel for this interpreter (--only-binary)"
    if package.sdist is not None:
        return package.sdist
    if package.archive is not None:
        return package.archive
    files = ", ".join(w.filename for w in package.wheels)
    return f"{package.display_name} has no wheel for this interpreter and no sdist ({files})"


def _requirement(
    package: LockedPackage, location: LockLocation, file: LockedFile | None
) -> ReqLine:
    """The requirement the rest of the pipeline handles: a URL with its strongest hash."""
    version = package.version
    if file is not None and version is None and file.kind != "archive":
        version = file.named_version
    text = f"{package.display_name}=={version}" if version else package.display_name
    return ReqLine(
        location=location,
        text=text,
        name=package.name,
        display_name=package.display_name,
        version=version,
        url=file.url if file is not None else None,
        extras=(),
        marker=None,  # already evaluated, with the lock's extras and groups
        digests=file.digests[:1] if file is not None else (),
        hash_style="pip",
    )


def is_locked_release(req: ReqLine) -> bool:
    """True for a lock file's wheel or sdist: a release of a version, like ``name==version``.

    Such an entry installed at its locked version need not be installed again; an
    ``archive`` entry (any URL, like a URL requirement) always is.
    """
    location = req.location
    return isinstance(location, LockLocation) and location.key.rsplit(".", 1)[-1] != "archive"
