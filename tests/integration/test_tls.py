"""End to end: HTTPS with a local test CA, CA bundle precedence, and credentials.

Precedence, highest first: ``--cert``, ``PIP_CERT``, ``SSL_CERT_FILE`` (through the
system store). ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` are ignored: unlike pip's
``--cert``, ours can not be overridden by the environment.
"""

from __future__ import annotations

import base64
import time

import pytest
from support.indexserver import Fault, IndexServer

from peep_setuptools.installing.report import NOT_PROCEEDING

pytestmark = pytest.mark.slow
trustme = pytest.importorskip("trustme")

ALPHA = "alpha-1.0-py3-none-any.whl"
FILE = f"/files/simple/{ALPHA}"
PAGE = "/simple/alpha/"


@pytest.fixture(scope="module")
def pems(ca, tmp_path_factory):
    """``good``: the CA that signed the server; ``bad``: an unrelated CA."""
    root = tmp_path_factory.mktemp("pems")
    good, bad = root / "good-ca.pem", root / "bad-ca.pem"
    ca.cert_pem.write_to_path(str(good))
    trustme.CA().cert_pem.write_to_path(str(bad))
    return {"good": str(good), "bad": str(bad)}


def tls_index(ca, packages, host="127.0.0.1"):
    server = IndexServer.signed_by(ca, host=host).start()
    server.add_file("alpha", packages["alpha-1.0"])
    return server


@pytest.fixture
def tls(ca, packages):
    server = tls_index(ca, packages)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_system_cas(peep, tmp_path):
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        peep.env.pop(name, None)
    # An empty SSL_CERT_DIR keeps the machine's own CAs out of the picture.
    peep.env["SSL_CERT_DIR"] = str(tmp_path / "no-ca-dir")


def failed_line(done, reqs):
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING), done.stdout
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith(reqs)]
    assert len(lines) == 1, done.stdout
    return lines[0]


# -- certificates -----------------------------------------------------------------------------


def test_unknown_ca_is_a_clear_certificate_error_without_retries(peep, reqs, tls, packages):
    start = time.monotonic()
    done = peep.install(reqs, "-i", tls.index_url, "--retries", "3", check=1)
    assert time.monotonic() - start < 10
    line = failed_line(done, reqs)
    assert "alpha==1.0: could not fetch " + tls.url + PAGE in line
    assert "certificate verify failed" in line
    assert tls.requests == []
    peep.assert_nothing_installed("alpha")


def test_cert_option_installs(peep, reqs, tls, pems):
    peep.install(reqs, "-i", tls.index_url, "--cert", pems["good"], check=0)
    assert peep.installed()["alpha"] == "1.0"


@pytest.mark.parametrize(
    ("cert", "variables", "code"),
    [
        (None, {"PIP_CERT": "good"}, 0),
        (None, {"SSL_CERT_FILE": "good"}, 0),
        # --cert beats every variable, in both directions
        ("good", {"PIP_CERT": "bad", "SSL_CERT_FILE": "bad"}, 0),
        ("good", {"REQUESTS_CA_BUNDLE": "bad", "CURL_CA_BUNDLE": "bad"}, 0),
        ("bad", {"PIP_CERT": "good", "SSL_CERT_FILE": "good"}, 1),
        ("bad", {"REQUESTS_CA_BUNDLE": "good", "CURL_CA_BUNDLE": "good"}, 1),
        # PIP_CERT beats SSL_CERT_FILE
        (None, {"PIP_CERT": "good", "SSL_CERT_FILE": "bad"}, 0),
        (None, {"PIP_CERT": "bad", "SSL_CERT_FILE": "good"}, 1),
        # requests' and curl's variables are not ours
        (None, {"REQUESTS_CA_BUNDLE": "good"}, 1),
        (None, {"CURL_CA_BUNDLE": "good"}, 1),
    ],
)
def test_ca_bundle_precedence(peep, reqs, tls, pems, cert, variables, code):
    peep.env.update({k: pems[v] for k, v in variables.items()})
    args = ["-i", tls.index_url, "--dry-run", "--retries", "0"]
    if cert is not None:
        args += ["--cert", pems[cert]]
    done = peep.install(reqs, *args, check=code)
    if code:
        assert "certificate verify failed" in failed_line(done, reqs)
    else:
        assert "All 1 archives match" in done.stdout


def test_missing_cert_file_is_a_usage_error(peep, tmp_path, reqs, tls):
    done = peep.install(reqs, "-i", tls.index_url, "--cert", str(tmp_path / "nope.pem"), check=2)
    assert "nope.pem" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_https_to_http_redirect_is_refused(peep, reqs, tls, pems, packages):
    with IndexServer() as plain:
        plain_url = plain.add_file("alpha", packages["alpha-1.0"])
        tls.set_fault(FILE, Fault.redirect(plain_url))
        done = peep.install(reqs, "-i", tls.index_url, "--cert", pems["good"], check=1)
        line = failed_line(done, reqs)
        assert f"alpha==1.0: could not fetch {tls.url}{FILE}" in line
        assert "refusing redirect from https to http" in line
        assert plain.requests == []
    peep.assert_nothing_installed("alpha")
    peep.assert_cache_clean([packages.sha256("alpha-1.0").hex])


def test_https_redirect_to_another_https_host_keeps_no_credentials(
    peep, reqs, tls, ca, pems, packages
):
    other = tls_index(ca, packages, host="localhost")
    try:
        tls.set_fault(FILE, Fault.redirect(other.url + FILE))
        index = tls.index_url.replace("https://", "https://user:s3cret@")
        done = peep.install(reqs, "-i", index, "--cert", pems["good"], check=0)
        assert peep.installed()["alpha"] == "1.0"
        assert [r.header("Authorization") for r in other.requests] == [None]
        assert tls.requests_to(FILE)[0].header("Authorization") == basic("user", "s3cret")
        assert "s3cret" not in done.stdout + done.stderr
    finally:
        other.stop()


# -- credentials ------------------------------------------------------------------------------


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def plain(packages):
    with IndexServer() as server:
        server.add_file("alpha", packages["alpha-1.0"])
        yield server


@pytest.fixture
def other(packages):
    """Another origin: ``localhost`` on another port."""
    with IndexServer(host="localhost") as server:
        server.add_file("alpha", packages["alpha-1.0"])
        yield server


def test_credentials_in_the_index_url_go_to_that_host_only(peep, reqs, plain, other):
    plain.set_fault(FILE, Fault.redirect(other.url + FILE))
    index = plain.index_url.replace("http://", "http://user:s3cret@")
    done = peep.install(reqs, "-i", index, "-v", check=0)
    assert peep.installed()["alpha"] == "1.0"
    sent = {r.path: r.header("Authorization") for r in plain.requests}
    assert sent == {PAGE: basic("user", "s3cret"), FILE: basic("user", "s3cret")}
    assert [r.header("Authorization") for r in other.requests] == [None]
    assert "s3cret" not in done.stdout + done.stderr


@pytest.mark.parametrize("where", ["page", "file"])
def test_credentials_are_never_printed(peep, reqs, plain, where):
    plain.set_fault(PAGE if where == "page" else FILE, Fault.status(500))
    index = plain.index_url.replace("http://", "http://user:s3cret@")
    done = peep.install(reqs, "-i", index, "--retries", "0", "-v", check=1)
    assert "s3cret" not in done.stdout + done.stderr
    assert "user:****@127.0.0.1" in failed_line(done, reqs)


def test_credentials_in_a_requirements_file_are_never_printed(peep, write, plain):
    reqs = write(
        "reqs.txt",
        f"--index-url {plain.index_url.replace('http://', 'http://tok:s3cret@')}\n"
        f"alpha==9.9 --hash=sha256:{'0' * 64}\n",
    )
    done = peep.install(reqs, "-v", check=1)
    assert "s3cret" not in done.stdout + done.stderr
    assert "tok:****@" in done.stdout


@pytest.mark.parametrize("how", ["NETRC", "HOME"])
def test_netrc_credentials_go_to_that_host_only(peep, tmp_path, reqs, plain, other, how):
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1\n  login nu\n  password n3tpass\n")
    netrc.chmod(0o600)
    variables = {"NETRC": str(netrc)} if how == "NETRC" else {"HOME": str(home)}
    plain.set_fault(FILE, Fault.redirect(other.url + FILE))
    peep.env.update(variables)
    done = peep.install(reqs, "-i", plain.index_url, "-v", check=0)
    assert [r.header("Authorization") for r in plain.requests] == [basic("nu", "n3tpass")] * 2
    assert [r.header("Authorization") for r in other.requests] == [None]
    assert "n3tpass" not in done.stdout + done.stderr
