"""--strict: sdists are built by us, from hash-verified build dependencies only."""

from __future__ import annotations

import io
import tarfile
import textwrap
from pathlib import Path

import pytest
from support.builders import TELLTALE_ENV, installed, write_wheel

from peep_setuptools.hashes import Digest, hash_file
from peep_setuptools.installing.builddeps import DEFAULT_REQUIRES, read_build_system
from peep_setuptools.installing.report import MISMATCH_HEAD, MISSING_HEAD, NOT_PROCEEDING

pytestmark = pytest.mark.slow

# A PEP 517 backend in a wheel: it notes each hook it runs in the telltale file, asks for
# the requirements listed in the project's dynamic.txt, and imports them when building.
_BACKEND = textwrap.dedent(
    """
    import base64, hashlib, importlib, os, zipfile


    def _note(what):
        with open(os.environ[TELLTALE_ENV], "a") as f:
            f.write("tinybackend " + what + "\\n")


    def _dynamic():
        if not os.path.exists("dynamic.txt"):
            return []
        with open("dynamic.txt") as f:
            return [line.strip() for line in f if line.strip()]


    def get_requires_for_build_wheel(config_settings=None):
        _note("get_requires_for_build_wheel")
        return _dynamic()


    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        _note("build_wheel")
        for req in _dynamic():
            importlib.import_module(req.split("=")[0])
        with open("tiny.txt") as f:
            name, version = f.read().split()
        info = name + "-" + version + ".dist-info"
        files = {name + "/__init__.py": b"ORIGIN = 'tinybackend'\\n"}
        files[info + "/METADATA"] = (
            "Metadata-Version: 2.1\\nName: " + name + "\\nVersion: " + version + "\\n"
        ).encode()
        wheel = b"Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        files[info + "/WHEEL"] = wheel
        record = []
        for arc, data in files.items():
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
            record.append(arc + ",sha256=" + digest + "," + str(len(data)))
        files[info + "/RECORD"] = ("\\n".join(record + [info + "/RECORD,,"]) + "\\n").encode()
        filename = name + "-" + version + "-py3-none-any.whl"
        with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
            for arc, data in files.items():
                zf.writestr(arc, data)
        return filename
    """
).replace("TELLTALE_ENV", repr(TELLTALE_ENV))


def _sdist(dest: Path, name: str, *, dynamic: str = "", pyproject: str | None = None) -> Path:
    if pyproject is None:
        pyproject = (
            '[build-system]\nrequires = ["tinybackend==1.0"]\nbuild-backend = "tinybackend"\n'
        )
    members = {
        f"{name}-1.0/pyproject.toml": pyproject,
        f"{name}-1.0/tiny.txt": f"{name} 1.0\n",
        f"{name}-1.0/PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
    }
    if dynamic:
        members[f"{name}-1.0/dynamic.txt"] = dynamic + "\n"
    path = dest / f"{name}-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for arcname, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, publish):
    root = tmp_path_factory.mktemp("tiny")
    files = {
        "tinybackend": write_wheel(
            root, "tinybackend", "1.0", {"tinybackend/__init__.py": _BACKEND.encode()}
        ),
        "tinyhelper": write_wheel(root, "tinyhelper", "1.0", {"tinyhelper/__init__.py": b""}),
        "omega": _sdist(root, "omega"),
        "sigma": _sdist(root, "sigma", dynamic="tinyhelper==1.0"),
    }
    return publish(files)


def _install(peep, reqs, index, *extra, check=0):
    return peep.install(reqs, "-i", index.index_url, "--no-cache", *extra, check=check)


def _check(peep, venv, reqs, index, *extra, check=0):
    """``peep check -r REQS --python VENV -i INDEX EXTRA...``"""
    return peep(
        "check", "-r", reqs, "--python", str(venv), "-i", index.index_url, *extra, check=check
    )


def test_build_system_is_read_without_running_anything(tmp_path, packages):
    system = read_build_system(str(_sdist(tmp_path, "omega")))
    assert [str(r.requirement) for r in system.requires] == ["tinybackend==1.0"]
    assert str(system.requires[0].location) == "omega-1.0.tar.gz/omega-1.0/pyproject.toml:2"
    assert (system.backend, system.assumed) == ("tinybackend", False)
    legacy = read_build_system(str(packages["gamma-1.0"]))
    assert [str(r.requirement) for r in legacy.requires] == list(DEFAULT_REQUIRES)
    assert legacy.assumed


def test_listed_backend_builds_the_sdist_and_is_not_installed(
    peep, venv, write, index, tiny, telltale
):
    reqs = write("reqs.txt", f"omega==1.0 {tiny['omega'].pip_option()}\n")
    build = write("build.txt", f"tinybackend==1.0 {tiny['tinybackend'].pip_option()}\n")
    done = _install(peep, reqs, index, "--build-requirements", build)
    got = installed(venv)
    assert got["omega"] == "1.0"
    assert "tinybackend" not in got
    assert telltale.read_text() == (
        "tinybackend get_requires_for_build_wheel\ntinybackend build_wheel\n"
    )
    assert "WITHOUT hash checking" not in done.stdout + done.stderr


def test_backend_pinned_in_the_requirements_file_itself_is_used(
    peep, venv, write, index, tiny, telltale
):
    reqs = write(
        "reqs.txt",
        f"omega==1.0 {tiny['omega'].pip_option()}\n"
        f"tinybackend==1.0 {tiny['tinybackend'].pip_option()}\n",
    )
    _install(peep, reqs, index, "--strict")
    assert installed(venv)["omega"] == "1.0"
    assert "build_wheel" in telltale.read_text()


def test_missing_backend_hash_shows_the_line_to_add_and_nothing_runs(
    peep, venv, write, index, tiny, telltale
):
    reqs = write("reqs.txt", f"omega==1.0 {tiny['omega'].pip_option()}\n")
    done = _install(peep, reqs, index, "--strict", check=1)
    assert MISSING_HEAD in done.stdout
    assert "# from omega-1.0.tar.gz/omega-1.0/pyproject.toml:2\n" in done.stdout
    assert f"tinybackend==1.0 {tiny['tinybackend'].pip_option()}\n" in done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    assert not telltale.exists()
    assert "omega" not in installed(venv)


def test_mismatching_backend_hash_stops_before_anything_runs(
    peep, venv, write, index, tiny, telltale
):
    reqs = write("reqs.txt", f"omega==1.0 {tiny['omega'].pip_option()}\n")
    wrong = Digest("sha256", "0" * 64)
    build = write("build.txt", f"tinybackend==1.0 {wrong.pip_option()}\n")
    done = _install(peep, reqs, index, "--build-requirements", build, check=1)
    assert MISMATCH_HEAD in done.stdout
    assert f"got sha256:{tiny['tinybackend'].hex}" in done.stdout
    assert not telltale.exists()
    assert "omega" not in installed(venv)


def test_dynamic_build_requirement_must_be_listed_too(peep, venv, write, index, tiny, telltale):
    reqs = write("reqs.txt", f"sigma==1.0 {tiny['sigma'].pip_option()}\n")
    build = write("build.txt", f"tinybackend==1.0 {tiny['tinybackend'].pip_option()}\n")
    done = _install(peep, reqs, index, "--build-requirements", build, check=1)
    assert MISSING_HEAD in done.stdout
    assert f"tinyhelper==1.0 {tiny['tinyhelper'].pip_option()}\n" in done.stdout
    assert "# from sigma-1.0.tar.gz get_requires_for_build_wheel():0" in done.stdout
    # the verified backend was asked, but nothing was built or installed
    assert telltale.read_text() == "tinybackend get_requires_for_build_wheel\n"
    assert "sigma" not in installed(venv)

    telltale.unlink()
    write(
        "build.txt",
        f"tinybackend==1.0 {tiny['tinybackend'].pip_option()}\n"
        f"tinyhelper==1.0 {tiny['tinyhelper'].pip_option()}\n",
    )
    _install(peep, reqs, index, "--build-requirements", build)
    assert installed(venv)["sigma"] == "1.0"
    assert "build_wheel" in telltale.read_text()


def test_an_sdist_without_build_system_needs_setuptools_pinned(
    peep, venv, write, packages, index, telltale
):
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    done = _install(peep, reqs, index, "--strict", check=1)
    assert MISSING_HEAD in done.stdout
    assert f"setuptools=={_version(packages['setuptools'])} {packages.pip('setuptools')}" in (
        done.stdout
    )
    assert not telltale.exists()

    build = write(
        "build.txt",
        f"setuptools {packages.pip('setuptools')}\n".replace(
            "setuptools ", f"setuptools=={_version(packages['setuptools'])} ", 1
        ),
    )
    _install(peep, reqs, index, "--build-requirements", build)
    assert installed(venv)["gamma"] == "1.0"
    assert "gamma ran" in telltale.read_text()


def _version(path: Path) -> str:
    return path.name.split("-")[1]


# -- the build environment is the whole closure (a hatchling-like backend) --------------------

# deepbackend imports deepmid, which imports deepleaf: two levels of dependencies that only the
# wheels' Requires-Dist name, as hatchling's pathspec, pluggy... are named only by its wheel.
_DEEP_REQUIRES = (
    "deepmid>=1.0",
    'neverneeded; python_version < "3"',
    'docsonly; extra == "docs"',
)


@pytest.fixture(scope="module")
def deep(tmp_path_factory, publish):
    root = tmp_path_factory.mktemp("deep")
    backend = b"import deepmid\n" + _BACKEND.encode()
    files = {
        "deepbackend": write_wheel(
            root,
            "deepbackend",
            "1.0",
            {"deepbackend/__init__.py": backend},
            requires_dist=_DEEP_REQUIRES,
        ),
        "deepmid": write_wheel(
            root,
            "deepmid",
            "1.0",
            {"deepmid/__init__.py": b"import deepleaf\n"},
            requires_dist=["deepleaf"],
        ),
        "deepleaf": write_wheel(root, "deepleaf", "1.0", {"deepleaf/__init__.py": b""}),
        # a backend whose wheel forgets to declare what it imports
        "sloppybackend": write_wheel(
            root,
            "sloppybackend",
            "1.0",
            {"sloppybackend/__init__.py": b"import undeclared_helper\n" + _BACKEND.encode()},
        ),
        # dependencies in a cycle: proposing and building both end
        "loopbackend": write_wheel(
            root,
            "loopbackend",
            "1.0",
            {"loopbackend/__init__.py": _BACKEND.encode()},
            requires_dist=["cyclea"],
        ),
        "cyclea": write_wheel(root, "cyclea", "1.0", {}, requires_dist=["cycleb"]),
        "cycleb": write_wheel(root, "cycleb", "1.0", {}, requires_dist=["cyclea>=1"]),
        "loopy": _sdist(root, "loopy", pyproject=_pyproject("loopbackend")),
        "hatchy": _sdist(root, "hatchy", pyproject=_pyproject("deepbackend")),
        # an extra asked for brings its own lines of the backend's Requires-Dist
        "docsonly": write_wheel(root, "docsonly", "1.0", {}),
        "docsy": _sdist(
            root,
            "docsy",
            pyproject=_pyproject("deepbackend").replace('"deepbackend"]', '"deepbackend[docs]"]'),
        ),
        "sloppy": _sdist(root, "sloppy", pyproject=_pyproject("sloppybackend")),
    }
    # an older leaf, so that the newest fitting release is the one proposed
    publish({"old": write_wheel(root / "old", "deepleaf", "0.9", {})})
    return publish(files)


def _pyproject(backend: str) -> str:
    return f'[build-system]\nrequires = ["{backend}"]\nbuild-backend = "{backend}"\n'


def _pasted(stdout: str) -> str:
    """The requirement lines of a missing-hash block, as a user pastes them."""
    return "".join(line + "\n" for line in stdout.splitlines() if " --hash=sha256:" in line)


def test_the_whole_build_closure_is_reported_in_one_block(peep, venv, write, index, deep, telltale):
    reqs = write("reqs.txt", f"hatchy==1.0 {deep['hatchy'].pip_option()}\n")
    done = _install(peep, reqs, index, "--strict", check=1)
    assert MISSING_HEAD in done.stdout
    block = done.stdout
    assert "# from hatchy-1.0.tar.gz/hatchy-1.0/pyproject.toml:2\n" in block
    assert f"deepbackend==1.0 {deep['deepbackend'].pip_option()}\n" in block
    assert "# from deepbackend-1.0-py3-none-any.whl/METADATA:4\n" in block
    assert f"deepmid==1.0 {deep['deepmid'].pip_option()}\n" in block
    assert "# from deepmid-1.0-py3-none-any.whl/METADATA:4\n" in block
    assert f"deepleaf==1.0 {deep['deepleaf'].pip_option()}\n" in block
    assert "trust on first use" in block
    # markers are evaluated for the build interpreter; extras nobody asked for are left out
    assert "neverneeded" not in block and "docsonly" not in block
    assert block.rstrip().endswith(NOT_PROCEEDING)
    assert not telltale.exists()

    # one round of pasting is enough
    build = write("build.txt", _pasted(done.stdout))
    _install(peep, reqs, index, "--build-requirements", build)
    got = installed(venv)
    assert got["hatchy"] == "1.0"
    assert not {"deepbackend", "deepmid", "deepleaf"} & set(got)
    assert "tinybackend build_wheel" in telltale.read_text()


def test_only_the_missing_members_of_the_closure_are_proposed(
    peep, venv, write, index, deep, telltale
):
    reqs = write("reqs.txt", f"hatchy==1.0 {deep['hatchy'].pip_option()}\n")
    build = write(
        "build.txt",
        f"deepbackend==1.0 {deep['deepbackend'].pip_option()}\n"
        f"deepmid==1.0 {deep['deepmid'].pip_option()}\n",
    )
    done = _install(peep, reqs, index, "--build-requirements", build, check=1)
    assert _pasted(done.stdout) == f"deepleaf==1.0 {deep['deepleaf'].pip_option()}\n"
    assert not telltale.exists()
    assert "hatchy" not in installed(venv)


def test_check_strict_fix_writes_the_closure(peep, venv, write, tmp_path, index, deep, telltale):
    reqs = write("reqs.txt", f"hatchy==1.0 {deep['hatchy'].pip_option()}\n")
    build = tmp_path / "build-requirements.txt"
    _check(peep, venv, reqs, index, "--strict", "--fix", "--build-requirements", str(build))
    written = build.read_text()
    for name in ("deepbackend", "deepmid", "deepleaf"):
        assert f"{name}==1.0 {deep[name].pip_option()}" in written
    assert not telltale.exists()
    _check(peep, venv, reqs, index, "--build-requirements", str(build))
    _install(peep, reqs, index, "--build-requirements", str(build))
    assert installed(venv)["hatchy"] == "1.0"


def test_a_backend_missing_a_module_is_our_error_not_its_traceback(
    peep, venv, write, index, deep, telltale
):
    reqs = write("reqs.txt", f"sloppy==1.0 {deep['sloppy'].pip_option()}\n")
    build = write("build.txt", f"sloppybackend==1.0 {deep['sloppybackend'].pip_option()}\n")
    done = _install(peep, reqs, index, "--build-requirements", build, check=1)
    assert "could not import the module 'undeclared_helper'" in done.stderr
    assert "sloppybackend==1.0" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "sloppy" not in installed(venv)


# -- what a build may import: backend-path inside the sdist, no PYTHON* for child Pythons ----

_PLANTED = textwrap.dedent(
    """
    import os
    with open(os.environ[TELLTALE_ENV], "a") as f:
        f.write("unverified code ran\\n")

    def get_requires_for_build_wheel(config_settings=None):
        return []
    """
).replace("TELLTALE_ENV", repr(TELLTALE_ENV))


@pytest.fixture(scope="module")
def outside(tmp_path_factory):
    """A folder outside every sdist holding an unverified backend that notes its import."""
    root = tmp_path_factory.mktemp("outside")
    (root / "plantedbackend.py").write_text(_PLANTED)
    (root / "peep_planted.py").write_text(_PLANTED)
    return root


def _in_tree_pyproject(backend: str, paths: list[str], requires: str = "") -> str:
    return (
        f"[build-system]\nrequires = [{requires}]\nbuild-backend = {backend!r}\n"
        f"backend-path = {paths!r}\n".replace("'", '"')
    )


@pytest.mark.parametrize("how", ["absolute", "climbing"])
def test_backend_path_outside_the_sdist_is_refused_before_anything_runs(
    peep, venv, write, index, tiny, telltale, outside, tmp_path, how
):
    entry = str(outside) if how == "absolute" else "../" * 40 + str(outside).lstrip("/")
    name = f"bp{how}"
    sdist = _sdist(tmp_path, name, pyproject=_in_tree_pyproject("plantedbackend", ["in", entry]))
    index.add_file(name, sdist)
    reqs = write("reqs.txt", f"{name}==1.0 {hash_file(str(sdist))['sha256'].pip_option()}\n")
    done = _install(peep, reqs, index, "--strict", check=1)
    reason = "is absolute" if how == "absolute" else "climbs out of the project"
    assert (
        f"{name}-1.0.tar.gz/{name}-1.0/pyproject.toml: build-system.backend-path[1]: "
        f"{entry!r} {reason}; PEP 517 allows only relative folders inside the project; "
        "refusing to build it"
    ) in done.stderr
    assert not telltale.exists()
    assert name not in installed(venv)


@pytest.mark.parametrize(
    ("backend", "paths", "home"),
    [
        ("tinybackend", ["in"], "its backend-path"),  # PEP 517: from backend-path only
        ("json", [], "its verified build dependencies"),  # not the standard library either
        ("plantedbackend", [], "its verified build dependencies"),
    ],
)
def test_backend_must_come_from_backend_path_or_the_verified_wheels(
    peep, venv, write, index, tiny, telltale, tmp_path, backend, paths, home
):
    name = f"bh{backend}{len(paths)}"
    pyproject = _in_tree_pyproject(backend, paths, '"tinybackend==1.0"')
    sdist = _sdist(tmp_path, name, pyproject=pyproject)
    index.add_file(name, sdist)
    reqs = write(
        "reqs.txt",
        f"{name}==1.0 {hash_file(str(sdist))['sha256'].pip_option()}\n"
        f"tinybackend==1.0 {tiny['tinybackend'].pip_option()}\n",
    )
    done = _install(peep, reqs, index, "--strict", check=1)
    assert (
        f"{name}-1.0.tar.gz: the build backend {backend!r} is not importable from {home}; "
        "PEP 517 builds import it from there only. Not building it."
    ) in done.stderr
    assert not telltale.exists()
    assert name not in installed(venv)


def test_python_started_by_a_backend_gets_no_pythonpath(
    peep, venv, write, index, tiny, telltale, outside, tmp_path
):
    # A verified backend that runs a child Python (as build tools do) must not let
    # PYTHONPATH, PYTHONSTARTUP or the like hand that child unverified code.
    kid = _BACKEND.replace(
        '    _note("build_wheel")\n',
        '    _note("build_wheel")\n'
        "    import subprocess, sys\n"
        "    subprocess.run([sys.executable, '-c', 'import peep_planted'], check=False)\n",
    )
    assert kid != _BACKEND
    wheel = write_wheel(tmp_path, "kidbackend", "1.0", {"kidbackend/__init__.py": kid.encode()})
    index.add_file("kidbackend", wheel)
    pyproject = '[build-system]\nrequires = ["kidbackend==1.0"]\nbuild-backend = "kidbackend"\n'
    sdist = _sdist(tmp_path, "kidpkg", pyproject=pyproject)
    index.add_file("kidpkg", sdist)
    reqs = write("reqs.txt", f"kidpkg==1.0 {hash_file(str(sdist))['sha256'].pip_option()}\n")
    build = write("build.txt", f"kidbackend==1.0 {hash_file(str(wheel))['sha256'].pip_option()}\n")
    peep.env.update(PYTHONPATH=str(outside), PYTHONSTARTUP=str(outside / "peep_planted.py"))
    _install(peep, reqs, index, "--build-requirements", build)
    assert installed(venv)["kidpkg"] == "1.0"
    assert telltale.read_text() == (
        "tinybackend get_requires_for_build_wheel\ntinybackend build_wheel\n"
    )


def test_dependencies_in_a_cycle_are_proposed_once_and_build(
    peep, venv, write, index, deep, telltale
):
    reqs = write("reqs.txt", f"loopy==1.0 {deep['loopy'].pip_option()}\n")
    done = _install(peep, reqs, index, "--strict", check=1)
    assert _pasted(done.stdout) == "".join(
        f"{name}==1.0 {deep[name].pip_option()}\n" for name in ("loopbackend", "cyclea", "cycleb")
    )
    build = write("build.txt", _pasted(done.stdout))
    _install(peep, reqs, index, "--build-requirements", build)
    assert installed(venv)["loopy"] == "1.0"


def test_an_extra_asked_for_is_part_of_the_closure(peep, venv, write, index, deep, telltale):
    reqs = write("reqs.txt", f"docsy==1.0 {deep['docsy'].pip_option()}\n")
    done = _install(peep, reqs, index, "--strict", check=1)
    assert _pasted(done.stdout) == "".join(
        f"{name}==1.0 {deep[name].pip_option()}\n"
        for name in ("deepbackend", "deepmid", "docsonly", "deepleaf")
    )
    assert "# from deepbackend-1.0-py3-none-any.whl/METADATA:6\n" in done.stdout
    assert not telltale.exists()
