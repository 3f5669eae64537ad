"""Telling which wheel pip has finished, and which files it compiled (``pipfinished``)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from support.builders import write_wheel

from peep_setuptools.installing.pipfinished import before, expected, finished_by_pip


def _schemes(root: Path) -> dict[str, str]:
    site = str(root / "lib" / "site-packages")
    return {"purelib": site, "platlib": site, "scripts": str(root / "bin"), "data": str(root)}


def _wheel(root: Path, name: str, files: dict[str, bytes], **kw: object) -> tuple[str, str]:
    return name, str(write_wheel(root / "wheels", name, "1.0", files, **kw))  # type: ignore[arg-type]


def test_wheels_that_write_the_same_file_wait_for_pips_end(tmp_path):
    schemes = _schemes(tmp_path)
    wheels = [
        _wheel(tmp_path, "one", {"ns/__init__.py": b"", "one/a.py": b""}),
        _wheel(tmp_path, "two", {"ns/__init__.py": b"# two\n", "two/a.py": b""}),
        # its bytecode where three ships one: the same file as pip compiles it
        _wheel(tmp_path, "three", {"solo/__init__.py": b""}),
        _wheel(tmp_path, "four", {"solo/__pycache__/__init__.cpython-311.pyc": b""}),
        # a file in another wheel's dist-info folder
        _wheel(tmp_path, "five", {"five/a.py": b""}),
        _wheel(tmp_path, "six", {"six-1.0.data/purelib/five-1.0.dist-info/extra": b""}),
        _wheel(tmp_path, "seven", {"seven/a.py": b""}),
    ]
    found = expected(wheels, schemes, before(set(), schemes))
    alone = {entry.split("-")[0]: wheel.alone for entry, wheel in found.items()}
    assert alone == {
        "one": False,
        "two": False,
        "three": False,
        "four": False,
        "five": False,
        "six": False,
        "seven": True,
    }
    assert all(wheel.told for wheel in found.values())


def test_an_archive_that_cannot_be_read_makes_every_wheel_wait(tmp_path):
    schemes = _schemes(tmp_path)
    sdist = tmp_path / "later-1.0.tar.gz"
    sdist.write_bytes(b"not a zip")
    wheels = [_wheel(tmp_path, "seven", {"seven/a.py": b""}), ("later", str(sdist))]
    (wheel,) = expected(wheels, schemes, before(set(), schemes)).values()
    assert wheel.told and not wheel.alone


def test_a_wheel_whose_installed_copy_pip_removes_has_another_s_file_waits(tmp_path):
    schemes = _schemes(tmp_path)
    site = Path(schemes["purelib"])
    info = site / "old-0.9.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").write_text("new/a.py,,\nold-0.9.dist-info/RECORD,,\n")
    wheels = [
        _wheel(tmp_path, "old", {"old/a.py": b""}),
        _wheel(tmp_path, "new", {"new/a.py": b""}),
        _wheel(tmp_path, "other", {"other/a.py": b""}),
    ]
    found = expected(wheels, schemes, before({"old", "new", "other"}, schemes))
    assert not found["old-1.0.dist-info"].alone
    assert not found["new-1.0.dist-info"].alone
    assert found["other-1.0.dist-info"].alone


def test_a_wheel_that_names_installer_is_never_told_finished(tmp_path):
    schemes = _schemes(tmp_path)
    data = "lib/site-packages/bydata-1.0.dist-info/INSTALLER"  # the data scheme reaches it
    wheels = [
        _wheel(tmp_path, "ships", {"ships-1.0.dist-info/INSTALLER": b"pip\n"}),
        _wheel(
            tmp_path,
            "elsewhere",
            {"elsewhere-1.0.data/platlib/elsewhere-1.0.dist-info/INSTALLER": b"pip\n"},
        ),
        _wheel(tmp_path, "bydata", {f"bydata-1.0.data/data/{data}": b"pip\n"}),
        _wheel(tmp_path, "plain", {"plain/a.py": b""}),
        # another folder's INSTALLER, "installer" in a name: setuptools, pygments, numpy
        _wheel(
            tmp_path,
            "vendors",
            {
                "vendors/_vendor/dep-1.0.dist-info/INSTALLER": b"pip\n",
                "vendors/installer.py": b"",
                "vendors/lexers/installers.py": b"",
                "vendors/_pyinstaller/__init__.py": b"",
            },
        ),
    ]
    found = expected(wheels, schemes, before(set(), schemes))
    told = {entry.split("-")[0]: wheel.told for entry, wheel in found.items()}
    assert told == {
        "ships": False,
        "elsewhere": False,
        "bydata": False,
        "plain": True,
        "vendors": True,
    }


def test_a_wheel_whose_record_names_its_installer_is_never_told_finished(tmp_path):
    # its RECORD, extracted with its files, would read as pip's last (INSTALLER with a hash)
    schemes = _schemes(tmp_path)
    name, path = _wheel(tmp_path, "rowdy", {"rowdy/a.py": b""})
    with zipfile.ZipFile(path) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    members["rowdy-1.0.dist-info/RECORD"] += b"rowdy-1.0.dist-info/INSTALLER,sha256=x,4\n"
    with zipfile.ZipFile(path, "w") as new:
        for member, data in members.items():
            new.writestr(member, data)
    (wheel,) = expected([(name, path)], schemes, before(set(), schemes)).values()
    assert not wheel.told


def test_what_pip_compiles_is_what_it_wrote_from_the_wheel(tmp_path):
    schemes = _schemes(tmp_path)
    files = {
        "pkg/a.py": b"",
        "pkg/data.txt": b"",
        "pkg-1.0.data/purelib/pure.py": b"",
        "pkg-1.0.data/scripts/tool.py": b"",
        "pkg-1.0.data/scripts/made.py": b"",  # an entry point of this name replaces it
        "pkg-1.0.data/scripts/cli-script.py": b"",  # so does one named "cli"
        "pkg-1.0.data/data/share/x.py": b"",
        "pkg-1.0.data/headers/h.py": b"",
    }
    points = "[console_scripts]\nmade.py = pkg:main\n[gui_scripts]\ncli = pkg:main\n"
    wheels = [_wheel(tmp_path, "pkg", files, entry_points=points)]
    (wheel,) = expected(wheels, schemes, before(set(), schemes)).values()
    lib = str(tmp_path / "platlib")
    assert sorted(wheel.compiled(lib, schemes)) == sorted(
        [
            os.path.join(lib, "pkg", "a.py"),
            os.path.join(schemes["purelib"], "pure.py"),
            os.path.join(schemes["scripts"], "tool.py"),
            os.path.join(schemes["data"], "share", "x.py"),
        ]
    )


def test_only_pips_last_record_tells_a_wheel_finished(tmp_path):
    info = tmp_path / "pkg-1.0.dist-info"
    info.mkdir()
    record = info / "RECORD"
    record.write_text("pkg/a.py,sha256=x,1\r\npkg-1.0.dist-info/RECORD,,\r\n")
    assert not finished_by_pip(str(tmp_path), info.name)  # no INSTALLER yet
    (info / "INSTALLER").write_text("pip\n")
    assert not finished_by_pip(str(tmp_path), info.name)  # the wheel's own RECORD
    record.write_text("pkg/a.py,,\r\npkg-1.0.dist-info/INSTALLER,,\r\n")
    assert not finished_by_pip(str(tmp_path), info.name)  # pip's recovery RECORD
    record.write_text("pkg/a.py,sha256=x,1\r\npkg-1.0.dist-info/INSTALLER,sha256=y,4\r\n")
    assert finished_by_pip(str(tmp_path), info.name)


def _unsupported_record(path: str) -> None:
    """Mark the wheel's RECORD as packed by a method zipfile cannot unpack (99: AES)."""
    data = bytearray(Path(path).read_bytes())
    with zipfile.ZipFile(path) as wheel:
        info = next(i for i in wheel.infolist() if i.filename.endswith("/RECORD"))
    data[info.header_offset + 8 : info.header_offset + 10] = (99).to_bytes(2, "little")
    central = data.rfind(b"PK\x01\x02")  # the last central entry: RECORD's (written last)
    assert data[central + 46 : central + 46 + len(info.filename)] == info.filename.encode()
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    Path(path).write_bytes(bytes(data))


def test_a_wheel_that_cannot_be_unpacked_is_left_to_pip(tmp_path):
    # pip fails on it; telling the others must not fail (nor print a traceback)
    schemes = _schemes(tmp_path)
    odd = _wheel(tmp_path, "odd", {"odd/a.py": b""})
    _unsupported_record(odd[1])
    wheels = [odd, _wheel(tmp_path, "fine", {"fine/a.py": b""})]
    found = expected(wheels, schemes, before(set(), schemes))
    assert list(found) == ["fine-1.0.dist-info"]
    assert not found["fine-1.0.dist-info"].alone


def test_two_wheels_of_one_dist_info_folder_wait_and_compile_what_either_wrote(tmp_path):
    # pip takes "ab-1.0.dist-info" for a dist-info of "a" (its name starts so): whichever
    # pip installs last leaves its RECORD there
    schemes = _schemes(tmp_path)
    claims = tmp_path / "claims"
    claims.mkdir()
    wheels = [
        _wheel(tmp_path, "ab", {"ab/x.py": b""}),
        ("a", str(write_wheel(claims, "ab", "1.0", {"a/y.py": b""}))),
    ]
    (wheel,) = expected(wheels, schemes, before(set(), schemes)).values()
    assert wheel.entry == "ab-1.0.dist-info" and not wheel.alone
    lib = schemes["purelib"]
    assert sorted(wheel.compiled(lib, schemes)) == [f"{lib}/a/y.py", f"{lib}/ab/x.py"]


def test_a_dist_info_folder_is_looked_for_where_pip_puts_it(tmp_path):
    # purelib and platlib apart: the same name in the other one (a wheel's .data may write
    # it there) is not pip's
    schemes = {"purelib": str(tmp_path / "pure"), "platlib": str(tmp_path / "plat")}
    pure = _wheel(tmp_path, "pure", {"pure/a.py": b""})
    plat = tmp_path / "plat-1.0-cp311-cp311-linux_x86_64.whl"
    with zipfile.ZipFile(plat, "w") as wheel:
        wheel.writestr("plat/a.py", b"")
        wheel.writestr("plat-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: plat\n")
        wheel.writestr("plat-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: False\n")
        wheel.writestr("plat-1.0.dist-info/RECORD", "plat/a.py,,\n")
    found = expected([pure, ("plat", str(plat))], schemes, before(set(), schemes))
    assert found["pure-1.0.dist-info"].installs_into(schemes["purelib"], schemes)
    assert not found["pure-1.0.dist-info"].installs_into(schemes["platlib"], schemes)
    assert found["plat-1.0.dist-info"].installs_into(schemes["platlib"], schemes)
    assert not found["plat-1.0.dist-info"].installs_into(schemes["purelib"], schemes)


def _raw(root: Path, name: str, info: str, members: dict[str, bytes]) -> tuple[str, str]:
    """A wheel of exactly ``members`` besides METADATA, WHEEL and RECORD in ``info``."""
    path = root / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        wheel.writestr(f"{info}/RECORD", "".join(f"{m},,\n" for m in members))
        for member, data in members.items():
            wheel.writestr(member, data)
    return name, str(path)


def test_a_wheel_that_writes_its_installer_or_record_by_another_name_is_never_told(tmp_path):
    # pip writes a member where os.path.normpath of its name says (``x/..`` climbs back; a
    # .data member's scheme is read after that): an INSTALLER and a second RECORD with an
    # INSTALLER row, extracted long before pip's own, read as pip's last RECORD
    schemes = _schemes(tmp_path)
    site = "lib/site-packages"
    wheels = [
        _raw(tmp_path, "up", "up-1.0.dist-info", {"up-1.0.dist-info/INSTALLER/x/..": b"pip\n"}),
        _raw(tmp_path, "rec", "rec-1.0.dist-info", {"rec-1.0.dist-info/x/../RECORD": b""}),
        _raw(
            tmp_path,
            "bydata",
            "bydata-1.0.dist-info",
            {f"bydata-1.0.data/data/{site}/bydata-1.0.dist-info/RECORD": b""},
        ),
        _raw(
            tmp_path,
            "scheme",
            "scheme-1.0.dist-info",
            {"scheme-1.0.data/x/../purelib/scheme-1.0.dist-info/INSTALLER/y/..": b"pip\n"},
        ),
        # as pip on Windows takes it (either separator)
        _raw(tmp_path, "win", "win-1.0.dist-info", {"win-1.0.dist-info\\INSTALLER\\x\\..": b""}),
        # a dist-info folder named with a backslash (one name on POSIX), its INSTALLER
        _raw(tmp_path, "bs", "bs\\x-1.0.dist-info", {"bs\\x-1.0.dist-info/INSTALLER": b"pip\n"}),
        # a case- and normalisation-insensitive file system (macOS): the same folder
        _raw(
            tmp_path,
            "caf",
            "caf\u00e9-1.0.dist-info",
            {"CAFE\u0301-1.0.DIST-INFO/INSTALLER": b"pip\n"},
        ),
        _raw(tmp_path, "plain", "plain-1.0.dist-info", {"plain/a.py": b""}),
    ]
    found = expected(wheels, schemes, before(set(), schemes))
    told = {wheel.entry.split("-")[0]: wheel.told for wheel in found.values()}
    assert told == {
        "up": False,
        "rec": False,
        "bydata": False,
        "scheme": False,
        "win": False,
        "bs\\x": False,
        "caf\u00e9": False,
        "plain": True,
    }


def test_a_data_member_is_where_pip_puts_it_once_normalised(tmp_path):
    # pip reads a .data member's scheme after normalising its name: x/../purelib is purelib,
    # purelib/../data is data; it is compiled there, and shares a file with another wheel there
    schemes = _schemes(tmp_path)
    files = {
        "one-1.0.data/x/../purelib/ns/__init__.py": b"",
        "one-1.0.data/purelib/../data/share/z.py": b"",
    }
    wheels = [
        _wheel(tmp_path, "one", files),
        _wheel(tmp_path, "two", {"ns/__init__.py": b"# two\n"}),
        _wheel(tmp_path, "three", {"three/a.py": b""}),
    ]
    found = expected(wheels, schemes, before(set(), schemes))
    alone = {entry.split("-")[0]: wheel.alone for entry, wheel in found.items()}
    assert alone == {"one": False, "two": False, "three": True}
    lib = schemes["purelib"]
    assert sorted(found["one-1.0.dist-info"].compiled(lib, schemes)) == sorted(
        [os.path.join(schemes["data"], "share", "z.py"), os.path.join(lib, "ns", "__init__.py")]
    )


def test_a_wheel_whose_record_is_not_read_is_known_but_never_told(tmp_path):
    # a RECORD of lone CR line ends (pip reads it by its lines, and so does
    # finished_by_pip: an INSTALLER row there counts), or too big to read: what pip
    # writes from the wheel is still known, and only that is compiled
    schemes = _schemes(tmp_path)
    name, path = _wheel(tmp_path, "cr", {"cr/a.py": b""})
    with zipfile.ZipFile(path) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    members["cr-1.0.dist-info/RECORD"] = b"cr/a.py,,\rcr-1.0.dist-info/INSTALLER,sha256=x,4\r"
    with zipfile.ZipFile(path, "w") as new:
        for member, data in members.items():
            new.writestr(member, data)
    (wheel,) = expected([(name, path)], schemes, before(set(), schemes)).values()
    assert not wheel.told and wheel.alone
    lib = schemes["purelib"]
    assert wheel.compiled(lib, schemes) == [os.path.join(lib, "cr", "a.py")]
    info = tmp_path / "cr-1.0.dist-info"
    info.mkdir()
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_bytes(members["cr-1.0.dist-info/RECORD"])
    assert finished_by_pip(str(tmp_path), info.name)  # as extracted, it would count


def test_a_member_pip_refuses_is_not_compiled(tmp_path):
    # pip stops at a member outside its folder: none is compiled (an absolute name would be
    # the file it names, another package's or the standard library's)
    schemes = _schemes(tmp_path)
    lib = schemes["purelib"]
    outside = str(tmp_path / "other" / "x.py")
    files = {outside: b"", "../../y.py": b"", "out-1.0.data/purelib/../../z.py": b""}
    wheels = [_raw(tmp_path, "out", "out-1.0.dist-info", {**files, "out/a.py": b""})]
    (wheel,) = expected(wheels, schemes, before(set(), schemes)).values()
    assert wheel.compiled(lib, schemes) == [os.path.join(lib, "out", "a.py")]
