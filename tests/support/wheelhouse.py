"""The hash-pinned wheels of tests/wheelhouse.txt, downloaded by .ci/run into one directory.

The setuptools-command tests install pip, setuptools and packaging from it; the session's
loopback index serves from it every dependency a test build may ask for (setuptools, wheel,
packaging), so builds get the same wheels on every machine, next year too.
"""

from __future__ import annotations

import email
import hashlib
import os
import platform
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE_LIST = REPO / "tests" / "wheelhouse.txt"
#: what the loopback index serves for builds: a backend and everything it needs
BUILD_DEPENDENCIES = ("setuptools", "wheel", "packaging")

_PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)\s+--hash=sha256:(?P<hex>[0-9a-f]{64})"
)


@dataclass(frozen=True)
class Wheelhouse:
    """The hash-checked wheels of tests/wheelhouse.txt, in one local directory."""

    path: Path
    wheels: tuple[Path, ...]

    def newest(self, project: str) -> Path:
        """The newest wheel of ``project`` whose Requires-Python admits this interpreter: the
        one pip would pick on an index that had them all."""
        here = Version(platform.python_version())
        fitting = [
            wheel
            for wheel in self.wheels
            if wheel.name.startswith(f"{project.replace('-', '_')}-")
            and here in SpecifierSet(requires_python(wheel) or "")
        ]
        assert fitting, f"tests/wheelhouse.txt has no {project} for Python {here}"
        return max(fitting, key=lambda wheel: Version(wheel.name.split("-")[1]))


def requires_python(wheel: Path) -> str | None:
    """The wheel's Requires-Python, for the index to advertise as pip's indexes do."""
    with zipfile.ZipFile(wheel) as archive:
        # the wheel's own, not those of packages vendored inside it (setuptools/_vendor/...)
        (name,) = (n for n in archive.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n))
        metadata = email.message_from_bytes(archive.read(name))
    return metadata.get("Requires-Python")


def load_wheelhouse() -> Wheelhouse:
    """The downloaded wheelhouse; FAILS (never skips) when it is absent or does not verify."""
    where = Path(os.environ.get("PEEP_TEST_WHEELHOUSE") or REPO / ".cache" / "wheelhouse")
    problems, wheels = [], []
    for line in WHEELHOUSE_LIST.read_text(encoding="utf-8").splitlines():
        pin = _PIN.match(line)
        if pin is None:
            continue
        stem = f"{pin['name'].replace('-', '_')}-{pin['version']}-"
        found = sorted(where.glob(f"{stem}*.whl")) if where.is_dir() else []
        if not found:
            problems.append(f"missing: {pin['name']}=={pin['version']}")
        elif hashlib.sha256(found[0].read_bytes()).hexdigest() != pin["hex"]:
            problems.append(f"wrong hash: {found[0]}")
        else:
            wheels.append(found[0])
    if problems:
        pytest.fail(
            f"the test wheelhouse {where} is incomplete ({'; '.join(problems)}). Download it, "
            "hash-checked, with PIP_CONFIG_FILE=/dev/null and no other PIP_* variable set:\n"
            "    grep '^[a-z]' tests/wheelhouse.txt | while read -r line; do\n"
            "        python -m pip download --no-deps --require-hashes --ignore-requires-python "
            "-d .cache/wheelhouse "
            "-r <(printf '%s\\n' \"$line\"); done\n"
            "(bash .ci/run does; or point $PEEP_TEST_WHEELHOUSE at a directory holding those "
            "wheels)",
            pytrace=False,
        )
    return Wheelhouse(where, tuple(wheels))
