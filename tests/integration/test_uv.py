"""The uv backend: the verified files handed to ``uv pip install``; a clear error without uv."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import threading
import zipfile
from pathlib import Path

import pytest
from support.builders import installed, make_venv, make_wheel, origin, site_packages, write_wheel
from support.uvwrap import installs, needs_uv
from support.uvwrap import logging_uv as _logging_uv

pytestmark = [
    pytest.mark.slow,
    needs_uv,
]


def test_installer_uv_installs_wheels_and_sdists(peep, venv, write, packages, index, telltale):
    reqs = write(
        "reqs.txt",
        f"{packages.peep('alpha-1.0')}\nalpha==1.0\nbeta==1.0 {packages.pip('beta-1.0')}\n",
    )
    done = peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    got = installed(venv)
    assert (got["alpha"], got["beta"]) == ("1.0", "1.0")
    assert "Successfully installed" not in done.stdout  # pip's words: pip did not run
    assert "beta ran" in telltale.read_text()


def test_a_cached_built_wheel_is_handed_to_uv_in_place(
    peep, venv, write, packages, index, telltale, tmp_path
):
    """As cached archives are: uv's own cache knows a local wheel by its path and mtime, so
    a copy in the run's folder would be unpacked again by every run. It gets a hard link to
    the cache's file, in a folder of the cache's ``links/`` that the next run finds again;
    the run that builds it hands it over from there too (else the next run's folder would
    differ, and uv would unpack again every wheel in it)."""
    reqs = write("reqs.txt", f"beta==1.0 {packages.pip('beta-1.0')}\n")
    log = _logging_uv(peep, tmp_path)
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    built = telltale.read_text().count("beta ran")
    fresh = make_venv(tmp_path / "fresh")
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", python=fresh, check=0)
    assert telltale.read_text().count("beta ran") == built  # not built again
    (wheel,) = (peep.cache / "built").rglob("*.whl")
    (link,) = (peep.cache / "links").rglob("*.whl")
    assert link.samefile(wheel)
    assert f"--find-links {link.parent}" in log.read_text()
    assert installed(fresh)["beta"] == "1.0"
    again = make_venv(tmp_path / "again")
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", python=again, check=0)
    assert log.read_text().count(f"--find-links {link.parent}") == 3


def test_uv_replaces_an_installed_copy_and_refreshes_nothing_for_a_new_one(
    peep, venv, env, write, packages, index, tmp_path
):
    """--reinstall (which makes uv read every cached wheel again) only where something of
    the same name is installed: there the verified files still win."""
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    log = _logging_uv(peep, tmp_path)
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    assert "--reinstall" not in log.read_text()
    assert origin(venv, "alpha") == "wheel"
    # An unverified alpha 1.0 put in by other means; peep is asked to reinstall.
    planted = write_wheel(
        tmp_path / "planted", "alpha", "1.0", {"alpha/__init__.py": b"ORIGIN = 'planted'\n"}
    )
    fresh = make_venv(tmp_path / "fresh")
    real = shutil.which("uv", path=str(Path(sys.executable).parent))
    subprocess.run(
        [real, "pip", "install", "-q", "--no-config", "--python", str(fresh), str(planted)],
        env=env,
        check=True,
    )
    assert origin(fresh, "alpha") == "planted"
    peep.install(
        reqs,
        "-i",
        index.index_url,
        "--installer",
        "uv",
        "--force-reinstall",
        python=fresh,
        check=0,
    )
    assert "--reinstall" in installs(log)[-1][1]
    assert origin(fresh, "alpha") == "wheel"


@pytest.mark.parametrize("name", ["Name: alpha", "Name:\n alpha"])
def test_uv_replaces_a_copy_only_an_egg_link_claims(
    peep, venv, write, packages, index, tmp_path, name
):
    """uv takes an egg-link (a legacy editable) for an installed distribution, named by the
    PKG-INFO it points to (its own parser: a folded Name too), whose folder need not be a
    site folder: any egg-link gets --reinstall, else uv keeps the planted copy ("Checked 1
    package") and peep says done."""
    site = site_packages(venv)
    (site / "alpha").mkdir()
    (site / "alpha" / "__init__.py").write_text("ORIGIN = 'planted'\n")
    info = tmp_path / "elsewhere" / "other.egg-info"
    info.mkdir(parents=True)
    (info / "PKG-INFO").write_text(f"Metadata-Version: 1.0\n{name}\nVersion: 1.0\n")
    (site / "other.egg-link").write_text(f"{info.parent}\n.\n")
    (site / "easy-install.pth").write_text(f"{info.parent}\n")
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    log = _logging_uv(peep, tmp_path)
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    assert origin(venv, "alpha") == "wheel"
    assert "--reinstall" in log.read_text().split()


@pytest.mark.parametrize(
    ("line", "reinstall"),
    [("{}", True), ("import sys; sys.path.append({!r})", False)],
    ids=["path-line", "code-line"],
)
def test_uv_installs_over_a_copy_only_a_pth_file_puts_on_sys_path(
    peep, venv, write, packages, index, tmp_path, line, reinstall
):
    """A planted alpha 1.0 (dist-info and module) in a folder a .pth file adds to sys.path.
    peep's probe reads a path line as pip does (--reinstall), but runs no code (-I -S): for
    a code line it is uv's own view that counts, and uv takes only the site folders'
    distributions for installed: the verified alpha goes into site-packages (uv 0.13.9)."""
    folder = tmp_path / "added"
    info = folder / "alpha-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n")
    (info / "RECORD").write_text("alpha/__init__.py,,\nalpha-1.0.dist-info/METADATA,,\n")
    (folder / "alpha").mkdir()
    (folder / "alpha" / "__init__.py").write_text("ORIGIN = 'planted'\n")
    site = site_packages(venv)
    (site / "added.pth").write_text(line.format(str(folder)) + "\n")
    assert origin(venv, "alpha") == "planted"
    assert installed(venv)["alpha"] == "1.0"
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    log = _logging_uv(peep, tmp_path)
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    assert ("--reinstall" in log.read_text().split()) is reinstall
    with zipfile.ZipFile(packages["alpha-1.0"]) as wheel:
        assert (site / "alpha" / "__init__.py").read_bytes() == wheel.read("alpha/__init__.py")
    assert "alpha/__init__.py," in (site / "alpha-1.0.dist-info" / "RECORD").read_text()
    assert origin(venv, "alpha") == "wheel"


def test_peep_installer_env_chooses_uv(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    peep.env["PEEP_INSTALLER"] = "uv"
    done = peep.install(reqs, "-i", index.index_url, check=0)
    assert installed(venv)["alpha"] == "1.0"
    assert "Successfully installed" not in done.stdout


def test_a_bad_peep_installer_is_a_usage_error(peep, venv, write, packages, index):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    peep.env["PEEP_INSTALLER"] = "poetry"
    done = peep.install(reqs, "-i", index.index_url, check=2)
    assert "PEEP_INSTALLER must be one of pip, uv, not 'poetry'" in done.stderr


def test_uv_missing_is_a_clear_error_before_any_download(
    peep, venv, tmp_path, write, packages, index
):
    reqs = write("reqs.txt", f"{packages.peep('alpha-1.0')}\nalpha==1.0\n")
    # An interpreter with no uv beside it, and a PATH with no uv on it.
    peep.interpreter = str(make_venv(tmp_path / "runner"))
    site = sysconfig.get_paths()["purelib"]
    repo = Path(__file__).resolve().parents[2]
    peep.env["PYTHONPATH"] = os.pathsep.join([str(repo), site])
    peep.env["PATH"] = os.pathsep.join(
        d for d in peep.env["PATH"].split(os.pathsep) if d and not (Path(d) / "uv").exists()
    )
    index.clear_requests()
    done = peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=1, timeout=120)
    assert "uv is not installed" in done.stderr
    assert index.requests == []
    assert "alpha" not in installed(venv)


def _cache_entries(cache: Path) -> list[Path]:
    return [p for p in (cache / "archives").rglob("*.whl")]


def test_a_run_rebuilding_a_links_folder_never_takes_it_from_a_run_reading_it(
    peep, write, publish, index, tmp_path
):
    """Two runs sharing a cache, both cold, both store their download of the same wheels
    (the later file replaces the earlier under the entry's name): the other run finds the
    folder it was handed holding the older files and makes it again while this run's uv
    reads it. Moving the folder aside first left uv without it for a moment ("Failed to
    read `--find-links` directory ... No such file or directory", peep exit 1; seen with
    two to four cold runs at once). Here a reader stands for that uv."""
    wheels = {
        f"links-race-{i}": make_wheel(tmp_path / "w", f"links-race-{i}", "1.0") for i in range(60)
    }
    digests = publish(wheels)
    reqs = write("race.txt", "".join(f"{k}==1.0 {d.pip_option()}\n" for k, d in digests.items()))
    peep.install(reqs, "-i", index.index_url, "--installer", "uv", check=0)
    handed = sorted((peep.cache / "links").rglob("*.whl"))
    assert len(handed) == len(wheels)
    for entry in _cache_entries(peep.cache):  # the other cold run's own download, stored
        shutil.copyfile(entry, tmp_path / "copy")
        os.replace(tmp_path / "copy", entry)
    missing: set[Path] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            missing.update(p for p in handed if not p.is_file())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        peep.install(
            reqs,
            "-i",
            index.index_url,
            "--installer",
            "uv",
            python=make_venv(tmp_path / "v2"),
            check=0,
        )
    finally:
        done.set()
        reader.join()
    assert missing == set()
    assert sorted((peep.cache / "links").rglob("*.whl")) == handed  # the same paths again


def _dist_infos(python: Path) -> dict[str, dict[str, str]]:
    """Each dist-info folder of the target: its files and what they hold (but for RECORD
    and the time in uv's uv_cache.json, which differ from one install to the next)."""
    site = site_packages(python)
    return {
        info.name: {
            p.name: "" if p.name in ("RECORD", "uv_cache.json") else p.read_text()
            for p in info.iterdir()
        }
        for info in site.glob("*.dist-info")
    }


def test_uv_unpacks_again_only_the_wheels_of_a_changed_pins_folder(
    peep, write, publish, index, tmp_path
):
    """A second run hands uv the same paths (it unpacks nothing: no "Prepared"); a changed
    pin changes only its own folder; what is installed is what uv installs from a copy."""
    names = [f"links-stable-{i}" for i in range(12)]
    wheels = {n: make_wheel(tmp_path / "w", n, "1.0") for n in names}
    wheels["new"] = make_wheel(tmp_path / "w", names[3], "2.0")
    digests = publish(wheels)

    def pins(changed: bool) -> str:
        lines = [f"{n}==1.0 {digests[n].pip_option()}\n" for n in names]
        if changed:
            lines[3] = f"{names[3]}==2.0 {digests['new'].pip_option()}\n"
        return write(f"reqs-{changed}.txt", "".join(lines))

    def run(reqs: str, *args: str) -> tuple[Path, str]:
        python = make_venv(tmp_path / f"v{len(list(tmp_path.glob('v*')))}")
        done = peep.install(
            reqs, "-i", index.index_url, "--installer", "uv", *args, python=python, check=0
        )
        return python, done.stdout + done.stderr

    first, said = run(pins(False))
    assert f"Prepared {len(names)} packages" in said
    _, said = run(pins(False))
    assert "Prepared" not in said
    folders = {p.parent for p in (peep.cache / "links").rglob("*.whl")}
    sharing = [
        p for p in (peep.cache / "links").rglob("*.whl") if p.name.startswith("links_stable_3-")
    ]
    (bucket,) = {p.parent for p in sharing}
    _, said = run(pins(True))
    assert f"Prepared {len(list(bucket.iterdir()))} package" in said
    assert len({p.parent for p in (peep.cache / "links").rglob("*.whl")}) == len(folders) + 1
    copied, _ = run(pins(False), "--no-cache")
    assert _dist_infos(copied) == _dist_infos(first)
    peep.assert_cache_clean()
