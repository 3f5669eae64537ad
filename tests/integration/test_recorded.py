"""What the environment records after ``peep install`` (issue 12): what the requirements said.

``pip freeze`` shows ``name==version`` for index and find-links requirements and the original
URL for URL requirements (PEP 610), never the temporary or cached file peep handed over; the
frozen output installs again; ``pip check`` is clean and ``pip uninstall`` removes everything.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from support.builders import installed, make_venv, pip
from support.pylock import session_lock

pytestmark = pytest.mark.slow

INSTALLERS = ["pip", "uv"]


def _freeze(env, venv: Path) -> list[str]:
    done = pip(env, venv, "freeze", "--all")
    assert done.returncode == 0, done.stderr
    return sorted(line for line in done.stdout.splitlines() if not line.startswith("pip=="))


def _direct_url(venv: Path, name: str) -> dict | None:
    found = list(venv.parent.parent.glob(f"lib/python*/site-packages/{name}-*.dist-info"))
    assert len(found) == 1, found
    path = found[0] / "direct_url.json"
    return json.loads(path.read_text()) if path.exists() else None


def _assert_clean_and_removable(env, venv: Path, names: list[str]) -> None:
    check = pip(env, venv, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    removed = pip(env, venv, "uninstall", "-y", *names)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert not set(names) & set(installed(venv))
    site = next(venv.parent.parent.glob("lib/python*/site-packages"))
    left = [p.name for p in site.iterdir() if p.name.split("-")[0].split(".")[0] in names]
    assert left == [], left


@pytest.mark.parametrize("installer", INSTALLERS)
def test_freeze_names_pins_and_original_urls(
    peep, env, venv, tmp_path, write, packages, index, installer
):
    delta = index.add_file("delta", packages["delta-1.0"])
    gamma = index.add_file("gamma", packages["gamma-1.0"])
    reqs = write(
        "reqs.txt",
        f"--index-url {index.index_url}\n"
        f"--find-links {packages['epsilon-1.0'].parent}\n"
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"beta==1.0 {packages.pip('beta-1.0')}\n"
        f"epsilon==1.0 {packages.pip('epsilon-1.0')}\n"
        f"delta @ {delta} {packages.pip('delta-1.0')}\n"
        f"gamma @ {gamma} {packages.pip('gamma-1.0')}\n",
    )
    peep.install(reqs, "--installer", installer, check=0)
    frozen = _freeze(env, venv)
    # pip spells the recorded hash as a fragment (and checks it when installing the line).
    assert frozen == [
        "alpha==1.0",
        "beta==1.0",
        f"delta @ {delta}#sha256={packages.sha256('delta-1.0').hex}",
        "epsilon==1.0",
        f"gamma @ {gamma}#sha256={packages.sha256('gamma-1.0').hex}",
    ], frozen
    # The sdist's URL with the sdist's hash, as pip records a built URL requirement.
    sha = packages.sha256("gamma-1.0").hex
    assert _direct_url(venv, "gamma")["archive_info"]["hashes"] == {"sha256": sha}
    assert _direct_url(venv, "alpha") is None

    # The frozen output installs again, with pip itself, into a fresh environment.
    again = make_venv(tmp_path / "again")
    frozen_file = write("frozen.txt", "\n".join(frozen) + "\n")
    done = pip(
        env,
        again,
        "install",
        "--no-deps",
        "-r",
        frozen_file,
        "--index-url",
        index.index_url,
        "--find-links",
        str(packages["epsilon-1.0"].parent),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed(again) == installed(venv)

    # A second run is happy with what the first one recorded.
    peep.install(reqs, "--installer", installer, check=0)
    assert _freeze(env, venv) == frozen
    _assert_clean_and_removable(env, venv, ["alpha", "beta", "delta", "epsilon", "gamma"])


@pytest.mark.parametrize("installer", INSTALLERS)
def test_freeze_after_a_lock_file_install(peep, env, venv, write, packages, index, installer):
    lock = write("pylock.toml", session_lock(packages, index))
    peep.install(lock, "--installer", installer, "-i", index.index_url, check=0)
    epsilon = f"{index.url}/files/other/{packages['epsilon-1.0'].name}"
    sha = packages.sha256("epsilon-1.0").hex
    assert _freeze(env, venv) == ["alpha==1.0", "beta==1.0", f"epsilon @ {epsilon}#sha256={sha}"]
    assert _direct_url(venv, "epsilon")["archive_info"]["hashes"] == {
        "sha256": packages.sha256("epsilon-1.0").hex
    }
    _assert_clean_and_removable(env, venv, ["alpha", "beta", "epsilon"])


@pytest.mark.parametrize("installer", INSTALLERS)
def test_freeze_without_the_cache(peep, env, venv, write, packages, index, installer):
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\nbeta==1.0 {packages.pip('beta-1.0')}\n",
    )
    peep.install(reqs, "-i", index.index_url, "--installer", installer, "--no-cache", check=0)
    assert _freeze(env, venv) == ["alpha==1.0", "beta==1.0"]


@pytest.mark.parametrize("installer", INSTALLERS)
def test_a_configured_wheelhouse_cannot_offer_the_installer_another_file(
    peep, env, venv, tmp_path, write, packages, index, installer
):
    # A better-tagged alpha 1.0 in a find-links folder from pip's or uv's own configuration:
    # installers add those to the command line's; the verified file must still be the one.
    from support.builders import make_wheel

    house = tmp_path / "house"
    best = f"cp{sys.version_info.major}{sys.version_info.minor}-none-any"
    make_wheel(house, "alpha", "1.0", tag=best)  # other bytes, ranked above py3-none-any
    (tmp_path / "pip.conf").write_text(f"[global]\nfind-links = {house}\n")
    (tmp_path / "xdg" / "uv").mkdir(parents=True)
    (tmp_path / "xdg" / "uv" / "uv.toml").write_text(f'find-links = ["{house}"]\n')
    peep.env.update(
        PIP_CONFIG_FILE=str(tmp_path / "pip.conf"), XDG_CONFIG_HOME=str(tmp_path / "xdg")
    )
    reqs = write("reqs.txt", f"alpha==1.0 {packages.pip('alpha-1.0')}\n")
    peep.install(reqs, "-i", index.index_url, "--installer", installer, check=0)
    assert _freeze(env, venv) == ["alpha==1.0"]
