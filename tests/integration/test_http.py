"""HttpClient against the loopback IndexServer: keep-alive, retries, faults, auth, TLS."""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.httpclient import http_settings
from support.indexserver import ConnectProxy, Fault, IndexServer

from peep_setuptools.errors import DownloadError, UsageError
from peep_setuptools.index.http import HttpClient, check_redirect
from peep_setuptools.urls import is_loopback, redact_url, strip_credentials

BODY = bytes(range(256)) * 400  # 100 KiB


@pytest.fixture
def blob(server, tmp_path):
    path = tmp_path / "blob-1.0.tar.gz"
    path.write_bytes(BODY)
    return server.add_file("blob", path)


def read_all(client: HttpClient, url: str, **kwargs: object) -> bytes:
    with client.open(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.read()


# -- pure helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@host/simple/", "https://user:****@host/simple/"),
        # a user name alone is most often a token: hidden whole, as pip does
        ("https://user@host/simple/", "https://****@host/simple/"),
        ("https://token:@host/x", "https://token:****@host/x"),
        ("https://a:b:c@host:8443/x?q=1", "https://a:****@host:8443/x?q=****"),
        ("https://host/simple/", "https://host/simple/"),
        ("file:///tmp/x.whl", "file:///tmp/x.whl"),
        ("https://u:p%40ss@host/", "https://u:****@host/"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_strip_credentials():
    assert strip_credentials("https://u:p@host:1/x") == "https://host:1/x"
    assert strip_credentials("https://host/x") == "https://host/x"


@pytest.mark.parametrize(
    ("source", "target", "refused"),
    [
        ("https://a/x", "https://b/y", None),
        ("http://a/x", "https://a/y", None),
        ("http://a/x", "http://b/y", None),
        ("https://a/x", "http://a/y", "refusing redirect from https to http (http://a/y)"),
        ("https://a/x", "file:///etc/passwd", "refusing redirect to a file URL"),
        ("http://a/x", "ftp://a/y", "refusing redirect to a ftp URL"),
    ],
)
def test_check_redirect(source, target, refused):
    assert check_redirect(source, target) == refused


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("10.0.0.1", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


# -- plain requests -------------------------------------------------------------------------


def test_get_sends_identity_encoding_and_user_agent(server, client, blob):
    assert read_all(client, blob) == BODY
    (record,) = server.requests
    assert record.header("Accept-Encoding") == "identity"
    assert record.header("User-Agent").startswith("peep-setuptools/")
    assert record.header("Authorization") is None


def test_connections_are_kept_alive(server, client, blob):
    for _ in range(5):
        assert read_all(client, blob) == BODY
    assert len({r.peer for r in server.requests}) == 1


def test_response_attributes_and_partial_reads(server, client, blob):
    with client.open(blob) as response:
        assert response.status == 200
        assert response.url == blob
        assert response.headers["Content-Length"] == str(len(BODY))
        assert response.length == len(BODY)
        assert response.read(10) == BODY[:10]
        assert response.read(0) == b""
        rest = b""
        while block := response.read(7000):
            rest += block
    assert BODY[:10] + rest == BODY


def test_unread_body_closes_connection_and_next_request_works(server, client, blob):
    with client.open(blob) as response:
        response.read(10)
    assert read_all(client, blob) == BODY


def test_404_is_final_and_named(server, client):
    with pytest.raises(DownloadError) as info:
        client.open(server.url + "/nothing-here")
    assert str(info.value) == f"could not fetch {server.url}/nothing-here: HTTP 404 Not Found"
    assert len(server.requests) == 1


def test_tolerated_status_is_returned(server, client):
    with client.open(server.url + "/nothing-here", tolerate=(404,)) as response:
        assert response.status == 404
        assert response.read() == b"not found\n"


def test_server_error_is_retried_then_succeeds(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.status(500, times=2))
    assert read_all(client, blob) == BODY
    assert len(server.requests) == 3


def test_429_is_retried(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.status(429, times=1))
    assert read_all(client, blob) == BODY
    assert len(server.requests) == 2


def test_403_is_not_retried(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.status(403))
    with pytest.raises(DownloadError, match=r"HTTP 403 Forbidden$"):
        client.open(blob)
    assert len(server.requests) == 1


def test_retries_exhausted(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.status(503))
    with pytest.raises(DownloadError) as info:
        client.open(blob)
    assert str(info.value) == f"could not fetch {blob}: HTTP 503 Service Unavailable (2 retries)"
    assert len(server.requests) == 3


def test_no_retries_means_one_attempt(server, tmp_path, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.status(503))
    with (
        HttpClient(http_settings(tmp_path, retries=0)) as client,
        pytest.raises(DownloadError) as info,
    ):
        client.open(blob)
    assert str(info.value).endswith("HTTP 503 Service Unavailable")
    assert len(server.requests) == 1


def test_backoff_doubles(server, tmp_path, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.status(500, times=3))
    start = time.monotonic()
    with HttpClient(http_settings(tmp_path, retries=3, backoff=0.05)) as client:
        assert read_all(client, blob) == BODY
    assert time.monotonic() - start >= 0.05 + 0.1 + 0.2


def test_stall_times_out(server, tmp_path, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.stall(5))
    start = time.monotonic()
    with (
        HttpClient(http_settings(tmp_path, timeout=0.2, retries=1)) as client,
        pytest.raises(DownloadError) as info,
    ):
        client.open(blob)
    assert str(info.value) == f"could not fetch {blob}: timed out after 0.2 s (1 retries)"
    assert time.monotonic() - start < 2


def test_stall_shorter_than_timeout_is_fine(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.stall(0.1))
    assert read_all(client, blob) == BODY


def test_connection_refused(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x"
    with (
        HttpClient(http_settings(tmp_path, retries=1)) as client,
        pytest.raises(DownloadError) as info,
    ):
        client.open(url)
    assert str(info.value) == f"could not fetch {url}: connection refused (1 retries)"


def test_short_body(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.short_body())
    with pytest.raises(DownloadError) as info:
        read_all(client, blob)
    assert (
        str(info.value) == f"could not fetch {blob}: received {len(BODY) - 1} of {len(BODY)} bytes"
    )


def test_close_mid_body(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.close_mid_body())
    with pytest.raises(DownloadError, match=f"^could not fetch {blob}: (received|connection lost)"):
        read_all(client, blob)


def test_long_body_is_cut_at_content_length_and_connection_not_reused(server, client, blob):
    server.set_fault("/files/simple/blob-1.0.tar.gz", Fault.long_body(times=1))
    assert read_all(client, blob) == BODY
    assert read_all(client, blob) == BODY
    first, second = server.requests
    assert first.peer != second.peer


def test_stale_pooled_connection_is_replaced(server, client, blob):
    assert read_all(client, blob) == BODY
    # Drop the server side of the idle keep-alive connection, as servers do after a while.
    server._server.close_all()  # type: ignore[union-attr]
    time.sleep(0.05)
    assert read_all(client, blob) == BODY
    assert len(server.requests) == 2


def test_parallel_requests_share_the_client(server, client, blob):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: read_all(client, blob), range(32)))
    assert all(r == BODY for r in results)
    assert len(server.requests) == 32


def test_latency_is_added(server, client, blob):
    server.latency = 0.1
    start = time.monotonic()
    read_all(client, blob)
    assert time.monotonic() - start >= 0.1


# -- redirects ------------------------------------------------------------------------------


def test_redirect_is_followed_and_final_url_reported(server, client, blob):
    server.set_fault("/elsewhere", Fault.redirect("/files/simple/blob-1.0.tar.gz"))
    with client.open(server.url + "/elsewhere") as response:
        assert response.url == blob
        assert response.read() == BODY


def test_redirect_loop_is_bounded(server, client):
    server.set_fault("/loop", Fault.redirect("/loop"))
    with pytest.raises(DownloadError, match="more than 10 redirects"):
        client.open(server.url + "/loop")
    assert len(server.requests) == 11


def test_redirect_to_file_url_is_refused(server, client):
    server.set_fault("/sneaky", Fault.redirect("file:///etc/passwd"))
    with pytest.raises(DownloadError, match="refusing redirect to a file URL"):
        client.open(server.url + "/sneaky")


# -- credentials ----------------------------------------------------------------------------

BASIC_USER_SECRET = "Basic dXNlcjpzZWNyZXQ="  # user:secret


def with_credentials(url: str, creds: str = "user:secret") -> str:
    return url.replace("://", f"://{creds}@", 1)


def test_basic_auth_from_url(server, client, blob):
    assert read_all(client, with_credentials(blob)) == BODY
    assert server.requests[0].header("Authorization") == BASIC_USER_SECRET


def test_credentials_are_remembered_for_the_same_origin(server, client, blob):
    read_all(client, with_credentials(server.url + "/files/simple/blob-1.0.tar.gz"))
    read_all(client, blob)
    assert [r.header("Authorization") for r in server.requests] == [BASIC_USER_SECRET] * 2


def test_percent_encoded_credentials(server, client, blob):
    read_all(client, with_credentials(blob, "us%40er:p%3Ass"))
    assert server.requests[0].header("Authorization") == "Basic dXNAZXI6cDpzcw=="  # us@er:p:ss


def test_credentials_not_in_error_messages(server, client):
    with pytest.raises(DownloadError) as info:
        client.open(with_credentials(server.url + "/missing"))
    assert "secret" not in str(info.value)
    assert "user:****@" in str(info.value)


def test_same_origin_redirect_keeps_credentials(server, client, blob):
    server.set_fault("/moved", Fault.redirect("/files/simple/blob-1.0.tar.gz"))
    read_all(client, with_credentials(server.url + "/moved"))
    assert [r.header("Authorization") for r in server.requests] == [BASIC_USER_SECRET] * 2


def test_cross_origin_redirect_drops_credentials(server, client, tmp_path):
    with IndexServer() as other:
        path = tmp_path / "blob-1.0.tar.gz"
        path.write_bytes(BODY)
        target = other.add_file("blob", path)
        server.set_fault("/moved", Fault.redirect(target))
        assert read_all(client, with_credentials(server.url + "/moved")) == BODY
        assert server.requests[0].header("Authorization") == BASIC_USER_SECRET
        assert other.requests[0].header("Authorization") is None


def test_credentials_in_location_are_ignored(server, client, blob):
    server.set_fault("/moved", Fault.redirect(with_credentials(blob, "evil:creds")))
    read_all(client, server.url + "/moved")
    assert all(r.header("Authorization") is None for r in server.requests)


def test_netrc_credentials(server, tmp_path, blob):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login user password secret\n")
    netrc.chmod(0o600)
    with HttpClient(http_settings(tmp_path, netrc_path=str(netrc))) as client:
        read_all(client, blob)
    assert server.requests[0].header("Authorization") == BASIC_USER_SECRET


def test_netrc_for_other_host_is_not_sent(server, tmp_path, blob):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine example.org login user password secret\n")
    netrc.chmod(0o600)
    with HttpClient(http_settings(tmp_path, netrc_path=str(netrc))) as client:
        read_all(client, blob)
    assert server.requests[0].header("Authorization") is None


def test_broken_netrc_means_no_credentials(server, tmp_path, blob):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine\n")
    with HttpClient(http_settings(tmp_path, netrc_path=str(netrc))) as client:
        assert read_all(client, blob) == BODY


# -- plain http policy and proxies ----------------------------------------------------------


def test_plain_http_to_untrusted_remote_host_is_refused(client):
    with pytest.raises(DownloadError) as info:
        client.open("http://pypi.example.org/simple/")
    assert str(info.value) == (
        "could not fetch http://pypi.example.org/simple/: refusing plain http to "
        "pypi.example.org; use https, or mark the host trusted with --trusted-host "
        "pypi.example.org"
    )


def test_http_proxy_gets_absolute_uri(server, tmp_path):
    proxy = with_credentials(server.url, "puser:ppass")
    s = http_settings(tmp_path, proxies={"http": proxy}, trusted_hosts=("pkg.example",))
    server.set_page("/simple/", b"proxied")
    with HttpClient(s) as client:
        assert read_all(client, "http://pkg.example/simple/") == b"proxied"
    (record,) = server.requests
    assert record.path == "http://pkg.example/simple/"
    assert record.header("Host") == "pkg.example"
    assert record.header("Proxy-Authorization") == "Basic cHVzZXI6cHBhc3M="


def test_loopback_bypasses_proxy(server, tmp_path, blob):
    s = http_settings(tmp_path, proxies={"http": "http://127.0.0.1:9"})
    with HttpClient(s) as client:
        assert read_all(client, blob) == BODY


def test_no_proxy_list(server, tmp_path):
    from peep_setuptools.index.routes import _bypassed

    assert _bypassed("pkg.example", "other, .example")
    assert _bypassed("pkg.example", "pkg.example:8080")
    assert _bypassed("anything", "*")
    assert not _bypassed("pkg.example", "kg.example")
    assert not _bypassed("pkg.example", "")


# -- file URLs ------------------------------------------------------------------------------


def test_file_url(client, tmp_path):
    path = tmp_path / "page.html"
    path.write_bytes(b"<a href='x-1.0.tar.gz'>x</a>")
    with client.open(path.as_uri()) as response:
        assert response.status == 200
        assert response.headers.get_content_type() == "text/html"
        assert response.length == path.stat().st_size
        assert response.read() == path.read_bytes()


def test_missing_file_url(client, tmp_path):
    url = (tmp_path / "absent.whl").as_uri()
    with pytest.raises(DownloadError, match=r"^could not open file://.*absent\.whl: no such file"):
        client.open(url)


def test_remote_file_url_is_refused(client):
    with pytest.raises(DownloadError, match="must name a local path"):
        client.open("file://server/share/x.whl")


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(ca, tmp_path):
    with IndexServer.signed_by(ca) as srv:
        path = tmp_path / "blob-1.0.tar.gz"
        path.write_bytes(BODY)
        srv.add_file("blob", path)
        yield srv


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_tls_with_ca_bundle(tls_server, tmp_path, ca_file):
    url = tls_server.url + "/files/simple/blob-1.0.tar.gz"
    with HttpClient(http_settings(tmp_path, cert=ca_file)) as client:
        assert read_all(client, url) == BODY
        assert read_all(client, url) == BODY
    assert len({r.peer for r in tls_server.requests}) == 1


def test_tls_unknown_ca_fails_without_retry(tls_server, tmp_path, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    url = tls_server.url + "/files/simple/blob-1.0.tar.gz"
    start = time.monotonic()
    with (
        HttpClient(http_settings(tmp_path, retries=3, backoff=1)) as client,
        pytest.raises(DownloadError) as info,
    ):
        client.open(url)
    assert str(info.value).startswith(f"could not fetch {url}: certificate verify failed: ")
    assert time.monotonic() - start < 1


def test_tls_trusted_host_skips_verification(tls_server, tmp_path):
    url = tls_server.url + "/files/simple/blob-1.0.tar.gz"
    with HttpClient(http_settings(tmp_path, trusted_hosts=("127.0.0.1",))) as client:
        assert read_all(client, url) == BODY


def test_tls_trusted_host_with_port(tls_server, tmp_path):
    port = tls_server.url.rsplit(":", 1)[1]
    url = tls_server.url + "/files/simple/blob-1.0.tar.gz"
    with HttpClient(http_settings(tmp_path, trusted_hosts=(f"127.0.0.1:{port}",))) as client:
        assert read_all(client, url) == BODY


def test_https_to_http_redirect_is_refused(tls_server, server, tmp_path, ca_file, blob):
    tls_server.set_fault("/down", Fault.redirect(blob))
    with (
        HttpClient(http_settings(tmp_path, cert=ca_file)) as client,
        pytest.raises(DownloadError) as info,
    ):
        client.open(tls_server.url + "/down")
    assert str(info.value) == (
        f"could not fetch {tls_server.url}/down: refusing redirect from https to http ({blob})"
    )
    assert server.requests == []


def test_missing_ca_bundle_is_a_usage_error(tls_server, tmp_path):
    missing = str(tmp_path / "nope.pem")
    with (
        HttpClient(http_settings(tmp_path, cert=missing)) as client,
        pytest.raises(UsageError) as info,
    ):
        client.open(tls_server.url + "/simple/")
    assert str(info.value).startswith(f"cannot load the CA bundle {missing}: ")


def test_https_through_connect_proxy(ca, tmp_path, ca_file):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("pkg.example").configure_cert(context)
    with IndexServer(ssl_context=context) as srv:
        srv.set_page("/simple/", b"tunnelled")
        port = int(srv.url.rsplit(":", 1)[1])
        with ConnectProxy(port) as proxy:
            proxy_url = proxy.url.replace("://", "://puser:ppass@")
            s = http_settings(tmp_path, cert=ca_file, proxies={"https": proxy_url})
            with HttpClient(s) as client:
                url = f"https://pkg.example:{port}/simple/"
                assert read_all(client, url) == b"tunnelled"
                assert read_all(client, url) == b"tunnelled"
    (connect,) = proxy.requests  # one tunnel, kept alive for both requests
    assert connect.startswith(f"CONNECT pkg.example:{port} HTTP/1.")
    assert "Proxy-Authorization: Basic cHVzZXI6cHBhc3M=" in connect
    assert srv.requests[0].header("Host") == f"pkg.example:{port}"
    assert srv.requests[0].header("Proxy-Authorization") is None


def test_https_proxy_url_is_refused(tmp_path):
    s = http_settings(tmp_path, proxies={"https": "https://proxy.example:3128"})
    with HttpClient(s) as client, pytest.raises(DownloadError, match="only http:// proxies"):
        client.open("https://pkg.example/simple/")


def test_link_with_space_is_quoted(server, client, tmp_path):
    path = tmp_path / "my file-1.0.tar.gz"
    path.write_bytes(b"x")
    server.add_file("my-file", path)
    assert read_all(client, server.url + "/files/simple/my file-1.0.tar.gz") == b"x"
    assert server.requests[0].path == "/files/simple/my%20file-1.0.tar.gz"
