"""The index page parsers, pure: HTML and JSON pages (PEP 503, 691) to links, never a fetch."""

from __future__ import annotations

import json

import pytest

from peep_setuptools.archives import Link
from peep_setuptools.errors import DownloadError
from peep_setuptools.hashes import Digest
from peep_setuptools.index.pages import make_link, parse_html_page, parse_json_page

PAGE = "https://idx.example/simple/foo/"
SHA = "a" * 64


def test_base_href():
    html = '<html><head><base href="https://files.example/pkgs/"></head><a href="foo-1.0.zip">x</a>'
    (link,) = parse_html_page(html, page_url=PAGE)
    assert link.url == "https://files.example/pkgs/foo-1.0.zip"
    assert link.source == PAGE


def test_a_base_href_urlsplit_cannot_read_is_ignored():
    # an index page's <base> with a full-width '#' in its host part made urljoin raise:
    # the run crashed with a traceback (exit 3), as any index could make it
    html = '<base href="https://x\uff03@files.example/"><a href="foo-1.0.zip">x</a>'
    (link,) = parse_html_page(html, page_url=PAGE)
    assert link.url == PAGE + "foo-1.0.zip"


def test_html_attributes_are_unescaped():
    html = (
        '<a href="foo-1.0.zip?a=1&amp;b=2" data-requires-python="&gt;=3.8,&lt;4" '
        'data-yanked="">x</a>'
    )
    (link,) = parse_html_page(html, page_url=PAGE)
    assert link.url == PAGE + "foo-1.0.zip?a=1&b=2"
    assert link.requires_python == ">=3.8,<4"
    assert link.yanked is True
    assert link.yanked_reason is None


def test_junk_html_is_tolerated():
    html = "<<<>>><a href='foo-1.0.zip'><a href=<a/><!-- unterminated <![CDATA[ </b></i>&#xZZ;"
    assert [link.filename for link in parse_html_page(html, page_url=PAGE)] == ["foo-1.0.zip"]


@pytest.mark.parametrize(
    ("fragment", "hashes"),
    [
        (f"sha256={SHA}", (Digest("sha256", SHA),)),
        (f"sha256={SHA.upper()}", (Digest("sha256", SHA),)),
        (f"sha512={'b' * 128}", (Digest("sha512", "b" * 128),)),
        (f"md5={'c' * 32}", ()),
        (f"sha1={'c' * 40}", ()),
        ("sha256=tooshort", ()),
        ("egg=foo", ()),
        ("", ()),
    ],
)
def test_hash_fragments(fragment, hashes):
    link = make_link(f"foo-1.0.zip#{fragment}", base=PAGE, source=PAGE)
    assert link is not None
    assert link.hashes == hashes
    assert link.url == PAGE + "foo-1.0.zip"


@pytest.mark.parametrize(
    ("base", "href", "kept"),
    [
        ("https://a.example/s/", "https://b.example/foo-1.0.zip", True),
        ("https://a.example/s/", "http://b.example/foo-1.0.zip", False),
        ("https://a.example/s/", "//b.example/foo-1.0.zip", True),
        ("http://a.example/s/", "https://b.example/foo-1.0.zip", True),
        ("http://a.example/s/", "file:///tmp/foo-1.0.zip", False),
        ("file:///tmp/links.html", "file:///tmp/foo-1.0.zip", True),
        ("https://a.example/s/", "ftp://b.example/foo-1.0.zip", False),
        ("https://a.example/s/", "data:,foo-1.0.zip", False),
    ],
)
def test_link_schemes(base, href, kept):
    assert (make_link(href, base=base, source=base) is not None) is kept


def test_json_page():
    page = {
        "meta": {"api-version": "1.1"},
        "name": "foo",
        "files": [
            {
                "filename": "foo-1.0.zip",
                "url": "foo-1.0.zip",
                "hashes": {"sha256": SHA, "md5": "x"},
                "requires-python": ">=3.9",
                "yanked": "bad build",
            },
            {
                "filename": "foo-1.1.zip",
                "url": "https://f.example/foo-1.1.zip",
                "hashes": {},
                "yanked": False,
            },
            {
                "filename": "foo-1.2.zip",
                "url": "https://f.example/foo-1.2.zip",
                "hashes": {},
                "yanked": True,
            },
            {"filename": "../x.zip", "url": "https://f.example/..%2Fx.zip", "hashes": {}},
            {"url": 7},
            "junk",
        ],
    }
    links = parse_json_page(json.dumps(page).encode(), page_url=PAGE)
    assert links == [
        Link(
            PAGE + "foo-1.0.zip",
            "foo-1.0.zip",
            (Digest("sha256", SHA),),
            ">=3.9",
            True,
            "bad build",
            PAGE,
        ),
        Link("https://f.example/foo-1.1.zip", "foo-1.1.zip", (), None, False, None, PAGE),
        Link("https://f.example/foo-1.2.zip", "foo-1.2.zip", (), None, True, None, PAGE),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[]", "the index page is not a PEP 691 JSON object"),
        (b'{"files": []}', "unsupported simple API version None; expected 1.x (PEP 691)"),
        (b'{"meta": {"api-version": "1.0"}}', "the index page has no 'files' list"),
        (b"\xff\xfe", "the index page is not valid JSON"),
        (b"[" * 100000, "the index page is not valid JSON"),
    ],
)
def test_bad_json_pages(body, message):
    with pytest.raises(DownloadError) as info:
        parse_json_page(body, page_url="https://u:pw@idx.example/simple/foo/")
    assert str(info.value) == f"https://u:****@idx.example/simple/foo/: {message}"
