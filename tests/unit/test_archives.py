"""The bottom layer's archive helpers, directly: which names are archives, which files are a
version's, and which file each pinned hash belongs to (what gets downloaded for a pin).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from peep_setuptools.archives import Link, files_of, is_archive_name, safe_filename, sdist_suffix
from peep_setuptools.hashes import Algorithm, Digest
from peep_setuptools.placing import place_hashes, unplaced_message

A, B, C = (Digest("sha256", c * 64) for c in "abc")
A512 = Digest("sha512", "a" * 128)


def _link(filename: str, *hashes: Digest) -> Link:
    return Link(url=f"https://idx.example/f/{filename}", filename=filename, hashes=hashes)


@pytest.mark.parametrize(
    ("name", "archive", "suffix"),
    [
        ("p-1.0-py3-none-any.whl", True, None),
        ("P-1.0-PY3-NONE-ANY.WHL", True, None),
        ("p-1.0.tar.gz", True, ".tar.gz"),
        ("p-1.0.TAR.GZ", True, ".TAR.GZ"),  # in its own spelling
        ("p-1.0.tar", True, ".tar"),
        ("p-1.0.tgz", True, ".tgz"),
        ("p-1.0.tar.bz2", True, ".tar.bz2"),
        ("p-1.0.tar.xz", True, ".tar.xz"),
        ("p-1.0.zip", True, ".zip"),
        ("p-1.0.egg", False, None),
        ("p-1.0.exe", False, None),
        ("p-1.0.tar.gz.asc", False, None),
        ("p-1.0.whl.metadata", False, None),
        ("p-1.0", False, None),
    ],
)
def test_archive_names_and_sdist_suffixes(name: str, archive: bool, suffix: str | None) -> None:
    assert is_archive_name(name) is archive
    assert sdist_suffix(name) == suffix


def test_files_of_a_version_are_those_whose_filename_says_so() -> None:
    links = [
        _link("foo-1.0-py3-none-any.whl"),
        _link("Foo_Bar-1.0.tar.gz"),
        _link("foo-1.0.0.zip"),  # the same version, spelled otherwise
        _link("foo-1.01-py3-none-any.whl"),
        _link("foo-10.tar.gz"),
        _link("foobar-1.0.tar.gz"),
        _link("foo-1.0.tar.gz.asc"),
        _link("foo-1.0.exe"),
        _link("foo-1.0-py3-none-any.whl"),  # again: kept, in order
    ]
    found = files_of(links, canonicalize_name("foo"), Version("1.0"))
    assert [link.filename for link in found] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.0.0.zip",
        "foo-1.0-py3-none-any.whl",
    ]
    bar = files_of(links, canonicalize_name("foo-bar"), Version("1.0"))
    assert [link.filename for link in bar] == ["Foo_Bar-1.0.tar.gz"]


def test_each_pinned_hash_is_placed_on_the_file_that_has_it() -> None:
    whl, sdist, other = (
        _link("p-1.0-py3-none-any.whl", B),
        _link("p-1.0.tar.gz", A, A512),
        _link("p-1.0-cp311-cp311-linux_x86_64.whl", C),
    )
    placement = place_hashes([A, B], [whl, sdist, other])
    assert placement.placed == ((whl, (B,)), (sdist, (A,)))
    assert placement.unplaced == ()
    assert placement.certain
    # One file may carry several pins (of several algorithms).
    both = place_hashes([A, A512], [whl, sdist, other])
    assert both.placed == ((sdist, (A, A512)),)
    assert both.unplaced == ()
    assert not both.certain  # the first wheel's sha512 was not known


def test_a_hash_no_file_has_stays_unplaced() -> None:
    files = [_link("p-1.0.tar.gz", A), _link("p-1.0-py3-none-any.whl", B)]
    placement = place_hashes([C], files)
    assert placement.placed == ()
    assert placement.unplaced == (C,)
    assert placement.certain  # every file's sha256 was known: C is on none of them


def test_a_file_whose_digest_is_not_known_makes_the_placement_uncertain() -> None:
    files = [_link("p-1.0.tar.gz"), _link("p-1.0-py3-none-any.whl", B)]
    placement = place_hashes([A, B], files)
    assert placement.placed == ((files[1], (B,)),)
    assert placement.unplaced == (A,)
    assert not placement.certain


def test_an_index_hash_of_another_algorithm_never_matches() -> None:
    same_hex = Digest("sha384", "a" * 96)
    placement = place_hashes([A], [_link("p-1.0.tar.gz", same_hex)])
    assert placement.unplaced == (A,)
    assert not placement.certain


def test_placement_stops_asking_once_every_hash_is_placed() -> None:
    asked: list[str] = []

    def digests_of(link: Link, unplaced: Sequence[Digest]) -> Mapping[Algorithm, Digest]:
        asked.append(link.filename)
        assert unplaced  # never asked about a file when nothing is left to place
        return {digest.algorithm: digest for digest in link.hashes}

    files = [_link("p-1.0.tar.gz", A), _link("p-1.0.zip", B), _link("p-1.0.tar.gz", B)]
    placement = place_hashes([A, B], files, digests_of)
    assert asked == ["p-1.0.tar.gz", "p-1.0.zip"]
    assert placement.placed == ((files[0], (A,)), (files[1], (B,)))


def test_unplaced_message() -> None:
    files = [_link("p-1.0.tar.gz"), _link("p-1.0.tar.gz"), _link("p-1.0-py3-none-any.whl")]
    assert unplaced_message("reqs.txt:3", "p==1.0", "https://idx.example/simple/", [A], files) == (
        f"reqs.txt:3: p==1.0: no file of this version on https://idx.example/simple/ has the "
        f"allowed hash sha256:{'a' * 64} (files: p-1.0.tar.gz, p-1.0-py3-none-any.whl); "
        "remove the hash or correct it"
    )


# -- a filename an index names, before it is written to disk --------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "foo-1.0.tar.gz",
        "foo-1.0.zip",
        "Foo-1.0.TAR.GZ",
        "foo-1.0-py3-none-any.whl",
        "foo-1.tgz",
        "foo-1.tar.bz2",
        "foo-1.tar.xz",
        "foo-1.tar",
    ],
)
def test_safe_filename_accepts(name):
    assert safe_filename(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".whl",
        ".tar.gz",
        "../foo-1.0.tar.gz",
        "a/foo-1.0.tar.gz",
        "a\\foo-1.0.tar.gz",
        "foo..1.tar.gz",
        "foo\x00-1.0.tar.gz",
        "foo\n1.tar.gz",
        "foo-1.0.exe",
        "c:foo-1.0.zip",
        "x" * 300 + ".whl",
        ".hidden-1.0.whl",
    ],
)
def test_safe_filename_rejects(name):
    assert safe_filename(name) is None
