"""``peep port --to pylock`` against the loopback index, back again, and installing the lock."""

from __future__ import annotations

import os
import sys

import pytest
from support.builders import installed

from peep_setuptools.hashes import hash_file
from peep_setuptools.lock.parse import load_pylock
from peep_setuptools.requirements.files import load_reqfiles
from peep_setuptools.requirements.spec import ReqLine

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev venv is 3.11
    tomllib = pytest.importorskip("tomli")


def _reqs(packages, index):
    epsilon = index.add_file("epsilon", packages["epsilon-1.0"], index="other")
    return (
        f"{packages.peep('alpha-1.0')}\n"
        "alpha==1.0\n"
        f"delta==1.0 {packages.pip('delta-1.0')} {packages.pip('delta-1.0-win')}\n"
        f'beta==1.0 ; python_version >= "3.8" {packages.pip("beta-1.0")}\n'
        f"epsilon @ {epsilon} {packages.pip('epsilon-1.0')}\n"
    )


def _key(requirements):
    return sorted(
        (r.name, r.version, str(r.marker), frozenset(r.digests))
        for r in requirements
        if isinstance(r, ReqLine)
    )


def test_requirements_to_pylock_and_back(peep, write, packages, index, tmp_path):
    reqs = write("reqs.txt", _reqs(packages, index))
    index.clear_requests()
    peep("port", reqs, "--to", "pylock", "-i", index.index_url, "-o", "pylock.toml", check=0)
    # The index advertises every hash: no archive was downloaded to write the lock.
    assert not [r for r in index.requests if r.path.startswith("/files/")]
    text = (tmp_path / "pylock.toml").read_text()
    data = tomllib.loads(text)
    assert (data["lock-version"], data["created-by"]) == ("1.0", "peep-setuptools")
    by_name = {p["name"]: p for p in data["packages"]}
    assert [w["name"] for w in by_name["delta"]["wheels"]] == [
        "delta-1.0-py3-none-any.whl",
        "delta-1.0-cp27-cp27m-win32.whl",
    ]
    assert by_name["delta"]["index"] == index.index_url
    assert by_name["beta"]["sdist"]["hashes"] == {"sha256": packages.sha256("beta-1.0").hex}
    assert by_name["beta"]["marker"] == 'python_version >= "3.8"'
    assert "index" not in by_name["epsilon"]
    assert by_name["epsilon"]["wheels"][0]["url"].endswith(
        "/files/other/epsilon-1.0-py3-none-any.whl"
    )
    load_pylock(str(tmp_path / "pylock.toml"))  # our own reader accepts it

    original = load_reqfiles([reqs]).requirements
    for to in ("pip", "peep"):
        back = peep("port", "pylock.toml", "--to", to, check=0).stdout
        assert back.startswith("# Ported from pylock.toml (created by peep-setuptools).\n")
        assert f"--index-url {index.index_url}\n" in back
        again = load_reqfiles([write(f"back-{to}.txt", back)]).requirements
        assert _key(again) == _key(original)


def test_a_local_folder_lock_has_relative_paths_and_ports_back_to_find_links(
    peep, write, packages, index, tmp_path
):
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"delta==1.0 {packages.pip('delta-1.0')} {packages.pip('delta-1.0-win')}\n",
    )
    (tmp_path / "locks").mkdir()
    peep(
        "port", reqs, "--to", "pylock", "--no-index", "-f", str(packages.root),
        "-o", "locks/pylock.toml", check=0,
    )  # fmt: skip
    lock = load_pylock(str(tmp_path / "locks" / "pylock.toml"))
    alpha, delta = lock.packages
    raw = tomllib.loads((tmp_path / "locks" / "pylock.toml").read_text())["packages"][0]
    # A folder has no advertised hashes: the file was hashed, so its size is known too.
    expected = os.path.relpath(packages["alpha-1.0"], tmp_path / "locks")
    assert raw["wheels"] == [
        {
            "name": "alpha-1.0-py3-none-any.whl",
            "path": expected,
            "size": packages["alpha-1.0"].stat().st_size,
            "hashes": {"sha256": packages.sha256("alpha-1.0").hex},
        }
    ]
    assert (alpha.index, delta.index, len(delta.wheels)) == (None, None, 2)
    back = peep("port", "locks/pylock.toml", check=0).stdout
    # A lone file keeps its URL; several files of one version are looked up in their folder.
    assert f"alpha @ {packages['alpha-1.0'].as_uri()} {packages.pip('alpha-1.0')}\n" in back
    assert f"--find-links {packages['delta-1.0'].parent}\n" in back
    assert "delta==1.0 \\\n" in back


def test_an_allowed_hash_that_no_file_has_names_the_line(peep, write, packages, index, tmp_path):
    wrong = "0" * 64
    reqs = write(
        "reqs.txt",
        f"# pins\nalpha==1.0 {packages.pip('alpha-1.0')} --hash=sha256:{wrong}\n",
    )
    done = peep("port", reqs, "--to", "pylock", "-i", index.index_url, "-o", "pylock.toml", check=1)
    assert done.stderr.startswith(
        f"peep: error: {reqs}:2: alpha==1.0: no file of this version on {index.index_url} "
        f"has the allowed hash sha256:{wrong} (files: "
    )
    assert not (tmp_path / "pylock.toml").exists()
    done = peep("port", reqs, "--to", "pylock", "--no-index", check=1)
    assert "alpha==1.0 not found on no index (--no-index and no --find-links)" in done.stderr


def test_a_lock_file_is_not_ported_to_a_lock_file(peep, write):
    lock = write("pylock.toml", 'lock-version = "1.0"\ncreated-by = "x"\npackages = []\n')
    done = peep("port", lock, "--to", "pylock", check=2)
    assert "is a lock file already; port it --to pip or --to peep" in done.stderr


@pytest.mark.slow
def test_the_generated_lock_installs(peep, venv, write, packages, index):
    epsilon = index.add_file("epsilon", packages["epsilon-1.0"], index="other")
    reqs = write(
        "reqs.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"delta==1.0 {packages.pip('delta-1.0')} {packages.pip('delta-1.0-win')}\n"
        f"delta==1.0 ; sys_platform == 'win32' {packages.pip('delta-1.0-win')}\n"
        f"epsilon @ {epsilon} {packages.pip('epsilon-1.0')}\n",
    )
    peep("port", reqs, "--to", "pylock", "-i", index.index_url, "-o", "pylock.toml", check=0)
    peep.install("pylock.toml", "--no-cache", check=0)
    got = installed(venv)
    assert (got["alpha"], got["delta"], got["epsilon"]) == ("1.0", "1.0", "1.0")


def test_port_output_is_written_atomically_with_the_file_mode_kept(peep, write, tmp_path):
    reqs = write("reqs.txt", "")
    target = tmp_path / "pylock.toml"
    target.write_text("old")
    target.chmod(0o640)
    peep("port", reqs, "--to", "pylock", "--no-index", "-o", str(target), check=0)
    assert target.read_text().startswith('lock-version = "1.0"\n')
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".peep-")] == []
    assert hash_file(str(target))  # readable
