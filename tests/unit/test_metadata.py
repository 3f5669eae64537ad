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


# -- the reading guards, directly: which member is read, and how much of it ------------------


@pytest.mark.parametrize(
    ("name", "top"),
    [
        ("s-1.0/PKG-INFO", True),
        ("./s-1.0/PKG-INFO", True),
        ("s-1.0//PKG-INFO", True),
        ("s-1.0/./PKG-INFO", True),
        ("PKG-INFO", False),  # no top folder
        ("s-1.0/vendored/PKG-INFO", False),
        ("../PKG-INFO", False),
        ("s-1.0/PKG-INFO/x", False),
        ("s-1.0/pkg-info", False),
        ("s-1.0/PKG-INFO.txt", False),
    ],
)
def test_is_top_member(name, top):
    assert metadata.is_top_member(name, "PKG-INFO") is top


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return str(path)


# A wheel may carry another project's dist-info before its own: the one named for the wheel's
# project is what the installer records, so it is what peep must read; with none named for
# the project, the first one found. Never a nested one.
@pytest.mark.parametrize(
    ("project", "stems", "read"),
    [
        ("real", ["decoy-9.0", "real-1.0", "nested/real-1.0"], "real-1.0"),
        ("other", ["nested/other-1.0", "first-1.0", "second-1.0"], "first-1.0"),
    ],
)
def test_a_wheel_with_several_dist_infos_is_read_as_its_own_project(tmp_path, project, stems, read):
    members = {f"{stem}.dist-info/METADATA": f"Name: {stem}\n" for stem in stems}
    wheel = _zip(tmp_path / f"{project}-1.0-py3-none-any.whl", members)
    assert metadata.read_wheel_member(wheel, "METADATA") == f"Name: {read}\n"


def test_read_wheel_file_names_a_missing_member(tmp_path):
    wheel = _zip(tmp_path / "w-1.0-py3-none-any.whl", {"w/__init__.py": "X = 1\n"})
    assert metadata.read_wheel_file(wheel, "w/__init__.py") == b"X = 1\n"
    with pytest.raises(metadata.ArchiveReadError) as caught:
        metadata.read_wheel_file(wheel, "w/missing.py")
    assert str(caught.value) == "it has no w/missing.py"


@pytest.mark.parametrize("declared", [4, 100])
def test_read_capped_does_not_believe_the_declared_size(monkeypatch, declared):
    monkeypatch.setattr(metadata, "MAX_MEMBER_SIZE", 10)
    assert metadata._read_capped_bytes(io.BytesIO(b"0123456789"), 4, "METADATA") == b"0123456789"
    # Declared small, or declared honestly too large: either way, never more than the cap.
    with pytest.raises(metadata.ArchiveReadError) as caught:
        metadata._read_capped_bytes(io.BytesIO(b"x" * 11), declared, "METADATA")
    assert str(caught.value) == "its METADATA is larger than 0 MB"


def test_an_sdist_with_too_many_members_is_not_read_through(tmp_path, monkeypatch):
    monkeypatch.setattr(metadata, "MAX_TAR_MEMBERS", 3)
    path = tmp_path / "s-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for n in range(4):
            archive.addfile(tarfile.TarInfo(f"s-1.0/f{n}"), io.BytesIO(b""))
        data = b"Metadata-Version: 2.2\nName: s\n"
        info = tarfile.TarInfo("s-1.0/PKG-INFO")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with pytest.raises(metadata.ArchiveReadError, match="too large to look inside safely"):
        metadata.read_sdist_pkg_info(str(path))


def test_an_sdist_whose_members_add_up_too_large_is_not_read_through(tmp_path, monkeypatch):
    monkeypatch.setattr(metadata, "MAX_TAR_BYTES", 10)
    path = _sdist(tmp_path, "Metadata-Version: 2.2\nName: s\nVersion: 1.0\n")
    with pytest.raises(metadata.ArchiveReadError, match="too large to look inside safely"):
        metadata.read_sdist_pkg_info(str(path))


def test_a_linked_pkg_info_is_not_followed(tmp_path):
    path = tmp_path / "s-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        link = tarfile.TarInfo("s-1.0/PKG-INFO")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        archive.addfile(link)
    assert metadata.read_sdist_pkg_info(str(path)) is None


def test_a_zip_sdist_pkg_info_is_read_from_its_top_folder_only(tmp_path):
    nested = _zip(tmp_path / "s-1.0.zip", {"s-1.0/vendored/PKG-INFO": "Name: vendored\n"})
    assert metadata.read_sdist_pkg_info(nested) is None
    top = _zip(
        tmp_path / "t-1.0.zip",
        {"t-1.0/vendored/PKG-INFO": "Name: vendored\n", "t-1.0/PKG-INFO": "Name: t\n"},
    )
    assert metadata.read_sdist_pkg_info(top) == "Name: t\n"


def _by_email(text: str) -> dict[str, list[str]]:
    """What the email parser reads (the reference ``header_fields`` must give)."""
    import email.parser

    fields: dict[str, list[str]] = {}
    for key, value in email.parser.HeaderParser().parsestr(text).items():
        fields.setdefault(key.lower(), []).append(str(value))
    return fields


#: header blocks read without the email parser, and those only it may read
PLAIN = [
    "",
    "\n",
    "Name: x",
    "Name: x\nVersion: 1\n",
    "Name:x\nname:  y \nVERSION:\t2\n\nBody: not a field\n",
    "Name: x\nLicense: a\n    b\n\tc\n \nVersion: 1\n",
    "License:\n  folded from an empty first line\nName: x\n",
    "Name: a:b\x0bc\x0cd\x1ce\x85f\u2028g\u00e9\n",
    "Requires-Dist: a>=1\nRequires-Dist: b; extra == 'c'\nX.y_z-1: q\n",
    "Name: x\n\nBody\udc80\n",  # a surrogate after the block
    # every line ended by CR LF: folded values keep it
    "Name: x\r\nVersion: 1\r\n",
    "Name: x\r\nLicense: a\r\n  b\r\n\tc\r\n\r\nBody: not a field\r\n",
    "License:\r\n  folded\r\nName: x\r\n\nVersion: 2\n",
    "\r\nName: x\r\n",
    "Name: x\r",
]
NOT_PLAIN = [
    " Name: x\n",  # a first line that is folded
    "Name: x\r\nVersion: 1\n",
    "Name: x\nVersion: 1\r\n",
    "Name: x\r\nVersion: 1",
    "Name: x\r\n  folded\n",
    "Name: x\r\r\nVersion: 1\r\n",
    "Name: x\rVersion: 1\n",
    "Name: x\n  folded\r\nVersion: 1\n",
    "From someone\nName: x\n",
    "Name : x\n",
    "X(y): 1\nName: x\n",
    ": no name\nName: x\n",
    "Name: x\nnot a field\nVersion: 1\n",
    "\ufeffName: x\n",
    "Name: x\udc80\n",
    "Name: x\r\nAbc: \udc80\r\n\r\nBody\r\n",
]


@pytest.mark.parametrize("text", PLAIN + NOT_PLAIN)
def test_header_fields_are_what_the_email_parser_reads(text):
    assert metadata.header_fields(text) == _by_email(text)
    assert (metadata._plain_fields(text) is not None) == (text in PLAIN)


def test_header_fields_match_the_email_parser_on_random_blocks():
    # the plain reading stands in for the parser only where it gives the same fields
    import random

    names = ["Name", "Version", "Requires-Dist", "a", "X.y_z", "From", "Name ", " Name", "N(a)"]
    names += ["", "\u00e9"]
    values = ["", " x", "x", " a: b", "  ", "\t", " x\r", " \u2028", " \u00e9", "x\udc80"]
    rng = random.Random(20261130)
    plain = crlf = 0
    for _ in range(4000):
        lines = []
        for _ in range(rng.randrange(0, 6)):
            kind = rng.random()
            if kind < 0.25:  # folded, or a blank or CR line
                lines.append(rng.choice([" ", "\t", "  "]) + rng.choice(["x", "", "y z", "\r"]))
            else:
                lines.append("" if kind < 0.3 else rng.choice(names) + ":" + rng.choice(values))
        text = rng.choice(["\n", "\r\n", "\n"]).join(lines)
        text += rng.choice(["", "\n", "\r\n", "\n\nBody: x\n", "\r\n\r\nBody: x\udc80\r\n"])
        plain += metadata._plain_fields(text) is not None
        crlf += "\r\n" in text and metadata._plain_fields(text) is not None
        assert _outcome(metadata.header_fields, text) == _outcome(_by_email, text), repr(text)
    assert plain > 1000 and crlf > 100  # both readings were tried, CR LF lines too


def _outcome(read, text):
    # a surrogate next to other non-ASCII text: the parser's Header fails to become a str
    try:
        return read(text)
    except UnicodeEncodeError:
        return UnicodeEncodeError
