"""One read of a wheel's zip directory serves every later look, and reads as zipfile does."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from support.builders import unpackable_wheel, write_wheel

from peep_setuptools.checks import wheelfacts
from peep_setuptools.checks.metadata import read_dependencies
from peep_setuptools.checks.wheelfacts import OpenedWheel, read_wheel_facts
from peep_setuptools.hashes import Digest
from peep_setuptools.installing.batches import _writes
from peep_setuptools.installing.handoff import VerifiedArchive
from peep_setuptools.installing.verdicts import Verdict, with_facts
from peep_setuptools.requirements.spec import Location, ReqLine


def _read_all(wheel: zipfile.ZipFile | OpenedWheel) -> list[tuple[str, bytes | str]]:
    out: list[tuple[str, bytes | str]] = []
    for info in wheel.infolist():
        try:
            with wheel.open(info) as stream:
                out.append((info.filename, stream.read()))
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as exc:
            out.append((info.filename, type(exc).__name__))
    return out


def _members_as_zipfile_reads_them(path: Path) -> list[tuple[str, bytes | str]]:
    with zipfile.ZipFile(path) as wheel:
        return _read_all(wheel)


def _members_through_facts(path: Path) -> list[tuple[str, bytes | str]]:
    with read_wheel_facts(str(path)).opened(str(path)) as wheel:
        return _read_all(wheel)


@pytest.mark.parametrize(
    "how",
    ["crc", "encrypted", "compression", "cp437", "unicode-path", "prefix", "suffix", "local-crc"],
)
def test_members_read_through_the_facts_as_zipfile_reads_them(tmp_path, how):
    path = unpackable_wheel(tmp_path, how)
    assert _members_through_facts(path) == _members_as_zipfile_reads_them(path)


def test_a_local_header_naming_another_file_is_refused_as_zipfile_refuses_it(tmp_path):
    path = write_wheel(tmp_path, "odd", "1.0", {"odd.py": b"X = 1\n"})
    data = bytearray(path.read_bytes())
    local = data.index(b"PK\x03\x04")
    data[local + 30 : local + 36] = b"odz.py"  # the local header's name only
    path.write_bytes(bytes(data))
    assert _members_through_facts(path) == _members_as_zipfile_reads_them(path)
    assert _members_through_facts(path)[0] == ("odd.py", "BadZipFile")


def test_repeated_names_open_the_last_entry_as_zipfile_does(tmp_path):
    path = tmp_path / "twice-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel, pytest.warns(UserWarning):
        wheel.writestr("twice.py", b"first\n")
        wheel.writestr("twice.py", b"second\n")
    facts = read_wheel_facts(str(path))
    with facts.opened(str(path)) as wheel, wheel.open("twice.py") as stream:
        assert stream.read() == b"second\n"


def _deflated(tmp_path: Path, metadata: bytes) -> Path:
    path = tmp_path / "zdemo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        wheel.writestr("zdemo-1.0.dist-info/METADATA", metadata)
    return path


def _metadata_patched(tmp_path: Path, kind: str) -> Path:
    """A wheel zipfile cannot read the METADATA of: it raises what is not BadZipFile."""
    if kind == "lzma":  # a broken LZMA stream: lzma.LZMAError
        path = tmp_path / "zdemo-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_LZMA) as wheel:
            wheel.writestr("zdemo-1.0.dist-info/METADATA", b"Name: zdemo\n" * 50)
        data = bytearray(path.read_bytes())
        start = data.index(b"PK\x03\x04") + 30 + len("zdemo-1.0.dist-info/METADATA")
        data[start + 4 : start + 40] = b"\xff" * 36
        path.write_bytes(bytes(data))
        return path
    path = _deflated(tmp_path, b"Metadata-Version: 2.1\nName: zdemo\nVersion: 1.0\n")
    data = bytearray(path.read_bytes())
    for header, at in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):
        start = data.index(header)
        if kind == "version":  # zip file version 9.9: NotImplementedError
            data[start + 4 + at] = 99
        if kind == "method":  # an unknown compression: NotImplementedError
            data[start + 8 + at] = 99
        if kind == "encrypted":  # RuntimeError
            data[start + 6 + at] |= 1
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(
    "kind",
    [
        *("plain", "requires", "no-metadata", "not-a-zip", "deflate"),
        *("version", "method", "encrypted", "lzma"),
    ],
)
def test_dependencies_from_the_facts_are_those_read_from_the_file(tmp_path, kind):
    if kind in ("version", "method", "encrypted", "lzma"):  # raised out of the run: exit 3
        path = _metadata_patched(tmp_path, kind)
    elif kind == "not-a-zip":
        path = tmp_path / "junk-1.0-py3-none-any.whl"
        path.write_bytes(b"not a zip")
    elif kind == "no-metadata":
        path = tmp_path / "bare-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as wheel:
            wheel.writestr("bare/__init__.py", b"")
    elif kind == "deflate":  # a broken deflate stream: zlib.error, once uncaught
        path = _deflated(tmp_path, b"Metadata-Version: 2.1\nName: zdemo\nVersion: 1.0\n" * 3)
        data = bytearray(path.read_bytes())
        data[data.index(b"PK\x03\x04") + 30 + len("zdemo-1.0.dist-info/METADATA")] = 0xFF
        path.write_bytes(bytes(data))
    else:
        requires = ["other>=1", "more; python_version<'3'"] if kind == "requires" else []
        path = write_wheel(tmp_path, "demo", "1.0", {"demo.py": b""}, requires_dist=requires)
    facts = read_wheel_facts(str(path))
    assert facts.dependencies(str(path)) == read_dependencies(str(path))
    if kind in ("plain", "requires"):
        assert facts.dependencies(str(path)).requires is not None
    else:
        assert facts.dependencies(str(path)).requires is None


def _ok(path: Path) -> Verdict:
    name = path.name.split("-")[0]
    req = ReqLine(
        location=Location("reqs.txt", 1),
        text=f"{name}==1.0",
        name=name,
        display_name=name,
        version="1.0",
        url=None,
        extras=(),
        marker=None,
        digests=(),
        hash_style="pip",
    )
    digest = {"sha256": Digest("sha256", "a" * 64)}
    return Verdict(req, "ok", digest, "file:///x", path.name, str(path))


def test_directories_are_kept_only_while_the_wheels_may_be_split(tmp_path, monkeypatch):
    # 400 wheels of 10,000 members each would keep ~2 GB of ZipInfo for the whole run;
    # above what is ever split, only what the other looks need is kept.
    files = {f"m/m{i:03d}.py": b"x = 1\n" for i in range(300)}
    wheels = [write_wheel(tmp_path, f"w{n}", "1.0", files) for n in range(3)]
    small = with_facts([_ok(w) for w in wheels])
    assert all(v.facts and v.facts.directory_kept and len(v.facts.members) > 300 for v in small)
    # past the limit on the third wheel: the two kept before it are dropped too
    monkeypatch.setattr(wheelfacts, "MEMBERS_KEPT_AT_MOST", 2 * 302 + 150)
    many = with_facts([_ok(w) for w in wheels])
    assert all(v.facts and not v.facts.directory_kept and not v.facts.members for v in many)
    monkeypatch.setattr(wheelfacts, "MEMBERS_KEPT_AT_MOST", 10**6)
    monkeypatch.setattr(wheelfacts, "DIRECTORIES_KEPT_AT_MOST", 2 * wheels[0].stat().st_size)
    large = with_facts([_ok(w) for w in wheels])
    assert all(v.facts and not v.facts.directory_kept and not v.facts.members for v in large)
    for kept, dropped in zip(small, large):
        assert kept.facts and dropped.facts
        assert dropped.facts.sources == kept.facts.sources == (300, 1800)
        assert dropped.facts.dependencies("x") == kept.facts.dependencies("x")
    # split only below that size; a dropped directory is not read again: no split
    assert [_writes(VerifiedArchive.of(v), None) is None for v in small] == [False] * 3
    assert [_writes(VerifiedArchive.of(v), None) is None for v in large] == [True] * 3
