"""Index credentials never leave the private workdir (issue 11 item 4).

Not on any process's command line (every local user reads /proc/PID/cmdline), not in peep's
output (``-v`` too), its errors or its ``--report``: a token given as the user name is hidden
whole (``****@host``), as pip does, also in links that inherit it from the index URL.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from support.indexserver import Fault

pytestmark = pytest.mark.slow

SECRET = "s3cr3tT0ken"


class CmdlineWatcher:
    """Polls every process's command line until stopped; remembers any that shows the secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.seen: list[str] = []
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CmdlineWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.polls += 1
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                try:
                    data = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if self.secret in data:
                    self.seen.append(data.replace(b"\0", b" ").decode(errors="replace"))


def _everything_said(peep, reqs, tmp_path, *args, check, report_optional=False):
    """``peep install -v --no-cache --report ARGS``: the run, and its output with the report."""
    report = tmp_path / "report.json"
    done = peep.install(reqs, "--no-cache", "-v", "--report", str(report), *args, check=check)
    written = report.read_text() if report.exists() or not report_optional else ""
    return done, done.stdout + done.stderr + written


def _reqs(write, index, packages, netloc: str) -> str:
    # ${VAR} expansion, as users keep tokens out of their files; gamma builds with setuptools
    # fetched from the index, so the installer needs the index (and pip starts a child pip).
    url = index.index_url.replace("127.0.0.1", f"{netloc}@127.0.0.1")
    return write(
        "reqs.txt",
        f"--index-url {url}\n"
        f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
        f"gamma==1.0 {packages.pip('gamma-1.0')}\n",
    )


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("installer", ["pip", "uv"])
@pytest.mark.parametrize("netloc", ["${PEEP_TEST_TOKEN}", "user:${PEEP_TEST_TOKEN}"])
def test_credentials_never_reach_a_command_line_or_the_output(
    peep, venv, write, packages, index, tmp_path, installer, netloc
):
    reqs = _reqs(write, index, packages, netloc)
    peep.env["PEEP_TEST_TOKEN"] = SECRET
    report = tmp_path / "report.json"
    with CmdlineWatcher(SECRET) as watcher:
        done = peep.install(
            reqs,
            "--installer",
            installer,
            "--no-cache",
            "-v",
            "--report",
            str(report),
            check=0,
        )
    assert watcher.polls > 10
    assert watcher.seen == []
    text = done.stdout + done.stderr + report.read_text()
    assert SECRET not in text
    assert "****@127.0.0.1" in text
    gamma = [r for r in json.loads(report.read_text())["requirements"] if r["name"] == "gamma"]
    assert gamma[0]["url"].startswith(("http://****@", "http://user:****@"))


@pytest.mark.parametrize("netloc", ["${PEEP_TEST_TOKEN}", "user:${PEEP_TEST_TOKEN}"])
def test_errors_and_reports_of_failed_runs_hide_the_token(
    peep, venv, write, packages, index, tmp_path, netloc
):
    url = index.index_url.replace("127.0.0.1", f"{netloc}@127.0.0.1")
    reqs = write(
        "reqs.txt",
        f"--index-url {url}\n"
        f"alpha==1.0 {packages.pip('alpha-2.0')}\n"
        f"nosuchproject==1.0 {packages.pip('alpha-1.0')}\n"
        f"delta @ {url}../files/simple/delta-1.0-py3-none-any.whl {packages.pip('alpha-1.0')}\n",
    )
    peep.env["PEEP_TEST_TOKEN"] = SECRET
    _, text = _everything_said(peep, reqs, tmp_path, check=1)
    assert "nosuchproject==1.0 not found" in text
    assert SECRET not in text


@pytest.mark.parametrize("netloc", [SECRET, f"user:{SECRET}"])
def test_a_literal_token_in_the_file_is_not_repeated(
    peep, venv, write, packages, index, tmp_path, netloc
):
    # Written into the file itself (not ${VAR}): peep still does not print it anywhere.
    url = index.index_url.replace("127.0.0.1", f"{netloc}@127.0.0.1")
    delta = f"{url}../files/simple/delta-1.0-py3-none-any.whl"
    unreachable = f"http://{netloc}@127.0.0.1:9/simple/"
    reqs = write(
        "reqs.txt",
        f"--index-url {url}\n--extra-index-url {unreachable}\n"
        f"alpha==1.0 {packages.pip('alpha-2.0')}\n"
        f"delta @ {delta} {packages.pip('alpha-1.0')}\n"
        f"beta==1.0\n"
        f"gamma @ {url}../files/simple/gamma-1.0.tar.gz\n"
        f"nosuchproject==1.0 {packages.pip('alpha-1.0')}\n",
    )
    # one retry, not five and their pauses (~6 s)
    _, text = _everything_said(peep, reqs, tmp_path, "--retries", "1", check=1)
    assert "nosuchproject" in text
    assert "http://****@127.0.0.1:9/simple/" in text or "user:****@127.0.0.1:9" in text
    assert SECRET not in text, text


@pytest.mark.parametrize(
    ("password", "exit_code", "says"),
    [
        # pip reads credentials from a netrc file: one with a control character is refused,
        # and the refusal must not quote the netrc line it would have written
        (f"pa%01{SECRET}", 1, "has a space, a quote, '#' or a control character"),
        (f"pa%7F{SECRET}", 1, "has a space, a quote, '#' or a control character"),
        # a quote breaks the option line: the syntax error quotes the line (redacted)
        (f"pa'{SECRET}", 2, "cannot read the options"),
        # "/" in a ${VAR} token would end the host part early (another host, the token shown)
        ("${PEEP_TEST_TOKEN}", 0, ""),
    ],
)
def test_odd_passwords_are_never_shown(
    peep, venv, write, packages, index, tmp_path, password, exit_code, says
):
    url = index.index_url.replace("127.0.0.1", f"user:{password}@127.0.0.1")
    reqs = write("reqs.txt", f"--index-url {url}\ngamma==1.0 {packages.pip('gamma-1.0')}\n")
    peep.env["PEEP_TEST_TOKEN"] = f"{SECRET}/x?y@z"
    _, text = _everything_said(peep, reqs, tmp_path, check=exit_code, report_optional=True)
    assert says in text
    assert SECRET not in text, text
    if exit_code == 0:
        # the token reached the index as the password (percent-encoded, as pip sends it)
        report = json.loads((tmp_path / "report.json").read_text())
        assert "gamma" in json.dumps(report["requirements"])


@pytest.mark.parametrize("where", ["file", "pip-config"])
def test_a_url_python_cannot_split_is_refused_without_its_secret(
    peep, venv, write, packages, index, where
):
    # urlsplit's error quotes the netloc, password and all: an index URL with a full-width
    # '\uff03' in its password crashed deep in the run (exit 3) with the password in the traceback.
    url = index.index_url.replace("127.0.0.1", f"user:{SECRET}\uff03@127.0.0.1")
    lines = f"alpha==1.0 {packages.pip('alpha-1.0')}\n"
    if where == "file":
        lines = f"--index-url {url}\n" + lines
    else:
        peep.env["PIP_INDEX_URL"] = url
    done = peep.install(write("reqs.txt", lines), check=2)
    text = done.stdout + done.stderr
    assert "its host part has a character that reads as '/', '?', '#', '@' or ':'" in text
    assert "user:****@127.0.0.1" in text
    assert SECRET not in text and "Traceback" not in text
    peep.assert_nothing_installed()


# A token may ride in the query string instead of the user name: a private_token for an
# artifact URL, a presigned link on an index page (X-Amz-Signature), an index's ?access_token=.
_QUERIES = ["token", "access_token", "api_key", "X-Amz-Signature"]


@pytest.mark.parametrize("param", _QUERIES)
def test_a_token_in_the_query_string_is_hidden(peep, venv, write, packages, index, tmp_path, param):
    files = f"{index.url}/files/simple"
    unreachable = f"http://127.0.0.1:9/simple/?{param}={SECRET}"
    reqs = write(
        "reqs.txt",
        f"--index-url {index.index_url}\n--extra-index-url {unreachable}\n"
        f"--find-links http://127.0.0.1:9/links/?{param}={SECRET}&x=1\n"
        f"delta @ {files}/delta-1.0-py3-none-any.whl?{param}={SECRET} {packages.pip('alpha-1.0')}\n"
        f"alpha @ {files}/alpha-1.0-py3-none-any.whl?a=1&{param}={SECRET}#frag "
        f"{packages.pip('alpha-1.0')}\n"
        f"gamma @ {files}/gamma-1.0.tar.gz?{param}={SECRET}\n"
        f"nosuchproject==1.0 {packages.pip('alpha-1.0')}\n",
    )
    _, text = _everything_said(peep, reqs, tmp_path, "--retries", "1", check=1)
    assert "127.0.0.1:9" in text and "nosuchproject" in text
    assert f"?{param}=****" in text
    assert SECRET not in text, text
    peep.assert_nothing_installed()


@pytest.mark.parametrize("how", ["link", "redirect"])
def test_a_presigned_link_is_hidden(peep, venv, write, packages, server, tmp_path, how):
    # The index hands out links that carry their own signature, or redirects to one (a CDN):
    # -v names the source of each archive, the report its URL, errors the URL that failed.
    server.add_file("delta", packages["delta-1.0"])
    name = packages["delta-1.0"].name
    signed = f"/files/simple/{name}?X-Amz-Signature={SECRET}"
    if how == "link":
        page = f'<a href="../..{signed}">{name}</a>\n'
        server.set_page("/simple/delta/", page.encode())
    else:  # to a file that is not there: the error names the URL it was redirected to
        server.set_fault(f"/files/simple/{name}", Fault.redirect(f"/gone{signed}"))
    reqs = write(
        "reqs.txt", f"--index-url {server.index_url}\ndelta==1.0 {packages.pip('alpha-1.0')}\n"
    )
    _, text = _everything_said(peep, reqs, tmp_path, check=1)
    assert "X-Amz-Signature=****" in text
    assert SECRET not in text, text
    peep.assert_nothing_installed()


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("option", ["--find-links", "--extra-index-url"])
def test_a_query_token_never_reaches_the_build_pips_command_line(
    peep, venv, write, packages, index, tmp_path, option
):
    # pip starts a pip for an sdist's build dependencies with its index URLs and find-links
    # on that one's command line: a query's token cannot go into the netrc file.
    url = f"{index.url}/simple/setuptools/?token={SECRET}"
    reqs = write(
        "reqs.txt",
        f"--index-url {index.index_url}\n{option} {url}\ngamma==1.0 {packages.pip('gamma-1.0')}\n",
    )
    with CmdlineWatcher(SECRET) as watcher:
        done = peep.install(reqs, "--installer", "pip", "--no-cache", "-v", check=1)
    assert watcher.seen == []
    text = done.stdout + done.stderr
    assert "/simple/setuptools/?token=**** to pip for building an sdist" in text
    assert "use --installer uv" in text
    assert SECRET not in text
    peep.assert_nothing_installed()


def test_a_query_on_a_find_links_url_is_fine_with_uv(peep, venv, write, packages, index):
    # uv gets its index options in its environment, which only our own user can read.
    url = f"{index.url}/simple/setuptools/?token={SECRET}"
    reqs = write(
        "reqs.txt",
        f"--index-url {index.index_url}\n--find-links {url}\n"
        f"gamma==1.0 {packages.pip('gamma-1.0')}\n",
    )
    with CmdlineWatcher(SECRET) as watcher:
        done = peep.install(reqs, "--installer", "uv", "--no-cache", "-v", check=0)
    assert watcher.seen == []
    assert SECRET not in done.stdout + done.stderr
    assert "gamma" in peep.installed()


def test_a_huge_word_from_the_index_does_not_stall_the_redaction(
    peep, venv, write, packages, server
):
    # Every message goes through the redaction; an index's yanked reason is printed as it
    # came. Its pattern tried each letter of a long word as a URL's scheme: 300 kB took
    # minutes, the page's 50 MB days.
    server.add_file("delta", packages["delta-1.0"], yanked="x" * 300_000)
    reqs = write(
        "reqs.txt", f"--index-url {server.index_url}\ndelta==1.0 {packages.pip('delta-1.0')}\n"
    )
    done = peep.install(reqs, "--no-cache", "--dry-run", check=0, timeout=60)
    assert "is yanked on the index: xxx" in done.stdout + done.stderr


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("where", ["pip.conf", "environment"])
def test_pips_own_find_links_and_indexes_never_reach_its_build_pips_command_line(
    peep, venv, write, packages, index, tmp_path, where
):
    # pip adds the find-links and extra indexes of its own configuration to those peep
    # hands it, and passes them all on to the pip it starts for build dependencies.
    authed = index.url.replace("127.0.0.1", f"user:{SECRET}@127.0.0.1")
    links, extra = f"{authed}/simple/setuptools/", f"{authed}/simple/"
    if where == "pip.conf":
        conf = tmp_path / "pip.conf"
        conf.write_text(f"[global]\nfind-links = {links}\nextra-index-url = {extra}\n")
        peep.env["PIP_CONFIG_FILE"] = str(conf)
    else:
        peep.env.update(PIP_FIND_LINKS=links, PIP_EXTRA_INDEX_URL=extra)
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    with CmdlineWatcher(SECRET) as watcher:
        done = peep.install(reqs, "-i", index.index_url, "--installer", "pip", "--no-cache", "-v")
    assert watcher.polls > 10
    assert watcher.seen == []
    assert SECRET not in done.stdout + done.stderr
    assert peep.installed()["gamma"] == "1.0"


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize("where", ["global", "wheel", "environment"])
@pytest.mark.parametrize("scheme", ["http://", ""])  # pip reads user:pass@host:port too
def test_pips_own_proxy_password_is_refused_for_a_build(
    peep, venv, write, packages, index, tmp_path, where, scheme
):
    proxy = f"{scheme}user:{SECRET}@127.0.0.1:9"
    if where != "environment":  # pip.conf's [wheel]: what pip wheel, which builds, reads
        conf = tmp_path / "pip.conf"
        conf.write_text(f"[{where}]\nproxy = {proxy}\n")
        peep.env["PIP_CONFIG_FILE"] = str(conf)
    else:
        peep.env["PIP_PROXY"] = proxy
    reqs = write("reqs.txt", f"gamma==1.0 {packages.pip('gamma-1.0')}\n")
    with CmdlineWatcher(SECRET) as watcher:
        done = peep.install(
            reqs, "-i", index.index_url, "--installer", "pip", "--no-cache", check=1
        )
    assert watcher.seen == []
    text = done.stdout + done.stderr
    assert "cannot let pip build an sdist through the proxy http://user:****@127.0.0.1:9" in text
    assert SECRET not in text
    peep.assert_nothing_installed()


def test_a_quote_in_the_url_does_not_stop_the_redaction(
    peep, venv, write, packages, index, tmp_path
):
    url = f'{index.url}/files/x"y/delta-1.0-py3-none-any.whl?token={SECRET}'
    reqs = write("reqs.txt", f"delta @ {url} {packages.pip('delta-1.0')}\n")
    done, text = _everything_said(peep, reqs, tmp_path, check=None, report_optional=True)
    assert done.returncode in (1, 2), text
    assert "token=****" in text
    assert SECRET not in text, text
    peep.assert_nothing_installed()


@pytest.mark.parametrize(("installer", "query"), [("uv", f"?token={SECRET}"), ("pip", "")])
def test_what_the_installer_prints_hides_the_index_secrets(
    peep, venv, write, packages, index, tmp_path, installer, query
):
    # The installer builds gamma with setuptools from an index it cannot reach, and says so,
    # quoting its URL; what it prints reaches the user through peep. (pip refuses a query's
    # token for a build: test_a_query_token_never_reaches_the_build_pips_command_line.)
    unreachable = f"http://user:{SECRET}@127.0.0.1:9/simple/{query}"
    reqs = write(
        "reqs.txt",
        f"--index-url {unreachable}\n"
        f"gamma @ {index.url}/files/simple/gamma-1.0.tar.gz {packages.pip('gamma-1.0')}\n",
    )
    peep.env["PEEP_INSTALLER"] = installer
    _, text = _everything_said(peep, reqs, tmp_path, check=1, report_optional=True)
    # what the installer said of it, passed on through the redaction
    said = (
        "/setuptools/?token=****"
        if installer == "uv"
        else "Looking in indexes: http://127.0.0.1:9/"
    )
    assert said in text, text
    assert SECRET not in text, text
    peep.assert_nothing_installed()
