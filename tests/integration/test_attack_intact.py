"""Attacks on ``peep verify`` and ``--verify-installed``: tampered installs judged intact."""

from __future__ import annotations

import importlib.util
import marshal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.builders import extension_suffix, origin, site_packages, write_wheel

from peep_setuptools import InstallOptions, install
from peep_setuptools.errors import PeepError
from peep_setuptools.hashes import Digest, hash_file
from peep_setuptools.requirements.lines import IndexOptions

pytestmark = pytest.mark.slow


_SITE = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"


@pytest.fixture(scope="module")
def wheels(index, tmp_path_factory) -> dict[str, Digest]:
    root = tmp_path_factory.mktemp("f7atk")
    built = {
        "top": write_wheel(
            root,
            "f7a-top",
            "1.0",
            {"f7a_top.py": b"ORIGIN = 'wheel'\n", "f7a_pkg/__init__.py": b"ORIGIN = 'wheel'\n"},
        ),
        # .data/data files land in the venv's root: one in site-packages, one beside it
        "data": write_wheel(
            root,
            "f7a-data",
            "1.0",
            {
                "f7a_data/__init__.py": b"ORIGIN = 'wheel'\n",
                f"f7a_data-1.0.data/data/{_SITE}/f7a_data_hook.pth": b"# verified\n",
                f"f7a_data-1.0.data/data/{_SITE}/f7a_data_mod.py": b"ORIGIN = 'wheel'\n",
                "f7a_data-1.0.data/data/share/f7a/run.sh": b"#!/bin/sh\necho verified\n",
            },
        ),
        # a top-level extension module (never imported here: its bytes are not an ELF file)
        "ext": write_wheel(root, "f7a-ext", "1.0", {"f7a_ext.abi3.so": b"verified bytes"}),
        # its RECORD names a module without a hash (as some tools write them)
        "nohash": _without_hash(
            write_wheel(root, "f7a-nohash", "1.0", {"f7a_nohash.py": b"ORIGIN = 'wheel'\n"}),
            "f7a_nohash.py",
        ),
        # f7a_ns has no __init__.py: a namespace folder shared with other distributions
        "ns": write_wheel(root, "f7a-ns", "1.0", {"f7a_ns/sub/__init__.py": b"ORIGIN = 'wheel'\n"}),
    }
    for name, wheel in built.items():
        index.add_file(f"f7a-{name}", wheel)
    return {name: hash_file(str(wheel))["sha256"] for name, wheel in built.items()}


def _without_hash(wheel: Path, member: str) -> Path:
    """Rewrite ``wheel`` with ``member``'s RECORD line left without hash and size."""
    with zipfile.ZipFile(wheel) as archive:
        contents = {i.filename: archive.read(i) for i in archive.infolist()}
    (record,) = (n for n in contents if n.endswith(".dist-info/RECORD"))
    lines = contents[record].decode().splitlines()
    lines = [f"{member},," if line.startswith(f"{member},") else line for line in lines]
    contents[record] = ("\n".join(lines) + "\n").encode()
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents.items():
            archive.writestr(zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0)), data)
    return wheel


def _plant_pyc(source: Path) -> Path:
    """An -O pyc of other code, hash-based and never checked: it runs under -O."""
    pyc = Path(importlib.util.cache_from_source(str(source), optimization=1))
    code = marshal.dumps(compile("ORIGIN = 'planted'\n", str(source), "exec", optimize=1))
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + b"\0" * 8 + code)
    return pyc


def _reqs(write, digest: Digest, name: str) -> str:
    return write("reqs.txt", f"{name}==1.0 {digest.pip_option()}\n")


def _runs(python: Path, module: str) -> str:
    done = subprocess.run(
        [str(python), "-c", f"import {module}; print({module}.ORIGIN)"],
        capture_output=True,
        text=True,
        check=False,
        cwd=python.parent,
    )
    return done.stdout + done.stderr


def test_a_dry_run_with_verify_installed_removes_nothing(peep, venv, write, wheels, index):
    reqs = _reqs(write, wheels["top"], "f7a-top")
    peep.install(reqs, "-i", index.index_url, check=0)
    source = site_packages(venv) / "f7a_top.py"
    # an -O pyc (no reinstall rewrites it), hash-based and never checked: it runs under -O
    pyc = Path(importlib.util.cache_from_source(str(source), optimization=1))
    code = marshal.dumps(compile("ORIGIN = 'planted'\n", str(source), "exec", optimize=1))
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(importlib.util.MAGIC_NUMBER + (1).to_bytes(4, "little") + b"\0" * 8 + code)
    assert origin(venv, "f7a_top", "-O") == "planted"
    peep.install(reqs, "-i", index.index_url, "--verify-installed", "--dry-run", check=0)
    assert pyc.exists(), "--dry-run deleted a file of the target"


@pytest.mark.parametrize(
    ("module", "planted"),
    [
        ("f7a_top", "f7a_top/__init__.py"),  # a package beats the verified module
        ("f7a_pkg", "f7a_pkg/__init__.abi3.so"),  # an extension beats __init__.py
    ],
)
def test_verify_installed_does_not_pass_over_what_a_reinstall_leaves(
    peep, venv, write, wheels, index, module, planted
):
    reqs = _reqs(write, wheels["top"], "f7a-top")
    peep.install(reqs, "-i", index.index_url, check=0)
    path = site_packages(venv) / planted
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"ORIGIN = 'planted'\n" if planted.endswith(".py") else b"not an ELF")
    assert "wheel" not in _runs(venv, module)  # the attack is real: the planted file loads
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=1)
    # a reinstall leaves a file no RECORD names: exit 0 would claim the copy is verified
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", check=None)
    if done.returncode == 0:
        assert _runs(venv, module).strip() == "wheel", done.stdout + done.stderr
    else:
        assert done.returncode == 1, done.stdout + done.stderr
        shown = path.parent if planted.endswith("__init__.py") else path
        assert f"    f7a-top: {shown}\n" in done.stderr
        assert "Nothing was installed." in done.stderr
        assert "reinstalling" not in done.stderr
        path.unlink()  # the user removes it: the repair runs
        if planted.endswith("__init__.py"):
            path.parent.rmdir()
        peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
        assert _runs(venv, module).strip() == "wheel"
        peep(*verify, check=0)


@pytest.mark.parametrize(
    ("planted", "text"),
    [
        ("f7a_ns/__init__.py", "print('planted ran')\n"),
        (
            "f7a_ns.py",
            "import os\nprint('planted ran')\n"
            "__path__ = [os.path.join(os.path.dirname(__file__), 'f7a_ns')]\n",
        ),
    ],
)
def test_code_planted_above_a_namespace_package_fails_verify(
    peep, venv, write, wheels, index, planted, text
):
    reqs = _reqs(write, wheels["ns"], "f7a-ns")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)
    (site_packages(venv) / planted).write_text(text)
    out = _runs(venv, "f7a_ns.sub")
    assert "planted ran" in out and "wheel" in out  # the attack is real: it runs first
    done = peep(*verify, check=1)
    assert planted in done.stdout


@pytest.mark.parametrize(
    ("planted", "text"),
    [
        (f"{_SITE}/f7a_data_hook.pth", "import os; print('planted ran')\n"),
        (f"{_SITE}/f7a_data_mod.py", "ORIGIN = 'planted'\n"),
        ("share/f7a/run.sh", "#!/bin/sh\necho planted\n"),
    ],
)
def test_a_changed_data_file_fails_verify(peep, venv, write, wheels, index, planted, text):
    reqs = _reqs(write, wheels["data"], "f7a-data")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*verify, check=0)
    assert "not checked" not in done.stdout + done.stderr
    path = venv.parent.parent / planted
    original = path.read_bytes()
    path.write_text(text)
    if planted.endswith(".pth"):  # the attack is real: it runs at every start
        assert "planted ran" in _runs(venv, "f7a_data")
    if planted.endswith(".py"):  # and a pyc planted for the original
        path.write_bytes(original)
        pyc = _plant_pyc(path)
        assert origin(venv, "f7a_data_mod", "-O") == "planted"
        path = pyc
        planted = pyc.relative_to(venv.parent.parent).as_posix()
    done = peep(*verify, check=1)
    shown = planted[len(_SITE) + 1 :] if planted.startswith(_SITE) else str(path)
    assert f"    changed: {shown}" in done.stdout
    peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
    if path.suffix == ".pyc":
        assert origin(venv, "f7a_data_mod", "-O") == "wheel"
    else:
        assert path.read_bytes() == original
    peep(*verify, check=0)


@pytest.mark.parametrize("kind", ["symlinked folder", "symlinked file"])
def test_a_symlink_planted_in_a_package_fails_verify(
    peep, venv, write, wheels, index, tmp_path, kind
):
    reqs = _reqs(write, wheels["top"], "f7a-top")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "__init__.py").write_text("ORIGIN = 'planted'\n")
    link = site_packages(venv) / "f7a_pkg" / ("sub" if kind == "symlinked folder" else "sub.py")
    link.symlink_to(elsewhere if kind == "symlinked folder" else elsewhere / "__init__.py")
    assert _runs(venv, "f7a_pkg.sub").strip() == "planted"  # the attack is real
    done = peep(*verify, check=1)
    assert f"    added:   f7a_pkg/{link.name}\n" in done.stdout
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", check=1)
    assert f"    f7a-top: {link}\n" in done.stderr


@pytest.mark.parametrize("planted", ["f7a_ext/__init__.py", "f7a_ext{suffix}"])
def test_a_module_planted_before_a_verified_extension_module_fails_verify(
    peep, venv, write, wheels, index, planted
):
    reqs = _reqs(write, wheels["ext"], "f7a-ext")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)
    suffix = extension_suffix(venv)
    assert suffix != ".abi3.so"
    path = site_packages(venv) / planted.format(suffix=suffix)
    path.parent.mkdir(exist_ok=True)
    path.write_text("ORIGIN = 'planted'\n")
    out = _runs(venv, "f7a_ext")
    assert ("verified" not in out and str(path) in out) or "planted" in out  # it is imported
    done = peep(*verify, check=1)
    shown = path.parent.name if planted.endswith("__init__.py") else path.name
    assert f"    changed: {shown} (" in done.stdout
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", check=1)
    assert f"    f7a-ext: {path.parent if planted.endswith('__init__.py') else path}\n" in (
        done.stderr
    )


class _Nothing:
    """An installer that reports success and replaces nothing: what one that left files does."""

    name = "nothing"

    def install(self, archives, *, target, workdir, build_index) -> None:
        return None


def test_a_copy_still_differing_after_the_reinstall_fails_the_run(
    env, peep, venv, write, wheels, index
):
    reqs = _reqs(write, wheels["top"], "f7a-top")
    peep.install(reqs, "-i", index.index_url, check=0)
    (site_packages(venv) / "f7a_top.py").write_text("ORIGIN = 'planted'\n")
    options = InstallOptions(
        python=str(venv),
        index=IndexOptions(index_url=index.index_url),
        no_cache=True,
        environ=env,
        verify_installed=True,
    )
    with pytest.raises(PeepError) as caught:
        install([reqs], options, backend=_Nothing())
    assert "    changed: f7a_top.py\n" in str(caught.value)
    assert "these files still differ" in str(caught.value)
    assert install([reqs], options).installed  # the real installer repairs it
    assert install([reqs], options).installed == ()


@pytest.mark.parametrize(
    "planted",
    ["F7A.Top-1.0.dist-info", "f7a_top-0.9.dist-info", "f7a_top-1.0-py3.11.egg-info"],
)
def test_a_second_copy_of_the_metadata_fails_verify(peep, venv, write, wheels, index, planted):
    reqs = _reqs(write, wheels["top"], "f7a-top")
    peep.install(reqs, "-i", index.index_url, check=0)
    site = site_packages(venv)
    (site / planted).mkdir()
    (site / planted / "METADATA").write_text("Metadata-Version: 2.1\nName: f7a-top\nVersion: 1.0\n")
    # a console script or plugin named here is run by whoever reads entry points
    (site / planted / "entry_points.txt").write_text("[console_scripts]\nf7a-x = os:getcwd\n")
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*verify, check=1)
    assert f"    added:   {planted}\n" in done.stdout
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", check=1)
    assert f"    f7a-top: {site / planted}\n" in done.stderr


def test_an_editable_installs_pth_for_the_project_fails_verify(peep, venv, write, wheels, index):
    reqs = _reqs(write, wheels["top"], "f7a-top")
    peep.install(reqs, "-i", index.index_url, check=0)
    pth = site_packages(venv) / "__editable__.f7a_top-1.0.pth"
    pth.write_text("import sys; print('planted ran')\n")
    assert "planted ran" in _runs(venv, "f7a_top")  # the attack is real: it runs at start
    done = peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=1)
    assert f"    added:   {pth.name}\n" in done.stdout


def test_a_module_the_wheels_record_has_no_hash_for_is_compared(peep, venv, write, wheels, index):
    reqs = _reqs(write, wheels["nohash"], "f7a-nohash")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)
    (site_packages(venv) / "f7a_nohash.py").write_text("ORIGIN = 'planted'\n")
    assert origin(venv, "f7a_nohash") == "planted"
    done = peep(*verify, check=1)
    assert "    changed: f7a_nohash.py\n" in done.stdout
    peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
    assert origin(venv, "f7a_nohash") == "wheel"
