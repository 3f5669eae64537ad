"""Bytecode compiled while pip installs: each wheel once pip has finished it, none before.

``bytecode.Compiler`` watches the folders pip installs into. These tests write what pip
writes (files, then INSTALLER, then RECORD) into a folder it watches and look at what a real
compile child did; the end-to-end tests run pip.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from support.builders import find_links_requirements, make_venv, site_packages, write_wheel
from support.peeprun import wait_for
from support.procs import parents, runs

from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.bytecode import Compiler, compile_after_pays, compile_jobs
from peep_setuptools.installing.handoff import VerifiedArchive

pytestmark = pytest.mark.slow


def _install_like_pip(
    site: Path, name: str, *, installer: bool = True, more: Sequence[str] = ()
) -> Path:
    """``name`` 1.0's module and dist-info as pip leaves them; RECORD written last, whole."""
    package = site / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(f"NAME = {name!r}\n")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    rows = [f"{name}/__init__.py,sha256=x,1", f"{name}-1.0.dist-info/RECORD,,", *more]
    if installer:
        (info / "INSTALLER").write_text("pip\n")
        rows.append(f"{name}-1.0.dist-info/INSTALLER,sha256=x,4")
    (info / "RECORD.tmp").write_bytes(("\r\n".join(rows) + "\r\n").encode())
    os.replace(info / "RECORD.tmp", info / "RECORD")
    return info / "RECORD"


def _compiled(site: Path, name: str) -> list[Path]:
    return list((site / name / "__pycache__").glob("*.pyc"))


def _pyc_rows(record: Path) -> list[str]:
    with record.open(newline="") as stream:
        return [row[0] for row in csv.reader(stream) if row and row[0].endswith(".pyc")]


def _start(tmp_path: Path, site: Path, *names: str) -> Compiler:
    """A compiler watching ``site`` for the wheels of ``names`` (1.0, one module each)."""
    files = {n: {f"{n}/__init__.py": f"NAME = {n!r}\n".encode()} for n in names}
    wheels = [(n, str(write_wheel(tmp_path / "wheels", n, "1.0", files[n]))) for n in names]
    compiler = Compiler.start(
        sys.executable,
        dict(os.environ),
        cwd=str(tmp_path),
        schemes={"purelib": str(site), "platlib": str(site)},
        wheels=wheels,
    )
    assert compiler is not None
    return compiler


def test_a_wheel_pip_has_finished_is_compiled_while_pip_goes_on(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    compiler = _start(tmp_path, site, "early", "late")
    try:
        early = _install_like_pip(site, "early")
        # compiled with nothing more said: pip is still "installing"
        assert wait_for(lambda: _compiled(site, "early"), timeout=30)
        assert wait_for(lambda: _pyc_rows(early), timeout=30)
        late = _install_like_pip(site, "late")
        # what pip's end gives again (the probe finds it all) is compiled once
        given = [
            (str(site), "early-1.0.dist-info/RECORD"),
            (str(site), "late-1.0.dist-info/RECORD"),
        ]
        assert compiler.finish(given)
    finally:
        compiler.stop()
    assert len(_compiled(site, "late")) == 1
    assert _pyc_rows(early) == [f"early/__pycache__/{_compiled(site, 'early')[0].name}"]
    assert len(_pyc_rows(late)) == 1


def test_what_pip_may_not_have_finished_waits_for_its_end(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    # installed before pip began, and left as it was (pip has not reinstalled it yet)
    _install_like_pip(site, "kept")
    names = ("kept", "recovered", "halfway", "ownrecord", "other")
    compiler = _start(tmp_path, site, *names)
    try:
        # pip's record of a wheel it stopped installing (a blocked import): no INSTALLER
        _install_like_pip(site, "recovered", installer=False)
        # ... or with INSTALLER written: its rows have no hashes
        info = _install_like_pip(site, "halfway").parent
        (info / "RECORD").write_bytes(
            b"halfway/__init__.py,,\r\nhalfway-1.0.dist-info/INSTALLER,,\r\n"
        )
        # INSTALLER written, pip's RECORD not yet: the one there is the wheel's own
        info = _install_like_pip(site, "ownrecord").parent
        (info / "RECORD").write_text("ownrecord/__init__.py,sha256=x,1\n")
        # not a project being installed
        _install_like_pip(site, "stranger")
        time.sleep(20 * 0.02)  # twenty looks at the folder
        assert not any(_compiled(site, n) for n in (*names, "stranger"))
        assert compiler.finish([(str(site), "kept-1.0.dist-info/RECORD")])
    finally:
        compiler.stop()
    assert _compiled(site, "kept")
    assert not any(_compiled(site, n) for n in ("recovered", "halfway", "ownrecord", "stranger"))


def test_a_reinstall_of_the_same_version_is_compiled_once_pip_wrote_its_record(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    record = _install_like_pip(site, "again")
    compiler = _start(tmp_path, site, "again")
    try:
        time.sleep(5 * 0.02)
        assert not _compiled(site, "again")  # the RECORD there before pip began
        _install_like_pip(site, "again")  # pip's new one
        assert wait_for(lambda: _pyc_rows(record), timeout=30)
        assert compiler.finish([])
    finally:
        compiler.stop()


def test_a_compiler_that_died_early_is_a_warning(tmp_path, caplog):
    # its pipe is broken when the watch gives it a wheel, and when pip's end gives the rest
    site = tmp_path / "site"
    site.mkdir()
    compiler = _start(tmp_path, site, "early", "late")
    try:
        os.kill(compiler._process.pid, signal.SIGKILL)
        _install_like_pip(site, "early")
        time.sleep(5 * 0.02)
        _install_like_pip(site, "late")
        assert not compiler.finish([(str(site), "late-1.0.dist-info/RECORD")])
    finally:
        compiler.stop()
    assert "bytecode was not compiled" in caplog.text
    assert not _compiled(site, "early") and not _compiled(site, "late")


def test_a_record_removed_before_it_is_compiled_is_passed_over(tmp_path):
    # given, then gone (an uninstall later in pip's run removed it): the others are compiled
    site = tmp_path / "site"
    site.mkdir()
    compiler = _start(tmp_path, site, "kept")
    try:
        record = _install_like_pip(site, "kept")
        gone = (str(site), "gone-1.0.dist-info/RECORD")
        assert compiler.finish([gone, (str(site), "kept-1.0.dist-info/RECORD")])
    finally:
        compiler.stop()
    assert _pyc_rows(record)


def test_stopping_the_compiler_stops_its_processes(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    compiler = _start(tmp_path, site, "early")
    pid = compiler._process.pid
    compiler.stop()
    assert not runs(pid)
    assert pid not in parents().values()
    compiler.stop()  # again: nothing left to stop


def test_a_compiler_stopped_as_it_writes_a_record_leaves_no_half_of_it(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    compiler = _start(tmp_path, site, "long")
    try:
        # a RECORD the child takes a while to write again: its temporary file is seen
        more = [f"long/data{i}.txt,," for i in range(200_000)]
        record = _install_like_pip(site, "long", more=more)
        assert wait_for(lambda: list(record.parent.glob("RECORD.peep-tmp-*")), timeout=30)
    finally:
        compiler.stop()
    assert list(record.parent.glob("RECORD.peep-tmp-*")) == []


def test_ctrl_c_again_as_the_compiler_is_stopped_leaves_no_half_record(tmp_path, monkeypatch):
    # a second Ctrl-C as stop() waited for the watch to end went out of it before the
    # child's temporary RECORD was removed: half of one left in the target
    site = tmp_path / "site"
    site.mkdir()
    compiler = _start(tmp_path, site, "long")
    more = [f"long/data{i}.txt,," for i in range(200_000)]
    record = _install_like_pip(site, "long", more=more)
    real_unwatch = compiler._unwatch

    def unwatch():
        real_unwatch()
        signal.raise_signal(signal.SIGINT)

    try:
        assert wait_for(lambda: list(record.parent.glob("RECORD.peep-tmp-*")), timeout=30)
        monkeypatch.setattr(compiler, "_unwatch", unwatch)
        with pytest.raises(KeyboardInterrupt):
            compiler.stop()
        assert list(record.parent.glob("RECORD.peep-tmp-*")) == []
    finally:
        monkeypatch.undo()
        compiler.stop()


_FULL_DISK = r"""
import json, os, resource, signal, sys
from peep_setuptools.installing.bytecode import Compiler
schemes, wheels, limit = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
compiler = Compiler.start(sys.executable, dict(os.environ), cwd=os.getcwd(), schemes=schemes,
                          wheels=wheels)
print(compiler.finish([(schemes["purelib"], "full-1.0.dist-info/RECORD")]))
"""


def test_a_record_the_disk_has_no_room_for_is_not_left_half_written(tmp_path):
    # the child's RECORD with its .pyc rows is larger than any file may be (a full disk):
    # the install goes on (a warning), and neither RECORD nor a half of it is left
    site = tmp_path / "site"
    site.mkdir()
    more = [f"full/data{i}.txt,," for i in range(2_000)]
    record = _install_like_pip(site, "full", more=more)
    before = record.read_bytes()
    wheel = write_wheel(tmp_path / "wheels", "full", "1.0", {"full/__init__.py": b""})
    schemes = json.dumps({"purelib": str(site), "platlib": str(site)})
    wheels = json.dumps([["full", str(wheel)]])
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, schemes, wheels, str(len(before) + 10)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.stdout.strip() == "False", done.stderr
    assert record.read_bytes() == before
    assert [p.name for p in record.parent.iterdir() if "peep-tmp" in p.name] == []


def _big_wheel(root: Path, name: str, *, entry_points: str | None = None) -> Path:
    padding = "".join(f"NAME_{j} = {'x' * 60!r}\n" for j in range(1000))
    files = {f"{name}/mod{i}.py": f"VALUE = {i}\n{padding}".encode() for i in range(30)}
    files[f"{name}/__init__.py"] = b""
    return write_wheel(root, name, "1.0", files, entry_points=entry_points)


def _reqs(write, wheels: list[Path]) -> str:
    return write("reqs.txt", find_links_requirements(wheels))


def _pip_alone(venv: Path, reqs: str, env: dict[str, str], *, check: bool = True) -> None:
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run(
        [*command, "--require-hashes", "-r", reqs], env=env, check=check, capture_output=True
    )


def _bytecode(site: Path) -> set[str]:
    """The bytecode of the tests' projects (aaa, bbb, ...)."""
    return {
        os.path.relpath(os.path.join(root, name), site)
        for root, _dirs, files in os.walk(site)
        for name in files
        if name.endswith(".pyc") and Path(root).relative_to(site).parts[0] in ("aaa", "bbb", "ccc")
    }


def test_several_wheels_leave_what_pip_leaves(tmp_path, env, peep, write):
    wheels = [_big_wheel(tmp_path / "wheels", n) for n in ("aaa", "bbb", "ccc")]
    archives = [
        VerifiedArchive(w.name.split("-")[0], str(w), hash_file(str(w))["sha256"], "1.0")
        for w in wheels
    ]
    assert compile_after_pays(archives) == (compile_jobs() > 1)
    reqs = _reqs(write, wheels)
    by_pip = make_venv(tmp_path / "pip-venv", with_pip=True).parent.parent
    by_peep = make_venv(tmp_path / "our-venv", with_pip=True).parent.parent
    _pip_alone(by_pip, reqs, env)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    assert _bytecode(sites[1]) == _bytecode(sites[0])
    assert len(_bytecode(sites[1])) == 3 * 31
    for name in ("aaa", "bbb", "ccc"):
        record = f"{name}-1.0.dist-info/RECORD"
        assert (sites[0] / record).read_bytes() == (sites[1] / record).read_bytes()


def test_a_failed_install_compiles_what_pip_finished(tmp_path, env, peep, write):
    # pip fails on its last wheel (a console script with no callable; pip installs these in
    # the reverse order) once it has installed the others: those are compiled, as pip alone
    # compiles them; nothing is left half-written
    wheels = [_big_wheel(tmp_path / "wheels", n) for n in ("bbb", "ccc")]
    bad = "[console_scripts]\naaa = aaa\n"
    wheels.append(_big_wheel(tmp_path / "wheels", "aaa", entry_points=bad))
    reqs = _reqs(write, wheels)
    by_pip = make_venv(tmp_path / "pip-venv", with_pip=True).parent.parent
    by_peep = make_venv(tmp_path / "our-venv", with_pip=True).parent.parent
    _pip_alone(by_pip, reqs, env, check=False)
    done = peep.install(reqs, python=by_peep / "bin" / "python", check=1)
    assert "Traceback" not in done.stderr
    assert "Invalid script entry point" in done.stderr
    sites = [site_packages(v / "bin" / "python") for v in (by_pip, by_peep)]
    names = ("aaa", "bbb", "ccc")
    finished = [n for n in names if (sites[0] / f"{n}-1.0.dist-info/INSTALLER").exists()]
    assert finished == ["bbb", "ccc"]  # what pip alone did: the test's premise
    ours = {p for p in _bytecode(sites[1]) if p.split("/")[0] in finished}
    assert ours == {p for p in _bytecode(sites[0]) if p.split("/")[0] in finished}
    assert len(ours) == 2 * 31
    for name in finished:
        record = f"{name}-1.0.dist-info/RECORD"
        assert (sites[0] / record).read_bytes() == (sites[1] / record).read_bytes()
    assert [p for p in sites[1].rglob("*") if ".peep-tmp-" in p.name] == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_compiling_along_leaves_no_process(tmp_path, peep, write, sig):
    # stopped while pip installs and the compiler waits: both go, with every process below
    wheels = [_big_wheel(tmp_path / "wheels", n) for n in ("aaa", "bbb")]
    reqs = _reqs(write, wheels)
    venv = make_venv(tmp_path / "venv", with_pip=True)
    proc = peep.spawn(*peep.install_args(reqs, python=venv))
    site = site_packages(venv)

    def compiling() -> set[int]:
        below, grown = {proc.pid}, True
        while grown:
            more = {pid for pid, parent in parents().items() if parent in below} - below
            below, grown = below | more, bool(more)
        return below - {proc.pid}

    # stopped as soon as pip has written something (or the run has ended: nothing to test)
    wait_for(lambda: proc.poll() is not None or any(site.glob("aaa*")), timeout=60)
    ours = compiling()
    done = peep.interrupt(proc, sig=sig)
    time.sleep(0.3)
    left = [pid for pid in ours if runs(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
    assert done.returncode in (0, 128 + sig), done.stderr
    assert [p for p in site.rglob("*") if ".peep-tmp-" in p.name] == []


@pytest.mark.parametrize("in_a_venv", [True, False])
def test_an_interrupt_as_the_compiler_starts_stops_it(tmp_path, monkeypatch, in_a_venv):
    # Ctrl-C after the child started, before the Compiler returned held it (in a venv there
    # was no guard at all): it waited on its stdin for as long as we ran
    from peep_setuptools.installing import bytecode, pipfinished

    started: list[subprocess.Popen[str]] = []
    real_start = bytecode.start_process

    def held(*args, **options):
        started.append(real_start(*args, **options))
        return started[-1]

    def interrupted(schemes):
        signal.raise_signal(signal.SIGINT)
        return in_a_venv

    monkeypatch.setattr(bytecode, "start_process", held)
    monkeypatch.setattr(pipfinished, "in_a_venv", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            Compiler.start(sys.executable, dict(os.environ), cwd=str(tmp_path))
        assert started
        assert started[0].poll() is not None, "the compiler runs on"
    finally:
        for process in started:
            process.kill()
            process.wait()
