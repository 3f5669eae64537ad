"""The interpreter we install into: its markers, wheel tags and installed distributions."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from collections.abc import Mapping
from typing import Any, Union

from packaging import tags
from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from peep_setuptools import probing
from peep_setuptools.errors import TargetError
from peep_setuptools.frozen import frozen

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


@frozen
class Target:
    """What we need to know about the target interpreter, read once per run."""

    python: str
    marker_env: Mapping[str, str]
    #: in priority order, most preferred first
    tags: tuple[Tag, ...]
    installed: Mapping[NormalizedName, str]
    has_pip: bool
    #: the names pip knows installed distributions by: their folders' names, also in the
    #: folders .pth files and PYTHONPATH add (pip reinstalling one of these removes it)
    pip_names: frozenset[NormalizedName] = frozenset()
    #: every word (lower case) of the site folders' .pth lines that import, and of a
    #: sitecustomize/usercustomize outside them: the modules a starting Python imports
    startup_modules: frozenset[str] = frozenset()
    #: (scheme, folder) an installer writes to: purelib, platlib, scripts, data
    install_paths: tuple[tuple[str, str], ...] = ()
    #: an ``.egg-link`` (a legacy editable) is in one of those folders: uv counts it
    #: installed under the Name of the PKG-INFO it points to, read by a parser not ours
    egg_links: bool = False
    #: ``sys.prefix`` as pip runs there (a venv's folder): where pip reads ``pip.conf``
    prefix: str = ""

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
    held: list[probing.Running] = []
    try:
        try:  # an interrupt as it starts, or as result() is called (before its own guard)
            return probing.start(python, script, *args, isolated=isolated, held=held).result()
        finally:
            for running in held:
                running.close()
    except (OSError, subprocess.SubprocessError) as exc:
        python = probing.Running.normalized(python)
        # TimeoutExpired's own text quotes the whole command, the script and all
        slow = exc.timeout if isinstance(exc, subprocess.TimeoutExpired) else None
        why = f"no answer in {slow:g} s" if slow is not None else exc
        raise TargetError(f"cannot run the target interpreter {python}: {why}") from exc


def probe(python: str | None = None) -> Target:
    """Inspect ``python`` (default: this interpreter) by running it; raises TargetError."""
    executable = python or sys.executable
    done = run_script(executable, probing.PROBE, isolated=True)
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
            pip_names=frozenset(canonicalize_name(str(n)) for n in data["pip_names"]),
            startup_modules=frozenset(str(m) for m in data["startup_modules"]),
            install_paths=tuple((str(k), str(v)) for k, v in data["install_paths"].items()),
            egg_links=bool(data["egg_links"]),
            prefix=str(data["prefix"]),
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
