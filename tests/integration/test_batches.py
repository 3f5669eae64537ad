"""A split install leaves what one installer run leaves: pip's runs side by side, uv's in turn."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.builders import make_venv, write_wheel

from peep_setuptools.hashes import hash_file
from peep_setuptools.installing.backends import find_uv
from peep_setuptools.installing.children import INSTALLS_AT_ONCE

pytestmark = pytest.mark.slow


def _wheels(root: Path, count: int) -> list[Path]:
    """Small wheels: some with a script, three sharing a file (which must share a run)."""
    wheels = []
    for i in range(count):
        name = f"piece{i:03d}"
        files = {f"{name}/__init__.py": f"VALUE = {i}\n".encode()}
        if i < 3:  # a pkg_resources-style namespace: the same file in each wheel
            files["shared/__init__.py"] = f"# written by {name}\n".encode()
            files[f"shared/{name}.py"] = b"X = 1\n"
        if i % 5 == 0:
            files[f"{name}-1.0.data/data/share/{name}.txt"] = b"data\n"
        scripts = f"[console_scripts]\n{name}-cli = {name}:VALUE\n" if i % 4 == 0 else None
        wheels.append(write_wheel(root, name, "1.0", files, entry_points=scripts))
    return wheels


def _reqs(write, wheels: list[Path]) -> str:
    lines = [f"--no-index\n--find-links {wheels[0].parent}\n"]
    for wheel in wheels:
        name = wheel.name.split("-")[0]
        lines.append(f"{name}==1.0 {hash_file(str(wheel))['sha256'].pip_option()}\n")
    return write("reqs.txt", "".join(lines))


def _snapshot(venv: Path, before: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file in the venv (not in ``before``) and its bytes, the venv's path taken out.

    RECORD rows of the launchers in bin/ are left out: a launcher names its own venv, so
    its hash differs from venv to venv by design; so is uv's ``uv_cache.json``, which
    records when the file it installed from was written.
    """
    found = {}
    for root, _dirs, files in os.walk(venv):
        for name in files:
            path = Path(root, name)
            if name == "uv_cache.json":
                continue
            data = path.read_bytes().replace(str(venv).encode(), b"VENV")
            if name == "RECORD":
                data = b"\n".join(
                    r for r in data.splitlines() if b"/bin/" not in r and b"uv_cache" not in r
                )
            found[os.path.relpath(path, venv)] = data
    return {k: v for k, v in found.items() if before is None or k not in before}


@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
def test_pip_runs_side_by_side_leave_what_one_pip_run_leaves(tmp_path, env, peep, write):
    reqs = _reqs(write, _wheels(tmp_path / "wheels", 24))
    env["SOURCE_DATE_EPOCH"] = "1600000000"  # bytecode the clock does not change
    by_pip = make_venv(tmp_path / "pip-venv", with_pip=True).parent.parent
    by_peep = make_venv(tmp_path / "our-venv", with_pip=True).parent.parent
    before = [_snapshot(by_peep), _snapshot(by_pip)]
    pip = [str(by_pip / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*pip, "--require-hashes", "-r", reqs], env=env, check=True)
    peep.env["SOURCE_DATE_EPOCH"] = env["SOURCE_DATE_EPOCH"]
    done = peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    assert "Installing the 24 archives in 2 installer runs side by side" in done.stdout

    ours, theirs = _snapshot(by_peep, before[0]), _snapshot(by_pip, before[1])
    assert len(ours) > 100
    assert sorted(ours) == sorted(theirs)
    assert [p for p in ours if ours[p] != theirs[p]] == []
    for venv in (by_pip, by_peep):
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-m", "pip", "check"], env=env, check=True, capture_output=True)
    freeze = [
        subprocess.run(
            [str(v / "bin" / "python"), "-m", "pip", "freeze"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for v in (by_pip, by_peep)
    ]
    assert freeze[0] == freeze[1]
    assert "piece023==1.0" in freeze[1]


def test_uv_runs_in_turn_leave_what_one_uv_run_leaves(tmp_path, env, peep, write):
    reqs = _reqs(write, _wheels(tmp_path / "wheels", 110))
    by_uv = make_venv(tmp_path / "uv-venv").parent.parent
    by_peep = make_venv(tmp_path / "our-venv").parent.parent
    before = [_snapshot(by_peep), _snapshot(by_uv)]
    uv = [find_uv(), "pip", "install", "-q", "--no-config", "--no-deps", "--require-hashes"]
    uv += ["--python", str(by_uv / "bin" / "python"), "-r", reqs]
    subprocess.run(uv, env=env, check=True)
    done = peep.install(reqs, "--installer", "uv", python=by_peep / "bin" / "python", check=0)
    assert "Installing the 110 archives in 3 installer runs (" in done.stdout

    ours, theirs = _snapshot(by_peep, before[0]), _snapshot(by_uv, before[1])
    assert len(ours) > 400
    assert sorted(ours) == sorted(theirs)
    assert [p for p in ours if ours[p] != theirs[p]] == []
    second = peep.install(reqs, "--installer", "uv", python=by_peep / "bin" / "python", check=0)
    assert "installer runs" not in second.stdout  # all installed: nothing to hand over
    assert _snapshot(by_peep, before[0]) == ours
