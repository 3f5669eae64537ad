"""End to end: attacks on the performance changes (pip runner, early probe, cache links).

Each test reproduces one way past the promise; what it plants must never run and what it
offers must never be installed.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from support.builders import installed, make_venv, origin, write_wheel
from support.peeprun import describe

pytestmark = pytest.mark.slow

_PLANTED_PIP = "import pathlib\npathlib.Path({marker!r}).write_text('planted pip ran')\n"


def plant_pip(folder: Path, marker: Path) -> None:
    """A ``pip`` package in ``folder`` that, run in any way, writes ``marker``."""
    pip = folder / "pip"
    pip.mkdir(parents=True)
    code = _PLANTED_PIP.format(marker=str(marker))
    for name in ("__init__.py", "__main__.py", "__pip-runner__.py"):
        (pip / name).write_text(code)


@pytest.mark.parametrize("with_pip", [True, False], ids=["target-pip", "our-pip"])
def test_a_pip_planted_in_the_current_directory_never_runs(
    peep, write, packages, index, tmp_path, with_pip
):
    """The installer child runs in a folder of its own: ``python -m pip`` (a target with pip)
    and ``pip --python`` put the current directory first on sys.path."""
    marker = tmp_path / "planted-ran"
    plant_pip(peep.cwd, marker)
    peep.venv = make_venv(tmp_path / "target", with_pip=with_pip)
    reqs = write("alpha.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    assert not marker.exists()
    assert installed(peep.venv).get("alpha") == "1.0"


_SWAPPING_UV = """#!{python}
import os, shutil, sys
from pathlib import Path

evil = Path({evil!r})
for wheel in Path({cache!r}).glob("archives/*/*/*.whl"):
    folder, stat = wheel.parent, wheel.stat()
    if {swap!r}:  # the hashed file itself, rewritten in place (same inode, same mtime)
        wheel.write_bytes(evil.read_bytes())
        os.utime(wheel, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:  # other files beside it that uv could prefer: a better tag, a later version
        for name in ("alpha-1.0-py311-none-any.whl", "alpha-1.0.post1-py3-none-any.whl"):
            shutil.copyfile(evil, folder / name)
Path({marker!r}).write_text("swapped")
os.execv({uv!r}, [{uv!r}, *sys.argv[1:]])
"""


@pytest.mark.skipif(
    shutil.which("uv", path=str(Path(sys.executable).parent)) is None, reason="no uv"
)
@pytest.mark.parametrize("swap", [True, False], ids=["rewritten", "planted-beside"])
def test_a_cached_wheel_changed_after_it_was_hashed_is_never_installed(
    peep, write, packages, index, tmp_path, swap
):
    """uv gets cached wheels where they lie in the cache, after peep hashed them there.

    What guards that window is uv's own ``--require-hashes`` (README, "Security model"):
    a file changed or planted there only makes the install fail, with nothing installed.
    """
    reqs = write("alpha.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    assert list(peep.cache.glob("archives/*/*/alpha-1.0-py3-none-any.whl"))
    evil = write_wheel(
        tmp_path / "evil", "alpha", "1.0", {"alpha/__init__.py": b"ORIGIN = 'planted'\n"}
    )
    wrapper = tmp_path / "wrapper" / "uv"
    wrapper.parent.mkdir()
    real = shutil.which("uv", path=str(Path(sys.executable).parent))
    script = _SWAPPING_UV.format(
        python=sys.executable,
        evil=str(evil),
        cache=str(peep.cache),
        swap=swap,
        uv=real,
        marker=str(tmp_path / "wrapper-ran"),
    )
    wrapper.write_text(script)
    wrapper.chmod(0o755)
    peep.env["PATH"] = os.pathsep.join([str(wrapper.parent), peep.env["PATH"]])
    peep.venv = make_venv(tmp_path / "second")
    done = peep.install(reqs, "-i", index.index_url, "--installer", "uv")
    assert done.returncode in (0, 1), describe(done)
    assert (tmp_path / "wrapper-ran").exists()
    if done.returncode == 0:
        assert origin(peep.venv, "alpha") == "wheel"
    else:
        assert "alpha" not in installed(peep.venv)


def tampered_sdist(good: Path, dest: Path, marker: Path) -> Path:
    """``good`` changed: its build code writes ``marker``, its module says it was planted."""
    dest.mkdir(parents=True)
    evil = dest / good.name
    with tarfile.open(good) as src, tarfile.open(evil, "w:gz") as out:
        for member in src:
            data = src.extractfile(member).read() if member.isfile() else None  # type: ignore[union-attr]
            if data is not None and member.name.endswith("__init__.py"):
                data = b"ORIGIN = 'planted'\nVERSION = '1.0'\n"
            elif data is not None and member.name.endswith(".py"):
                data = f"open({str(marker)!r}, 'w').write('ran')\n".encode() + data
            if data is not None:
                member.size = len(data)
            out.addfile(member, io.BytesIO(data) if data is not None else None)
    return evil


_SWAPPING_CACHE = """#!{python}
import os, shutil, sys
from pathlib import Path

# Whoever can write the folder above the cache puts a tree of their own in its place.
cache = Path({cache!r})
if sys.argv[1:2] == ["build"] and not cache.with_name("moved").exists():
    cache.rename(cache.with_name("moved"))
    shutil.copytree(cache.with_name("moved"), cache, symlinks=True)
    for sdist in cache.glob("archives/*/*/*.tar.gz"):
        shutil.copyfile({evil!r}, sdist)
os.execv({uv!r}, [{uv!r}, *sys.argv[1:]])
"""


@pytest.mark.skipif(
    shutil.which("uv", path=str(Path(sys.executable).parent)) is None, reason="no uv"
)
def test_a_cached_sdist_swapped_after_it_was_hashed_is_never_built(
    peep, write, packages, index, tmp_path
):
    """uv build does not check a hash: what it builds must be the very bytes peep hashed,
    not whatever is at the cache path by then (here another tree is put in the cache's
    place). A cache under a folder others can write is refused outright now
    (``cachetrust.unsafe_ancestor``), so the swap is done by a wrapper running as us: the
    handoff must not depend on the folder check alone."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # sticky, as /tmp: the cache is used
    peep.env["PEEP_CACHE_DIR"] = str(shared / "cache")
    reqs = write("beta.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    assert list(peep.cache.glob("archives/*/*/beta-1.0.tar.gz"))
    shutil.rmtree(peep.cache / "built")  # so that the second run builds the sdist again
    marker = tmp_path / "planted-build-ran"
    evil = tampered_sdist(packages["beta-1.0"], tmp_path / "evil", marker)
    real = shutil.which("uv", path=str(Path(sys.executable).parent))
    wrapper = tmp_path / "wrapper" / "uv"
    wrapper.parent.mkdir()
    wrapper.write_text(
        _SWAPPING_CACHE.format(
            python=sys.executable, cache=str(peep.cache), evil=str(evil), uv=real
        )
    )
    wrapper.chmod(0o755)
    peep.env["PATH"] = os.pathsep.join([str(wrapper.parent), peep.env["PATH"]])
    peep.venv = make_venv(tmp_path / "second")
    peep.install(reqs, "-i", index.index_url, "--installer", "uv")
    assert (shared / "moved").exists()  # the swap happened
    assert not marker.exists()
    assert installed(peep.venv).get("beta") is None or origin(peep.venv, "beta") == "sdist"
