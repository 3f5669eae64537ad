"""IndexClient against the loopback IndexServer, find-links and file:// trees.

The pure page parsers are tested in unit/test_index_pages.py."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from support.indexserver import Fault

from peep_setuptools.archives import Link
from peep_setuptools.errors import DownloadError
from peep_setuptools.hashes import Digest
from peep_setuptools.index import pages as index_module
from peep_setuptools.index.pages import (
    ACCEPT,
    Found,
    IndexClient,
)

SHA = "a" * 64


def archive(tmp_path: Path, name: str, content: bytes | None = None) -> Path:
    path = tmp_path / name
    path.write_bytes(content if content is not None else name.encode() * 10)
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- against the server ---------------------------------------------------------------------


@pytest.mark.parametrize("json_api", [True, False], ids=["json", "html"])
def test_project_page(server, client, tmp_path, json_api):
    server.json_api = json_api
    sdist = archive(tmp_path, "Foo-1.0.tar.gz")
    wheel = archive(tmp_path, "foo-1.0-py3-none-any.whl")
    old = archive(tmp_path, "foo-0.9.tar.gz")
    server.add_file("Foo", sdist, requires_python=">=3.8,<4")
    server.add_file("foo", wheel, yanked="broken <metadata> & more")
    server.add_file("FOO", old, yanked=True, advertised_hash=None)
    links = IndexClient([server.index_url], [], client).find_links("foo")
    page = server.index_url + "foo/"
    assert links == [
        Link(
            url=f"{server.url}/files/simple/Foo-1.0.tar.gz",
            filename="Foo-1.0.tar.gz",
            hashes=(Digest("sha256", sha256(sdist)),),
            requires_python=">=3.8,<4",
            source=page,
        ),
        Link(
            url=f"{server.url}/files/simple/foo-1.0-py3-none-any.whl",
            filename="foo-1.0-py3-none-any.whl",
            hashes=(Digest("sha256", sha256(wheel)),),
            yanked=True,
            yanked_reason="broken <metadata> & more",
            source=page,
        ),
        Link(
            url=f"{server.url}/files/simple/foo-0.9.tar.gz",
            filename="foo-0.9.tar.gz",
            yanked=True,
            source=page,
        ),
    ]


def test_content_negotiation(server, client, tmp_path):
    server.add_file("foo", archive(tmp_path, "foo-1.0.tar.gz"))
    IndexClient([server.index_url], [], client).find_links("foo")
    (record,) = server.requests
    assert record.header("Accept") == ACCEPT


def test_html_page_served_as_v1_html(server, client, tmp_path):
    body = b'<a href="/files/foo-1.0.tar.gz#sha256=' + SHA.encode() + b'">x</a>'
    server.set_page("/simple/foo/", body, "application/vnd.pypi.simple.v1+html")
    (link,) = IndexClient([server.index_url], [], client).find_links("foo")
    assert link.hashes == (Digest("sha256", SHA),)


def test_index_url_without_trailing_slash(server, client, tmp_path):
    server.add_file("foo", archive(tmp_path, "foo-1.0.tar.gz"))
    links = IndexClient([server.url + "/simple"], [], client).find_links("foo")
    assert [link.filename for link in links] == ["foo-1.0.tar.gz"]


def test_404_means_no_files(server, client):
    assert IndexClient([server.index_url], [], client).find_links("absent") == []
    assert len(server.requests) == 1


def test_several_indexes_in_order(server, client, tmp_path):
    server.add_file("foo", archive(tmp_path, "foo-1.0.tar.gz"), index="other")
    server.add_file("foo", archive(tmp_path, "foo-2.0.tar.gz"))
    finder = IndexClient([server.index_url, server.url + "/other/"], [], client)
    assert [link.filename for link in finder.find_links("foo")] == [
        "foo-2.0.tar.gz",
        "foo-1.0.tar.gz",
    ]


def test_server_error_retried(server, client, tmp_path):
    server.add_file("foo", archive(tmp_path, "foo-1.0.tar.gz"))
    server.set_fault("/simple/foo/", Fault.status(500, times=1))
    assert len(IndexClient([server.index_url], [], client).find_links("foo")) == 1


def test_other_failures_raise(server, client):
    server.set_fault("/simple/foo/", Fault.status(401))
    with pytest.raises(DownloadError) as info:
        IndexClient([server.index_url], [], client).find_links("foo")
    assert str(info.value) == f"could not fetch {server.index_url}foo/: HTTP 401 Unauthorized"


def test_retries_exhausted_raise(server, client):
    server.set_fault("/simple/foo/", Fault.status(502))
    with pytest.raises(DownloadError, match=r"HTTP 502 Bad Gateway \(2 retries\)$"):
        IndexClient([server.index_url], [], client).find_links("foo")


def test_malformed_json(server, client):
    server.set_page("/simple/foo/", b"{not json", "application/vnd.pypi.simple.v1+json")
    with pytest.raises(DownloadError) as info:
        IndexClient([server.index_url], [], client).find_links("foo")
    assert str(info.value) == f"{server.index_url}foo/: the index page is not valid JSON"


def test_unknown_json_major_version(server, client):
    body = json.dumps({"meta": {"api-version": "2.0"}, "files": []}).encode()
    server.set_page("/simple/foo/", body, "application/vnd.pypi.simple.v1+json")
    with pytest.raises(DownloadError) as info:
        IndexClient([server.index_url], [], client).find_links("foo")
    assert str(info.value) == (
        f"{server.index_url}foo/: unsupported simple API version '2.0'; expected 1.x (PEP 691)"
    )


def test_unexpected_content_type(server, client):
    server.set_page("/simple/foo/", b"hello", "text/plain")
    with pytest.raises(DownloadError, match="unexpected Content-Type 'text/plain'"):
        IndexClient([server.index_url], [], client).find_links("foo")


def test_non_canonical_name_redirects(server, client, tmp_path):
    server.add_file("foo-bar", archive(tmp_path, "foo_bar-1.0.tar.gz"))
    (link,) = IndexClient([server.index_url], [], client).find_links("foo-bar")
    assert link.source == server.index_url + "foo-bar/"


def test_page_size_is_capped(server, client, monkeypatch):
    monkeypatch.setattr(index_module, "MAX_PAGE_SIZE", 1000)
    server.set_page("/simple/foo/", b"<a href='x-1.0.tar.gz'>x</a>" * 100)
    with pytest.raises(DownloadError, match="larger than"):
        IndexClient([server.index_url], [], client).find_links("foo")


def test_html_error_page_gives_no_links(server, client, tmp_path):
    server.add_file("foo", archive(tmp_path, "foo-1.0.tar.gz"))
    server.set_fault("/simple/foo/", Fault.html_error_page_200())
    assert IndexClient([server.index_url], [], client).find_links("foo") == []


HOSTILE_HREFS = [
    "../../files/%2e%2e%2fevil-1.0.tar.gz",
    "../../files/..%2Fevil-1.0.tar.gz",
    "../../files/evil%5c..%5cevil-1.0.tar.gz",
    "../../files/evil%00-1.0.tar.gz",
    "../../files/.hidden-1.0.tar.gz",
    "../../files/",
    "../../files/evil-1.0.exe",
    "../../files/.whl",
    "file:///etc/evil-1.0.tar.gz",
    "javascript:alert(1)//evil-1.0.tar.gz",
    "../../files/c:evil-1.0.tar.gz",
]


def test_hostile_link_filenames_are_ignored(server, client):
    anchors = "".join(f'<a href="{href}">x</a>' for href in HOSTILE_HREFS)
    anchors += '<a href="../../files/good-1.0.tar.gz">good</a>'
    server.set_page("/simple/good/", anchors.encode())
    links = IndexClient([server.index_url], [], client).find_links("good")
    assert [link.filename for link in links] == ["good-1.0.tar.gz"]


# -- find-links -----------------------------------------------------------------------------


def test_find_links_folder(client, tmp_path):
    folder = tmp_path / "wheels"
    folder.mkdir()
    archive(folder, "foo-1.0.tar.gz")
    archive(folder, "foo-1.0-py3-none-any.whl")
    archive(folder, "bar-1.0.tar.gz")
    archive(folder, "foo-1.0.txt")
    archive(folder, ".foo-1.0.tar.gz")
    (folder / "foo-2.0.tar.gz").mkdir()
    links = IndexClient([], [str(folder)], client).find_links("foo")
    assert [link.filename for link in links] == ["foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"]
    assert links[0].url == (folder / "foo-1.0-py3-none-any.whl").as_uri()
    assert links[0].source == str(folder)


def test_find_links_folder_as_file_url(client, tmp_path):
    archive(tmp_path, "foo-1.0.tar.gz")
    links = IndexClient([], [tmp_path.as_uri()], client).find_links("foo")
    assert [link.filename for link in links] == ["foo-1.0.tar.gz"]


def test_find_links_missing_folder(client, tmp_path):
    missing = tmp_path / "absent"
    with pytest.raises(DownloadError, match=r"find-links location .*absent does not exist"):
        IndexClient([], [str(missing)], client).find_links("foo")


def test_find_links_page_fetched_once(server, client):
    page = b"".join(
        f'<a href="/files/{name}#sha256={SHA}">{name}</a>\n'.encode()
        for name in ("foo-1.0.tar.gz", "bar-2.0.tar.gz", "foo_bar-3.0.tar.gz")
    )
    server.set_page("/links.html", page)
    finder = IndexClient([], [server.url + "/links.html"], client)
    assert [link.filename for link in finder.find_links("foo")] == ["foo-1.0.tar.gz"]
    assert [link.filename for link in finder.find_links("bar")] == ["bar-2.0.tar.gz"]
    assert [link.filename for link in finder.find_links("foo-bar")] == ["foo_bar-3.0.tar.gz"]
    assert len(server.requests) == 1


def test_find_links_local_html_file(client, tmp_path):
    page = tmp_path / "links.html"
    page.write_text(
        '<a href="dist/foo-1.0.tar.gz">x</a><a href="https://h.example/foo-2.0.zip">y</a>'
    )
    links = IndexClient([], [str(page)], client).find_links("foo")
    assert [link.url for link in links] == [
        (tmp_path / "dist" / "foo-1.0.tar.gz").as_uri(),
        "https://h.example/foo-2.0.zip",
    ]


def test_indexes_then_find_links(server, client, tmp_path):
    server.add_file("foo", archive(tmp_path, "foo-2.0.tar.gz"))
    folder = tmp_path / "local"
    folder.mkdir()
    archive(folder, "foo-1.0.tar.gz")
    links = IndexClient([server.index_url], [str(folder)], client).find_links("foo")
    assert [link.filename for link in links] == ["foo-2.0.tar.gz", "foo-1.0.tar.gz"]


# -- file:// index trees and failing sources ------------------------------------------------


def test_file_tree_with_index_html(client, tmp_path):
    folder = tmp_path / "simple" / "foo"
    folder.mkdir(parents=True)
    wheel = archive(folder, "foo-1.0-py3-none-any.whl")
    (folder / "index.html").write_text(
        f'<a href="foo-1.0-py3-none-any.whl#sha256={sha256(wheel)}" '
        'data-requires-python="&gt;=3.8">w</a><a href="../../elsewhere/foo-0.9.zip">z</a>'
    )
    index_url = (tmp_path / "simple").as_uri()  # no trailing slash: still a folder
    (wheel_link, zip_link) = IndexClient([index_url], [], client).find_links("foo")
    assert wheel_link == Link(
        url=wheel.as_uri(),
        filename=wheel.name,
        hashes=(Digest("sha256", sha256(wheel)),),
        requires_python=">=3.8",
        source=folder.as_uri() + "/",
    )
    assert zip_link.url == (tmp_path / "elsewhere" / "foo-0.9.zip").as_uri()


def test_file_tree_json_beats_html_and_listing_is_the_fallback(client, tmp_path):
    root = tmp_path / "simple"
    (root / "foo").mkdir(parents=True)
    (root / "Bar_Baz").mkdir()  # not normalized: found all the same
    archive(root / "foo", "foo-1.0.tar.gz")
    archive(root / "foo", "other-1.0.tar.gz")  # another project's file is not foo's
    archive(root / "Bar_Baz", "bar_baz-2.0.tar.gz")
    (root / "foo" / "index.html").write_text('<a href="foo-1.0.tar.gz">html</a>')
    page = {"meta": {"api-version": "1.1"}, "files": [{"url": "foo-1.0.tar.gz", "hashes": {}}]}
    (root / "foo" / "index.v1_json").write_text(json.dumps(page))
    finder = IndexClient([root.as_uri() + "/"], [], client)
    (link,) = finder.find_links("foo")
    assert link.filename == "foo-1.0.tar.gz"
    (root / "foo" / "index.v1_json").unlink()
    (root / "foo" / "index.html").unlink()
    assert [link.filename for link in finder.find_links("foo")] == ["foo-1.0.tar.gz"]
    assert [link.filename for link in finder.find_links("bar-baz")] == ["bar_baz-2.0.tar.gz"]


def test_file_tree_missing_project_is_not_here_missing_tree_is_an_error(client, tmp_path):
    root = tmp_path / "simple"
    root.mkdir()
    assert IndexClient([root.as_uri()], [], client).lookup("foo") == Found(())
    gone = IndexClient([(tmp_path / "gone").as_uri()], [], client)
    with pytest.raises(DownloadError, match=r"the index folder .*gone does not exist"):
        gone.find_links("foo")


def test_file_tree_broken_json_is_an_error(client, tmp_path):
    (tmp_path / "foo").mkdir()
    (tmp_path / "foo" / "index.json").write_text("{")
    with pytest.raises(DownloadError, match="the index page is not valid JSON"):
        IndexClient([tmp_path.as_uri()], [], client).find_links("foo")


def test_a_failing_source_is_left_out_and_warned_of_once(server, client, tmp_path, caplog):
    server.add_file("foo", archive(tmp_path, "foo-1.0.tar.gz"))
    server.add_file("bar", archive(tmp_path, "bar-1.0.tar.gz"))
    missing = str(tmp_path / "absent")
    finder = IndexClient([server.index_url], [missing], client)
    found = finder.lookup("foo")
    assert [link.filename for link in found.links] == ["foo-1.0.tar.gz"]
    assert found.failures == ((missing, f"find-links location {missing} does not exist"),)
    with caplog.at_level("WARNING", logger="peep_setuptools"):
        finder.find_links("foo")
        finder.find_links("bar")
    assert caplog.messages == [
        f"Warning: skipped {missing}, which could not be read (find-links location {missing} "
        "does not exist); the requirements found elsewhere are still checked against their "
        "hashes"
    ]
