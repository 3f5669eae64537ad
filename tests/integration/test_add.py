"""peep add and peep upgrade: every platform's hashes, the file's format, atomic edits."""

from __future__ import annotations

import sys

import pytest
from support.builders import make_wheel

from peep_setuptools.hashes import hash_file

pytestmark = pytest.mark.slow

# The "linux" wheel must fit the interpreter running the tests (3.9 in CI as well as 3.11).
PY_TAG = f"cp{sys.version_info[0]}{sys.version_info[1]}"
LINUX = f"{PY_TAG}-{PY_TAG}-manylinux_2_17_x86_64"
PY_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"


@pytest.fixture(scope="module")
def plat(publish, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7add")
    files = {
        "linux": make_wheel(root, "f7a-plat", "1.0", tag=LINUX),
        "win": make_wheel(root, "f7a-plat", "1.0", tag=f"{PY_TAG}-{PY_TAG}-win_amd64"),
        "old": make_wheel(root, "f7a-plat", "1.0", tag="cp38-cp38-win_amd64"),
        "v0.9": make_wheel(root, "f7a-plat", "0.9"),
        "v2.0b1": make_wheel(root, "f7a-plat", "2.0b1"),
    }
    return publish(files)


def _read(path):
    with open(path, "rb") as f:
        return f.read().decode()


def test_add_newest_with_every_file_and_says_it_is_trust_on_first_use(peep, write, plat, index):
    reqs = write("reqs.txt", "# top\n")
    done = peep("add", "f7a-plat", "-r", reqs, "-i", index.index_url, check=0)
    assert "trust on first use" in done.stdout + done.stderr
    assert f"Pinned f7a-plat==1.0 in {reqs} with 3 hashes.\n" in done.stdout
    text = _read(reqs)
    assert text.startswith("# top\n") and text.endswith("f7a-plat==1.0\n")
    for key in ("linux", "win", "old"):
        assert plat[key].peep_line() in text
    peep("install", "-r", reqs, "-i", index.index_url, "--dry-run", check=0)


def test_platform_and_python_filters_in_pip_format(peep, write, plat, index):
    reqs = write("reqs.txt", "other==1 --hash=sha256:" + "a" * 64 + "\n")
    args = ("add", "f7a-plat==1.0", "-r", reqs, "-i", index.index_url)
    peep(*args, "--platform", "win_amd64", "--python-version", PY_VERSION, check=0)
    text = _read(reqs)
    assert plat["win"].pip_option() in text
    assert plat["linux"].pip_option() not in text and plat["old"].pip_option() not in text
    assert text.startswith("other==1 --hash=sha256:")


def test_replacing_keeps_crlf_and_other_lines(peep, tmp_path, plat, index):
    reqs = tmp_path / "reqs.txt"
    reqs.write_bytes(b"# a\r\nf7a-plat==0.9 --hash=sha256:" + b"b" * 64 + b"\r\n# b \r\n")
    done = peep(
        "add",
        "f7a-plat==1.0",
        "-r",
        str(reqs),
        "-i",
        index.index_url,
        "--platform",
        "manylinux*",
        check=0,
    )
    # a replaced pin is said, not silent
    assert f"Replaced f7a-plat==0.9 with f7a-plat==1.0 in {reqs}, with 1 hash.\n" in done.stdout
    data = reqs.read_bytes()
    assert data == (
        b"# a\r\nf7a-plat==1.0 " + plat["linux"].pip_option().encode() + b"\r\n# b \r\n"
    )


def test_add_from_local_files_needs_no_index(peep, write, tmp_path):
    wheel = make_wheel(tmp_path / "vetted", "f7a-local", "3.0")
    reqs = write("reqs.txt", "")
    done = peep("add", "--from", str(wheel), "-r", reqs, "--format", "pip", check=0)
    assert "trust on first use" not in done.stdout + done.stderr
    assert _read(reqs) == f"f7a-local==3.0 {hash_file(str(wheel))['sha256'].pip_option()}\n"


def test_add_refuses_a_file_that_does_not_parse(peep, write, index):
    reqs = write("reqs.txt", "wombat>=2\n")
    done = peep("add", "f7a-plat==1.0", "-r", reqs, "-i", index.index_url, check=2)
    assert f"{reqs}:1:" in done.stderr
    assert _read(reqs) == "wombat>=2\n"


def test_upgrade_dry_run_then_for_real_and_pre(peep, write, plat, index):
    reqs = write("reqs.txt", f"{plat['v0.9'].peep_line()}\nf7a-plat==0.9\n")
    base = ("upgrade", "-r", reqs, "-i", index.index_url, "--platform", "win_amd64")
    done = peep(*base, "--dry-run", check=0)
    assert "-f7a-plat==0.9" in done.stdout and "+f7a-plat==1.0" in done.stdout
    assert _read(reqs).endswith("f7a-plat==0.9\n")
    peep(*base, check=0)
    lines = _read(reqs).splitlines()
    assert lines[-1] == "f7a-plat==1.0"
    assert sorted(lines[:-1]) == sorted([plat["old"].peep_line(), plat["win"].peep_line()])
    peep("upgrade", "f7a-plat", "-r", reqs, "-i", index.index_url, "--pre", check=0)
    assert _read(reqs) == f"{plat['v2.0b1'].peep_line()}\nf7a-plat==2.0b1\n"


def test_install_write_hashes_writes_every_file_and_installs_nothing(
    peep, venv, write, plat, index
):
    reqs = write("reqs.txt", "# keep\nf7a-plat==1.0\n")
    done = peep.install(reqs, "-i", index.index_url, "--write-hashes", check=1)
    assert "trust on first use" in done.stdout + done.stderr
    text = _read(reqs)
    assert text.startswith("# keep\n") and text.endswith("f7a-plat==1.0\n")
    assert all(plat[k].peep_line() in text for k in ("linux", "win", "old"))
    peep.install(reqs, "-i", index.index_url, check=0)
