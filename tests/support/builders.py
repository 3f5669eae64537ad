"""Build real wheels, sdists and virtual environments for the tests, without any network."""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import textwrap
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from .pipvenv import copy_pip_venv

TELLTALE_ENV = "PEEP_TELLTALE"


def _module(name: str) -> str:
    return canonicalize_name(name).replace("-", "_")


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
    return f"{arcname},sha256={digest},{len(data)}"


def write_wheel(
    dest: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes],
    *,
    tag: str = "py3-none-any",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    extra_metadata: str = "",
    entry_points: str | None = None,
    metadata: str | None = None,
) -> Path:
    """Write ``name-version-tag.whl`` holding ``files`` plus a valid dist-info."""
    dest.mkdir(parents=True, exist_ok=True)
    stem = f"{_module(name)}-{version}"
    info = f"{stem}.dist-info"
    if metadata is None:
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        if requires_python:
            metadata += f"Requires-Python: {requires_python}\n"
        metadata += "".join(f"Requires-Dist: {req}\n" for req in requires_dist)
        metadata += extra_metadata
    contents = dict(files)
    contents[f"{info}/METADATA"] = metadata.encode()
    contents[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nGenerator: peep-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    ).encode()
    if entry_points:
        contents[f"{info}/entry_points.txt"] = entry_points.encode()
    record = [_record_line(arc, data) for arc, data in contents.items()]
    record.append(f"{info}/RECORD,,")
    contents[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = dest / f"{stem}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in contents.items():
            archive.writestr(zipfile.ZipInfo(arcname, (2020, 1, 1, 0, 0, 0)), data)
    return path


def make_wheel(
    dest: Path, name: str, version: str, *, tag: str = "py3-none-any", **kwargs: object
) -> Path:
    """A wheel whose module ``name`` has ``VERSION`` and ``ORIGIN = 'wheel'``."""
    module = _module(name)
    body = f"VERSION = {version!r}\nORIGIN = 'wheel'\nTAG = {tag!r}\n".encode()
    return write_wheel(dest, name, version, {f"{module}/__init__.py": body}, tag=tag, **kwargs)  # type: ignore[arg-type]


def _tar(path: Path, members: Mapping[str, str]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for arcname, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            info.mtime = 1577836800
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def _telltale_code(name: str, default_telltale: Path) -> str:
    return textwrap.dedent(
        f"""
        import os as _os
        with open(_os.environ.get({TELLTALE_ENV!r}) or {str(default_telltale)!r}, "a") as _f:
            _f.write({name!r} + " ran\\n")
        """
    )


def make_sdist(
    dest: Path,
    name: str,
    version: str,
    *,
    telltale: Path,
    backend: str = "intree",
    requires_dist: Iterable[str] = (),
) -> Path:
    """An sdist whose build code appends a line to the telltale file whenever it runs.

    ``backend="intree"`` is a tiny PEP 517 backend shipped in the sdist (no build
    dependencies to fetch); ``backend="setuptools"`` is a classic setup.py, for which pip
    fetches setuptools from the index.
    """
    dest.mkdir(parents=True, exist_ok=True)
    module = _module(name)
    stem = f"{module}-{version}"
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(
        f"Requires-Dist: {r}\n" for r in requires_dist
    )
    members = {
        f"{stem}/PKG-INFO": pkg_info,
        f"{stem}/{module}/__init__.py": f"VERSION = {version!r}\nORIGIN = 'sdist'\n",
    }
    telltale_code = _telltale_code(name, telltale)
    if backend == "setuptools":
        members[f"{stem}/setup.py"] = telltale_code + textwrap.dedent(
            f"""
            from setuptools import setup
            setup(name={name!r}, version={version!r}, packages=[{module!r}],
                  install_requires={list(requires_dist)!r})
            """
        )
    else:
        members[f"{stem}/pyproject.toml"] = textwrap.dedent(
            """
            [build-system]
            requires = []
            build-backend = "intree_backend"
            backend-path = ["."]
            """
        )
        members[f"{stem}/intree_backend.py"] = telltale_code + _INTREE_BACKEND.format(
            name=name,
            version=version,
            module=module,
            requires=list(requires_dist),
        )
    return _tar(dest / f"{stem}.tar.gz", members)


_INTREE_BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION, MODULE, REQUIRES = {name!r}, {version!r}, {module!r}, {requires!r}
DIST_INFO = MODULE + "-" + VERSION + ".dist-info"


def _metadata():
    return ("Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: " + VERSION + "\\n"
            + "".join("Requires-Dist: " + r + "\\n" for r in REQUIRES))


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    path = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w") as f:
        f.write(_metadata())
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {{}}
    with open(os.path.join(MODULE, "__init__.py"), "rb") as f:
        files[MODULE + "/__init__.py"] = f.read()
    files[DIST_INFO + "/METADATA"] = _metadata().encode()
    files[DIST_INFO + "/WHEEL"] = (
        b"Wheel-Version: 1.0\\nGenerator: intree\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = []
    for arc, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        record.append(arc + ",sha256=" + digest + "," + str(len(data)))
    record.append(DIST_INFO + "/RECORD,,")
    files[DIST_INFO + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
    filename = MODULE + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for arc, data in files.items():
            zf.writestr(arc, data)
    return filename
"""


def wheel_from_installed(dist_name: str, dest: Path) -> Path:
    """Repack an installed pure-Python distribution (e.g. setuptools) as a wheel, offline."""
    dist = importlib.metadata.distribution(dist_name)
    files: dict[str, bytes] = {}
    metadata = ""
    for entry in dist.files or ():
        arcname = Path(str(entry)).as_posix()
        parts = arcname.split("/")
        if parts[0] == ".." or "__pycache__" in parts or arcname.endswith(".pyc"):
            continue
        data = Path(str(entry.locate())).read_bytes()
        if ".dist-info" in parts[0]:
            if parts[-1] == "METADATA":
                metadata = data.decode()
            if parts[-1] in ("entry_points.txt", "top_level.txt", "LICENSE") or "licenses" in parts:
                files[arcname] = data
            continue
        files[arcname] = data
    return write_wheel(dest, dist.metadata["Name"], dist.version, files, metadata=metadata)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment without any PIP_* variable, and pip's configuration files switched off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PEEP_"))}
    for key in (
        "SSL_CERT_FILE",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "PYTHONPATH",
    ):
        env.pop(key, None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra or {})
    return env


def make_venv(path: Path, *, with_pip: bool = False, python: str = sys.executable) -> Path:
    """Create a virtual environment and return its interpreter.

    ``with_pip``: ensurepip's pip in it, as ``python -m venv`` leaves it (a copy of one
    made once per test process: support/pipvenv.py).
    """
    if with_pip:
        copy_pip_venv(path, python, clean_env())
    else:
        args = [python, "-m", "venv", "--without-pip", str(path)]
        subprocess.run(args, check=True, env=clean_env())
    return path / "bin" / "python"


def site_packages(python: Path) -> Path:
    """The site-packages folder of the venv whose interpreter is ``python``.

    Found on disk, not asked of the interpreter: starting it would run its .pth files.
    """
    (site,) = (python.parent.parent / "lib").glob("python3*/site-packages")
    return site


def extension_suffix(python: Path) -> str:
    """The first extension-module suffix ``python`` imports (``.cpython-311-x86_64...so``)."""
    return subprocess.run(
        [str(python), "-c", "import importlib.machinery as m; print(m.EXTENSION_SUFFIXES[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def origin(python: Path, module: str, *flags: str) -> str:
    """``module.ORIGIN`` as ``python FLAGS`` imports it: "wheel", "sdist", "planted"..."""
    return subprocess.run(
        [str(python), *flags, "-c", f"import {module}; print({module}.ORIGIN)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=python.parent,
    ).stdout.strip()


def pip(env: Mapping[str, str], python: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pip --python PYTHON ARGS...`` with the tests' own pip, in ``env``; not checked."""
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def installed(python: Path) -> dict[str, str]:
    """Canonical name -> version of what is installed in that interpreter's environment."""
    code = (
        "import importlib.metadata as m, json;"
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    import json

    out = subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True, cwd=python.parent
    )
    return {canonicalize_name(k): v for k, v in json.loads(out.stdout).items()}


def unpackable_wheel(folder: Path, how: str) -> Path:
    """A wheel of ``odd`` whose ``odd.py`` member one installer cannot unpack as it is.

    ``how``: "crc" (its bytes do not match its CRC), "encrypted" or "compression" (deflate64)
    in its flag bits; "cp437" (a UTF-8 name not flagged so: Python reads it as cp437, uv
    refuses it), "unicode-path" (an Info-ZIP Unicode Path extra field naming another file),
    "prefix" and "suffix" (bytes before the first member, after the directory's end),
    "local-crc" and "local-unicode-path" (in the local header only, which uv reads);
    a name uv refuses or no file system takes ("empty-name", "control-name", "format-name",
    "dot-name", "long-name"), a file where the wheel has a folder ("file-and-folder",
    "folder-entry", "installer-folder": where pip and uv write INSTALLER), "comment" (bytes
    1-8 in the archive's comment) and "entry-count" (the end record counts one more entry);
    a RECORD row of one field ("record-rows") or not UTF-8 ("record-utf8"), entry points
    with a line before any section ("entry-points-section"), a script pip and uv refuse
    as they install it ("script-value", "script-name"); "metadata-method" (METADATA's
    compression unknown).
    """
    name = "odd_caf\u00e9.py" if how == "cp437" else "odd.py"
    named = {
        "empty-name": "",
        "control-name": "odd\x01.py",
        "format-name": "odd\u00ad.py",  # a soft hyphen
        "dot-name": "odd/..",
        "long-name": "o" * 256 + ".py",
    }
    other = {
        "file-and-folder": "odd.py/inner.py",
        "folder-entry": "odd.py/",
        "installer-folder": "odd-1.0.dist-info/INSTALLER/x",
    }
    files = {name: b"# marker-AAAA\n"}
    files.update({added: b"" for added in (named.get(how), other.get(how)) if added is not None})
    points = {
        "script-value": "[console_scripts]\nodd-cli = not valid!!\n",  # no callable
        "script-name": "[console_scripts]\n.. = odd:main\n",  # outside the scripts folder
        "entry-points-section": "odd-cli = odd:main\n",  # uv: a line before any section
    }
    path = write_wheel(folder, "odd", "1.0", files, entry_points=points.get(how))
    record = {"record-rows": b"odd.py\n", "record-utf8": b"odd_caf\xe9.py,,\n"}.get(how)
    if record is not None:  # uv reads every RECORD before installing: one field, not UTF-8
        with zipfile.ZipFile(path) as wheel:
            members = [(info, wheel.read(info)) for info in wheel.infolist()]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
            for info, data in members:
                wheel.writestr(info, record if info.filename.endswith("/RECORD") else data)
    rename_member(path, name, "other.py" if how.endswith("unicode-path") else name)
    data = bytearray(path.read_bytes())
    if how == "crc":
        data[data.index(b"marker-AAAA") + 10] = ord("B")
    for header, at in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):  # odd.py's come first
        start = data.index(header)
        if how == "encrypted":
            data[start + 6 + at] |= 1
        if how == "compression":
            data[start + 8 + at] = 9
        if how == "metadata-method":  # METADATA's, in an unknown compression: zipfile's
            named = data.index(b"odd-1.0.dist-info/METADATA", 0 if at == 0 else start)
            data[named - (30 if at == 0 else 46) + 8 + at] = 99  # NotImplementedError

        if how == "cp437":
            data[start + 7 + at] &= 0xFF ^ 0x08
    if how == "local-crc":  # the directory's is right: Python reads it, uv the local one
        data[data.index(b"PK\x03\x04") + 14] ^= 0xFF
    if how == "local-unicode-path":  # the directory's field made a time: Python reads that
        central = data.index(b"PK\x01\x02")
        data[data.index(b"\x75\x70", central) : data.index(b"\x75\x70", central) + 2] = b"UT"
    if how == "prefix":
        data[:0] = b"#!/bin/sh\n"  # Python's reader skips it (a self-extracting archive)
    if how == "suffix":
        data += b"\n"
    if how == "comment":
        data[-2:] = b"\x04\x00"
        data += b"\x01\x02\x03\x04"
    if how == "entry-count":
        end = data.rindex(b"PK\x05\x06")
        count = struct.unpack("<H", data[end + 8 : end + 10])[0] + 1
        data[end + 8 : end + 12] = struct.pack("<HH", count, count)
    path.write_bytes(bytes(data))
    return path


def rename_member(path: Path, member: str, other: str) -> None:
    """Rewrite the wheel stored, ``member`` given an Info-ZIP Unicode Path field ``other``.

    Python's zipfile ignores the field; uv, handed the wheel through ``--find-links``,
    writes the file by that name (and lists it so in RECORD).
    """
    with zipfile.ZipFile(path) as wheel:
        members = [(info, wheel.read(info)) for info in wheel.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as wheel:
        for info, data in members:
            if info.filename == member and other != member:
                field = b"\x01" + struct.pack("<I", zlib.crc32(member.encode())) + other.encode()
                info.extra = struct.pack("<HH", 0x7075, len(field)) + field
            info.compress_type = zipfile.ZIP_STORED
            wheel.writestr(info, data)


def pip_copy(folder: Path) -> Path:
    """A ``pip`` package in ``folder`` that runs ours (its subpackages linked), to be changed.

    Its own files are copies: replacing one is a pip upgraded in place.
    """
    from peep_setuptools.installing.children import pip_runner

    runner = pip_runner()  # found as peep finds it (not by this process's importers)
    assert runner is not None
    ours, pip = Path(runner).parent, folder / "pip"
    pip.mkdir(parents=True)
    for item in ours.iterdir():
        if item.name == "__pycache__":
            continue  # its own: Python's for a changed file is not written into ours
        if item.is_dir():
            (pip / item.name).symlink_to(item, target_is_directory=True)
        else:
            shutil.copy2(item, pip / item.name)
    return pip


def find_links_requirements(wheels: Sequence[Path]) -> str:
    """A requirements file's text: no index, the wheels' folder, each ``==1.0`` by its hash."""
    lines = [f"--no-index\n--find-links {wheels[0].parent}\n"]
    for wheel in wheels:
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        lines.append(f"{wheel.name.split('-')[0]}==1.0 --hash=sha256:{digest}\n")
    return "".join(lines)
