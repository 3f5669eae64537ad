"""End to end: ``peep install`` against a misbehaving index keeps its promise.

For every fault: the exit code, one line naming the package and the (redacted) URL, no
traceback, nothing installed, no ``peep-*`` temp dir or unverified cache file left,
and no more requests than ``--retries`` allows.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from support.builders import write_wheel
from support.indexserver import Fault, IndexServer
from support.peeprun import files_under

from peep_setuptools.installing.report import MISMATCH_HEAD, NOT_PROCEEDING, PROBLEM_HEAD

pytestmark = pytest.mark.slow

ALPHA = "alpha-1.0-py3-none-any.whl"
FILE = f"/files/simple/{ALPHA}"
PAGE = "/simple/alpha/"


def install(peep, reqs, srv, *extra, check, retries=2, timeout=2.0):
    return peep.install(
        reqs,
        "-i",
        srv.index_url,
        "--timeout",
        str(timeout),
        "--retries",
        str(retries),
        *extra,
        check=check,
    )


def problem_line(done, reqs, *needles):
    """The report's one line for the failed requirement; it must contain every needle."""
    assert PROBLEM_HEAD in done.stdout, done.stdout
    assert done.stdout.rstrip().endswith(NOT_PROCEEDING)
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith(reqs)]
    assert len(lines) == 1, done.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert "nothing was installed" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    return lines[0]


def assert_refused(peep, packages, srv):
    peep.assert_nothing_installed("alpha")
    peep.assert_cache_clean([packages.sha256("alpha-1.0").hex])


# -- broken transfers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.close_mid_body(), "received "),
        (Fault.short_body(), "received 963 of 964 bytes"),
        (Fault.status(500), "HTTP 500 Internal Server Error"),
        (Fault.status(503), "HTTP 503 Service Unavailable"),
    ],
    ids=["mid-body-close", "short-body", "500", "503"],
)
def test_persistent_fault_fails_after_the_configured_retries(
    peep, reqs, srv, packages, fault, reason
):
    if fault.kind == "short_body":
        reason = reason.replace("964", str(packages["alpha-1.0"].stat().st_size))
        reason = reason.replace("963", str(packages["alpha-1.0"].stat().st_size - 1))
    srv.set_fault(FILE, fault)
    done = install(peep, reqs, srv, check=1, retries=2)
    problem_line(done, reqs, "alpha==1.0: could not fetch", srv.url + FILE, reason, "(2 retries)")
    assert len(srv.requests_to(FILE)) == 3
    assert_refused(peep, packages, srv)


@pytest.mark.parametrize(
    "fault",
    [Fault.close_mid_body(times=2), Fault.short_body(times=1), Fault.status(503, times=2)],
    ids=["mid-body-close", "short-body", "503"],
)
def test_transient_fault_is_retried_then_installs(peep, reqs, srv, fault):
    srv.set_fault(FILE, fault)
    install(peep, reqs, srv, check=0, retries=2)
    assert peep.installed()["alpha"] == "1.0"
    assert len(srv.requests_to(FILE)) == (fault.times or 0) + 1


def test_no_retries_means_one_request(peep, reqs, srv, packages):
    srv.set_fault(FILE, Fault.status(503))
    done = install(peep, reqs, srv, check=1, retries=0)
    problem_line(done, reqs, "HTTP 503")
    assert "HTTP 503 Service Unavailable\n" in done.stdout
    assert len(srv.requests_to(FILE)) == 1


def test_long_body_yields_the_announced_bytes_which_verify(peep, reqs, srv):
    srv.set_fault(FILE, Fault.long_body())
    install(peep, reqs, srv, check=0)
    assert peep.installed()["alpha"] == "1.0"


def test_stall_times_out_per_timeout_and_retries(peep, reqs, srv, packages):
    srv.set_fault(FILE, Fault.stall(10))
    start = time.monotonic()
    done = install(peep, reqs, srv, check=1, retries=1, timeout=0.5)
    elapsed = time.monotonic() - start
    problem_line(done, reqs, srv.url + FILE, "timed out after 0.5 s (1 retries)")
    assert len(srv.requests_to(FILE)) == 2
    assert elapsed < 8, elapsed
    assert_refused(peep, packages, srv)


def test_stall_on_the_index_page(peep, reqs, srv, packages):
    srv.set_fault(PAGE, Fault.stall(10))
    done = install(peep, reqs, srv, check=1, retries=1, timeout=0.5)
    problem_line(done, reqs, "alpha==1.0", srv.url + PAGE, "timed out")
    assert len(srv.requests_to(PAGE)) == 2
    assert srv.requests_to(FILE) == []
    assert_refused(peep, packages, srv)


def test_404_on_the_archive_is_not_retried(peep, reqs, srv, packages):
    srv.set_fault(FILE, Fault.status(404))
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, "alpha==1.0", srv.url + FILE, "HTTP 404 Not Found")
    assert len(srv.requests_to(FILE)) == 1
    assert_refused(peep, packages, srv)


def test_404_on_the_project_page_means_not_found(peep, reqs, srv, packages):
    srv.set_fault(PAGE, Fault.status(404))
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, f"alpha==1.0 not found on {srv.index_url}")
    assert len(srv.requests_to(PAGE)) == 1
    assert_refused(peep, packages, srv)


def test_html_error_page_with_200_fails_the_hash_check(peep, reqs, srv, packages):
    srv.set_fault(FILE, Fault.html_error_page_200())
    done = install(peep, reqs, srv, check=1)
    assert MISMATCH_HEAD in done.stdout
    assert f"({reqs}:1, {srv.url}{FILE})" in done.stdout
    assert_refused(peep, packages, srv)


def test_html_error_page_instead_of_the_index_page(peep, reqs, srv, packages):
    srv.set_fault(PAGE, Fault.html_error_page_200())
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, "alpha==1.0 not found on")
    assert srv.requests_to(FILE) == []
    assert_refused(peep, packages, srv)


def test_one_failure_installs_nothing_at_all(peep, write, srv, packages):
    reqs = write(
        "two.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('delta-1.0')}\n",
    )
    srv.set_fault("/files/simple/delta-1.0-py3-none-any.whl", Fault.close_mid_body())
    done = install(peep, reqs, srv, check=1, retries=1)
    problem_line(done, reqs + ":2", "delta==1.0")
    peep.assert_nothing_installed()


# -- redirects and links elsewhere ------------------------------------------------------------


@pytest.fixture
def elsewhere(packages, tmp_path):
    """A second index on another origin (``localhost`` and another port)."""
    with IndexServer(host="localhost") as server:
        server.add_file("alpha", packages["alpha-1.0"])
        evil = write_wheel(tmp_path / "evil", "alpha", "1.0", {"alpha/__init__.py": b"EVIL = 1\n"})
        server.add_file("alpha", evil, index="evil")
        yield server


def test_redirect_to_another_host_is_followed_and_verified(peep, reqs, srv, elsewhere):
    srv.set_fault(FILE, Fault.redirect(elsewhere.url + FILE))
    install(peep, reqs, srv, check=0)
    assert peep.installed()["alpha"] == "1.0"
    assert len(elsewhere.requests_to(FILE)) == 1


def test_redirect_to_other_bytes_is_a_mismatch(peep, reqs, srv, elsewhere, packages):
    srv.set_fault(FILE, Fault.redirect(f"{elsewhere.url}/files/evil/{ALPHA}"))
    done = install(peep, reqs, srv, check=1)
    assert MISMATCH_HEAD in done.stdout
    # The report names the URL asked for, not the redirect target.
    assert f"({reqs}:1, {srv.url}{FILE})" in done.stdout
    assert_refused(peep, packages, srv)


def test_links_outside_the_index_are_fetched_and_verified(peep, reqs, srv, elsewhere, packages):
    evil = f"{elsewhere.url}/files/evil/{ALPHA}"
    srv.set_page(PAGE, f'<a href="{evil}">{ALPHA}</a>'.encode())
    done = install(peep, reqs, srv, check=1)
    assert MISMATCH_HEAD in done.stdout and evil in done.stdout
    assert_refused(peep, packages, srv)


@pytest.mark.parametrize(
    "href",
    [
        f"..%2F..%2F..%2F{ALPHA}",
        f"%2Ftmp%2F{ALPHA}",
        f"x/..%5C..%5C{ALPHA}",
        "../../../../../../../../etc/passwd",
        f"file:///tmp/{ALPHA}",
        f"javascript:alert(1)//{ALPHA}",
        f".{ALPHA}",
        f"/..%2F..%2F{ALPHA}",
        f"{ALPHA}%00.txt",
    ],
)
def test_hostile_filenames_on_the_page_are_ignored(peep, reqs, srv, packages, tmp_path, href):
    before = files_under(tmp_path)
    srv.set_page(PAGE, f'<a href="{href}">x</a>'.encode())
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, "alpha==1.0 not found on")
    assert {r.path for r in srv.requests} == {PAGE}
    new = files_under(tmp_path) - before
    assert not [p for p in new if not p.startswith(("xdg-cache", "venv", "cache"))], new
    assert_refused(peep, packages, srv)


def test_dot_dot_in_a_link_path_only_changes_the_url(peep, reqs, srv, packages):
    # The name written to disk is the link's basename; the path may climb on the server.
    srv.set_page(PAGE, f'<a href="../../x/../files/simple/{ALPHA}">ok</a>'.encode())
    install(peep, reqs, srv, check=0)
    assert peep.installed()["alpha"] == "1.0"


def test_advertised_hash_that_differs_from_the_bytes_is_ignored(peep, reqs, packages, tmp_path):
    with IndexServer() as server:
        server.add_file("alpha", packages["alpha-1.0"], advertised_hash="sha256=" + "0" * 64)
        install(peep, reqs, server, check=0)
    assert peep.installed()["alpha"] == "1.0"


def test_advertised_hash_matching_the_pin_does_not_make_other_bytes_pass(
    peep, reqs, packages, tmp_path
):
    evil = write_wheel(tmp_path / "evil", "alpha", "1.0", {"alpha/__init__.py": b"EVIL = 1\n"})
    good = packages.sha256("alpha-1.0").hex
    with IndexServer() as server:
        server.add_file("alpha", evil, advertised_hash=f"sha256={good}")
        done = install(peep, reqs, server, check=1)
    assert MISMATCH_HEAD in done.stdout
    assert hashlib.sha256(evil.read_bytes()).hexdigest() in done.stdout
    assert_refused(peep, packages, server)


# -- hostile index pages ----------------------------------------------------------------------


def test_huge_index_page_is_refused_without_reading_it_all(peep, reqs, srv, packages):
    srv.set_page(PAGE, b" " * (50 * 1024 * 1024 + 1))
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, "alpha==1.0", srv.url + PAGE, "larger than 50 MB")
    assert_refused(peep, packages, srv)


def test_large_but_allowed_page_with_many_links_works(peep, reqs, srv, packages):
    decoys = "".join(f'<a href="alpha-0.{i}.tar.gz">d</a>\n' for i in range(20_000))
    real = f'<a href="../../files/simple/{ALPHA}">real</a>'
    srv.set_page(PAGE, (decoys + real).encode())
    install(peep, reqs, srv, check=0)
    assert peep.installed()["alpha"] == "1.0"


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"{not json", "application/vnd.pypi.simple.v1+json", "is not valid JSON"),
        (b"[1, 2]", "application/vnd.pypi.simple.v1+json", "not a PEP 691 JSON object"),
        (
            json.dumps({"meta": {"api-version": "2.0"}, "files": []}).encode(),
            "application/vnd.pypi.simple.v1+json",
            "unsupported simple API version",
        ),
        (b"[" * 100_000, "application/vnd.pypi.simple.v1+json", "is not valid JSON"),
        (b"\x00\xff binary", "application/octet-stream", "unexpected Content-Type"),
    ],
    ids=["syntax", "not-object", "version", "deep-nesting", "content-type"],
)
def test_malformed_json_page_is_a_clear_error(
    peep, reqs, srv, packages, body, content_type, reason
):
    srv.set_page(PAGE, body, content_type)
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, "alpha==1.0", srv.url + PAGE, reason)
    assert_refused(peep, packages, srv)


@pytest.mark.parametrize(
    "body",
    [
        b"<a href=",
        b"\xff\xfe\x00<<<a href='\x00'>",
        b"<html>" + b"<div>" * 50_000,
        b"<!-- never closed <a href='alpha-1.0-py3-none-any.whl'>",
        b"<a href='&#0;&#xffffffff;alpha-1.0-py3-none-any.whl'>",
    ],
    ids=["truncated", "binary", "deep", "comment", "bad-charref"],
)
def test_malformed_html_page_means_not_found(peep, reqs, srv, packages, body):
    srv.set_page(PAGE, body, "text/html")
    done = install(peep, reqs, srv, check=1)
    problem_line(done, reqs, "alpha==1.0 not found on")
    assert_refused(peep, packages, srv)


# -- what the file is called, and where a mismatching one goes --------------------------------


@pytest.mark.parametrize("name", ["../../x.whl", "/tmp/peep-abs-x.whl", "..\\..\\x.whl"])
def test_content_disposition_is_ignored(peep, reqs, srv, tmp_path, name):
    srv.set_fault(FILE, Fault.headers(("Content-Disposition", f'attachment; filename="{name}"')))
    before = files_under(tmp_path)
    install(peep, reqs, srv, check=0)
    assert peep.installed()["alpha"] == "1.0"
    new = files_under(tmp_path) - before
    assert not [p for p in new if "x.whl" in p], new
    assert not (tmp_path.parent / "x.whl").exists()


def test_mismatching_archive_is_not_left_for_a_later_run(peep, reqs, srv, packages, tmp_path):
    srv.set_fault(FILE, Fault.html_error_page_200())
    install(peep, reqs, srv, check=1)
    srv.set_fault(FILE, None)
    archives = [p for p in files_under(tmp_path) if p.endswith(".whl") and "venv" not in p]
    assert archives == []
    # With the index repaired, the next run fetches again and installs the real thing.
    srv.clear_requests()
    install(peep, reqs, srv, check=0)
    assert peep.installed()["alpha"] == "1.0"
    assert len(srv.requests_to(FILE)) == 1


def test_keep_mismatched_moves_the_archive_to_quarantine(peep, reqs, srv, packages, tmp_path):
    srv.set_fault(FILE, Fault.html_error_page_200())
    quarantine = tmp_path / "quarantine"
    done = install(peep, reqs, srv, "--keep-mismatched", str(quarantine), check=1)
    kept = sorted(p.name for p in quarantine.iterdir())
    assert len(kept) == 1, kept
    name = kept[0]
    assert name.startswith(ALPHA + ".sha256-") and name.endswith(".mismatched")
    content = (quarantine / name).read_bytes()
    assert b"Service unavailable" in content
    assert hashlib.sha256(content).hexdigest() in name
    assert str(quarantine / name) in done.stdout + done.stderr
    assert_refused(peep, packages, srv)


def test_keep_mismatched_leaves_good_archives_alone(peep, write, srv, packages, tmp_path):
    reqs = write(
        "two.txt",
        f"alpha==1.0 {packages.pip('alpha-1.0')}\ndelta==1.0 {packages.pip('alpha-1.0')}\n",
    )
    quarantine = tmp_path / "quarantine"
    install(peep, reqs, srv, "--keep-mismatched", str(quarantine), check=1)
    assert [p.name.split(".sha256-")[0] for p in quarantine.iterdir()] == [
        "delta-1.0-py3-none-any.whl"
    ]
    peep.assert_nothing_installed()
