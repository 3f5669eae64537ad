"""``setup.py peep_install`` options: the same as ``peep install``'s, in README's one table.

These run the command's option handling in-process on a real setuptools Distribution (no
venv, no network): what setup.cfg and the command line give becomes ``peep install``
arguments, parsed by the parser both front ends share and mapped onto one InstallOptions
(``frontend.options``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pytest
from setuptools.dist import Distribution
from setuptools.errors import OptionError

from peep_setuptools.cli import main as cli
from peep_setuptools.frontend.options import install_options, parse_install
from peep_setuptools.setuptools_command import ALIASES, OPTIONS, PeepInstall

README = Path(__file__).resolve().parents[2] / "README.rst"

#: `peep install` options the command leaves out, and why (README says so too)
NOT_IN_A_BUILD = {
    "--python": "the target is the Python that runs setup.py",
    "--quiet": "setuptools' own -q",
    "--verbose": "setuptools' own -v",
    "--write-hashes": "it edits the requirement files: run peep install --write-hashes",
    "--help": "setuptools' own --help",
}


def _install_parser() -> argparse.ArgumentParser:
    parser = cli._get_main_parser()
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices["install"]


def _cli_options() -> dict[str, argparse.Action]:
    """Each long option of ``peep install``, with its argparse action."""
    return {
        flag: action
        for action in _install_parser()._actions
        for flag in action.option_strings
        if flag.startswith("--")
    }


def test_every_install_option_is_a_peep_install_option_or_left_out_for_a_reason():
    cli_flags = set(_cli_options())
    ours = {option.flag for option in OPTIONS}
    assert ours <= cli_flags, f"not options of peep install: {ours - cli_flags}"
    forgotten = cli_flags - ours - set(NOT_IN_A_BUILD)
    assert not forgotten, (
        f"peep install has {sorted(forgotten)}: add them to setuptools_command.OPTIONS and "
        "README's table, or to NOT_IN_A_BUILD with the reason"
    )


def test_each_option_takes_a_value_exactly_when_the_cli_option_does():
    actions = _cli_options()
    for option in OPTIONS:
        action = actions[option.flag]
        assert (option.kind == "flag") == (action.nargs == 0), option.key
        # repeatable on the CLI: a list (comma- or newline-separated) in setup.cfg
        if isinstance(action, argparse._AppendAction):
            assert option.kind in ("texts", "paths", "locations"), option.key
        short = [s for s in action.option_strings if not s.startswith("--")]
        assert ([f"-{option.short}"] if option.short else []) == short, option.key


def _readme_table() -> list[tuple[str, str | None]]:
    """The (key, short option) of each row of README's [peep_install] table."""
    text = README.read_text(encoding="utf-8")
    section = text.split(".. peep-install-options-begin", 1)[1].split(
        ".. peep-install-options-end", 1
    )[0]
    rows = re.findall(r"^``([a-z_]+)``(?: / ``-([a-z])``)?", section, re.M)
    return [(key, short or None) for key, short in rows]


def test_readme_table_lists_exactly_the_options_in_order():
    assert _readme_table() == [(option.key, option.short) for option in OPTIONS]


def test_readme_names_what_is_left_out():
    text = README.read_text(encoding="utf-8")
    for flag in ("--python", "--write-hashes"):
        assert f"``{flag}``" in text


# -- in-process: setup.cfg and the command line, through a real Distribution ------------------


def _finalized(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cfg: dict[str, object] | None = None,
    command_line: dict[str, object] | None = None,
    files: tuple[str, ...] = ("requirements.txt",),
    verbose: int = 1,
) -> argparse.Namespace:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["setup.py"])
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    dist = Distribution({"name": "myapp", "cmdclass": {"peep_install": PeepInstall}})
    dist.verbose = verbose
    options = dist.get_option_dict("peep_install")
    for key, value in (cfg or {}).items():
        options[key] = ("setup.cfg", value)
    for key, value in (command_line or {}).items():
        options[key] = ("command line", value)
    command = dist.get_command_obj("peep_install")
    command.ensure_finalized()
    assert command.args is not None
    return command.args


def _same_as_cli(args: argparse.Namespace, *argv: str) -> None:
    """The command's parsed options give the InstallOptions ``peep install ARGV`` gives."""
    expected = parse_install(argv)
    assert vars(args) == vars(expected)
    assert install_options(args) == install_options(expected)
    # the same options as `peep install` itself parses
    assert vars(cli._get_main_parser().parse_args(["install", *argv])) == vars(expected)


def test_every_option_from_setup_cfg_means_what_it_means_to_peep_install(tmp_path, monkeypatch):
    cfg = {
        "requirement": "requirements.txt\nmore/reqs.txt",
        "index_url": "https://mirror.example/simple/",
        "extra_index_url": "https://a.example/simple/, https://b.example/simple/",
        "find_links": "wheels\nhttps://links.example/",
        "no_index": "true",
        "trusted_host": "a.example,b.example",
        "only_binary": ":all:",
        "cert": "ca.pem",
        "timeout": "7.5",
        "retries": "0",
        "dry_run": "yes",
        "force_reinstall": "on",
        "keep_mismatched": "quarantine",
        "installer": "uv",
        "cache_dir": "~/peep-cache",
        "compile": "1",
        "jobs": "3",
        "lock": "pylock.toml",
        "strict": "true",
        "build_requirements": "build.txt",
        "require_complete": "true",
        "verify_installed": "true",
        "report": "-",
    }
    # every option but the ones that exclude one another (no_cache, no_compile,
    # allow_incomplete)
    assert set(cfg) | {"no_cache", "no_compile", "allow_incomplete"} == {
        option.key for option in OPTIONS
    }
    args = _finalized(
        tmp_path, monkeypatch, cfg, files=("requirements.txt", "more/reqs.txt", "pylock.toml")
    )
    home = str(Path("~/peep-cache").expanduser())
    _same_as_cli(
        args,
        f"--requirement={tmp_path}/requirements.txt",
        f"--requirement={tmp_path}/more/reqs.txt",
        "--index-url=https://mirror.example/simple/",
        "--extra-index-url=https://a.example/simple/",
        "--extra-index-url=https://b.example/simple/",
        f"--find-links={tmp_path}/wheels",
        "--find-links=https://links.example/",
        "--no-index",
        "--trusted-host=a.example",
        "--trusted-host=b.example",
        "--only-binary=:all:",
        f"--cert={tmp_path}/ca.pem",
        "--timeout=7.5",
        "--retries=0",
        "--dry-run",
        "--force-reinstall",
        f"--keep-mismatched={tmp_path}/quarantine",
        "--installer=uv",
        f"--cache-dir={home}",
        "--compile",
        "--jobs=3",
        f"--lock={tmp_path}/pylock.toml",
        "--strict",
        f"--build-requirements={tmp_path}/build.txt",
        "--require-complete",
        "--verify-installed",
        "--report=-",
    )
    options = install_options(args)
    assert options.index.only_binary == frozenset({":all:"})
    assert (options.jobs, options.timeout, options.retries) == (3, 7.5, 0)


def test_the_other_flags_and_false_booleans(tmp_path, monkeypatch):
    args = _finalized(
        tmp_path,
        monkeypatch,
        {
            "no_cache": "1",
            "no_compile": "true",
            "no_index": "false",
            "strict": "off",
            "allow_incomplete": "true",
        },
    )
    _same_as_cli(
        args,
        f"--requirement={tmp_path}/requirements.txt",
        "--no-cache",
        "--no-compile",
        "--allow-incomplete",
    )


def test_dashes_and_the_keywords_plural_are_the_same_options(tmp_path, monkeypatch):
    assert ALIASES["index-url"] == "index_url"
    args = _finalized(
        tmp_path,
        monkeypatch,
        {
            "requirements": "reqs.txt",
            "index-url": "https://mirror.example/simple/",
            "no-index": "1",
        },
        files=("reqs.txt",),
    )
    _same_as_cli(
        args,
        f"--requirement={tmp_path}/reqs.txt",
        "--index-url=https://mirror.example/simple/",
        "--no-index",
    )


def test_the_command_line_wins_over_setup_cfg(tmp_path, monkeypatch):
    args = _finalized(
        tmp_path,
        monkeypatch,
        {"index-url": "https://cfg.example/simple/", "jobs": "2"},
        {"index_url": "https://cli.example/simple/", "no_index": 1},
    )
    assert (args.index_url, args.jobs, args.no_index) == ("https://cli.example/simple/", 2, True)


def test_setup_py_q_and_v_are_peep_installs(tmp_path, monkeypatch):
    assert _finalized(tmp_path, monkeypatch, verbose=0).quiet
    args = _finalized(tmp_path, monkeypatch, verbose=2)
    assert args.verbose and not args.quiet
    args = _finalized(tmp_path, monkeypatch)
    assert not args.verbose and not args.quiet


@pytest.mark.parametrize(
    ("cfg", "command_line", "message"),
    [
        (
            {"no_index": "maybe"},
            {},
            "peep_install: no_index in setup.cfg: 'maybe' is not a boolean; use true or false",
        ),
        (
            {"no-index": "maybe"},
            {},
            "peep_install: no-index in setup.cfg: 'maybe' is not a boolean",
        ),
        (
            {"timeout": "soon"},
            {},
            "peep_install: timeout in setup.cfg: argument --timeout: invalid float value: 'soon'",
        ),
        (
            {},
            {"jobs": "0"},
            "peep_install: --jobs on the command line: argument --jobs: must be at least 1, not 0",
        ),
        (
            {},
            {"installer": "conda"},
            "peep_install: --installer on the command line: argument --installer: invalid choice",
        ),
        (
            {"requirement": "requirements.txt", "requirements": "requirements.txt"},
            {},
            "peep_install: requirement in setup.cfg and requirements in setup.cfg are the same "
            "option; give one of them",
        ),
        (
            {"cache_dir": "cache", "no_cache": "true"},
            {},
            "peep_install: argument --no-cache: not allowed with argument --cache-dir",
        ),
    ],
)
def test_bad_options_name_the_option_and_where_it_was_given(
    tmp_path, monkeypatch, cfg, command_line, message
):
    with pytest.raises(OptionError) as raised:
        _finalized(tmp_path, monkeypatch, cfg, command_line)
    assert str(raised.value).startswith(message)
