"""urls: the one home of URL helpers (redaction, credentials, loopback, file: paths)."""

from __future__ import annotations

import os

import pytest

from peep_setuptools.urls import file_url_path, is_loopback, redact_url, strip_credentials


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:secret@host/simple/", "https://user:****@host/simple/"),
        ("https://token@host/simple/", "https://****@host/simple/"),
        ("https://host/simple/", "https://host/simple/"),
        ("http://[::1/x", "<invalid URL>"),
    ],
)
def test_redact_url(url, shown):
    assert redact_url(url) == shown


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
