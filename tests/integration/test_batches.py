"""A split install leaves what one installer run leaves: pip's runs side by side, uv's in turn."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.builders import (
    find_links_requirements,
    make_venv,
    rename_member,
    site_packages,
    unpackable_wheel,
    write_wheel,
)

from peep_setuptools.hashes import Digest, hash_file
from peep_setuptools.installing.backends import find_uv
from peep_setuptools.installing.batches import split
from peep_setuptools.installing.children import INSTALLS_AT_ONCE
from peep_setuptools.installing.handoff import VerifiedArchive

pytestmark = pytest.mark.slow


def _apport_python() -> str | None:
    """A Python whose standard library's sitecustomize imports apport_python_hook (Debian's)."""
    for python in ("/usr/bin/python3", sys.executable):
        if not os.path.isfile(python):
            continue
        stdlib = subprocess.run(
            [python, "-I", "-S", "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        custom = Path(stdlib, "sitecustomize.py")
        if stdlib and custom.is_file() and "apport_python_hook" in custom.read_text("utf-8"):
            return python
    return None


_APPORT_PYTHON = _apport_python()

# 420 wheels and more, so that pip's install is split into three runs and one starts after
# another has written its files: ~15 s each. Which wheels go last or together is peep's own
# code, the same on every Python (tests/unit/test_batches.py runs it on each); .ci/run
# runs these on its first Python only.
_THREE_PIP_RUNS = pytest.mark.first_python_only


def _wheels(root: Path, count: int, *, shared_differs: bool = True) -> list[Path]:
    """Small wheels: some with a script, three sharing a file (which must share a run).

    ``shared_differs``: each writes its own bytes to the shared file. Not for uv: one uv
    run installs its wheels in no fixed order, so which of them wins differs run to run.
    """
    wheels = []
    for i in range(count):
        name = f"piece{i:03d}"
        files = {f"{name}/__init__.py": f"VALUE = {i}\n".encode()}
        if i < 3:  # a pkg_resources-style namespace: the same file in each wheel
            writer = name if shared_differs else "each"
            files["shared/__init__.py"] = f"# written by {writer}\n".encode()
            files[f"shared/{name}.py"] = b"X = 1\n"
        if i % 5 == 0:
            files[f"{name}-1.0.data/data/share/{name}.txt"] = b"data\n"
        scripts = f"[console_scripts]\n{name}-cli = {name}:VALUE\n" if i % 4 == 0 else None
        wheels.append(write_wheel(root, name, "1.0", files, entry_points=scripts))
    return wheels


def _reqs(write, wheels: list[Path]) -> str:
    return write("reqs.txt", find_links_requirements(wheels))


def _snapshot(venv: Path, before: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file in the venv (not in ``before``) and its bytes, the venv's path taken out.

    RECORD rows of the launchers in bin/ are left out: a launcher names its own venv, so
    its hash differs from venv to venv by design; so is uv's ``uv_cache.json``, which
    records when the file it installed from was written.
    """
    found = {}
    for root, _dirs, files in os.walk(venv):
        for name in files:
            path = Path(root, name)
            if name == "uv_cache.json":
                continue
            data = path.read_bytes().replace(str(venv).encode(), b"VENV")
            if name == "RECORD":
                data = b"\n".join(
                    r for r in data.splitlines() if b"/bin/" not in r and b"uv_cache" not in r
                )
            found[os.path.relpath(path, venv)] = data
    return {k: v for k, v in found.items() if before is None or k not in before}


@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
def test_pip_runs_side_by_side_leave_what_one_pip_run_leaves(tmp_path, env, peep, write):
    reqs = _reqs(write, _wheels(tmp_path / "wheels", 24))
    env["SOURCE_DATE_EPOCH"] = "1600000000"  # bytecode the clock does not change
    by_pip = make_venv(tmp_path / "pip-venv", with_pip=True).parent.parent
    by_peep = make_venv(tmp_path / "our-venv", with_pip=True).parent.parent
    before = [_snapshot(by_peep), _snapshot(by_pip)]
    pip = [str(by_pip / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*pip, "--require-hashes", "-r", reqs], env=env, check=True)
    peep.env["SOURCE_DATE_EPOCH"] = env["SOURCE_DATE_EPOCH"]
    done = peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    assert "Installing the 24 archives in 2 installer runs side by side" in done.stdout

    ours, theirs = _snapshot(by_peep, before[0]), _snapshot(by_pip, before[1])
    assert len(ours) > 100
    assert sorted(ours) == sorted(theirs)
    assert [p for p in ours if ours[p] != theirs[p]] == []
    for venv in (by_pip, by_peep):
        python = str(venv / "bin" / "python")
        subprocess.run([python, "-m", "pip", "check"], env=env, check=True, capture_output=True)
    freeze = [
        subprocess.run(
            [str(v / "bin" / "python"), "-m", "pip", "freeze"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for v in (by_pip, by_peep)
    ]
    assert freeze[0] == freeze[1]
    assert "piece023==1.0" in freeze[1]


def test_uv_runs_in_turn_leave_what_one_uv_run_leaves(tmp_path, env, peep, write):
    reqs = _reqs(write, _wheels(tmp_path / "wheels", 110, shared_differs=False))
    by_uv = make_venv(tmp_path / "uv-venv").parent.parent
    by_peep = make_venv(tmp_path / "our-venv").parent.parent
    before = [_snapshot(by_peep), _snapshot(by_uv)]
    uv = [find_uv(), "pip", "install", "-q", "--no-config", "--no-deps", "--require-hashes"]
    uv += ["--python", str(by_uv / "bin" / "python"), "-r", reqs]
    subprocess.run(uv, env=env, check=True)
    done = peep.install(reqs, "--installer", "uv", python=by_peep / "bin" / "python", check=0)
    assert "Installing the 110 archives in 3 installer runs (" in done.stdout

    ours, theirs = _snapshot(by_peep, before[0]), _snapshot(by_uv, before[1])
    assert len(ours) > 400
    assert sorted(ours) == sorted(theirs)
    assert [p for p in ours if ours[p] != theirs[p]] == []
    second = peep.install(reqs, "--installer", "uv", python=by_peep / "bin" / "python", check=0)
    assert "installer runs" not in second.stdout  # all installed: nothing to hand over
    assert _snapshot(by_peep, before[0]) == ours
    # From the verified cache, where uv has unpacked them before: one run, the same result.
    again = make_venv(tmp_path / "again-venv").parent.parent
    before_again = _snapshot(again)
    warm = peep.install(reqs, "--installer", "uv", python=again / "bin" / "python", check=0)
    assert "installer runs" not in warm.stdout
    assert _snapshot(again, before_again) == ours


def _colliding() -> dict[str, tuple[dict[str, bytes], str | None]]:
    """Pairs of wheels (NAME-a, NAME-b) that pip makes write one file, each its own way."""
    site = "lib/python{}.{}/site-packages".format(*sys.version_info[:2])

    def console(line: str) -> str:
        return f"[console_scripts]\n{line}\n"

    def data(name: str, path: str) -> dict[str, bytes]:
        return {f"{name.replace('-', '_')}-1.0.data/{path}": f"# {name}\n".encode()}

    return {
        "cont-a": ({}, "[console_scripts]\nfoo = m:f\n  contbar = m:f\n"),
        "cont-b": ({}, console("contbar = m:f")),
        "dbl-a": ({}, "[[console_scripts]]\ndblbar = m:f\n"),
        "dbl-b": (data("dbl-b", "scripts/dblbar"), None),
        "semi-a": ({}, console("; semibar = m:f")),
        "semi-b": ({}, console("semibar = m:f")),
        "slash-a": ({}, console("sub/slashbar = m:f")),
        "slash-b": ({}, console("slashbar = m:f")),
        "pips-a": ({}, console("pip = m:f")),
        "pips-b": ({}, console("pip3 = m:f")),
        "lib-a": (data("lib-a", f"data/{site}/shared_mod.py"), None),
        "lib-b": ({"shared_mod.py": b"# lib-b\n"}, None),
        "bin-a": (data("bin-a", "data/bin/bintool"), None),
        "bin-b": ({}, console("bintool = m:f")),
        "head-a": (
            data(
                "head-a", "data/include/site/python{}.{}/head-b/h.h".format(*sys.version_info[:2])
            ),
            None,
        ),
        "head-b": (data("head-b", "headers/h.h"), None),
        "bs-a": ({"bs_file\\": b"a"}, None),  # a file for pip on POSIX, not a folder
        "bs-b": ({"bs_file\\": b"b"}, None),
        # files the installer writes itself: into the dist-info folder, compiled bytecode
        "info-a": (data("info-a", "purelib/info_b-1.0.dist-info/INSTALLER"), None),
        "info-b": ({}, None),
        "pyc-a": ({f"__pycache__/pycmod.{sys.implementation.cache_tag}.pyc": b""}, None),
        "pyc-b": ({"pycmod.py": b""}, None),
    }


@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_wheels_made_to_write_one_file_share_a_run(tmp_path, env, installer):
    """The real installer is the judge: wheels whose RECORDs name one file share a batch."""
    wheels = tmp_path / "wheels"
    # entry points pip reads otherwise than uv or importlib keep one run (unit tests)
    odd = ("cont-", "slash-", "dbl-", "semi-")
    pairs = {k: v for k, v in _colliding().items() if not k.startswith(odd)}

    def verified(name: str, files: dict[str, bytes], points: str | None = None) -> VerifiedArchive:
        path = write_wheel(wheels, name, "1.0", files, entry_points=points)
        return VerifiedArchive(name, str(path), Digest("sha256", "a" * 64), "1.0")

    archives = [verified(name, *made) for name, made in pairs.items()]
    archives += [verified(f"filler{i:02d}", {f"filler{i:02d}.py": b""}) for i in range(30)]
    venv = make_venv(tmp_path / "venv", with_pip=installer == "pip").parent.parent
    python = str(venv / "bin" / "python")
    if installer == "pip":
        command = [python, "-m", "pip", "install", "-q"]
    else:
        command = [find_uv(), "pip", "install", "-q", "--no-config", "--python", python]
    command += ["--no-deps", "--no-index", "--find-links", str(wheels), *pairs]
    subprocess.run(command, env=env, check=True)

    (site,) = (venv / "lib").glob("python3*/site-packages")
    writers: dict[str, set[str]] = {}
    for info in site.glob("*.dist-info"):
        name = info.name.split("-")[0].replace("_", "-")
        if name not in pairs:  # pip's own
            continue
        for row in (info / "RECORD").read_text().splitlines():
            path = os.path.normpath(site / row.split(",")[0])
            writers.setdefault(path, set()).add(name)
    shared = {frozenset(names) for names in writers.values() if len(names) > 1}
    if installer == "pip":  # each pair does write one file
        assert shared == {frozenset({n, n[:-1] + "b"}) for n in pairs if n.endswith("-a")}
    assert len(shared) >= 3  # uv too: data files in site-packages, bin/ and include/
    batches = [
        {a.name for a in batch} for batch in split(archives, installed={}, at_once=2, at_most=200)
    ]
    assert len(batches) == 2
    assert [set(s) for s in shared if not any(s <= batch for batch in batches)] == []


@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
def test_what_pip_takes_for_installed_by_its_folder_name_is_not_split(tmp_path, env, peep, write):
    """pip knows an installed distribution by its .dist-info folder's name, not its METADATA.

    A wheel of "foo" may carry "foobar-1.0.dist-info" (pip only checks the start). Later,
    installing the project foobar makes pip remove that copy, by its RECORD, which names a
    file another wheel of the same install writes: in one run pip removes it first and the
    other wheel writes it after; a run beside it could write it first and lose it.
    """
    old = write_wheel(
        tmp_path / "old",
        "foobar",
        "1.0",
        {"foo.py": b"", "common.py": b"# foo's\n"},
        metadata="Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n",
    )
    old = old.rename(old.with_name("foo-1.0-py3-none-any.whl"))
    wheels = tmp_path / "wheels"
    # ten wheels installed before foobar in its run (a slow start), baz first in the other
    group = {"grp/__init__.py": b"# one namespace\n"}
    made = [
        write_wheel(wheels, f"g{i}", "1.0", {**group, **{f"g{i}/m{j}.py": b"" for j in range(100)}})
        for i in range(10)
    ]
    made.append(write_wheel(wheels, "foobar", "2.0", {**group, "foobar_mod.py": b""}))
    made.append(write_wheel(wheels, "baz", "1.0", {"common.py": b"# baz's\n"}))
    made += [write_wheel(wheels, f"f{i:02d}", "1.0", {f"f{i:02d}.py": b""}) for i in range(18)]
    lines = [f"--no-index\n--find-links {wheels}\n"]
    for wheel in made:
        name, version = wheel.name.split("-")[:2]
        lines.append(f"{name}=={version} {hash_file(str(wheel))['sha256'].pip_option()}\n")
    reqs = write("reqs.txt", "".join(lines))

    venvs = [make_venv(tmp_path / n, with_pip=True).parent.parent for n in ("pip-venv", "our-venv")]
    for venv in venvs:
        uv = [find_uv(), "pip", "install", "-q", "--no-config", "--no-deps", "--no-index"]
        uv += ["--python", str(venv / "bin" / "python"), "--find-links", str(old.parent), "foo"]
        subprocess.run(uv, env=env, check=True)
    by_pip, by_peep = venvs
    pip = [str(by_pip / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run([*pip, "--require-hashes", "-r", reqs], env=env, check=True)
    peep.install(reqs, python=by_peep / "bin" / "python", check=0)
    ours, theirs = _snapshot(by_peep), _snapshot(by_pip)
    (common,) = (p for p in theirs if p.endswith("site-packages/common.py"))
    assert theirs[common] == b"# baz's\n"
    assert ours.get(common) == theirs[common]
    assert sorted(ours) == sorted(theirs)


@_THREE_PIP_RUNS
@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
@pytest.mark.parametrize(
    "hook",
    [
        "zz_hook.pth",
        "_manylinux.py",
        "hooked-1.0.data/data/pip.conf",
        "_virtualenv.py",
        pytest.param(
            "apport_python_hook.py",
            marks=pytest.mark.skipif(
                _APPORT_PYTHON is None,
                reason="Debian's and Ubuntu's sitecustomize imports apport_python_hook",
            ),
        ),
    ],
)
def test_a_run_never_starts_with_a_startup_hook_another_run_wrote(tmp_path, env, peep, write, hook):
    """One pip run starts before any .pth file it installs exists; none of them runs then.

    A run started after another has written one (there are more runs than run at once)
    would run it: code of an installed package running inside the installer. So would it
    import a module pip imports when it is there (packaging's ``_manylinux``) or that a
    .pth file in the target imports (virtualenv's ``_virtualenv``), and read the
    environment's own pip.conf (here: install elsewhere).
    """
    telltale = tmp_path / "hook-ran"
    code = f"import os; open({str(telltale)!r}, 'a').write('ran\\n')\n".encode()
    if hook.endswith("pip.conf"):
        code = f"[install]\ntarget = {telltale}\n".encode()
        # a configuration file that is not os.devnull: pip then reads the environment's
        peep.env["PIP_CONFIG_FILE"] = write("empty-pip.conf", "")
    wheels = tmp_path / "wheels"
    # heavy, so that it goes to the first run
    files = {hook: code, **{f"hooked/m{j}.py": b"" for j in range(300)}}
    made = [write_wheel(wheels, "hooked", "1.0", files)]
    made += [write_wheel(wheels, f"p{i:03d}", "1.0", {f"p{i:03d}.py": b""}) for i in range(420)]
    reqs = _reqs(write, made)
    if hook == "apport_python_hook.py":  # any run started after it is written imports it
        venv = make_venv(tmp_path / "venv", python=_APPORT_PYTHON or "")
    else:
        venv = make_venv(tmp_path / "venv", with_pip=True)
    if hook == "_virtualenv.py":  # as virtualenv makes them
        (site_packages(venv) / "_virtualenv.pth").write_text("import _virtualenv\n")
        (site_packages(venv) / "_virtualenv.py").write_text("")
    done = peep.install(reqs, python=venv, check=0)
    assert "Installing the 421 archives in " in done.stdout  # 3 runs, then the hook's
    assert not telltale.exists()
    assert len(list(site_packages(venv).glob("p[0-9]*.dist-info"))) == 420


def _refused_wheel(wheels: Path, why: str) -> Path:
    """A wheel pip refuses while it prepares, before it installs anything."""
    if why == "version":
        meta = "Metadata-Version: 2.1\nName: odd\nVersion: 2.0\n"
        return write_wheel(wheels, "odd", "1.0", {"odd.py": b""}, metadata=meta)
    if why == "python":
        return write_wheel(wheels, "odd", "1.0", {"odd.py": b""}, requires_python=">=4")
    if why == "requires-dist":  # newer pips: "invalid metadata" (23.1 installs it)
        return write_wheel(wheels, "odd", "1.0", {"odd.py": b""}, requires_dist=["x (>>>1)"])
    if why == "marker":  # pip 26 evaluates it, --no-deps or not: a traceback
        requires = ["x; python_full_version ~= '3'"]
        return write_wheel(wheels, "odd", "1.0", {"odd.py": b""}, requires_dist=requires)
    path = write_wheel(wheels, "odd", "1.0", {"odd.py": b""})
    with zipfile.ZipFile(path) as wheel:
        members = {name: wheel.read(name) for name in wheel.namelist()}
    members["odd-1.0.dist-info/WHEEL"] = b"Wheel-Version: 9.0\nRoot-Is-Purelib: true\n"
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
    return path


@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
@pytest.mark.parametrize("why", ["version", "python", "wheel-version", "requires-dist", "marker"])
def test_a_wheel_pip_refuses_before_installing_leaves_nothing_installed(
    tmp_path, env, peep, write, why
):
    """One pip run refusing a wheel as it prepares installs nothing; nor may the split."""
    wheels = tmp_path / "wheels"
    made = [write_wheel(wheels, f"p{i:02d}", "1.0", {f"p{i:02d}.py": b""}) for i in range(24)]
    reqs = _reqs(write, [*made, _refused_wheel(wheels, why)])
    # the target's own pip (ensurepip's) or, without one, ours (the newest: stricter)
    venv = make_venv(tmp_path / "venv", with_pip=why not in ("requires-dist", "marker"))
    if why == "marker":  # peep's own check refuses it first, unless told to install anyway
        args = peep.install_args(reqs, "--allow-incomplete", python=venv)
        # pip's own traceback: not the fixture's (which asserts there is none)
        done = subprocess.run(
            peep.argv(*args), env=peep.env, cwd=peep.cwd, capture_output=True, text=True
        )
        assert done.returncode == 1
    else:
        done = peep.install(reqs, python=venv, check=1)
    assert "installer runs" not in done.stdout
    assert list(site_packages(venv).glob("p[0-9]*.dist-info")) == []


@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
def test_a_file_where_the_target_has_a_folder_leaves_what_one_pip_run_leaves(
    tmp_path, env, peep, write
):
    """pip stops at a file it cannot write over a folder an installed package has.

    Not replacing anything installed, the install was split: the run beside it installed
    its 12 wheels, where one pip run (which installs "odd" first) installed none.
    """
    holder = write_wheel(tmp_path / "pre", "holder", "1.0", {"clashdir/__init__.py": b""})
    wheels = tmp_path / "wheels"
    made = [write_wheel(wheels, f"a{i:02d}", "1.0", {f"a{i:02d}.py": b""}) for i in range(24)]
    reqs = _reqs(write, [*made, write_wheel(wheels, "odd", "1.0", {"clashdir": b"x"})])
    venvs = [make_venv(tmp_path / n, with_pip=True) for n in ("pip-venv", "our-venv")]
    for venv in venvs:
        pip = [str(venv), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        subprocess.run([*pip, "--find-links", str(holder.parent), "holder"], env=env, check=True)
    one = subprocess.run(
        [str(venvs[0]), "-m", "pip", "install", "-q", "--no-deps", "-r", reqs], env=env
    )
    assert one.returncode != 0
    done = peep.install(reqs, python=venvs[1], check=1)
    assert "installer runs" not in done.stdout
    assert [list(site_packages(v).glob("a[0-9]*.dist-info")) for v in venvs] == [[], []]


def test_a_wheel_zipfile_cannot_open_is_the_installers_failure_not_a_bug(
    tmp_path, env, peep, write
):
    """Its zip directory read once for every look: what zipfile raises was a traceback (exit 3)."""
    wheels = tmp_path / "wheels"
    made = [write_wheel(wheels, f"a{i:02d}", "1.0", {f"a{i:02d}.py": b""}) for i in range(24)]
    reqs = _reqs(write, [*made, unpackable_wheel(wheels, "metadata-method")])
    venv = make_venv(tmp_path / "venv", with_pip=True)
    done = peep.install(reqs, python=venv, check=1)
    assert "installer runs" not in done.stdout
    assert "it is not a readable wheel (That compression method is not supported)" in done.stdout
    assert list(site_packages(venv).glob("a[0-9]*.dist-info")) == []


@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
@pytest.mark.parametrize(
    "how", ["script-value", "script-name", "installer-folder", "long-name", "record-utf8"]
)
def test_a_wheel_pip_fails_on_half_way_leaves_what_one_pip_run_leaves(
    tmp_path, env, peep, write, how
):
    """One pip run stops at the wheel it cannot install, with those before it installed.

    Split, the runs beside it went on and installed theirs: what one run leaves depends
    on where that wheel is, so it keeps one run (uv refuses most of these before it
    installs anything).
    """
    if how == "script-value" and sys.version_info < (3, 11):
        # pip reads entry points with pkg_resources there: it stops with a traceback of its
        # own, which peep passes on (this suite takes any traceback for peep's)
        pytest.skip("pip's own traceback on Python < 3.11")
    wheels = tmp_path / "wheels"
    # pip installs in reverse order of the names: "odd" first, then none of these
    made = [write_wheel(wheels, f"a{i:02d}", "1.0", {f"a{i:02d}.py": b""}) for i in range(24)]
    reqs = _reqs(write, [*made, unpackable_wheel(wheels, how)])
    venvs = [make_venv(tmp_path / n, with_pip=True).parent.parent for n in ("pip-venv", "our-venv")]
    before = [_snapshot(venv) for venv in venvs]
    pip = [str(venvs[0] / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
    one = subprocess.run([*pip, "--no-compile", "--require-hashes", "-r", reqs], env=env)
    assert one.returncode != 0
    peep.install(reqs, python=venvs[1] / "bin" / "python", check=1)
    theirs, ours = (
        # pip's own bytecode and the temporary file it failed to rename (a random name)
        {p: v for p, v in _snapshot(venv, old).items() if not p.endswith((".pyc", ".tmp"))}
        for venv, old in zip(venvs, before)
    )
    assert sorted(ours) == sorted(theirs)


@pytest.mark.parametrize(
    "how",
    [
        *("crc", "cp437", "prefix", "suffix", "local-crc", "local-unicode-path"),
        *("comment", "entry-count", "empty-name", "control-name", "format-name", "dot-name"),
        *("long-name", "file-and-folder", "folder-entry", "record-rows", "record-utf8"),
    ],
)
def test_a_wheel_uv_refuses_as_it_unpacks_leaves_nothing_installed(tmp_path, env, peep, write, how):
    """One uv run unpacks every wheel before it installs any: a bad CRC, and none is installed."""
    wheels = tmp_path / "wheels"
    # heavier than the odd wheel, which goes to the lightest run: the second of three
    files = {f"p{{}}{part}.py": b"" for part in ("", "_a", "_b")}
    made = [
        write_wheel(wheels, f"p{i:03d}", "1.0", {k.format(f"{i:03d}"): v for k, v in files.items()})
        for i in range(121)
    ]
    reqs = _reqs(write, [*made, unpackable_wheel(wheels, how)])
    venv = make_venv(tmp_path / "venv")
    by_uv = make_venv(tmp_path / "uv-venv")
    uv = [find_uv(), "pip", "install", "-q", "--no-config", "--no-deps", "--require-hashes"]
    one = subprocess.run([*uv, "--python", str(by_uv), "-r", reqs], env=env, check=False)
    assert one.returncode != 0
    assert list(site_packages(by_uv).glob("p[0-9]*.dist-info")) == []
    peep.install(reqs, "--installer", "uv", python=venv, check=1)
    assert list(site_packages(venv).glob("p[0-9]*.dist-info")) == []


def test_a_file_uv_names_otherwise_than_python_is_keyed_by_neither(tmp_path, env, peep, write):
    """uv writes a member by its Info-ZIP Unicode Path name, which Python's zipfile ignores.

    Keyed by Python's name, a ``.pth`` file hidden so went to an early run, and the later
    runs' uv ran it as it queried the target's Python: code of an installed package inside
    the installer. Anything not plainly zipped keeps one run.
    """
    telltale = tmp_path / "hook-ran"
    code = f"import os; open({str(telltale)!r}, 'a').write('ran\\n')\n".encode()
    wheels = tmp_path / "wheels"
    files = {"hooked_note.txt": code, **{f"hooked/m{j}.py": b"" for j in range(300)}}
    made = [write_wheel(wheels, "hooked", "1.0", files)]  # heavy: it goes to the first run
    rename_member(made[0], "hooked_note.txt", "zz_hook.pth")
    made += [write_wheel(wheels, f"p{i:03d}", "1.0", {f"p{i:03d}.py": b""}) for i in range(120)]
    venv = make_venv(tmp_path / "venv")
    peep.install(_reqs(write, made), "--installer", "uv", python=venv, check=0)
    assert (site_packages(venv) / "zz_hook.pth").exists()  # as one uv run leaves it
    assert not telltale.exists()


@_THREE_PIP_RUNS
@pytest.mark.skipif(INSTALLS_AT_ONCE < 2, reason="one core: pip runs are not split")
def test_a_wheel_carrying_another_projects_installed_folder_shares_its_run(
    tmp_path, env, peep, write
):
    """A wheel may install what pip takes for another project installed (its .dist-info).

    One pip run looks before it installs anything: nothing to replace. A run started after
    the carrier's had finished removed that "installed" copy by its RECORD, deleting a file
    the carrier wrote. Such a folder joins the project it names.
    """
    wheels = tmp_path / "wheels"
    carried = "carrier-1.0.data/purelib/victim-0.9.dist-info"
    record = "victim-0.9.dist-info/METADATA,,\nvictim-0.9.dist-info/RECORD,,\ncarrier_file.py,,\n"
    files = {
        "carrier_file.py": b"KEPT = True\n",
        f"{carried}/METADATA": b"Metadata-Version: 2.1\nName: victim\nVersion: 0.9\n",
        f"{carried}/RECORD": record.encode(),
    }
    heavy = {f"m{j:03d}.py": b"" for j in range(300)}  # the three heaviest: one to each run
    made = [
        write_wheel(wheels, "carrier", "1.0", {**files, **{f"carrier/{k}": b"" for k in heavy}}),
        write_wheel(wheels, "filler", "1.0", {f"filler/m{j:03d}.py": b"" for j in range(250)}),
        write_wheel(wheels, "victim", "1.0", {f"victim/m{j:03d}.py": b"" for j in range(200)}),
    ]
    made += [write_wheel(wheels, f"p{i:03d}", "1.0", {f"p{i:03d}.py": b""}) for i in range(420)]
    venv = make_venv(tmp_path / "venv", with_pip=True)
    peep.install(_reqs(write, made), python=venv, check=0)
    assert (site_packages(venv) / "carrier_file.py").exists()  # as one pip run leaves it
