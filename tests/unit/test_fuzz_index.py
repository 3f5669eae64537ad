"""Property tests: the index page parsers are total.

On arbitrary text or bytes, and on mutations of valid PEP 503 / PEP 691 pages, they
return safe links or raise DownloadError naming the page; never anything else.
Bounded by default; ``HYPOTHESIS_PROFILE=fuzz`` runs many more examples.
"""

from __future__ import annotations

import json
import os
import posixpath
from urllib.parse import unquote, urlsplit

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from peep_setuptools.archives import Link, safe_filename
from peep_setuptools.errors import DownloadError
from peep_setuptools.index.pages import parse_html_page, parse_json_page

settings.register_profile(
    "fuzz", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SETTINGS = (
    settings.get_profile("fuzz")
    if os.environ.get("HYPOTHESIS_PROFILE", "") == "fuzz"
    else settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
)

PAGE = "https://user:s3cret@index.example/simple/alpha/"
HEX = "ab" * 32

VALID_HTML = f"""<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links</title></head>
<body>
<a href="../../files/alpha-1.0-py3-none-any.whl#sha256={HEX}">alpha-1.0-py3-none-any.whl</a>
<a href="https://cdn.example/alpha-1.0.tar.gz#md5=00" data-requires-python="&gt;=3.8">x</a>
<a href="alpha-0.9.zip" data-yanked="broken">y</a>
<a href="/abs/alpha-0.8.tar.gz" data-yanked>z</a>
</body></html>
"""

VALID_JSON = json.dumps(
    {
        "meta": {"api-version": "1.1"},
        "name": "alpha",
        "files": [
            {
                "filename": "alpha-1.0-py3-none-any.whl",
                "url": "../../files/alpha-1.0-py3-none-any.whl",
                "hashes": {"sha256": HEX},
                "requires-python": ">=3.8",
            },
            {"filename": "alpha-0.9.zip", "url": "alpha-0.9.zip", "hashes": {}, "yanked": "bad"},
            {"url": "https://cdn.example/alpha-1.0.tar.gz", "hashes": {"md5": "00"}},
        ],
    },
    indent=1,
)

HTML_FRAGMENTS = [
    "<a href=",
    "<a href='",
    '">',
    "</a>",
    "<base href='https://evil.example/'>",
    "<base href='file:///etc/'>",
    "#sha256=",
    HEX,
    "../",
    "..%2F",
    "%00",
    "&#0;",
    "&#x110000;",
    "&amp;",
    "<!--",
    "-->",
    "<![CDATA[",
    "<script>",
    "</script>",
    "data-yanked",
    "data-requires-python='>=3'",
    "alpha-1.0-py3-none-any.whl",
    ".tar.gz",
    "file:///",
    "http://",
    "javascript:",
    "\x00",
    "\ufeff",
    "/",
    "\\",
    "<",
    ">",
]

JSON_FRAGMENTS = [
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    '"url"',
    '"files"',
    '"meta"',
    '"api-version"',
    '"1.0"',
    '"2.0"',
    '"hashes"',
    '"yanked"',
    "true",
    "null",
    "1e999",
    "-0",
    '"\\u0000"',
    '"\\ud800"',
    '"../../x.whl"',
    '"file:///etc/passwd"',
    '"alpha-1.0.tar.gz"',
]


def mutations(valid: str, fragments: list[str]) -> st.SearchStrategy[str]:
    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        text = valid
        for _ in range(draw(st.integers(1, 5))):
            start = draw(st.integers(0, len(text)))
            kind = draw(st.sampled_from(["delete", "insert", "duplicate"]))
            if kind == "delete":
                text = text[:start] + text[start + draw(st.integers(1, 30)) :]
            elif kind == "insert":
                piece = draw(st.one_of(st.sampled_from(fragments), st.text(max_size=4)))
                text = text[:start] + piece + text[start:]
            else:
                end = draw(st.integers(start, min(len(text), start + 80)))
                text = text[:end] + text[start:end] + text[end:]
        return text

    return mutate()


def junk(fragments: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=300),
        st.lists(st.one_of(st.sampled_from(fragments), st.text(max_size=3)), max_size=60).map(
            "".join
        ),
    )


def check_links(links: object) -> None:
    assert isinstance(links, list)
    for link in links:
        assert isinstance(link, Link)
        parts = urlsplit(link.url)
        assert parts.scheme == "https", link.url  # an https page never steps down
        assert "#" not in link.url
        assert safe_filename(link.filename) == link.filename
        assert link.filename == unquote(posixpath.basename(parts.path))
        assert "/" not in link.filename and "\\" not in link.filename
        assert link.source == PAGE


def html(text: str) -> None:
    check_links(parse_html_page(text, page_url=PAGE))


def json_page(data: str | bytes) -> None:
    try:
        links = parse_json_page(data, page_url=PAGE)
    except DownloadError as exc:
        message = str(exc)
        assert message.startswith("https://user:****@index.example/simple/alpha/: "), message
        assert "s3cret" not in message and "\n" not in message
        return
    check_links(links)


def test_valid_pages_parse() -> None:
    assert len(parse_html_page(VALID_HTML, page_url=PAGE)) == 4
    assert len(parse_json_page(VALID_JSON, page_url=PAGE)) == 3


@SETTINGS
@given(junk(HTML_FRAGMENTS))
@example("<a href='x.whl'>" * 3)
@example("<base href='http://plain.example/'><a href='alpha-1.0.tar.gz'>")
@example("<base href='file:///etc/'><a href='alpha-1.0.tar.gz'>")
@example("<a href='&#0;alpha-1.0.tar.gz'>")
@example("<![if")
def test_html_parser_on_junk(text: str) -> None:
    html(text)


@SETTINGS
@given(mutations(VALID_HTML, HTML_FRAGMENTS))
def test_html_parser_on_mutated_pages(text: str) -> None:
    html(text)


@SETTINGS
@given(st.binary(max_size=300))
def test_html_parser_on_decoded_bytes(data: bytes) -> None:
    html(data.decode("utf-8", errors="replace"))
    html(data.decode("latin-1"))


@SETTINGS
@given(junk(JSON_FRAGMENTS))
@example("[" * 100_000)
@example('{"meta": {"api-version": 1}, "files": []}')
@example('{"meta": {"api-version": "1.0"}, "files": [{"url": 5}, 7, null]}')
@example('{"meta": {"api-version": "1.0"}, "files": [{"url": "x.whl", "hashes": []}]}')
@example('{"meta": {"api-version": "1.0"}, "files": [{"url": "\\ud800.whl"}]}')
def test_json_parser_on_junk(text: str) -> None:
    json_page(text)


@SETTINGS
@given(mutations(VALID_JSON, JSON_FRAGMENTS))
def test_json_parser_on_mutated_pages(text: str) -> None:
    json_page(text)


@SETTINGS
@given(st.binary(max_size=300))
@example(b"\xff\xfe{\x00}\x00")
@example(b"\xef\xbb\xbf{}")
def test_json_parser_on_bytes(data: bytes) -> None:
    json_page(data)


URLS = [
    "../../x.whl",
    "file:///etc/passwd",
    "alpha-1.0.tar.gz",
    "http://plain.example/alpha-1.0.tar.gz",
    "https://cdn.example/a/../alpha-1.0-py3-none-any.whl#sha256=" + HEX,
    "\ud800.whl",
    "..%2F..%2Falpha-1.0.zip",
    "//other.example/alpha-1.0.zip",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
entries = st.fixed_dictionaries(
    {},
    optional={
        "url": st.one_of(st.sampled_from(URLS), json_values),
        "hashes": st.one_of(st.dictionaries(st.text(max_size=8), json_values), json_values),
        "requires-python": json_values,
        "yanked": json_values,
        "filename": json_values,
    },
)


@SETTINGS
@given(st.lists(st.one_of(entries, json_values), max_size=6), json_values)
def test_json_parser_on_well_formed_json_of_any_shape(files: list[object], meta: object) -> None:
    json_page(json.dumps({"meta": {"api-version": "1.0"}, "files": files}))
    json_page(json.dumps({"meta": meta, "files": files}))


def test_base_href_cannot_step_down_from_https() -> None:
    # Found by the fuzzer: <base> used to decide which schemes the links may use.
    for base in ("http://plain.example/", "file:///etc/", "ftp://x.example/"):
        page = f"<base href='{base}'><a href='alpha-1.0.tar.gz'>a</a>"
        assert parse_html_page(page, page_url=PAGE) == []
    page = "<base href='https://cdn.example/d/'><a href='alpha-1.0.tar.gz'>a</a>"
    [link] = parse_html_page(page, page_url=PAGE)
    assert link.url == "https://cdn.example/d/alpha-1.0.tar.gz"
