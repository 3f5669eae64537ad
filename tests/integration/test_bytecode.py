"""The pip backend compiles bytecode on every core: the environment is the one pip alone leaves."""

from __future__ import annotations

import marshal
import os
import subprocess
import zipfile
from pathlib import Path

import pytest
from support.builders import find_links_requirements, make_venv, site_packages, write_wheel

from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.bytecode import compile_after_pays, compile_jobs
from peep_setuptools.installing.handoff import VerifiedArchive

pytestmark = pytest.mark.slow


def _archive(wheel: Path) -> VerifiedArchive:
    return VerifiedArchive("many", str(wheel), hash_file(str(wheel))["sha256"], "1.0")


def _wheel(root: Path, *, large: bool = True) -> Path:
    """A wheel with many modules, a subpackage, data and a script.

    ``large``: enough source (~3 MB) that peep compiles it on every core after pip;
    otherwise pip compiles it itself (``compile_after_pays``).
    """
    padding = "".join(f"NAME_{j} = {'x' * 60!r}\n" for j in range(1000)) if large else ""
    files = {
        f"many/mod{i}.py": f"VALUE = {i}\n{padding}\ndef f():\n    return 'x' * {i}\n".encode()
        for i in range(40)
    }
    files["many/__init__.py"] = b'"""Many modules."""\n'
    files["many/sub/__init__.py"] = b"from many.mod1 import f\n"
    files["many/broken.py"] = b"def (:\n"  # pip skips what does not compile; so do we
    files["many/data.txt"] = b"not python\n"
    files["many-1.0.data/scripts/helper.py"] = b"#!python\nprint('hi')\n"
    return write_wheel(
        root, "many", "1.0", files, entry_points="[console_scripts]\nmany-cli = many.sub:f\n"
    )


def _tree(venv: Path) -> set[str]:
    """Every file in the venv, relative to it (both venvs start the same, pip included)."""
    return {
        os.path.relpath(os.path.join(root, name), venv)
        for root, _dirs, files in os.walk(venv)
        for name in files
    }


def _ours(venv: Path) -> list[str]:
    """The bytecode of the test's distribution."""
    return sorted(
        p
        for p in _tree(venv)
        if p.endswith(".pyc") and ("/many/" in p or p.startswith("bin/__pycache__/helper."))
    )


def _code(path: Path) -> tuple[bytes, bytes, object]:
    """A pyc's flags, its source's size or hash, and its code: what the clock does not change.

    The launchers' sources in bin/ name their own venv, so their hash differs by design.
    """
    data = path.read_bytes()
    hash_based = data[4] & 1
    source = (
        b"" if hash_based and "bin" in path.parts else data[12:16] if not hash_based else data[8:16]
    )
    return data[4:8], source, marshal.loads(data[16:])


@pytest.mark.parametrize(
    ("extra_env", "large"),
    [
        ({}, True),
        ({"PYTHONOPTIMIZE": "1"}, True),
        ({"SOURCE_DATE_EPOCH": "1600000000"}, True),
        ({}, False),
        ({"SOURCE_DATE_EPOCH": "1600000000"}, False),
    ],
    ids=["timestamp", "optimize", "checked-hash", "small-by-pip", "small-checked-hash"],
)
def test_pip_backend_leaves_what_pip_leaves(tmp_path, env, peep, write, extra_env, large):
    wheel = _wheel(tmp_path / "wheels", large=large)
    # Which path this case takes: ours on every core, or pip's own compile.
    assert compile_after_pays([_archive(wheel)]) == (large and compile_jobs() > 1)
    reqs = write("reqs.txt", find_links_requirements([wheel]))
    env.update(extra_env)
    by_pip = make_venv(tmp_path / "pip-venv", with_pip=True).parent.parent
    by_peep = make_venv(tmp_path / "our-venv", with_pip=True).parent.parent
    subprocess.run(
        [
            str(by_pip / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--require-hashes",
            "-r",
            reqs,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    before = _tree(by_peep)
    peep.env.update(extra_env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)

    assert _tree(by_peep) == _tree(by_pip)
    pycs = _ours(by_pip)
    assert len(pycs) >= 43, pycs
    if "PYTHONOPTIMIZE" in extra_env:
        assert all(".opt-1." in p for p in pycs), [p for p in pycs if ".opt-1." not in p]
    for rel in pycs:
        assert _code(by_peep / rel) == _code(by_pip / rel), rel
    record = "many-1.0.dist-info/RECORD"
    # The launchers name each venv's own interpreter: compare RECORD without their rows.
    records = [site_packages(v / "bin" / "python") / record for v in (by_pip, by_peep)]
    rows = [[r for r in path.read_bytes().split(b"\r\n") if b"/bin/" not in r] for path in records]
    assert rows[0] == rows[1]

    uninstall = [str(by_peep / "bin" / "python"), "-m", "pip", "uninstall", "-y", "many"]
    subprocess.run(uninstall, env=env, check=True, capture_output=True)
    assert _tree(by_peep) == before


def test_no_compile_leaves_no_bytecode(tmp_path, env, peep, write):
    wheel = _wheel(tmp_path / "wheels")
    reqs = write("reqs.txt", find_links_requirements([wheel]))
    venv = make_venv(tmp_path / "venv", with_pip=True).parent.parent
    peep.install(reqs, "--no-compile", python=venv / "bin" / "python", check=0)
    assert not _ours(venv)
    record = site_packages(venv / "bin" / "python") / "many-1.0.dist-info/RECORD"
    assert b".pyc" not in record.read_bytes()


def test_only_installed_files_are_compiled(tmp_path, peep, write):
    # A RECORD row pip did not install (pip keeps a wheel's extra rows as they are) names a
    # .py file outside the environment: pip never compiles it, so neither may we (that
    # would write a __pycache__ folder, and a row for it, outside the environment).
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.py").write_text("VALUE = 1\n")
    # Enough source that peep, not pip, compiles it (the path this test is about).
    big = "".join(f"NAME_{j} = {'x' * 60!r}\n" for j in range(40000)).encode()
    wheel = write_wheel(
        tmp_path / "wheels", "rowdy", "1.0", {"rowdy/__init__.py": b"X = 1\n", "rowdy/big.py": big}
    )
    with zipfile.ZipFile(wheel) as old:
        members = {info.filename: old.read(info) for info in old.infolist()}
    record = "rowdy-1.0.dist-info/RECORD"
    members[record] += b"../../../../outside/victim.py,,\n"
    with zipfile.ZipFile(wheel, "w") as new:
        for name, data in members.items():
            new.writestr(name, data)
    reqs = write("reqs.txt", find_links_requirements([wheel]))
    assert compile_after_pays([_archive(wheel)]) == (compile_jobs() > 1)
    venv = make_venv(tmp_path / "venv")
    peep.install(reqs, python=venv, check=0)
    assert not (outside / "__pycache__").exists()
    assert list(site_packages(venv).glob("rowdy/__pycache__/*.pyc"))


def test_the_record_rewrite_writes_through_no_planted_link(tmp_path, peep, write):
    # A reinstall keeps what the old RECORD did not list: a symlink planted in the dist-info
    # folder, at the name a temporary RECORD once had, must not make us write elsewhere.
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched\n")
    wheel = _wheel(tmp_path / "wheels")
    reqs = write("reqs.txt", find_links_requirements([wheel]))
    venv = make_venv(tmp_path / "venv")
    peep.install(reqs, python=venv, check=0)
    dist_info = site_packages(venv) / "many-1.0.dist-info"
    (dist_info / "RECORD.peep-tmp").symlink_to(victim)
    peep.install(reqs, "--force-reinstall", python=venv, check=0)
    assert victim.read_text() == "untouched\n"
    assert b".pyc" in (dist_info / "RECORD").read_bytes()
    assert not [p.name for p in dist_info.iterdir() if p.name.startswith("RECORD.peep-tmp-")]


def test_the_compile_writes_through_no_planted_bytecode_folder(tmp_path, peep, write):
    # A __pycache__ symlink planted where a package will be installed stays there (pip
    # writes into the folders it finds): compiling must not write the bytecode where it
    # points. The package's source is compiled, that one folder's is not.
    victim = tmp_path / "victim"
    victim.mkdir()
    wheel = _wheel(tmp_path / "wheels")
    reqs = write("reqs.txt", find_links_requirements([wheel]))
    venv = make_venv(tmp_path / "venv")
    cache = site_packages(venv) / "many" / "sub" / "__pycache__"
    cache.parent.mkdir(parents=True)
    cache.symlink_to(victim)
    peep.install(reqs, python=venv, check=0)
    assert list(victim.iterdir()) == []
    assert cache.is_symlink()
    assert len(list((site_packages(venv) / "many" / "__pycache__").glob("*.pyc"))) == 41
