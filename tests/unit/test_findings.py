"""The messages of finding an archive: pure, no server."""

from __future__ import annotations

from packaging.utils import canonicalize_name

from peep_setuptools.archives import Link
from peep_setuptools.index.pages import Found
from peep_setuptools.installing.findings import not_found
from peep_setuptools.requirements.spec import Location, ReqLine

WHERE = "https://idx.example/simple/"


def req(name: str, version: str) -> ReqLine:
    return ReqLine(
        location=Location("reqs.txt", 3),
        text=f"{name}=={version}",
        name=canonicalize_name(name),
        display_name=name,
        version=version,
        url=None,
        extras=(),
        marker=None,
        digests=(),
        hash_style="pip",
    )


def links(*filenames: str) -> tuple[Link, ...]:
    return tuple(Link(f"https://files.example/{f}", f) for f in filenames)


def test_versions_are_listed_as_versions_in_order():
    found = Found(links("foo-1.10.tar.gz", "foo-1.9.tar.gz", "foo-1.9-py3-none-any.whl"))
    assert not_found(req("Foo", "1.5"), found, WHERE) == (
        f"Foo==1.5 not found on {WHERE} (from versions: 1.9, 1.10)"
    )


def test_many_versions_are_cut_around_the_pin():
    found = Found(links(*(f"foo-1.{i}.tar.gz" for i in range(30))))
    assert not_found(req("foo", "1.15.1"), found, WHERE) == (
        f"foo==1.15.1 not found on {WHERE} (from versions: ..., 1.11, 1.12, 1.13, 1.14, 1.15, "
        "1.16, 1.17, 1.18, 1.19, 1.20, ...)"
    )
    assert not_found(req("foo", "0.1"), found, WHERE).endswith(
        "(from versions: 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, ...)"
    )
    assert not_found(req("foo", "9"), found, WHERE).endswith(
        "(from versions: ..., 1.20, 1.21, 1.22, 1.23, 1.24, 1.25, 1.26, 1.27, 1.28, 1.29)"
    )


def test_no_project_and_failed_sources():
    assert not_found(req("foo", "1.0"), Found(links("bar-1.0.tar.gz")), WHERE) == (
        f"foo==1.0 not found on {WHERE} (no project named foo)"
    )
    failed = ((WHERE, f"could not fetch {WHERE}foo/: HTTP 403 Forbidden"),)
    assert not_found(req("foo", "1.0"), Found((), failed), WHERE) == (
        f"foo==1.0: could not fetch {WHERE}foo/: HTTP 403 Forbidden"
    )
    assert not_found(req("foo", "1.0"), Found(links("foo-2.0.zip"), failed), WHERE) == (
        f"foo==1.0 not found on {WHERE} (from versions: 2.0); "
        f"could not fetch {WHERE}foo/: HTTP 403 Forbidden"
    )
