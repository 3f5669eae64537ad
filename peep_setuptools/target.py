"""The interpreter we install into: its markers, wheel tags and installed distributions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from packaging import tags
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools.errors import TargetError

#: Script text that sets ``paths``: the site folders the target installs into and imports
#: from, computed without running its site.py. Every probe runs with -I -S (run_script's
#: ``isolated``), so no ``.pth`` file or sitecustomize in the target runs or answers for it;
#: a venv's site folders are only added by site.py, so pyvenv.cfg is read here as site.py
#: reads it (sys.prefix is not the venv's under -S before 3.11). Also sets ``venv`` (its
#: folder or None), ``venv_paths`` (its own purelib and platlib), ``scheme`` and ``where``
#: (for sysconfig.get_path) and ``user_site``.
SITE_DIRS = r"""
import os, site, sys, sysconfig
venv = None
system = False
home = os.path.dirname(os.path.abspath(sys.executable))
for conf in (os.path.join(home, "pyvenv.cfg"), os.path.join(os.path.dirname(home), "pyvenv.cfg")):
    if os.path.isfile(conf):
        with open(conf, encoding="utf-8") as f:
            pairs = [line.partition("=") for line in f]
        system = any(k.strip().lower() == "include-system-site-packages"
                     and v.strip().lower() == "true" for k, _, v in pairs)
        venv = os.path.dirname(home)
        break
names = sysconfig.get_scheme_names()
# The venv scheme's folders (a distribution's patched site.py, as Debian's, differs).
scheme = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
where = {"base": venv, "platbase": venv}
user_site = site.getusersitepackages()
if venv is None:
    paths = list(site.getsitepackages())
    if os.path.isdir(user_site):
        paths.insert(0, user_site)
else:
    paths = [sysconfig.get_path(kind, scheme, where) for kind in ("purelib", "platlib")]
    paths += list(site.getsitepackages([sys.base_prefix, sys.base_exec_prefix])) if system else []
venv_paths = paths[:2] if venv else []
paths = list(dict.fromkeys(paths))
"""

# Runs inside the target with nothing but its standard library: the target may be an older
# Python than our copy of `packaging` supports, so tags are computed here from these facts.
# Listing what is installed is most of its cost, so the usual layout (site folders holding
# *.dist-info / *.egg-info folders) is read directly: importing importlib.metadata and
# running the email parser on every METADATA took ~35 of its ~55 ms. Anything else (a zip
# or .egg, an egg-info file, an odd METADATA) falls back to importlib.metadata over the same
# folders, so the result is the same.
_PROBE = (
    SITE_DIRS
    + r"""
import json, platform
impl = sys.implementation
iver = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
if impl.version.releaselevel != "final":
    iver += impl.version.releaselevel[0] + str(impl.version.serial)
markers = {
    "implementation_name": impl.name,
    "implementation_version": iver,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
def headers(path):
    # Name and Version from the header block (up to the first blank line), or None.
    found = {}
    try:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and key in ("name", "version") and key not in found:
                    found[key] = value.strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not found.get("name") or "version" not in found:
        return None
    return found["name"], found["version"]
def scan():
    # importlib.metadata.distributions(path=paths), in its order; None when it might find
    # something this does not look for.
    found = {}
    for entry in paths:
        if entry.lower().endswith(".egg"):
            return None
        try:
            children = os.listdir(entry or ".")
        except OSError:
            if os.path.exists(entry or "."):
                return None  # a zip file
            continue
        for child in children:
            low = child.lower()
            if low.endswith(".egg"):
                return None
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            folder = os.path.join(entry or ".", child)
            if not os.path.isdir(folder):
                return None  # an egg-info file
            meta = os.path.join(folder, "METADATA")
            head = headers(meta if os.path.isfile(meta) else os.path.join(folder, "PKG-INFO"))
            if head is None:
                return None
            found.setdefault(head[0], head[1])
    return found
installed = scan()
if installed is None:
    import importlib.metadata as md
    installed = {}
    for dist in md.distributions(path=paths):
        name = dist.metadata["Name"]
        if name and name not in installed:
            installed[name] = dist.version
print(json.dumps({
    "executable": sys.executable,
    "markers": markers,
    "version": list(sys.version_info[:2]),
    "soabi": sysconfig.get_config_var("SOABI") or "",
    "debug": bool(sysconfig.get_config_var("Py_DEBUG")),
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "platform": sysconfig.get_platform(),
    "installed": installed,
    "has_pip": any(
        os.path.isdir(os.path.join(p, "pip")) for p in paths if p and os.path.isdir(p)
    ),
}))
"""
)


#: marker variables; PEP 751 lock files add ``extras`` and ``dependency_groups`` as sets
MarkerEnvironment = Mapping[str, Union[str, frozenset[str]]]


class MarkerEvaluationError(ValueError):
    """A marker cannot be evaluated in an environment; ``str()`` is packaging's reason."""


def evaluate_marker(
    marker: Marker, environment: MarkerEnvironment, *, lock_file: bool = False
) -> bool:
    """Tell whether ``marker`` holds in ``environment`` (a target's, plus ``extra``).

    The one marker evaluation of the package. ``lock_file`` evaluates as PEP 751 says,
    with ``extras`` and ``dependency_groups``. Raises MarkerEvaluationError.
    """
    try:
        if lock_file:
            try:
                return marker.evaluate(dict(environment), context="lock_file")  # type: ignore[call-arg,arg-type,unused-ignore]
            except TypeError:  # packaging before 25 has no lock-file context
                pass
        strings = {k: v for k, v in environment.items() if isinstance(v, str)}
        return marker.evaluate(strings)
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise MarkerEvaluationError(str(exc)) from None


@dataclass(frozen=True)
class Target:
    """What we need to know about the target interpreter, read once per run."""

    python: str
    marker_env: Mapping[str, str]
    #: in priority order, most preferred first
    tags: tuple[Tag, ...]
    installed: Mapping[NormalizedName, str]
    has_pip: bool

    @property
    def python_version(self) -> Version:
        """The full interpreter version, for ``Requires-Python``."""
        return Version(self.marker_env["python_full_version"])

    def marker_holds(self, marker: Marker, *, extra: str = "") -> bool:
        """Tell whether ``marker`` holds on this interpreter; raises MarkerEvaluationError."""
        return evaluate_marker(marker, {**self.marker_env, "extra": extra})

    def installed_version(self, name: NormalizedName) -> Version | None:
        """The installed version of a project, or None."""
        text = self.installed.get(name)
        if text is None:
            return None
        try:
            return Version(text)
        except InvalidVersion:
            return None


def run_script(
    python: str, script: str, *args: str, isolated: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c script *args`` for its output; raises TargetError if it cannot start.

    The exit status is left to the caller, which knows what the script was for. A relative
    ``python`` means the caller's directory, not the temporary one the script runs in.
    ``isolated`` adds ``-I -S``: no PYTHON* variables, no site-packages, no ``.pth`` files,
    so nothing installed in the target can run in the script or change its answer.
    """
    if os.sep in python or (os.altsep and os.altsep in python):
        python = os.path.abspath(python)
    with tempfile.TemporaryDirectory() as cwd:  # so nothing in the caller's cwd shadows stdlib
        try:
            return subprocess.run(
                [python, *(("-I", "-S") if isolated else ()), "-c", script, *args],
                capture_output=True,
                text=True,
                cwd=cwd,
                check=False,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise TargetError(f"cannot run the target interpreter {python}: {exc}") from exc


def probe(python: str | None = None) -> Target:
    """Inspect ``python`` (default: this interpreter) by running it; raises TargetError."""
    executable = python or sys.executable
    done = run_script(executable, _PROBE, isolated=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise TargetError(
            f"cannot inspect the target interpreter {executable}: it exited "
            f"{done.returncode} ({last})"
        )
    try:
        data = json.loads(done.stdout)
        return Target(
            python=str(data["executable"]),
            marker_env={str(k): str(v) for k, v in data["markers"].items()},
            tags=_tags_of(data),
            installed={canonicalize_name(k): str(v) for k, v in data["installed"].items()},
            has_pip=bool(data["has_pip"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise TargetError(f"cannot understand what {executable} reports about itself") from exc


def _tags_of(data: Mapping[str, Any]) -> tuple[Tag, ...]:
    major, minor = (int(part) for part in data["version"])
    name = data["markers"]["implementation_name"]
    platforms = _platforms(str(data["platform"]))
    if name == "cpython":
        abi = (
            f"cp{major}{minor}"
            + ("d" if data["debug"] else "")
            + ("t" if data["free_threaded"] else "")
        )
        found = list(tags.cpython_tags((major, minor), [abi], platforms))
        interpreter = f"cp{major}{minor}"
    else:
        interpreter = f"{tags.INTERPRETER_SHORT_NAMES.get(name, name)}{major}{minor}"
        soabi = str(data["soabi"])
        abis = [soabi.split("-")[0].replace(".", "_")] if soabi else []
        found = list(tags.generic_tags(interpreter, abis, platforms))
    found.extend(tags.compatible_tags((major, minor), interpreter, platforms))
    return tuple(dict.fromkeys(found))


def _platforms(target_platform: str) -> list[str]:
    # Same platform as ours: our own list is right (manylinux/musllinux/macOS versions).
    if target_platform == sysconfig.get_platform():
        return list(tags.platform_tags())
    return [target_platform.replace("-", "_").replace(".", "_")]
