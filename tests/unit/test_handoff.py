"""The installer's input: one writer, only verified files, no line breaks, no secrets."""

from __future__ import annotations

import os
import stat

import pytest

from peep_setuptools.errors import BackendError
from peep_setuptools.hashes import Digest
from peep_setuptools.installing.handoff import VerifiedArchive, stage, write_installer_input
from peep_setuptools.installing.sources import BuildIndex

H = Digest("sha256", "a" * 64)


@pytest.mark.parametrize(
    "bad", ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029", "\0"]
)
def test_the_writer_refuses_any_line_break_or_control_character(tmp_path, bad):
    path = tmp_path / "reqs.txt"
    with pytest.raises(BackendError, match="control character"):
        write_installer_input([f"alpha==1.0{bad}beta==2.0 {H.pip_option()}"], str(path))
    assert not path.exists()


def test_the_writer_makes_a_new_private_file(tmp_path):
    path = tmp_path / "reqs.txt"
    write_installer_input(["alpha==1.0"], str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "alpha==1.0\n"
    with pytest.raises(FileExistsError):
        write_installer_input(["beta==1.0"], str(path))


def _wheel(tmp_path, filename):
    path = tmp_path / "in" / filename
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"x")
    return str(path)


def test_index_wheels_are_pinned_from_a_private_folder_and_urls_keep_their_url(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    alpha = VerifiedArchive("alpha", _wheel(tmp_path, "alpha-1.0-py3-none-any.whl"), H, "1.0")
    # A file whose name is not the pin's project cannot be found by the finder: by path.
    odd = VerifiedArchive("beta", _wheel(tmp_path, "gamma-1.0-py3-none-any.whl"), H, "1.0")
    url = VerifiedArchive(
        "delta", _wheel(tmp_path, "delta-1.0-py3-none-any.whl"), H, "1.0", "https://h/d.whl", H
    )
    staged = stage([alpha, odd, url], str(work))
    folder = str(work / "verified-files")
    assert staged.folder == folder
    assert os.listdir(folder) == ["alpha-1.0-py3-none-any.whl"]
    assert staged.lines[0] == f"alpha==1.0 {H.pip_option()}"
    assert staged.lines[1].startswith("beta @ file:///")
    assert staged.lines[2].startswith("delta @ file:///")
    assert [(o.name, o.url) for o in staged.origins] == [
        ("beta", None),
        ("delta", "https://h/d.whl"),
    ]


def test_cached_wheels_are_handed_over_in_their_cache_folders_when_asked(tmp_path):
    # uv knows a wheel it has unpacked before by its folder and mtime: a new folder every
    # run made every warm run unpack every wheel again.
    work = tmp_path / "work"
    work.mkdir()
    cached = VerifiedArchive("alpha", _wheel(tmp_path, "alpha-1.0-py3-none-any.whl"), H, "1.0")
    fresh_path = work / "fetched" / "beta-1.0-py3-none-any.whl"
    fresh_path.parent.mkdir()
    fresh_path.write_bytes(b"x")
    fresh = VerifiedArchive("beta", str(fresh_path), H, "1.0")
    staged = stage([cached, fresh], str(work), in_place=True)
    assert staged.in_place == (str(tmp_path / "in"),)
    assert os.listdir(staged.folder) == ["beta-1.0-py3-none-any.whl"]  # from the workdir
    assert staged.lines == (f"alpha==1.0 {H.pip_option()}", f"beta==1.0 {H.pip_option()}")
    (tmp_path / "again").mkdir()
    assert stage([cached], str(tmp_path / "again"), in_place=False).in_place == ()


def test_an_sdist_left_to_build_means_no_find_links_at_all(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    alpha = VerifiedArchive("alpha", _wheel(tmp_path, "alpha-1.0-py3-none-any.whl"), H, "1.0")
    beta = VerifiedArchive("beta", _wheel(tmp_path, "beta-1.0.tar.gz"), H, "1.0")
    staged = stage([alpha, beta], str(work))
    assert staged.folder is None  # an sdist to build: the installer needs the index
    assert all(" @ file:///" in line for line in staged.lines)


def test_pip_gets_index_urls_without_credentials_and_a_private_netrc(tmp_path):
    index = BuildIndex(
        "https://tok@pkgs.example/simple/",
        extra_index_urls=("https://u:p%40ss@mirror.example/simple/",),
        find_links=("/path with space/wheels",),
    )
    netrc = tmp_path / "netrc"
    lines, env = index.pip_lines(str(netrc))
    assert lines == [
        "--index-url https://pkgs.example/simple/",
        "--extra-index-url https://mirror.example/simple/",
        "--find-links '/path with space/wheels'",
    ]
    assert env == {"NETRC": str(netrc)}
    assert netrc.read_text() == (
        "machine pkgs.example login tok\nmachine mirror.example login u password p@ss\n"
    )
    assert stat.S_IMODE(netrc.stat().st_mode) == 0o600


def test_credentials_that_netrc_cannot_hold_are_refused(tmp_path):
    index = BuildIndex("https://u:two%20words@pkgs.example/simple/")
    with pytest.raises(BackendError, match=r"cannot hand the credentials for pkgs\.example"):
        index.pip_lines(str(tmp_path / "netrc"))


@pytest.mark.parametrize(
    "url", ["https://pkgs.example/simple/?token=s3cr3t", "https://h/wheels/?x=1&sig=s3cr3t"]
)
def test_a_query_pip_would_put_on_a_command_line_is_refused(tmp_path, url):
    # pip hands its index URLs and find-links to the pip it starts for build dependencies, as
    # arguments: a query (a token, a signature) cannot go into the netrc file.
    for index in (
        BuildIndex(url),
        BuildIndex(None, extra_index_urls=(url,)),
        BuildIndex(None, find_links=(url,)),
    ):
        with pytest.raises(BackendError, match=r"putting its query on a command line") as raised:
            index.pip_lines(str(tmp_path / "netrc"))
        assert "s3cr3t" not in str(raised.value)
    assert BuildIndex(None, find_links=("/wheels?odd",)).pip_lines("unused")[0] == [
        "--find-links '/wheels?odd'"
    ]


def test_pips_own_proxy_with_a_password_is_refused_for_a_build(tmp_path):
    # pip passes its proxy on to the pip that fetches build dependencies, as an argument.
    index = BuildIndex("https://pkgs.example/simple/", pip_proxy="http://u:s3cr3t@proxy:3128")
    with pytest.raises(BackendError, match=r"through the proxy http://u:\*\*\*\*@proxy:3128"):
        index.pip_lines(str(tmp_path / "netrc"))
    plain = BuildIndex("https://pkgs.example/simple/", pip_proxy="http://proxy:3128")
    assert plain.pip_lines(str(tmp_path / "netrc"))[0] == [
        "--index-url https://pkgs.example/simple/"
    ]
