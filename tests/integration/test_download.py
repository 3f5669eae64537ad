"""fetch() against the loopback IndexServer: hashing while streaming, and cleaning up."""

from __future__ import annotations

import hashlib
import os
import stat
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from support.httpclient import http_settings
from support.indexserver import Fault, IndexServer

from peep_setuptools.archives import Link
from peep_setuptools.errors import DownloadError
from peep_setuptools.hashes import Digest
from peep_setuptools.index.download import Fetched, fetch, fetch_url
from peep_setuptools.index.http import HttpClient

CONTENT = os.urandom(300 * 1024)
NAME = "foo-1.0.tar.gz"
PATH = f"/files/simple/{NAME}"


@pytest.fixture
def server(server, tmp_path):
    """The empty loopback index, serving foo-1.0.tar.gz."""
    source = tmp_path / "served" / NAME
    source.parent.mkdir()
    source.write_bytes(CONTENT)
    server.add_file("foo", source)
    return server


@pytest.fixture
def client(tmp_path):
    """One retry, not two."""
    with HttpClient(http_settings(tmp_path, retries=1)) as http:
        yield http


def link_to(url: str, filename: str = NAME) -> Link:
    return Link(url=url, filename=filename, source="test")


def test_fetch(server, client, tmp_path):
    into = tmp_path / "new" / "dir"
    fetched = fetch(link_to(server.url + PATH), str(into), client)
    assert fetched == Fetched(
        path=str(into / NAME),
        filename=NAME,
        url=server.url + PATH,
        digests={"sha256": Digest("sha256", hashlib.sha256(CONTENT).hexdigest())},
        size=len(CONTENT),
    )
    assert (into / NAME).read_bytes() == CONTENT
    assert stat.S_IMODE(into.stat().st_mode) == 0o700
    assert os.listdir(into) == [NAME]


def test_several_algorithms(server, client, tmp_path):
    fetched = fetch(
        link_to(server.url + PATH), str(tmp_path), client, algorithms=("sha256", "sha512")
    )
    assert fetched.digests == {
        "sha256": Digest("sha256", hashlib.sha256(CONTENT).hexdigest()),
        "sha512": Digest("sha512", hashlib.sha512(CONTENT).hexdigest()),
    }


def test_name_comes_from_the_link_not_the_redirect(server, client, tmp_path):
    server.set_fault("/files/simple/bar-9.9.zip", Fault.redirect(PATH))
    link = link_to(server.url + "/files/simple/bar-9.9.zip", "bar-9.9.zip")
    fetched = fetch(link, str(tmp_path / "out"), client)
    assert fetched.filename == "bar-9.9.zip"
    assert os.listdir(tmp_path / "out") == ["bar-9.9.zip"]
    assert fetched.url == server.url + "/files/simple/bar-9.9.zip"


def test_credentials_are_redacted_in_result(server, client, tmp_path):
    url = server.url.replace("://", "://u:secret@") + PATH
    assert fetch(link_to(url), str(tmp_path), client).url == url.replace("secret", "****")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            Fault.short_body(),
            rf"received {len(CONTENT) - 1} of {len(CONTENT)} bytes \(1 retries\)$",
        ),
        (Fault.close_mid_body(), r"(received|connection lost).* \(1 retries\)$"),
        (Fault.status(404), "HTTP 404 Not Found"),
        (Fault.status(500), r"HTTP 500 Internal Server Error \(1 retries\)"),
    ],
    ids=["short", "reset", "404", "500"],
)
def test_failures_leave_nothing_behind(server, client, tmp_path, fault, message):
    server.set_fault(PATH, fault)
    into = tmp_path / "into"
    with pytest.raises(DownloadError, match=f"^could not fetch {server.url}{PATH}: {message}"):
        fetch(link_to(server.url + PATH), str(into), client)
    assert os.listdir(into) == []


@pytest.mark.parametrize(
    "fault", [Fault.short_body(times=1), Fault.close_mid_body(times=1)], ids=["short", "reset"]
)
def test_broken_body_is_fetched_again(server, client, tmp_path, fault):
    server.set_fault(PATH, fault)
    fetched = fetch(link_to(server.url + PATH), str(tmp_path / "out"), client)
    assert Path(fetched.path).read_bytes() == CONTENT
    assert len(server.requests) == 2
    assert os.listdir(tmp_path / "out") == [NAME]


def test_transient_server_error_is_retried(server, client, tmp_path):
    server.set_fault(PATH, Fault.status(503, times=1))
    assert fetch(link_to(server.url + PATH), str(tmp_path), client).size == len(CONTENT)


def test_long_body_yields_the_announced_bytes(server, client, tmp_path):
    server.set_fault(PATH, Fault.long_body())
    fetched = fetch(link_to(server.url + PATH), str(tmp_path), client)
    assert Path(fetched.path).read_bytes() == CONTENT


def test_html_error_page_is_fetched_and_left_to_the_hash_check(server, client, tmp_path):
    server.set_fault(PATH, Fault.html_error_page_200())
    fetched = fetch(link_to(server.url + PATH), str(tmp_path), client)
    assert fetched.digests["sha256"].hex != hashlib.sha256(CONTENT).hexdigest()


def test_stale_part_file_is_replaced(server, client, tmp_path):
    into = tmp_path / "out"
    into.mkdir()
    (into / (NAME + ".part")).write_bytes(b"old junk")
    fetch(link_to(server.url + PATH), str(into), client)
    assert os.listdir(into) == [NAME]


def test_file_url(client, tmp_path):
    source = tmp_path / "src" / NAME
    source.parent.mkdir()
    source.write_bytes(CONTENT)
    fetched = fetch(link_to(source.as_uri()), str(tmp_path / "out"), client)
    assert Path(fetched.path).read_bytes() == CONTENT


@pytest.mark.parametrize("name", ["../evil.tar.gz", "evil.exe", "", "sub/x-1.0.zip"])
def test_fetch_url_refuses_unsafe_names(server, client, tmp_path, name):
    with pytest.raises(DownloadError, match="is not an archive file name"):
        fetch_url(server.url + PATH, name, str(tmp_path / "out"), client)
    assert not (tmp_path / "out").exists()
    assert server.requests == []


def test_fetch_url_defaults_to_the_url_name(server, client, tmp_path):
    fetched = fetch_url(server.url + PATH, None, str(tmp_path), client)
    assert fetched.filename == NAME


def test_unwritable_folder(server, client, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DownloadError, match="cannot create download folder"):
        fetch(link_to(server.url + PATH), str(blocker / "sub"), client)


def test_memory_stays_flat(client, tmp_path):
    big = tmp_path / "big-1.0.tar.gz"
    with big.open("wb") as out:
        for _ in range(64):
            out.write(os.urandom(128 * 1024))  # 8 MiB
    with IndexServer() as srv:
        url = srv.add_file("big", big)
        tracemalloc.start()
        try:
            fetched = fetch(link_to(url, big.name), str(tmp_path / "out"), client)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert fetched.size == 8 * 1024 * 1024
    assert peak < 2 * 1024 * 1024


def test_parallel_fetches(client, tmp_path):
    with IndexServer() as srv:
        links = []
        for i in range(12):
            path = tmp_path / "src" / f"p{i}-1.0.tar.gz"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(os.urandom(50_000))
            links.append(link_to(srv.add_file(f"p{i}", path), path.name))
        with ThreadPoolExecutor(6) as pool:
            results = list(
                pool.map(
                    lambda link: fetch(link, str(tmp_path / "out" / link.filename), client), links
                )
            )
    for link, fetched in zip(links, results):
        source = tmp_path / "src" / link.filename
        assert fetched.digests["sha256"].hex == hashlib.sha256(source.read_bytes()).hexdigest()
