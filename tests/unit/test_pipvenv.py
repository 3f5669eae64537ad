"""The tests' venvs with pip (support/pipvenv.py copies one) are what ``python -m venv`` makes."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

from support.builders import clean_env, make_venv
from support.pipvenv import record_digest


def _files(venv: Path) -> dict[str, bytes]:
    """Each file's bytes (a link's target), the venv's own path made ``VENV``."""
    found = {}
    for root, dirs, files in os.walk(venv):
        for name in [*files, *(d for d in dirs if Path(root, d).is_symlink())]:
            path = Path(root, name)
            data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes()
            found[os.path.relpath(path, venv)] = data.replace(str(venv).encode(), b"VENV")
    return found


def _without_bytecode(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files but bytecode, and RECORD rows without their hashes (``_misrecorded`` checks them).

    Bytecode holds the path it was compiled at: the copy's, the template's. A launcher's
    hash is of its own venv's path.
    """
    kept = {}
    for name, data in files.items():
        if name.endswith(".pyc"):
            continue
        if name.endswith("RECORD"):
            data = b"\n".join(row.split(b",")[0] for row in data.splitlines())
        kept[name] = data
    return kept


def _misrecorded(venv: Path) -> list[str]:
    """RECORD rows whose hash or size is not the file's."""
    wrong = []
    for record in venv.glob("lib/*/site-packages/*.dist-info/RECORD"):
        for row in record.read_text(encoding="utf-8").splitlines():
            name, digest, size = row.rsplit(",", 2)
            if not digest:
                continue
            data = (record.parent.parent / name).read_bytes()
            if record_digest(data) != digest or len(data) != int(size):
                wrong.append(row)
    return wrong


def _stale_bytecode(venv: Path) -> list[str]:
    """Bytecode files Python would not use: their source's time or size is another."""
    stale = []
    for pyc in venv.rglob("__pycache__/*.pyc"):
        source = pyc.parent.parent / (pyc.name.split(".")[0] + ".py")
        flags, mtime, size = struct.unpack("<III", pyc.read_bytes()[4:16])
        stat = source.stat()
        if flags != 0 or mtime != int(stat.st_mtime) or size != stat.st_size:
            stale.append(str(pyc))
    return stale


def test_a_copied_venv_with_pip_is_what_python_m_venv_makes(tmp_path: Path) -> None:
    # the same length of path: only the folder differs
    real, copy = tmp_path / "a" / "venv", tmp_path / "b" / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(real)], check=True, env=clean_env())
    make_venv(copy, with_pip=True)
    ours, theirs = _files(copy), _files(real)
    assert sorted(ours) == sorted(theirs)
    assert _without_bytecode(ours) == _without_bytecode(theirs)
    assert _stale_bytecode(copy) == []
    assert [_misrecorded(copy), _misrecorded(real)] == [[], []]
    for venv in (copy, real):
        done = subprocess.run(
            [str(venv / "bin" / "pip"), "--version"],
            env=clean_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        assert f"from {venv}/lib/" in done.stdout
    assert _files(copy) == ours  # pip ran from its bytecode: nothing new written
