"""--strict's guards, directly: backend-path, the hooks' environment, unpacking an sdist,
which verified wheels make up a build environment, and reading a hook's answer.
"""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.builders import make_wheel

from peep_setuptools.errors import BackendError
from peep_setuptools.installing.builddeps import (
    BuildRequirement,
    backend_path_problem,
    parse_build_system,
)
from peep_setuptools.installing.strict import (
    Tool,
    _answer,
    _inside,
    _missing_module,
    _unpack_sdist,
    _unpack_wheel,
    applies,
    backend_dirs,
    closure,
    hook_environment,
    tools_from,
)
from peep_setuptools.requirements.spec import Location

SOURCE = "p-1.0.tar.gz/p-1.0/pyproject.toml"


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("", ""),
        (".", ""),
        ("backend", ""),
        ("./src/backend", ""),
        ("a/../b", ""),
        ("/tmp/evil", "is absolute"),
        ("//host/share", "is absolute"),
        ("\\evil", "is absolute"),
        ("\\\\host\\share", "is absolute"),
        ("C:\\evil", "is absolute"),
        ("C:evil", "is absolute"),
        ("..", "climbs out of the project"),
        ("../..", "climbs out of the project"),
        ("a/../../b", "climbs out of the project"),
        ("..\\..\\b", "climbs out of the project"),
        ("x\0y", "is not a path"),
    ],
)
def test_backend_path_problem(entry: str, problem: str) -> None:
    assert backend_path_problem(entry) == problem


@pytest.mark.parametrize(
    ("entry", "reason"),
    [("/tmp/evil", "is absolute"), ("../../../tmp", "climbs out of the project")],
)
def test_pyproject_with_an_outside_backend_path_is_refused(entry: str, reason: str) -> None:
    text = (
        '[build-system]\nrequires = []\nbuild-backend = "evil"\n'
        f"backend-path = [\"in\", '{entry}']\n"
    )
    with pytest.raises(BackendError) as caught:
        parse_build_system(text, source=SOURCE)
    assert str(caught.value) == (
        f"{SOURCE}: build-system.backend-path[1]: {entry!r} {reason}; PEP 517 allows only "
        "relative folders inside the project; refusing to build it"
    )


def test_backend_dirs_resolve_links_and_stay_inside(tmp_path: Path) -> None:
    source = tmp_path / "src" / "p-1.0"
    (source / "backend").mkdir(parents=True)
    (source / "out").symlink_to(tmp_path)
    (source / "in").symlink_to(source / "backend")
    real = os.path.realpath(source)
    assert backend_dirs(str(source), ["backend", ".", "in"], "p-1.0.tar.gz") == [
        os.path.join(real, "backend"),
        real,
        os.path.join(real, "backend"),
    ]
    with pytest.raises(BackendError) as caught:
        backend_dirs(str(source), ["backend", "out"], "/dl/p-1.0.tar.gz")
    assert str(caught.value) == (
        "p-1.0.tar.gz: build-system.backend-path entry 'out' leads out of the unpacked sdist "
        f"({os.path.realpath(tmp_path)}); PEP 517 allows only folders inside the project. "
        "Not building it."
    )
    with pytest.raises(BackendError, match="'/etc' leads out"):
        backend_dirs(str(source), ["/etc"], "p-1.0.tar.gz")


def test_hook_environment_drops_every_python_variable() -> None:
    environ = {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "PEEP_TELLTALE": "/t",
        "PYTHONPATH": "/evil",
        "PYTHONSTARTUP": "/evil.py",
        "PYTHONHOME": "/evil",
        "PYTHONUSERBASE": "/evil",
        "PYTHONINSPECT": "1",
        "PYTHONBREAKPOINT": "evil.hook",
        "PYTHONEXECUTABLE": "/evil/python",
        "PYTHONWARNINGS": "error::evil.Warning",
        "PYTHONSAFEPATH": "",
        "PYTHONPLATLIBDIR": "evil",
        "pythonpath": "/evil",
        "__PYVENV_LAUNCHER__": "/evil/python",
        "PYTHONNOUSERSITE": "",
    }
    assert hook_environment(environ) == {
        "PATH": "/usr/bin",
        "HOME": "/home/u",
        "PEEP_TELLTALE": "/t",
        "PYTHONNOUSERSITE": "1",
    }


@pytest.mark.parametrize(
    ("name", "inside"),
    [
        ("p-1.0/setup.py", "p-1.0/setup.py"),
        ("./p-1.0/x", "p-1.0/x"),
        ("p-1.0/a/../b", "p-1.0/b"),
        (".", ""),
        ("../x", None),
        ("p-1.0/../../x", None),
        ("/etc/passwd", None),
        ("//etc/passwd", None),
    ],
)
def test_inside(tmp_path: Path, name: str, inside: str | None) -> None:
    root = str(tmp_path)
    if inside is None:
        with pytest.raises(BackendError) as caught:
            _inside(root, name)
        assert str(caught.value) == f"archive member {name!r} would be written outside {root}"
    else:
        assert _inside(root, name) == os.path.normpath(os.path.join(root, inside))


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info in members:
            body = data.get(info.name)
            if body is not None:
                info.size = len(body)
            archive.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, **fields: object) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def test_unpack_writes_regular_files_and_folders_only(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    sdist = _tar(
        tmp_path / "p-1.0.tar.gz",
        [
            _member("./", tarfile.DIRTYPE),
            _member("p-1.0", tarfile.DIRTYPE),
            _member("p-1.0/setup.py", mode=0o755),
            _member("p-1.0/link", tarfile.SYMTYPE, linkname=str(victim)),
            _member("p-1.0/up", tarfile.SYMTYPE, linkname=".."),
            _member("p-1.0/hard", tarfile.LNKTYPE, linkname="p-1.0/setup.py"),
            _member("p-1.0/hard-out", tarfile.LNKTYPE, linkname=str(victim)),
            _member("p-1.0/dev", tarfile.CHRTYPE, devmajor=1, devminor=3),
            _member("p-1.0/blk", tarfile.BLKTYPE, devmajor=7, devminor=0),
            _member("p-1.0/fifo", tarfile.FIFOTYPE),
        ],
        {"p-1.0/setup.py": b"print('hi')\n"},
    )
    into = tmp_path / "src"
    root = _unpack_sdist(str(sdist), str(into))
    assert root == str(into / "p-1.0")
    assert sorted(os.listdir(root)) == ["setup.py"]
    assert not (into / "p-1.0" / "setup.py").is_symlink()
    assert os.stat(into / "p-1.0" / "setup.py").st_mode & 0o777 == 0o700
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("kind", ["tar.gz", "zip"])
@pytest.mark.parametrize("name", ["../evil.py", "p-1.0/../../evil.py", "/tmp/peep-evil.py"])
def test_unpack_refuses_members_outside(tmp_path: Path, name: str, kind: str) -> None:
    sdist = tmp_path / f"p-1.0.{kind}"
    if kind == "zip":
        with zipfile.ZipFile(sdist, "w") as archive:
            archive.writestr(zipfile.ZipInfo(name), b"x")
    else:
        _tar(sdist, [_member(name)], {name: b"x"})
    into = tmp_path / "deep" / "src"
    with pytest.raises(BackendError) as caught:
        _unpack_sdist(str(sdist), str(into))
    assert str(caught.value) == f"archive member {name!r} would be written outside {into}"
    assert not (tmp_path / "deep" / "evil.py").exists()
    assert not (tmp_path / "evil.py").exists()
    assert not Path("/tmp/peep-evil.py").exists()


def test_unpack_zip_symlink_entry_is_written_as_a_plain_file(tmp_path: Path) -> None:
    sdist = tmp_path / "p-1.0.zip"
    with zipfile.ZipFile(sdist, "w") as archive:
        link = zipfile.ZipInfo("p-1.0/link")
        link.external_attr = 0o120777 << 16  # a symlink, as Info-ZIP stores one
        archive.writestr(link, "/etc/passwd")
    root = _unpack_sdist(str(sdist), str(tmp_path / "src"))
    assert not os.path.islink(os.path.join(root, "link"))
    assert Path(root, "link").read_text() == "/etc/passwd"


def test_unpack_wheel_keeps_to_its_folder(tmp_path: Path) -> None:
    wheel = tmp_path / "w-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("w-1.0.data/purelib/../../evil.py", b"x")
    with pytest.raises(BackendError, match="would be written outside"):
        _unpack_wheel(str(wheel), str(tmp_path / "env"))
    assert not (tmp_path / "evil.py").exists()


# -- the build environment: only verified wheels, only what is asked for -----------------------

LINUX = {"python_version": "3.11", "python_full_version": "3.11.4", "sys_platform": "linux"}
HERE = Location("p-1.0.tar.gz/p-1.0/pyproject.toml", 2)


def _needs(*texts: str) -> list[BuildRequirement]:
    return [BuildRequirement(Requirement(text), HERE) for text in texts]


@pytest.fixture
def tools(tmp_path: Path) -> tuple[Tool, ...]:
    wheels = [
        make_wheel(tmp_path, "setuptools", "68.0"),
        make_wheel(tmp_path, "setuptools", "70.0"),
        make_wheel(tmp_path, "setuptools", "71.0rc1"),
        make_wheel(
            tmp_path,
            "wheel",
            "0.40",
            requires_dist=[
                'packaging>=20; python_version >= "3"',
                'win-only; sys_platform == "win32"',
                'tomli; extra == "toml"',
            ],
        ),
        make_wheel(tmp_path, "packaging", "23.0"),
        make_wheel(tmp_path, "tomli", "2.0"),
    ]
    # An sdist, even a verified one, is never a tool: it would have to be built first.
    sdist = tmp_path / "flit_core-3.9.tar.gz"
    sdist.write_bytes(b"")
    found = tools_from([*map(str, wheels), str(sdist), str(tmp_path / "not-an-archive.txt")])
    assert [(t.name, str(t.version)) for t in found] == [
        ("setuptools", "68.0"),
        ("setuptools", "70.0"),
        ("setuptools", "71.0rc1"),
        ("wheel", "0.40"),
        ("packaging", "23.0"),
        ("tomli", "2.0"),
    ]
    return found


def _names(found: tuple[Tool, ...]) -> list[tuple[str, str]]:
    return sorted((t.name, str(t.version)) for t in found)


def test_closure_takes_the_newest_fitting_tool_and_what_it_needs(tools: tuple[Tool, ...]) -> None:
    env, unmet = closure(_needs("setuptools<71", "wheel"), tools, LINUX)
    # packaging by wheel's marker; not win-only (another platform) nor tomli (an extra)
    assert _names(env) == [("packaging", "23.0"), ("setuptools", "70.0"), ("wheel", "0.40")]
    assert unmet == ()


def test_closure_follows_an_extra_only_when_asked(tools: tuple[Tool, ...]) -> None:
    env, unmet = closure(_needs("wheel[toml]"), tools, LINUX)
    assert _names(env) == [("packaging", "23.0"), ("tomli", "2.0"), ("wheel", "0.40")]
    assert unmet == ()


def test_closure_reports_what_no_verified_wheel_meets(tools: tuple[Tool, ...]) -> None:
    needs = _needs("hatchling>=1", "setuptools<69", "setuptools>=70", "packaging>99")
    env, unmet = closure(needs, tools, LINUX)
    # The first requirement on setuptools chooses 68.0; the second cannot also be met by it.
    assert _names(env) == [("setuptools", "68.0")]
    assert [str(u.requirement) for u in unmet] == ["hatchling>=1", "setuptools>=70", "packaging>99"]
    assert {u.location for u in unmet} == {HERE}


def test_closure_drops_requirements_for_other_targets(tools: tuple[Tool, ...]) -> None:
    needs = _needs('setuptools; sys_platform == "win32"', 'hatchling; python_version < "3"')
    assert closure(needs, tools, LINUX) == ((), ())


def test_applies_evaluates_markers_on_the_target_and_names_a_broken_one() -> None:
    (plain, here, there) = _needs("a", 'a; sys_platform == "linux"', 'a; sys_platform == "win32"')
    assert applies(plain, LINUX) and applies(here, LINUX) and not applies(there, LINUX)
    # The extra is empty for build requirements: an extra's marker never holds.
    (extra,) = _needs('a; extra == "x"')
    assert not applies(extra, LINUX)
    (broken,) = _needs('a; python_version ~= "abc"')
    with pytest.raises(BackendError) as caught:
        applies(broken, LINUX)
    assert str(caught.value) == (
        f'{HERE}: cannot evaluate python_version ~= "abc": '
        "Undefined <Op('~=')> on '3.11' and 'abc'."
    )


# -- a hook's answer: a file the hook (not verified code of ours) wrote ------------------------


@pytest.mark.parametrize(
    ("text", "missing", "result"),
    [
        ('{"missing_module": "setuptools"}', "setuptools", None),
        ('{"result": ["wheel"]}', None, ["wheel"]),
        ('{"missing_module": 42}', None, None),  # not a name: not taken as one
        ('["missing_module"]', None, None),  # not an object
        ("not json", None, None),
        ("", None, None),
        (None, None, None),  # no answer file at all
    ],
)
def test_hook_answers(
    tmp_path: Path, text: str | None, missing: str | None, result: object
) -> None:
    response = tmp_path / "response.json"
    if text is not None:
        response.write_text(text, encoding="utf-8")
    assert _missing_module(str(response)) == missing
    assert _answer(str(response), "result") == result
