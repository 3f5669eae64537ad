"""Virtual environments with ensurepip's pip, made once per Python and test process, then copied.

``python -m venv`` runs ensurepip, which installs pip (and, before 3.12, setuptools) with
pip, compiling every module: ~2.5 s each, and the suite makes dozens. A copy is what
ensurepip would have left at the new place: a real ``--without-pip`` venv there, the
template's installed files added (modification times kept: the bytecode stays valid), every
text file naming the template's folder rewritten to name the new one (pip's launchers in
bin/), their RECORD rows hashed again, and ``pyvenv.cfg`` saying ``python -m venv``. The
one difference left: pip's own bytecode was compiled at the template's path (Python
corrects a module's file name as it imports it). tests/unit/test_pipvenv.py compares a
copy with a venv ensurepip made.
"""

from __future__ import annotations

import atexit
import base64
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["copy_pip_venv", "record_digest"]

#: the template of each Python, in this process (each xdist worker makes its own)
_TEMPLATES: dict[str, Path] = {}


def _template(python: str, env: Mapping[str, str]) -> Path:
    """A venv ``python -m venv`` made (ensurepip's pip), kept until this process ends."""
    if python not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="pip-venv-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(folder / "venv")], check=True, env=dict(env))
        _TEMPLATES[python] = folder / "venv"
    return _TEMPLATES[python]


def record_digest(data: bytes) -> str:
    """A RECORD row's hash of ``data``, as pip writes it."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


def _rehash_records(venv: Path, rewritten: set[Path]) -> None:
    """RECORD rows of the rewritten files given their new hash and size (csv rows, as pip's)."""
    for record in venv.glob("lib/*/site-packages/*.dist-info/RECORD"):
        site = record.parent.parent
        lines = record.read_bytes().decode("utf-8").splitlines(keepends=True)
        for i, line in enumerate(lines):
            name, _digest, _size = line.rstrip("\r\n").rsplit(",", 2)
            path = Path(os.path.normpath(site / name))
            if path in rewritten:
                data = path.read_bytes()
                ending = line[len(line.rstrip("\r\n")) :]
                lines[i] = f"{name},{record_digest(data)},{len(data)}{ending}"
        record.write_bytes("".join(lines).encode("utf-8"))


def _add_missing(template: Path, venv: Path, rewrite: Callable[[Path, bytes], None]) -> None:
    """Copy what the template has and ``venv`` lacks; text naming the template to ``rewrite``."""
    old = str(template).encode()
    for root, dirs, files in os.walk(template):
        there = venv / Path(root).relative_to(template)
        there.mkdir(exist_ok=True)
        for name in [*files, *(d for d in dirs if Path(root, d).is_symlink())]:
            source, target = Path(root, name), there / name
            if target.exists() or target.is_symlink():
                continue
            if source.is_symlink():
                target.symlink_to(os.readlink(source))
                continue
            shutil.copy2(source, target)
            data = source.read_bytes()
            if old in data and not name.endswith(".pyc"):
                rewrite(target, data)


def copy_pip_venv(path: Path, python: str, env: Mapping[str, str]) -> None:
    """Make at ``path`` the venv ``python -m venv PATH`` would make, from the template."""
    template = _template(python, env)
    subprocess.run([python, "-m", "venv", "--without-pip", str(path)], check=True, env=dict(env))
    old, new = str(template).encode(), str(path).encode()
    rewritten: set[Path] = set()

    def rewrite(target: Path, data: bytes) -> None:
        stat = target.stat()
        target.write_bytes(data.replace(old, new))
        os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        rewritten.add(Path(os.path.normpath(target)))

    _add_missing(template, path, rewrite)
    _rehash_records(path, rewritten)
    config = path / "pyvenv.cfg"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(" -m venv --without-pip ", " -m venv "), encoding="utf-8")
