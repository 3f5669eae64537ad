from __future__ import annotations

import io
import tarfile
import zipfile

import pytest
from support.builders import make_sdist, make_wheel

from peep_setuptools.checks import metadata
from peep_setuptools.checks.metadata import parse_metadata, read_dependencies


def test_wheel_requires_dist(tmp_path):
    path = make_wheel(
        tmp_path, "flask", "3.0.0", requires_dist=["werkzeug>=3.0.0", "x; extra == 'y'"]
    )
    deps = read_dependencies(str(path))
    assert (deps.name, deps.version) == ("flask", "3.0.0")
    assert [str(r) for r in deps.requires] == ["werkzeug>=3.0.0", 'x; extra == "y"']


def test_old_sdist_metadata_is_unknown(tmp_path):
    path = make_sdist(tmp_path, "beta", "1.0", telltale=tmp_path / "t", requires_dist=["a"])
    deps = read_dependencies(str(path))
    assert deps.requires is None
    assert "metadata 2.1" in deps.reason


def _sdist(tmp_path, pkg_info: str, name="s-1.0.tar.gz", top="s-1.0"):
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as archive:
        for arcname, text in {
            f"{top}/setup.py": "raise SystemExit",
            f"{top}/PKG-INFO": pkg_info,
        }.items():
            data = text.encode()
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def test_static_sdist_metadata_is_read_without_running_anything(tmp_path):
    path = _sdist(tmp_path, "Metadata-Version: 2.2\nName: s\nVersion: 1.0\nRequires-Dist: a>=1\n")
    assert [str(r) for r in read_dependencies(str(path)).requires] == ["a>=1"]


def test_dynamic_requires_dist_is_unknown(tmp_path):
    path = _sdist(
        tmp_path, "Metadata-Version: 2.2\nName: s\nVersion: 1.0\nDynamic: Requires-Dist\n"
    )
    deps = read_dependencies(str(path))
    assert deps.requires is None and "dynamic" in deps.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Metadata-Version: 2.1\nName: s\n", "metadata 2.1"),
        ("Name: s\n", "metadata of no version"),
        ("Metadata-Version: 2.3\nRequires-Dist: ==bad\n", "is not valid"),
    ],
)
def test_parse_metadata_unknown(text, reason):
    assert reason in parse_metadata(text, sdist=True).reason


def test_broken_and_oversized_archives_give_reasons_not_exceptions(tmp_path, monkeypatch):
    bad = tmp_path / "x-1.0-py3-none-any.whl"
    bad.write_bytes(b"not a zip")
    assert "not a readable wheel" in read_dependencies(str(bad)).reason
    nometa = tmp_path / "y-1.0-py3-none-any.whl"
    with zipfile.ZipFile(nometa, "w") as archive:
        archive.writestr("y/__init__.py", "")
    assert "no .dist-info/METADATA" in read_dependencies(str(nometa)).reason
    monkeypatch.setattr(metadata, "MAX_MEMBER_SIZE", 10)
    wheel = make_wheel(tmp_path, "z", "1.0")
    assert "larger than" in read_dependencies(str(wheel)).reason


def test_nested_pkg_info_is_not_taken(tmp_path):
    path = _sdist(tmp_path, "Metadata-Version: 2.2\nName: s\n", top="s-1.0/vendored")
    assert "no PKG-INFO" in read_dependencies(str(path)).reason
