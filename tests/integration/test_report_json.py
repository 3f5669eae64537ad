"""--report FILE.json on install and check, validated against the published schema."""

from __future__ import annotations

import json
import os

import pytest
from support.builders import make_wheel
from support.jsonschema import validate

from peep_setuptools.installing.jsonreport import SCHEMA, SCHEMA_VERSION

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheels(publish, tmp_path_factory):
    root = tmp_path_factory.mktemp("f7report")
    app = make_wheel(root, "f7r-app", "1.0", requires_dist=["f7r-lib>=1"])
    lib = make_wheel(root, "f7r-lib", "1.0")
    return publish({"app": app, "lib": lib})


def test_validator_rejects_what_the_schema_forbids():
    assert validate({"version": SCHEMA_VERSION}) != []
    assert any("unexpected 'x'" in e for e in validate({"x": 1}))


def test_install_report_to_a_file(peep, venv, write, wheels, index, tmp_path):
    reqs = write(
        "reqs.txt",
        f"f7r-app==1.0 {wheels['app'].pip_option()}\n"
        f'f7r-lib==1.0 {wheels["lib"].pip_option()}\nf7r-x==1; python_version < "3"\n',
    )
    report = tmp_path / "report.json"
    peep.install(reqs, "-i", index.index_url, "--report", str(report), check=0)
    data = json.loads(report.read_text())
    assert validate(data) == [], validate(data)
    assert data["version"] == 1 and data["command"] == "install" and data["ok"] is True
    rows = {r["name"]: r for r in data["requirements"]}
    assert rows["f7r-app"]["sha256"] == wheels["app"].hex
    assert rows["f7r-app"]["action"] == "installed" and rows["f7r-app"]["source"] == "index"
    assert rows["f7r-app"]["size"] > 0 and rows["f7r-app"]["url"].startswith("http://127.0.0.1")
    assert rows["f7r-x"]["action"] == "not-applicable"
    assert data["missing_dependencies"] == []


def test_check_report_to_stdout_moves_messages_to_stderr(peep, write, wheels, index):
    reqs = write("reqs.txt", f"f7r-app==1.0 {wheels['app'].pip_option()}\n")
    done = peep("check", "-r", reqs, "-i", index.index_url, "--report", "-", check=1)
    data = json.loads(done.stdout)
    assert validate(data, SCHEMA) == []
    assert data["ok"] is False
    assert data["missing_dependencies"][0]["name"] == "f7r-lib"
    assert "f7r-lib>=1" in done.stderr


def test_failed_verification_still_writes_the_report(peep, venv, write, wheels, index):
    reqs = write("reqs.txt", f"f7r-app==1.0 {wheels['lib'].pip_option()}\n")
    done = peep.install(reqs, "-i", index.index_url, "--report", "-", check=1)
    data = json.loads(done.stdout)
    assert validate(data) == []
    assert data["ok"] is False
    assert data["requirements"][0]["verification"] == "mismatch"
    assert "DIDN'T MATCH" in done.stderr


def test_install_report_to_stdout_is_pure_json_with_the_installer_output_on_stderr(
    peep, venv, write, wheels, index
):
    reqs = write(
        "reqs.txt",
        f"f7r-app==1.0 {wheels['app'].pip_option()}\nf7r-lib==1.0 {wheels['lib'].pip_option()}\n",
    )
    done = peep.install(reqs, "-i", index.index_url, "--report", "-", check=0)
    data = json.loads(done.stdout)
    assert validate(data) == [] and data["ok"] is True
    assert "Successfully installed" in done.stderr


@pytest.mark.parametrize("command", ["install", "check"])
def test_a_report_that_cannot_be_written_stops_the_run_before_anything(
    peep, venv, write, wheels, index, tmp_path, command
):
    reqs = write(
        "reqs.txt",
        f"f7r-app==1.0 {wheels['app'].pip_option()}\nf7r-lib==1.0 {wheels['lib'].pip_option()}\n",
    )
    report = tmp_path / "no-such-folder" / "report.json"
    args = ("-i", index.index_url, "--report", str(report))
    done = (
        peep.install(reqs, *args, check=1)
        if command == "install"
        else peep("check", "-r", reqs, *args, check=1)
    )
    assert f"cannot write the report {report}: there is no folder" in done.stderr
    assert "nothing was done" in done.stderr
    if command == "install":
        peep.assert_nothing_installed("f7r-app", "f7r-lib")


@pytest.mark.parametrize("command", ["install", "check"])
def test_a_symlink_at_the_report_path_is_refused_before_anything(
    peep, venv, write, wheels, index, tmp_path, command
):
    # A dangling link passed the check (the path "did not exist") and failed after the
    # install; a link to a file elsewhere had the report written through it, over that file.
    reqs = write(
        "reqs.txt",
        f"f7r-app==1.0 {wheels['app'].pip_option()}\nf7r-lib==1.0 {wheels['lib'].pip_option()}\n",
    )
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me\n")
    for n, target in enumerate([tmp_path / "no-such-folder" / "r.json", elsewhere]):
        report = tmp_path / f"report{n}.json"
        report.symlink_to(target)
        args = ("-i", index.index_url, "--report", str(report))
        done = (
            peep.install(reqs, *args, check=1)
            if command == "install"
            else peep("check", "-r", reqs, *args, check=1)
        )
        assert (
            f"cannot write the report {report}: it is a symbolic link (give the path of "
            "the file itself); nothing was done"
        ) in done.stderr
        assert report.is_symlink() and elsewhere.read_text() == "keep me\n"
        if command == "install":
            peep.assert_nothing_installed("f7r-app", "f7r-lib")


def test_a_report_path_that_is_no_regular_file_is_refused(peep, write, wheels, index, tmp_path):
    # The report replaces the file in one rename: a FIFO (or a device) is refused, not
    # replaced or written into after the run.
    reqs = write("reqs.txt", f"f7r-lib==1.0 {wheels['lib'].pip_option()}\n")
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    done = peep("check", "-r", reqs, "-i", index.index_url, "--report", str(fifo), check=1)
    assert (
        f"cannot write the report {fifo}: it is no regular file (--report - writes to "
        "standard output); nothing was done"
    ) in done.stderr


def test_the_report_replaces_a_file_in_one_step(peep, write, wheels, index, tmp_path):
    reqs = write("reqs.txt", f"f7r-lib==1.0 {wheels['lib'].pip_option()}\n")
    report = tmp_path / "report.json"
    report.write_text("old")
    hardlink = tmp_path / "other-name.json"
    os.link(report, hardlink)  # written in place, the other name would change too
    peep("check", "-r", reqs, "-i", index.index_url, "--report", str(report), check=0)
    assert json.loads(report.read_text())["ok"] is True
    assert hardlink.read_text() == "old"
