"""urls: the one home of URL helpers (redaction, credentials, loopback, file: paths)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from peep_setuptools.urls import (
    file_url_path,
    is_loopback,
    is_remote_path,
    redact_text,
    redact_url,
    redacting_repr,
    split_credentials,
    strip_credentials,
    url_problem,
)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@host/simple/", "https://user:****@host/simple/"),
        ("https://token@host/simple/", "https://****@host/simple/"),
        ("https://host/simple/", "https://host/simple/"),
        ("http://[::1/x", "<invalid URL>"),
        # a token in the query: every value is hidden (no name tells a token from a version)
        ("https://host/simple/?token=s3cr3t", "https://host/simple/?token=****"),
        (
            "https://u:pw@h/f.whl?v=1&X-Amz-Signature=ab%2Fc#sha256=00ff",
            "https://u:****@h/f.whl?v=****&X-Amz-Signature=****#sha256=00ff",
        ),
        ("https://h/f.whl?s3cr3t", "https://h/f.whl?****"),
        ("https://h/?a=&api_key=${KEY}", "https://h/?a=&api_key=${KEY}"),
        ("https://h/p?#x", "https://h/p?#x"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_text_hides_every_url_secret_in_a_line():
    line = "pkg @ https://tok@h/x.whl ; python_version > '3' # http://u:pw@i/s/"
    assert (
        redact_text(line)
        == "pkg @ https://****@h/x.whl ; python_version > '3' # http://u:****@i/s/"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            'options "--index-url http://u:pa\'s@h/s/": x',
            'options "--index-url http://u:****@h/s/": x',
        ),
        ("'https://tok@h/x'", "'https://****@h/x'"),
        ("https://a:b@c@d/x and http://e@f/", "https://a:****@d/x and http://****@f/"),
        # an "@" in the query is no user name; its value is hidden as a query's
        (
            "git+https://host/repo.git@v1 x@y.com http://h/p?u=a@b",
            "git+https://host/repo.git@v1 x@y.com http://h/p?u=****",
        ),
        ("http://u:****@h ****@h", None),
        # a password holding a non-ASCII space: pip splits option lines at ASCII blanks only,
        # so it is one URL to pip and to peep, and its secret ran past the old pattern
        ("x http://u:pa\u00a0s3cret@h/ y", "x http://u:****@h/ y"),
        ("x http://pa\u2003s3cret\u3000t@h/ y", "x http://****@h/ y"),
    ],
)
def test_redact_text_needs_no_parsable_url(text, shown):
    assert redact_text(text) == (text if shown is None else shown)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "pkg @ https://h/p.whl?access_token=s3cr3t --hash=sha256:00 # http://i/?k=v&t=s3cr3t",
            "pkg @ https://h/p.whl?access_token=**** --hash=sha256:00 # http://i/?k=****&t=****",
        ),
        # a JSON report: the string ends at its quote, and an escaped quote does not end it
        (
            '{"url": "https://h/p?token=a\\"s3cr3t", "n": 1}',
            '{"url": "https://h/p?token=****", "n": 1}',
        ),
        # a repr(): the quote that closes it ends the query
        ("V(url='https://h/p?token=s3cr3t', n=1)", "V(url='https://h/p?token=****', n=1)"),
        ("'https://h/p?t=s3'cr3t'", "'https://h/p?t=****'"),
        # pip's own parameters are no secret, and messages about them must show them
        (
            "'f @ https://h/f.tgz?a=1&subdirectory=sub': x",
            "'f @ https://h/f.tgz?a=****&subdirectory=sub': x",
        ),
        ("what? https://h/p#?x=1 ok?", None),
        # a quote in the path or in a token ends nothing: only one that closes a string
        ('pkg @ https://h/a"b?token=s3cr3t --hash=x', 'pkg @ https://h/a"b?token=**** --hash=x'),
        ('https://h/?t=s3"cr3t', "https://h/?t=****"),
    ],
)
def test_redact_text_hides_query_values(text, shown):
    assert redact_text(text) == (text if shown is None else shown)


@pytest.mark.parametrize(
    ("url", "split"),
    [
        ("https://u:p%40ss@Host:8080/x", ("https://Host:8080/x", "host", ("u", "p@ss"))),
        ("https://tok@host/x", ("https://host/x", "host", ("tok", None))),
        ("https://u:@host/x", ("https://host/x", "host", ("u", ""))),
        ("https://host/x", ("https://host/x", "host", None)),
        ("http://[::1/x", ("http://[::1/x", "", None)),
    ],
)
def test_split_credentials(url, split):
    assert split_credentials(url) == split


def test_strip_credentials():
    assert strip_credentials("https://u:p@host:8080/x") == "https://host:8080/x"
    assert strip_credentials("https://host/x") == "https://host/x"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("127.0.0.2", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_file_url_path_is_local_only(tmp_path):
    url = (tmp_path / "a b.whl").as_uri()
    assert file_url_path(url) == os.fspath(tmp_path / "a b.whl")
    assert file_url_path(url.replace("file://", "file://localhost")) == os.fspath(
        tmp_path / "a b.whl"
    )
    with pytest.raises(ValueError, match="file URLs must name a local path"):
        file_url_path("file://server/share/x.whl")
    with pytest.raises(ValueError, match="file URLs must name a local path"):
        file_url_path("file:////server/share/x.whl")  # Path("//server/share/x.whl").as_uri()
    assert file_url_path("file://///x.whl") == "///x.whl"


@pytest.mark.parametrize(
    ("path", "remote"),
    [
        ("//host/share/x.whl", True),
        ("//example.com", True),
        ("/x.whl", False),
        ("///x.whl", False),
        ("x//y.whl", False),
        ("", False),
    ],
)
def test_is_remote_path(path, remote):
    assert is_remote_path(path) is remote


def test_redacting_repr_hides_every_secret_a_value_prints() -> None:
    @redacting_repr
    @dataclass(frozen=True)
    class Value:
        url: str
        urls: tuple[str, ...]

    value = Value("https://user:pa55@host/simple/", ("https://t0ken@host/", "https://${T}@h/"))
    assert (
        repr(value)
        == str(value)
        == (
            "test_redacting_repr_hides_every_secret_a_value_prints.<locals>.Value("
            "url='https://user:****@host/simple/', urls=('https://****@host/', 'https://${T}@h/'))"
        )
    )
    assert value.url == "https://user:pa55@host/simple/"  # kept, to be used


def test_install_options_do_not_print_the_environment() -> None:
    from peep_setuptools.values import InstallOptions

    options = InstallOptions(environ={"API_KEY": "s3cret", "PIP_INDEX_URL": "https://u:p@h/"})
    assert "s3cret" not in repr(options) and "environ" not in repr(options)


def test_python_messages_quoting_a_netloc_hide_its_secret():
    # urlsplit's ValueError (and so a traceback under exit 3) quotes the netloc alone
    try:
        urlsplit("https://user:s3cret\uff03@h/")
    except ValueError as exc:
        text = str(exc)
    assert "s3cret" in text
    assert redact_text(text) == (
        "netloc 'user:****@h' contains invalid characters under NFKC normalization"
    )
    assert url_problem("https://user:s3cret\uff03@h/") == (
        "its host part has a character that reads as '/', '?', '#', '@' or ':'"
    )
    assert url_problem("https://user:s3cret@h:x/") == (
        "Port could not be cast to integer value as 'x'"
    )
    assert url_problem("https://user:s3cret@h:1/") is None


def test_http_settings_hide_a_proxy_password_without_a_scheme() -> None:
    # "user:pass@host:3128" is a proxy as curl and the router read it (http:// assumed)
    from peep_setuptools.index.httpsettings import HttpSettings

    settings = HttpSettings(proxies={"https": "alice:s3cret@proxy:3128", "no": "localhost"})
    assert "s3cret" not in repr(settings)
    assert settings.proxies == {"https": "http://alice:s3cret@proxy:3128", "no": "localhost"}


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,  # a yanked reason from the index: each letter was tried as a scheme
        "a1" * 500_000,
        "a://" * 250_000,  # each URL's path ran over all the others
        "a://b?" * 160_000,
        "netloc '" * 120_000,
        "https://h/" + "p" * 1_000_000,
    ],
)
def test_redact_text_takes_time_in_proportion_to_the_text(text):
    import time

    start = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - start < 2  # ~0.1 s; the quadratic patterns took hours


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # a URL glued to a word or digits is still one (the scheme starts at the run's letter)
        ("1+https://u:pw@h/ xhttps://tok@h/", "1+https://u:****@h/ xhttps://****@h/"),
        ("see:https://h/p?t=s3cr3t", "see:https://h/p?t=****"),
        # a URL inside another's path has its own query
        (
            "https://web.archive.org/web/1/https://h/x.whl?token=s3cr3t",
            "https://web.archive.org/web/1/https://h/x.whl?token=****",
        ),
    ],
)
def test_redact_text_finds_urls_glued_to_other_text(text, shown):
    assert redact_text(text) == shown
