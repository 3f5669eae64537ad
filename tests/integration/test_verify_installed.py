"""peep verify and install --verify-installed: installed files against the verified wheel."""

from __future__ import annotations

import importlib.util
import marshal
import subprocess
from pathlib import Path

import pytest
from support.builders import (
    extension_suffix,
    installed,
    make_wheel,
    origin,
    site_packages,
    write_wheel,
)
from support.uvwrap import needs_uv

from peep_setuptools.hashes import hash_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheels(publish, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7verify")
    files = {
        "one": make_wheel(root, "f7v-one", "1.0"),
        "one-2": make_wheel(root, "f7v-one", "2.0"),
        "two": make_wheel(root, "f7v-two", "1.0"),
    }
    return publish(files)


def test_clean_then_tampered_environment(peep, venv, write, wheels, index):
    reqs = write(
        "reqs.txt",
        f"f7v-one==1.0 {wheels['one'].pip_option()}\nf7v-two==1.0 {wheels['two'].pip_option()}\n",
    )
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*verify, check=0)
    # verify never installs: no "(--dry-run)" the user did not give
    assert done.stdout.endswith(
        "f7v-one==1.0: the installed files match the verified wheel.\n"
        "f7v-two==1.0: the installed files match the verified wheel.\n"
        "All 2 archives match their hashes.\n"
        "All 2 requirements are installed as verified.\n"
    ), done.stdout

    site = site_packages(venv)
    (site / "f7v_one" / "__init__.py").write_text("EVIL = 1\n")
    (site / "f7v_one" / "extra.py").write_text("")
    (site / "f7v_two" / "__init__.py").unlink()
    done = peep(*verify, check=1)
    out = done.stdout + done.stderr
    assert "changed: f7v_one/__init__.py" in out
    assert "added:   f7v_one/extra.py" in out
    assert "missing: f7v_two/__init__.py" in out

    # --verify-installed refuses while a reinstall would leave a file no RECORD names
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", check=1)
    assert f"    f7v-one: {site / 'f7v_one' / 'extra.py'}\n" in done.stderr
    assert (site / "f7v_one" / "__init__.py").read_text() == "EVIL = 1\n"  # nothing changed
    (site / "f7v_one" / "extra.py").unlink()
    # then repairs instead of skipping
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
    assert "reinstalling" in done.stdout + done.stderr
    assert "ORIGIN = 'wheel'" in (site / "f7v_one" / "__init__.py").read_text()
    assert (site / "f7v_two" / "__init__.py").exists()


def test_version_differs_and_not_installed(peep, venv, write, wheels, index):
    old = write("old.txt", f"f7v-one==1.0 {wheels['one'].pip_option()}\n")
    peep.install(old, "-i", index.index_url, check=0)
    reqs = write(
        "reqs.txt",
        f"f7v-one==2.0 {wheels['one-2'].pip_option()}\nf7v-two==1.0 {wheels['two'].pip_option()}\n",
    )
    done = peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=1)
    out = done.stdout + done.stderr
    assert "f7v-one==2.0" in out and "version 1.0 is installed" in out
    assert "f7v-two==1.0" in out and "not installed" in out
    assert installed(venv)["f7v-one"] == "1.0"


# -- what actually runs: bytecode that shadows a verified source, and the launchers ----------

_MODULE = b"ORIGIN = 'wheel'\n\n\ndef main():\n    print('verified main')\n"
_ENTRY_POINTS = (
    "[console_scripts]\nf7v-run = f7v_runs:main\n[gui_scripts]\nf7v-gui = f7v_runs:main\n"
)


@pytest.fixture(scope="module")
def runs(index, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7runs")
    wheel = write_wheel(
        root,
        "f7v-runs",
        "1.0",
        {
            "f7v_runs/__init__.py": _MODULE,
            "f7v_top.py": b"ORIGIN = 'wheel'\n",
            "f7v_runs-1.0.data/scripts/f7v-tool": b"#!python\nprint('verified tool')\n",
            "f7v_runs-1.0.data/scripts/f7v-raw": b"#!/bin/sh\necho verified\n",
        },
        entry_points=_ENTRY_POINTS,
    )
    index.add_file("f7v-runs", wheel)
    return hash_file(str(wheel))["sha256"]


def _plant_pyc(source: Path, kind: str) -> Path:
    """A pyc of other code whose header makes Python import it instead of ``source``."""
    level = 1 if kind.endswith("opt-1") else 0
    pyc = Path(importlib.util.cache_from_source(str(source), optimization=level or ""))
    code = marshal.dumps(compile("ORIGIN = 'planted'\n", str(source), "exec", optimize=level))
    stat = source.stat()
    if kind.startswith("hash-unchecked"):
        header = (0b01).to_bytes(4, "little") + b"\0" * 8  # never checked against the source
    else:
        mtime = int(stat.st_mtime) & 0xFFFFFFFF
        if kind == "stale":
            mtime ^= 1
        header = b"\0" * 4 + mtime.to_bytes(4, "little") + stat.st_size.to_bytes(4, "little")
    pyc.parent.mkdir(exist_ok=True)
    pyc.write_bytes(importlib.util.MAGIC_NUMBER + header + code)
    return pyc


@pytest.mark.parametrize(
    ("module", "kind"),
    [
        ("f7v_runs", "timestamp"),
        ("f7v_runs", "hash-unchecked"),
        ("f7v_runs", "opt-1"),
        ("f7v_runs", "hash-unchecked-opt-1"),  # no reinstall rewrites it: peep removes it
        ("f7v_top", "timestamp"),
    ],
)
def test_a_pyc_with_other_code_fails_verify(peep, venv, write, runs, index, module, kind):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)

    site = site_packages(venv)
    source = site / ("f7v_runs/__init__.py" if module == "f7v_runs" else "f7v_top.py")
    pyc = _plant_pyc(source, kind)
    flags = ("-O",) if kind.endswith("opt-1") else ()
    assert origin(venv, module, *flags) == "planted"  # the attack is real: the pyc runs
    done = peep(*verify, check=1)
    shown = pyc.relative_to(site).as_posix()
    relative = source.relative_to(site).as_posix()
    assert (
        f"    changed: {shown} (other code than its source: it runs instead of {relative})"
    ) in done.stdout

    peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
    assert origin(venv, module, *flags) == "wheel"
    peep(*verify, check=0)


def test_a_dry_run_with_verify_installed_changes_nothing(peep, venv, write, runs, index):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    site = site_packages(venv)
    pyc = _plant_pyc(site / "f7v_runs/__init__.py", "hash-unchecked-opt-1")
    planted = pyc.read_bytes()
    done = peep.install(reqs, "-i", index.index_url, "--verify-installed", "--dry-run", check=0)
    out = done.stdout + done.stderr
    assert "f7v-runs==1.0" in out and "; it would be reinstalled (--dry-run)." in out, out
    assert "reinstalling it" not in out
    assert pyc.read_bytes() == planted  # a dry run deletes nothing
    assert origin(venv, "f7v_runs", "-O") == "planted"


@needs_uv
def test_uv_launchers_pass_and_verify_installed_repairs_a_pyc(peep, venv, write, runs, index):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    uv = ("-i", index.index_url, "--installer", "uv")
    peep.install(reqs, *uv, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)
    _plant_pyc(site_packages(venv) / "f7v_runs/__init__.py", "timestamp")
    assert origin(venv, "f7v_runs") == "planted"
    peep(*verify, check=1)
    peep.install(reqs, *uv, "--verify-installed", check=0)
    assert origin(venv, "f7v_runs") == "wheel"
    peep(*verify, check=0)


def test_a_stale_pyc_is_not_reported(peep, venv, write, runs, index):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    _plant_pyc(site_packages(venv) / "f7v_runs/__init__.py", "stale")
    assert origin(venv, "f7v_runs") == "wheel"  # Python compiles the source again
    peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=0)


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda text: text.replace("import sys\n", "import sys\nimport os; os.system('true')\n"),
        lambda text: text.replace("main()", "__import__('os').getcwd() or main()"),
        lambda text: "#!/usr/bin/python3\n" + text.split("\n", 1)[1],
        lambda text: text.replace("from f7v_runs import main", "from f7v_evil import main"),
    ],
    ids=["extra-code", "other-call", "other-interpreter", "other-module"],
)
def test_a_rewritten_launcher_fails_verify(peep, venv, write, runs, index, rewrite):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*verify, check=0)
    assert "runs at every Python start" not in done.stdout + done.stderr

    script = venv.parent / "f7v-run"
    original = script.read_text()
    changed = rewrite(original)
    assert changed != original
    script.write_text(changed)
    done = peep(*verify, check=1)
    assert f"    changed: {script} (" in done.stdout
    assert "f7v-gui" not in done.stdout

    peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
    assert script.read_text() == original
    peep(*verify, check=0)


def test_a_removed_launcher_is_missing(peep, venv, write, runs, index):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    (venv.parent / "f7v-gui").unlink()
    done = peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=1)
    assert f"    missing: {venv.parent / 'f7v-gui'}\n" in done.stdout


def test_a_launcher_moved_out_of_the_record_is_still_checked(peep, venv, write, runs, index):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    script = venv.parent / "f7v-run"
    decoy = venv.parent.parent / "decoy" / "f7v-run"
    decoy.parent.mkdir()
    decoy.write_text(script.read_text())
    record = site_packages(venv) / "f7v_runs-1.0.dist-info" / "RECORD"
    record.write_text(
        record.read_text().replace("../../../bin/f7v-run,", "../../../decoy/f7v-run,")
    )
    script.write_text(script.read_text().replace("import sys\n", "import sys, os\n"))
    done = peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=1)
    assert f"    changed: {script} (it does not only run f7v_runs:main)" in done.stdout


def test_pth_files_are_listed(peep, venv, write, index, tmp_path):
    wheel = write_wheel(
        tmp_path,
        "f7v-pth",
        "1.0",
        {"f7v_pth/__init__.py": b"", "f7v_pth.pth": b"# Python runs import lines here\n"},
    )
    index.add_file("f7v-pth", wheel)
    reqs = write("reqs.txt", f"f7v-pth==1.0 {hash_file(str(wheel))['sha256'].pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    done = peep("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url, check=0)
    assert "f7v-pth==1.0: runs at every Python start: f7v_pth.pth (verified)\n" in done.stdout


@pytest.mark.parametrize("name", ["f7v-tool", "f7v-raw"])
def test_a_rewritten_data_script_fails_verify(peep, venv, write, runs, index, name):
    reqs = write("reqs.txt", f"f7v-runs==1.0 {runs.pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    done = peep(*verify, check=0)
    assert "not checked" not in done.stdout + done.stderr
    script = venv.parent / name
    original = script.read_text()
    assert original.startswith(f"#!{venv}\n" if name == "f7v-tool" else "#!/bin/sh\n")
    script.write_text(original.replace("verified", "planted"))
    done = peep(*verify, check=1)
    assert f"    changed: {script} (it differs from the wheel's copy)" in done.stdout
    peep.install(reqs, "-i", index.index_url, "--verify-installed", check=0)
    assert script.read_text() == original


def test_an_extension_module_beside_a_namespace_packages_init_fails_verify(
    peep, venv, write, index, tmp_path
):
    # f7v_nsroot has no __init__.py (a namespace shared with other distributions); its
    # package sub does. Python imports sub/__init__<extension suffix> before __init__.py.
    wheel = write_wheel(
        tmp_path, "f7v-ns", "1.0", {"f7v_nsroot/sub/__init__.py": b"ORIGIN = 'wheel'\n"}
    )
    index.add_file("f7v-ns", wheel)
    reqs = write("reqs.txt", f"f7v-ns==1.0 {hash_file(str(wheel))['sha256'].pip_option()}\n")
    peep.install(reqs, "-i", index.index_url, check=0)
    verify = ("verify", "-r", reqs, "--python", str(venv), "-i", index.index_url)
    peep(*verify, check=0)
    assert origin(venv, "f7v_nsroot.sub") == "wheel"

    suffix = extension_suffix(venv)
    planted = site_packages(venv) / "f7v_nsroot" / "sub" / f"__init__{suffix}"
    planted.write_bytes(b"not an ELF file, but the one Python picks")
    done = subprocess.run(
        [str(venv), "-c", "import f7v_nsroot.sub"], capture_output=True, text=True, check=False
    )
    assert str(planted) in done.stderr  # the attack is real: Python loads it, not the source
    done = peep(*verify, check=1)
    assert f"f7v_nsroot/sub/__init__{suffix}" in done.stdout
