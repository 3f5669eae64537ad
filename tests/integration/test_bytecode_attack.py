"""Attacks on the compile along pip (bytecode.Compiler): pip alone's environment, always."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.builders import find_links_requirements, make_venv, site_packages

from peep_setuptools.hashes import hash_file

pytestmark = pytest.mark.slow


def _zip_wheel(
    root: Path,
    name: str,
    files: dict[str, bytes],
    *,
    wheel: str = "",
    info: str = "",
    extra_rows: list[str] | None = None,
) -> Path:
    """A deflated wheel of ``files`` with a valid dist-info (RECORD listing every member)."""
    root.mkdir(parents=True, exist_ok=True)
    info = info or f"{name}-1.0.dist-info"
    contents = dict(files)
    contents[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
    contents[f"{info}/WHEEL"] = (
        wheel or "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ).encode()
    rows = []
    for arc, data in contents.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        rows.append(f"{arc},sha256={digest},{len(data)}")
    rows += [*(extra_rows or []), f"{info}/RECORD,,"]
    contents[f"{info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    path = root / f"{name.replace('-', '_')}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arc, data in contents.items():
            archive.writestr(arc, data)
    return path


def _sources(name: str, count: int = 30) -> dict[str, bytes]:
    padding = "".join(f"NAME_{j} = {'x' * 60!r}\n" for j in range(1000))
    files = {f"{name}/mod{i}.py": f"VALUE = {i}\n{padding}".encode() for i in range(count)}
    files[f"{name}/__init__.py"] = b""
    return files


def _reqs(write, wheels: list[Path]) -> str:
    return write("reqs.txt", find_links_requirements(wheels))


def _pip_alone(venv: Path, reqs: str, env: dict[str, str], *, check: bool = True) -> None:
    """``pip install`` as peep runs it (a reinstall), compiling as it goes."""
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    command += ["--force-reinstall", "--require-hashes", "-r", reqs]
    subprocess.run(command, env=env, check=check, capture_output=True)


def _rows(record: Path) -> list[str]:
    """RECORD's rows; the hash dropped of a script (its #! line names the venv's interpreter)
    and of direct_url.json (the URL pip was given: peep's copy of the wheel)."""
    rows = csv.reader(io.StringIO(record.read_text()))
    mine = ("/bin/", "direct_url.json")
    return sorted(r[0] if any(m in r[0] for m in mine) else ",".join(r) for r in rows if r)


PY39 = "/root/.pyenv/versions/3.9.18/bin/python"


def _two_venvs(tmp_path: Path, python: str = sys.executable) -> tuple[Path, Path]:
    by_pip = make_venv(tmp_path / "pip-venv", with_pip=True, python=python).parent.parent
    by_peep = make_venv(tmp_path / "our-venv", with_pip=True, python=python).parent.parent
    return by_pip, by_peep


def test_a_record_read_between_installer_and_pips_record_is_not_taken(tmp_path, env, peep, write):
    # pip writes INSTALLER, then hashes what it changed (a big script it rewrote), then
    # RECORD: in between, the RECORD there is the wheel's own
    big = b"#!python\n" + b"# padding padding padding padding padding padding padding\n" * 700_000
    early = {"aaa/__init__.py": b"A = 1\n", "aaa-1.0.data/scripts/big": big}
    wheels = [_zip_wheel(tmp_path / "wheels", "aaa", early)]
    wheels += [_zip_wheel(tmp_path / "wheels", n, _sources(n)) for n in ("bbb", "ccc")]
    reqs = _reqs(write, wheels)
    by_pip, by_peep = _two_venvs(tmp_path)
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    for name in ("aaa", "bbb", "ccc"):
        record = f"{name}-1.0.dist-info/RECORD"
        assert _rows(sites[1] / record) == _rows(sites[0] / record), name


def _ordered_wheel(root: Path, name: str, files: dict[str, bytes], info_files: dict[str, bytes]):
    """A wheel whose dist-info members (``info_files`` too) come first, then ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    info = f"{name}-1.0.dist-info"
    head = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()}
    head[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    head.update({f"{info}/{k}": v for k, v in info_files.items()})
    rows = []
    for arc, data in {**head, **files}.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        rows.append(f"{arc},sha256={digest},{len(data)}")
    rows.append(f"{info}/RECORD,,")
    head[f"{info}/RECORD"] = ("\r\n".join(sorted(rows)) + "\r\n").encode()
    path = root / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arc, data in {**head, **files}.items():
            archive.writestr(arc, data)
    return path


def test_a_wheel_that_ships_installer_is_not_compiled_as_pip_extracts_it(
    tmp_path, env, peep, write
):
    # its dist-info (INSTALLER, a RECORD naming it) comes first: both are there long
    # before pip has written the rest, and its own RECORD
    wheels = [
        _ordered_wheel(tmp_path / "wheels", "aaa", _sources("aaa", 60), {"INSTALLER": b"pip\n"})
    ]
    reqs = _reqs(write, wheels)
    by_pip, by_peep = _two_venvs(tmp_path)
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    record = "aaa-1.0.dist-info/RECORD"
    assert _rows(sites[1] / record) == _rows(sites[0] / record)
    assert len([r for r in _rows(sites[1] / record) if ".pyc" in r]) == 61


def test_a_failed_install_compiles_a_reinstall_pip_finished(tmp_path, env, peep, write):
    # bbb 1.0 is installed already and given again (a URL: reinstalled, its dist-info folder
    # named as before); pip fails on aaa (a console script with no callable) once it has
    # installed it
    folder = tmp_path / "wheels"
    bbb = _zip_wheel(folder, "bbb", _sources("bbb"))
    bad = _zip_wheel(
        folder,
        "aaa",
        {
            **_sources("aaa"),
            "aaa-1.0.dist-info/entry_points.txt": b"[console_scripts]\naaa = aaa\n",
        },
    )
    reqs = _reqs(write, [bad])
    with open(reqs, "a") as stream:
        stream.write(f"{bbb.as_uri()} {hash_file(str(bbb))['sha256'].pip_option()}\n")
    venvs = _two_venvs(tmp_path)
    for venv in venvs:
        subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(bbb)],
            env=env,
            check=True,
            capture_output=True,
        )
    _pip_alone(venvs[0], reqs, env, check=False)
    done = peep.install(reqs, python=venvs[1] / "bin" / "python", check=1)
    assert "Invalid script entry point" in done.stderr
    sites = [site_packages(v / "bin" / "python") for v in venvs]
    record = "bbb-1.0.dist-info/RECORD"
    assert any(".pyc" in row for row in _rows(sites[0] / record))  # the test's premise
    assert _rows(sites[1] / record) == _rows(sites[0] / record)
    assert [p for p in sites[1].rglob("*") if ".peep-tmp-" in p.name] == []


@pytest.mark.parametrize(
    "python",
    [
        pytest.param(sys.executable, id="this"),
        pytest.param(
            PY39, id="3.9", marks=pytest.mark.skipif(not os.path.exists(PY39), reason="no 3.9")
        ),
    ],
)
def test_only_what_pip_installed_from_the_wheel_is_compiled(tmp_path, env, peep, write, python):
    # pip compiles the files it wrote from the wheel, never a script it generates (an
    # entry point "tool.py") nor a file the wheel's RECORD names and does not carry (bbb's)
    files = {
        **_sources("aaa"),
        "aaa-1.0.dist-info/entry_points.txt": b"[console_scripts]\ntool.py = aaa:main\n",
    }
    aaa = _zip_wheel(tmp_path / "wheels", "aaa", files, extra_rows=["bbb/mod1.py,,"])
    bbb = _zip_wheel(tmp_path / "wheels", "bbb", _sources("bbb"))
    reqs = _reqs(write, [aaa, bbb])
    by_pip, by_peep = _two_venvs(tmp_path, python)
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    for name in ("aaa", "bbb"):
        record = f"{name}-1.0.dist-info/RECORD"
        assert _rows(sites[1] / record) == _rows(sites[0] / record), name
    assert not (by_peep / "bin" / "__pycache__").exists()


def _own_prefix(root: Path) -> Path:
    """An interpreter of its own prefix (not a venv): this one's, its standard library linked.

    Outside a venv pip's data folder is the prefix: a wheel's ``NAME.data/data/lib/...``
    writes into the standard library, as pip does as root in a container's Python.
    """
    base = Path(sys.base_prefix)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    (root / "bin").mkdir(parents=True)
    python = root / "bin" / version
    shutil.copy2(os.path.realpath(sys._base_executable), python)  # type: ignore[attr-defined]
    stdlib = root / "lib" / version
    stdlib.mkdir(parents=True)
    for entry in (base / "lib" / version).iterdir():
        if entry.name not in ("site-packages", "encodings"):
            (stdlib / entry.name).symlink_to(entry)
    (stdlib / "site-packages").mkdir()
    (stdlib / "encodings").mkdir()
    for entry in (base / "lib" / version / "encodings").iterdir():
        (stdlib / "encodings" / entry.name).symlink_to(entry)
    return python


@pytest.mark.parametrize("planted", ["codec", "sysconfigdata", "codec-slow-start"])
def test_the_compile_runs_nothing_a_wheel_put_in_the_standard_library(
    tmp_path, peep, write, planted
):
    # a source's "coding:" line makes compile() import encodings.<name>, and sysconfig reads
    # its build variables from a module when first asked: what the wheel wrote into the
    # standard library must not run in the compiler (pip ran with --no-compile)
    python = _own_prefix(tmp_path / "prefix")
    telltale = tmp_path / "planted-ran"
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    stdlib = python.parent.parent / "lib" / version
    # it tells the compiler (whose __main__ has compile_one) from others starting there
    code = (
        "import __main__\n"
        "if hasattr(__main__, 'compile_one'):\n"
        f"    open({str(telltale)!r}, 'w').close()\n"
    )
    if planted == "codec-slow-start":
        # the compiler's start-up is slow (its csv module, for it alone): pip has written
        # the codec before the compiler has looked at the standard library
        csv_module = stdlib / "csv.py"
        slow = (  # the compiler alone: "-c" and its number of jobs
            "import sys, time\n"
            "if len(sys.argv) == 2 and sys.argv[0] == '-c' and sys.argv[1].isdigit():\n"
            "    time.sleep(1.5)\n"
        )
        text = csv_module.read_text()
        csv_module.unlink()
        csv_module.write_text(slow + text)
    if planted.startswith("codec"):
        path = "encodings/peepcodec.py"
    else:
        real = next(stdlib.glob("_sysconfigdata_*.py"))
        path = real.name
        code += real.read_text()
    files = {
        **_sources("aaa"),
        f"aaa-1.0.data/data/lib/{version}/{path}": code.encode(),
        "aaa/coded.py": b"# -*- coding: peepcodec -*-\nX = 1\n",
    }
    reqs = _reqs(write, [_zip_wheel(tmp_path / "wheels", "aaa", files)])
    peep.install(reqs, python=python, check=0)
    assert not (stdlib / path).is_symlink()
    assert len(list((stdlib / "site-packages" / "aaa" / "__pycache__").glob("*.pyc"))) == 31
    assert not telltale.exists()


def test_every_scheme_a_platlib_wheel_writes_is_compiled_as_pip_compiles_it(
    tmp_path, env, peep, write
):
    # root not purelib: the dist-info folder is in platlib; .data/purelib, platlib, scripts
    # and data each go where pip puts them, and pip compiles every .py file of them
    files = {
        **_sources("aaa"),
        "aaa-1.0.data/purelib/pure/x.py": b"X = 1\n",
        "aaa-1.0.data/platlib/plat/y.py": b"Y = 1\n",
        "aaa-1.0.data/scripts/tool.py": b"#!python\nprint(1)\n",
        "aaa-1.0.data/scripts/cli": b"#!python\nprint(1)\n",
        "aaa-1.0.data/data/share/aaa/z.py": b"Z = 1\n",
    }
    platlib = "Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: false\nTag: py3-none-any\n"
    reqs = _reqs(write, [_zip_wheel(tmp_path / "wheels", "aaa", files, wheel=platlib)])
    by_pip, by_peep = _two_venvs(tmp_path)
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    record = "aaa-1.0.dist-info/RECORD"
    rows = _rows(sites[1] / record)
    assert rows == _rows(sites[0] / record)
    compiled = {r for r in rows if r.endswith(".pyc,,") or (".pyc" in r and "/bin/" in r)}
    assert len(compiled) == 31 + 4, sorted(compiled)


def _spelt_wheel(root: Path, name: str, odd: dict[str, bytes], files: dict[str, bytes]) -> Path:
    """A wheel of its dist-info, then the ``odd`` members, then ``files``, in that order."""
    root.mkdir(parents=True, exist_ok=True)
    info = f"{name}-1.0.dist-info"
    head = {f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()}
    head[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    rows = []
    for arc, data in {**head, **files}.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        rows.append(f"{arc},sha256={digest},{len(data)}")
    head[f"{info}/RECORD"] = ("\n".join([*rows, f"{info}/RECORD,,"]) + "\n").encode()
    path = root / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arc, data in {**head, **odd, **files}.items():
            archive.writestr(arc, data)
    return path


@pytest.mark.parametrize("way", ["climbs", "data"])
def test_an_installer_and_a_record_written_by_other_names_are_not_taken_for_pips(
    tmp_path, env, peep, write, way
):
    # pip writes "aaa-1.0.dist-info/INSTALLER/x/.." as INSTALLER, and a second RECORD
    # (through x/.., or the data scheme) over the wheel's own: with an INSTALLER row, it is
    # there long before pip has written the sources (after it, .data/purelib's too)
    info = "aaa-1.0.dist-info"
    forged = f"{info}/INSTALLER,sha256=x,4\n".encode()
    sources = _sources("aaa", 60)
    if way == "climbs":
        record = f"{info}/x/../RECORD"
    else:
        site = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
        record = f"aaa-1.0.data/data/{site}/{info}/RECORD"
        sources = {f"aaa-1.0.data/purelib/{k}": v for k, v in sources.items()}
    odd = {f"{info}/INSTALLER/x/..": b"pip\n", record: forged}
    wheels = [_spelt_wheel(tmp_path / "wheels", "aaa", odd, sources)]
    reqs = _reqs(write, wheels)
    by_pip, by_peep = _two_venvs(tmp_path)
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    record_file = f"{info}/RECORD"
    assert _rows(sites[1] / record_file) == _rows(sites[0] / record_file)
    assert len([r for r in _rows(sites[1] / record_file) if ".pyc" in r]) == 61


def test_a_record_of_lone_cr_line_ends_compiles_only_what_pip_wrote(tmp_path, env, peep, write):
    # pip reads aaa's RECORD by its lines (a lone CR ends one) and keeps its row of bbb's
    # file as it is: that file is bbb's, pip alone compiles it for bbb only
    bbb = _zip_wheel(tmp_path / "wheels", "bbb", _sources("bbb"))
    aaa = _zip_wheel(tmp_path / "wheels", "aaa", _sources("aaa"), extra_rows=["bbb/mod0.py,,"])
    with zipfile.ZipFile(aaa) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    record = "aaa-1.0.dist-info/RECORD"
    members[record] = members[record].replace(b"\n", b"\r")
    with zipfile.ZipFile(aaa, "w", zipfile.ZIP_DEFLATED) as new:
        for member, data in members.items():
            new.writestr(member, data)
    reqs = _reqs(write, [aaa, bbb])
    by_pip, by_peep = _two_venvs(tmp_path)
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    assert not [r for r in _rows(sites[0] / record) if r.startswith("bbb/__pycache__")]
    for name in ("aaa", "bbb"):
        record = f"{name}-1.0.dist-info/RECORD"
        assert _rows(sites[1] / record) == _rows(sites[0] / record), name
