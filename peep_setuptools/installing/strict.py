"""Strict mode: build sdists in an environment made only of verified wheels, hooks run by us.

pip's build isolation fetches every backend (setuptools, hatchling...) unverified. Here the
build environment is a folder we unpack verified wheels into, and the PEP 517 hooks run in
``python -I -S`` (no site-packages, no PYTHON* variables), so nothing unverified is importable;
any Python a backend starts gets an environment without PYTHON* variables or user site either.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from peep_setuptools.archives import parse_filename
from peep_setuptools.checks.metadata import ArchiveReadError, parse_metadata, read_wheel_member
from peep_setuptools.errors import BackendError
from peep_setuptools.frozen import frozen
from peep_setuptools.installing.builddeps import (
    BuildRequirement,
    BuildSystem,
    backend_path_problem,
    parse_requirement,
    read_build_system,
)
from peep_setuptools.installing.children import run_process
from peep_setuptools.requirements.spec import Location
from peep_setuptools.target import MarkerEvaluationError, evaluate_marker

#: How long one hook may run.
HOOK_TIMEOUT = 1800
#: Output of a failed hook shown in the error, last lines only.
_TAIL = 20

# Runs in the target interpreter with -I -S: only the standard library, then the build
# environment and the backend path we put on sys.path. As PEP 517 (and pyproject_hooks) ask,
# the backend itself is imported from backend-path when given, else from the verified build
# environment; never from anywhere else, the standard library included.
_RUNNER = r"""
import importlib, json, sys
from importlib.machinery import PathFinder
hook, request, response = sys.argv[1:4]
with open(request) as f:
    data = json.load(f)
sys.path[:0] = data["backend_path"]
sys.path.extend(data["env"])
module, _, attrs = data["backend"].partition(":")
top = module.strip().partition(".")[0]
home = data["backend_path"] or data["env"]
if not top or top in sys.modules or PathFinder.find_spec(top, home) is None:
    with open(response, "w") as f:
        json.dump({"refused": top}, f)
    sys.exit(1)
class BackendHome:
    @staticmethod
    def find_spec(name, path=None, target=None):
        return PathFinder.find_spec(name, home) if name == top else None
sys.meta_path.insert(0, BackendHome)
try:
    backend = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        backend = getattr(backend, attr)
    if hook == "get_requires_for_build_wheel":
        get = getattr(backend, hook, None)
        result = list(get(None)) if get is not None else []
    else:
        result = backend.build_wheel(data["wheel_directory"], None)
except ModuleNotFoundError as exc:
    with open(response, "w") as f:
        json.dump({"missing_module": exc.name or str(exc)}, f)
    sys.exit(1)
with open(response, "w") as f:
    json.dump({"result": result}, f)
"""


@frozen
class Tool:
    """A verified wheel that build environments may use."""

    name: NormalizedName
    version: Version
    path: str


def tools_from(paths: Iterable[str]) -> tuple[Tool, ...]:
    """The verified archives among ``paths`` that are wheels, as build tools."""
    tools = []
    for path in paths:
        parsed = parse_filename(os.path.basename(path))
        if parsed is not None and parsed.kind == "wheel":
            tools.append(Tool(parsed.name, parsed.version, path))
    return tuple(tools)


def applies(requirement: BuildRequirement, marker_env: Mapping[str, str]) -> bool:
    """Whether a build requirement's marker holds for the target; BackendError if it breaks."""
    marker = requirement.requirement.marker
    if marker is None:
        return True
    try:
        return evaluate_marker(marker, {**marker_env, "extra": ""})
    except MarkerEvaluationError as exc:
        raise BackendError(f"{requirement.location}: cannot evaluate {marker}: {exc}") from None


def closure(
    requirements: Sequence[BuildRequirement],
    tools: Sequence[Tool],
    marker_env: Mapping[str, str],
) -> tuple[tuple[Tool, ...], tuple[BuildRequirement, ...]]:
    """(the whole build environment, the requirements no tool in it meets).

    The environment is the requirements' tools and, transitively, what each tool's
    Requires-Dist asks for (read from the wheel, never run), with markers evaluated for the
    build interpreter and the extras that were asked for. The newest fitting tool is taken.
    """
    chosen: dict[NormalizedName, Tool] = {}
    unmet: dict[str, BuildRequirement] = {}
    expanded: set[tuple[NormalizedName, str]] = set()
    queue = [r for r in requirements if applies(r, marker_env)]
    while queue:
        need = queue.pop(0)
        req = need.requirement
        name = canonicalize_name(req.name)
        fitting = [
            t
            for t in tools
            if t.name == name and req.specifier.contains(t.version, prereleases=True)
        ]
        if name in chosen and chosen[name] not in fitting:
            # Two requirements on one tool that the chosen version does not both satisfy.
            unmet.setdefault(str(req), need)
            continue
        if not fitting:
            unmet.setdefault(str(req), need)
            continue
        tool = chosen.setdefault(name, max(fitting, key=lambda t: t.version))
        for extra in ("", *sorted(req.extras)):
            if (name, extra) not in expanded:
                expanded.add((name, extra))
                queue += _dependencies(tool, extra, marker_env)
    return tuple(chosen.values()), tuple(unmet.values())


def _dependencies(tool: Tool, extra: str, marker_env: Mapping[str, str]) -> list[BuildRequirement]:
    """What a tool's wheel METADATA asks for when ``extra`` (or no extra, "") is wanted."""
    filename = os.path.basename(tool.path)
    try:
        text = read_wheel_member(tool.path, "METADATA")
    except ArchiveReadError as exc:
        raise BackendError(f"{filename}: cannot read its dependencies: {exc}") from None
    found = parse_metadata(text, sdist=False)
    if found.requires is None:
        raise BackendError(f"{filename}: cannot read its dependencies: {found.reason}")
    # parse_metadata keeps the header order, so the n-th requirement is on the n-th such line
    lines = [
        number
        for number, line in enumerate(text.splitlines(), 1)
        if line.lower().startswith("requires-dist:")
    ]
    if len(lines) != len(found.requires):
        lines = [0] * len(found.requires)
    wanted = []
    for line, requirement in zip(lines, found.requires):
        marker = requirement.marker
        try:
            if marker is not None and not evaluate_marker(marker, {**marker_env, "extra": extra}):
                continue
        except MarkerEvaluationError as exc:
            raise BackendError(f"{filename}: cannot evaluate {marker}: {exc}") from None
        # An extra's own lines say extra == "x"; the bare list must not pick them up.
        if extra and (marker is None or not _names_extra(str(marker))):
            continue
        wanted.append(BuildRequirement(requirement, Location(f"{filename}/METADATA", line)))
    return wanted


def _names_extra(marker: str) -> bool:
    return "extra" in marker


@dataclass
class Prepared:
    """An sdist unpacked beside its build environment, its dynamic requirements asked for."""

    sdist: str
    system: BuildSystem
    workdir: str
    source: str
    env: str
    used: dict[NormalizedName, Tool] = field(default_factory=dict)


class StrictBuilder:
    """Builds verified sdists into wheels using verified wheels only."""

    def __init__(
        self, *, python: str, tools: Sequence[Tool], marker_env: Mapping[str, str], workdir: str
    ) -> None:
        self.python = python
        self.tools = tuple(tools)
        self.marker_env = marker_env
        self.workdir = workdir

    def read(self, sdist: str) -> BuildSystem:
        """Read an sdist's build system without running it."""
        return read_build_system(sdist)

    def unmet(
        self, needs: Sequence[BuildRequirement], proposed: Sequence[Tool] = ()
    ) -> tuple[BuildRequirement, ...]:
        """What the closure of ``needs`` lacks, counting ``proposed`` (unverified) wheels in."""
        return closure(needs, (*self.tools, *proposed), self.marker_env)[1]

    def prepare(
        self, sdist: str, system: BuildSystem, number: int
    ) -> Prepared | tuple[BuildRequirement, ...]:
        """Unpack, populate the environment, and ask the backend for dynamic requirements.

        Returns the Prepared build, or the dynamic requirements no verified wheel meets.
        The backend runs here (it is verified); nothing else does.
        """
        root = os.path.join(self.workdir, f"build-{number:04d}")
        os.makedirs(root, mode=0o700)
        source = _unpack_sdist(sdist, os.path.join(root, "src"))
        env = os.path.join(root, "env")
        os.makedirs(env)
        chosen, unmet = closure(system.requires, self.tools, self.marker_env)
        if unmet:  # the caller checked already; never build with a partial environment
            return unmet
        prepared = Prepared(sdist, system, root, source, env)
        self._add(prepared, chosen)
        asked = self._hook(prepared, "get_requires_for_build_wheel")
        if not isinstance(asked, list) or not all(isinstance(a, str) for a in asked):
            raise BackendError(
                f"{os.path.basename(sdist)}: get_requires_for_build_wheel returned {asked!r}, "
                "not a list of requirements"
            )
        where = Location(f"{os.path.basename(sdist)} get_requires_for_build_wheel()", 0)
        dynamic = [parse_requirement(text, where) for text in asked]
        more, unmet = closure([*system.requires, *dynamic], self.tools, self.marker_env)
        if unmet:
            return unmet
        self._add(prepared, more)
        return prepared

    def build(self, prepared: Prepared) -> str:
        """Run ``build_wheel``; return the built wheel's path. BackendError if it fails."""
        out = os.path.join(prepared.workdir, "dist")
        os.makedirs(out)
        name = self._hook(prepared, "build_wheel", wheel_directory=out)
        path = os.path.join(out, name) if isinstance(name, str) else ""
        if not name or os.path.basename(path) != name or not os.path.isfile(path):
            raise BackendError(
                f"{os.path.basename(prepared.sdist)}: build_wheel returned {name!r}, "
                "not the name of a wheel it wrote"
            )
        return path

    def _add(self, prepared: Prepared, tools: Iterable[Tool]) -> None:
        for tool in tools:
            if tool.name in prepared.used:
                continue
            _unpack_wheel(tool.path, prepared.env)
            prepared.used[tool.name] = tool

    def _hook(self, prepared: Prepared, hook: str, **extra: str) -> object:
        request = os.path.join(prepared.workdir, f"{hook}.in.json")
        response = os.path.join(prepared.workdir, f"{hook}.out.json")
        runner = os.path.join(prepared.workdir, "peep_hook_runner.py")
        with open(runner, "w", encoding="utf-8") as stream:
            stream.write(_RUNNER)
        backend_path = backend_dirs(prepared.source, prepared.system.backend_path, prepared.sdist)
        data = {
            "backend": prepared.system.backend,
            "backend_path": backend_path,
            "env": [prepared.env],
            **extra,
        }
        with open(request, "w", encoding="utf-8") as stream:
            json.dump(data, stream)
        command = [self.python, "-I", "-S", runner, hook, request, response]
        try:
            done = run_process(
                command,
                cwd=prepared.source,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
                timeout=HOOK_TIMEOUT,
                env=hook_environment(os.environ),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise BackendError(f"cannot run the build backend with {self.python}: {exc}") from None
        name = os.path.basename(prepared.sdist)
        if done.returncode != 0 and _answer(response, "refused") is not None:
            home = "its backend-path" if backend_path else "its verified build dependencies"
            raise BackendError(
                f"{name}: the build backend {prepared.system.backend!r} is not importable from "
                f"{home}; PEP 517 builds import it from there only. Not building it."
            )
        missing = _missing_module(response) if done.returncode != 0 else None
        if missing is not None:
            used = ", ".join(f"{t.name}=={t.version}" for t in prepared.used.values())
            raise BackendError(
                f"building {name}: the build backend {prepared.system.backend} could not import "
                f"the module {missing!r}, which is not in its verified build environment "
                f"({used or 'empty'}); the build dependencies' metadata does not ask for it. "
                "Pin the project that provides it, with its hash, in the build requirements "
                "file (--build-requirements) and run again; nothing was installed."
            )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-_TAIL:])
            raise BackendError(
                f"building {name}: {prepared.system.backend} {hook} exited {done.returncode}; "
                f"its build dependencies were verified, the build itself failed:\n{tail}"
            )
        try:
            with open(response, encoding="utf-8") as stream:
                return json.load(stream)["result"]
        except (OSError, ValueError, KeyError, TypeError):
            raise BackendError(f"building {name}: {hook} gave no answer") from None


def _missing_module(response: str) -> str | None:
    """The module a failed hook could not import, as its runner reported it, or None."""
    name = _answer(response, "missing_module")
    return name if isinstance(name, str) else None


def _answer(response: str, key: str) -> object:
    """One value of a hook's JSON answer, or None if it gave none."""
    try:
        with open(response, encoding="utf-8") as stream:
            data = json.load(stream)
    except (OSError, ValueError):
        return None
    return data.get(key) if isinstance(data, dict) else None


#: Variables that make a Python import, run or find code elsewhere (PYTHON* are all dropped).
_FOREIGN_CODE_VARIABLES = frozenset({"__PYVENV_LAUNCHER__"})


def hook_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The build hooks' environment: ``environ`` without what points a Python elsewhere (pure).

    The hook runner itself runs with ``-I -S``; this is for any Python a backend starts:
    no PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONUSERBASE, PYTHONWARNINGS (which imports
    the module a category names)... and no user site-packages.
    """
    env = {
        key: value
        for key, value in environ.items()
        if not key.upper().startswith("PYTHON") and key.upper() not in _FOREIGN_CODE_VARIABLES
    }
    env["PYTHONNOUSERSITE"] = "1"
    return env


def backend_dirs(source: str, entries: Sequence[str], sdist: str) -> list[str]:
    """``backend-path`` entries as folders inside ``source``, links resolved; else BackendError.

    ``read_build_system`` refused absolute and ``..`` entries already; this also catches a
    folder that leaves the unpacked tree through a link (the unpacker writes none).
    """
    root = os.path.realpath(source)
    dirs = []
    for entry in entries:
        path = os.path.realpath(os.path.join(root, entry))
        if backend_path_problem(entry) or not (path == root or path.startswith(root + os.sep)):
            raise BackendError(
                f"{os.path.basename(sdist)}: build-system.backend-path entry {entry!r} leads "
                "out of the unpacked sdist "
                f"({path}); PEP 517 allows only folders inside the project. Not building it."
            )
        dirs.append(path)
    return dirs


def _inside(root: str, name: str) -> str:
    """``root/name`` if it stays inside ``root``; BackendError for absolute or ``..`` names.

    ``.`` (a tarball's ``./`` entry) is ``root`` itself; writing a file there fails.
    """
    target = os.path.normpath(os.path.join(root, name))
    top = os.path.normpath(root)
    if os.path.isabs(name) or not (target == top or target.startswith(top + os.sep)):
        raise BackendError(f"archive member {name!r} would be written outside {root}")
    return target


def _unpack_sdist(sdist: str, into: str) -> str:
    """Extract regular files and folders only (no links, devices); return the project root."""
    os.makedirs(into)
    try:
        if sdist.lower().endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                for info in archive.infolist():
                    target = _inside(into, info.filename)
                    if info.is_dir():
                        os.makedirs(target, exist_ok=True)
                        continue
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with archive.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        else:
            with tarfile.open(sdist) as tar:
                for member in tar:
                    target = _inside(into, member.name)
                    if member.isdir():
                        os.makedirs(target, exist_ok=True)
                    elif member.isfile():
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        stream = tar.extractfile(member)
                        if stream is None:
                            continue
                        with stream, open(target, "wb") as dst:
                            shutil.copyfileobj(stream, dst)
                        if member.mode & 0o100:
                            os.chmod(target, 0o700)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise BackendError(f"cannot unpack the sdist {os.path.basename(sdist)}: {exc}") from None
    entries = os.listdir(into)
    if len(entries) == 1 and os.path.isdir(os.path.join(into, entries[0])):
        return os.path.join(into, entries[0])
    return into


def _unpack_wheel(wheel: str, into: str) -> None:
    """Unpack a wheel's importable files (purelib/platlib) into a build environment folder.

    Scripts, headers and data are left out: a build backend is imported, not run as a
    command, and nothing here is ever installed.
    """
    try:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                name = info.filename
                parts = name.split("/")
                if parts[0].endswith(".data"):
                    if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                        continue
                    name = "/".join(parts[2:])
                if info.is_dir() or not name:
                    continue
                target = _inside(into, name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackendError(f"cannot unpack the wheel {os.path.basename(wheel)}: {exc}") from None
