"""The ``peep`` parser a run builds: only the subcommand it names, which parses as the whole."""

from __future__ import annotations

import argparse

import pytest

from peep_setuptools.cli import main as cli


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    found: argparse.ArgumentParser = subparsers.choices[name]
    return found


def _described(action: argparse.Action) -> dict[str, object]:
    return {k: v for k, v in vars(action).items() if k != "container"}


@pytest.mark.parametrize("name", cli.COMMANDS)
def test_a_subcommand_alone_is_the_same_parser_as_in_the_whole(name):
    alone = _subcommand(cli._get_main_parser(name), name)
    whole = _subcommand(cli._get_main_parser(), name)
    assert alone.prog == whole.prog == f"peep {name}"
    assert alone.format_help() == whole.format_help()
    assert alone.format_usage() == whole.format_usage()
    assert [_described(a) for a in alone._actions] == [_described(a) for a in whole._actions]


def test_only_the_named_subcommand_is_built():
    parser = cli._get_main_parser("install")
    (subparsers,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subparsers.choices) == ["install"]
    # and the whole parser lists every one, in --help's order
    whole = cli._get_main_parser()
    (subparsers,) = (a for a in whole._actions if isinstance(a, argparse._SubParsersAction))
    assert tuple(subparsers.choices) == cli.COMMANDS


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["install", "-r", "x"], "install"),
        (["verify", "-r", "x"], "verify"),
        (["upgrade"], "upgrade"),
        (["-h"], None),
        (["--version"], None),
        (["instal", "-r", "x"], None),
        (["--", "install"], None),
        ([], None),
    ],
)
def test_the_command_named_is_the_first_argument_if_it_is_one(argv, command):
    assert cli._command_named(argv) == command


@pytest.mark.parametrize(
    "argv",
    [
        ["install", "-r", "a.txt", "--installer", "uv", "-q", "--python", "/p/python"],
        ["hash", "--format", "pip", "x.whl"],
        ["port", "--to", "pylock", "-o", "out.toml", "in.txt"],
        ["check", "-r", "a.txt", "--fix", "--platform", "manylinux*"],
        ["add", "foo==1.0", "-r", "r.txt"],
        ["upgrade", "foo", "--dry-run"],
        ["verify", "-r", "a.txt", "-v"],
    ],
)
def test_a_run_parses_its_arguments_as_the_whole_parser_does(argv):
    alone = cli._get_main_parser(cli._command_named(argv)).parse_args(argv)
    assert vars(alone) == vars(cli._get_main_parser().parse_args(argv))


def test_an_unknown_command_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["instal", "-r", "x"])
    err = capsys.readouterr().err
    assert all(repr(name) in err for name in cli.COMMANDS), err
