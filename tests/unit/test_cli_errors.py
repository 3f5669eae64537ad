"""How the CLI turns outcomes into exit codes: a bug is the one case that shows a traceback."""

from __future__ import annotations

import pytest

from peep_setuptools import api
from peep_setuptools.cli import main as cli
from peep_setuptools.errors import EXIT_BUG, EXIT_INTERRUPTED


def _reqs(tmp_path):
    path = tmp_path / "reqs.txt"
    path.write_text("")
    return str(path)


def test_an_unexpected_exception_is_exit_3_with_the_hint_above_the_traceback(
    tmp_path, monkeypatch, capsys
):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug at http://user:s3cr3t@host/?token=s3cr3t")

    monkeypatch.setattr(api, "install", broken)
    assert cli.main(["install", "-r", _reqs(tmp_path)]) == EXIT_BUG
    err = capsys.readouterr().err
    hint, rest = err.split("\n", 1)
    assert hint.startswith("peep: this is a bug in peep-setuptools")
    assert rest.startswith("Traceback (most recent call last):")
    assert rest.rstrip().endswith("ZeroDivisionError: a bug at http://user:****@host/?token=****")


def test_ctrl_c_is_exit_130_without_a_traceback(tmp_path, monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "install", interrupted)
    assert cli.main(["install", "-r", _reqs(tmp_path)]) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err


def test_hash_of_a_missing_file_is_exit_1_naming_it(tmp_path, capsys):
    assert cli.main(["hash", str(tmp_path / "gone.whl")]) == 1
    assert "gone.whl" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["install"], ["nope"], ["install", "-r", "x", "--bogus"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        cli.main(argv)
    assert raised.value.code == 2
    assert "usage: peep" in capsys.readouterr().err
