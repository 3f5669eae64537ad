"""``peep verify``'s reading of a verified wheel's RECORD, directly: which paths it compares.

A RECORD comes from the verified wheel, but its author chose its rows: a row that climbs out
of site-packages, names an absolute path or uses backslashes must never become a file peep
compares (or skips) on the target, and what an installer writes itself is not "added".
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from packaging.utils import canonicalize_name

from peep_setuptools.checks.claims import claiming
from peep_setuptools.checks.datafiles import placed_data
from peep_setuptools.checks.installed import _expected_files, _installer_made, _safe
from peep_setuptools.checks.metadata import ArchiveReadError
from peep_setuptools.checks.record import (
    RecordEntry,
    _record_digest,
    parse_record,
    with_member_hashes,
)
from peep_setuptools.hashes import Digest


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


X = Digest("sha256", hashlib.sha256(b"x").hexdigest())


def test_parse_record_reads_rows_and_keeps_bad_hashes_as_none() -> None:
    text = (
        f"a/b.py,sha256={_b64(b'x')},1\n"
        "\n"  # blank line
        f",sha256={_b64(b'x')},1\n"  # no path: skipped
        "c.py,,\n"  # RECORD's own row: no hash, no size
        "d.py,md5=AAAA,3\n"  # not an algorithm peep trusts
        "e.py,sha256=!!,x\n"  # not base64, not a size
        "f.py\n"  # path only
        f'"g,h.py",sha256={_b64(b"x")},12\n'  # CSV quoting
    )
    assert parse_record(text) == (
        RecordEntry("a/b.py", X, 1),
        RecordEntry("c.py", None, None),
        RecordEntry("d.py", None, 3),
        RecordEntry("e.py", None, None),
        RecordEntry("f.py", None, None),
        RecordEntry("g,h.py", X, 12),
    )


@pytest.mark.parametrize(
    ("value", "digest"),
    [
        (f"sha256={_b64(b'x')}", X),
        (f"sha256={_b64(b'x')}==", X),  # padded
        ("sha256", None),  # no "="
        ("sha256=", None),  # empty
        (f"sha256={_b64(b'x')[:-4]}", None),  # too short for a sha256
        (f"md5={_b64(b'x')}", None),
        (f"nope={_b64(b'x')}", None),
        ("sha256=not*base64", None),
    ],
)
def test_record_digest(value: str, digest: Digest | None) -> None:
    assert _record_digest(value) == digest


@pytest.mark.parametrize(
    ("path", "safe"),
    [
        ("pkg/mod.py", True),
        ("pkg-1.0.dist-info/METADATA", True),
        ("pkg/..hidden/x.py", True),  # a name that starts with dots is not ".."
        ("/etc/passwd", False),
        ("../../bin/python", False),
        ("pkg/../../outside.py", False),
        ("pkg/..", False),
        ("..", False),
        ("pkg\\..\\..\\x.py", False),
        ("C:\\x.py", False),
    ],
)
def test_safe_record_paths(path: str, safe: bool) -> None:
    assert _safe(path) is safe


def test_expected_files_compare_only_safe_hashed_site_paths() -> None:
    record = (
        RecordEntry("pkg/__init__.py", X, 1),
        RecordEntry("pkg-1.0.dist-info/RECORD", None, None),  # no hash: not compared
        RecordEntry("pkg-1.0.data/purelib/extra.py", X, 1),  # lands in site-packages
        RecordEntry("pkg-1.0.data/platlib/native/mod.py", X, 1),
        RecordEntry("pkg-1.0.data/scripts/tool", X, 1),  # rewritten by the installer
        RecordEntry("pkg-1.0.data/data/share/x", X, 1),  # lands outside site-packages
        RecordEntry("pkg-1.0.data/purelib", X, 1),  # no file inside the scheme
        RecordEntry("../outside.py", X, 1),
        RecordEntry("/abs.py", X, 1),
        RecordEntry("pkg\\win.py", X, 1),
        RecordEntry("pkg-1.0.data/purelib/../../../escape.py", X, 1),
    )
    expected, unchecked = _expected_files(record)
    assert expected == {"pkg/__init__.py": X, "extra.py": X, "native/mod.py": X}
    assert unchecked == [
        "pkg-1.0.data/scripts/tool",
        "pkg-1.0.data/data/share/x",
        "pkg-1.0.data/purelib",
    ]


@pytest.mark.parametrize(
    ("path", "made"),
    [
        ("pkg/__pycache__/mod.cpython-311.pyc", True),
        ("pkg-1.0.dist-info/INSTALLER", True),
        ("pkg-1.0.dist-info/REQUESTED", True),
        ("pkg-1.0.dist-info/RECORD", True),
        ("pkg-1.0.dist-info/direct_url.json", True),
        ("pkg-1.0.dist-info/uv_cache.json", True),
        # not the installer's: the same names elsewhere, or other files
        ("pkg/__pycache__/notes.txt", False),
        ("pkg/mod.pyc", False),
        ("pkg/INSTALLER", False),
        ("pkg-1.0.dist-info/sub/INSTALLER", False),
        ("pkg-1.0.dist-info/METADATA", False),
        ("pkg-1.0.dist-info/evil.pth", False),
    ],
)
def test_installer_made_files(path: str, made: bool) -> None:
    assert _installer_made(path) is made


def test_placed_data_splits_site_packages_from_the_rest() -> None:
    digest = Digest.from_hex("sha256", "ab" * 32)
    record = [
        RecordEntry("d-1.0.data/data/lib/python3.11/site-packages/d.pth", digest, 1),
        RecordEntry("d-1.0.data/data/bin/tool", digest, 1),
        RecordEntry("d-1.0.data/data/../escape", digest, 1),  # never placed
        RecordEntry("d-1.0.data/data/share/nohash", None, None),
        RecordEntry("d-1.0.data/headers/d.h", digest, 1),  # not the data scheme
        RecordEntry("d/__init__.py", digest, 1),
    ]
    inside, outside, members = placed_data(record, "/v", "/v/lib/python3.11/site-packages")
    assert inside == {"d.pth": digest}
    assert outside == {"bin/tool": digest}
    assert members == {
        "d-1.0.data/data/lib/python3.11/site-packages/d.pth",
        "d-1.0.data/data/bin/tool",
    }
    assert placed_data(record, "", "/v/lib") == ({}, {}, frozenset())


def test_claiming_lists_the_other_entries_that_name_the_project(tmp_path) -> None:
    for entry in (
        "my_proj-1.0.dist-info",  # the wheel's own
        "My.Proj-0.9.dist-info",
        "my_proj-1.0-py3.11.egg-info",
        "my-proj.egg-link",
        "__editable__.my_proj-1.0.pth",
        "my_proj.pth",  # a project's own .pth is in its RECORD
        "my_project-1.0.dist-info",
        "my_proj",
    ):
        (tmp_path / entry).mkdir()
    found = claiming(str(tmp_path), canonicalize_name("my-proj"), {"my_proj-1.0.dist-info"})
    assert found == [
        "My.Proj-0.9.dist-info",
        "__editable__.my_proj-1.0.pth",
        "my-proj.egg-link",
        "my_proj-1.0-py3.11.egg-info",
    ]
    assert claiming(str(tmp_path / "nowhere"), canonicalize_name("my-proj"), ()) == []


def test_members_without_a_hash_are_hashed_from_the_wheel() -> None:
    def read(member: str) -> bytes:
        if member == "gone.py":
            raise ArchiveReadError("it has no gone.py")
        return b"data"

    record = parse_record("m.py,,\ngone.py,,\nd-1.dist-info/RECORD,,\n")
    digest = Digest.from_hex("sha256", hashlib.sha256(b"data").hexdigest())
    assert with_member_hashes(record, read) == (
        RecordEntry("m.py", digest, 4),
        RecordEntry("gone.py", None, None),
        RecordEntry("d-1.dist-info/RECORD", None, None),
    )
