"""``peep port``: peep's format to pip's and back, with nothing lost on the way."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.hashes import Digest
from peep_setuptools.requirements.files import load_reqfiles
from peep_setuptools.requirements.lines import IncludeLine, collect_options, parse_reqfile
from peep_setuptools.requirements.porting import port_entries, requirement_spec
from peep_setuptools.requirements.spec import Location, ReqLine

HEX = hashlib.sha256(b"a").hexdigest()
HEX2 = hashlib.sha256(b"b").hexdigest()
HEX512 = hashlib.sha512(b"a").hexdigest()
B64 = Digest("sha256", HEX).b64
B64_2 = Digest("sha256", HEX2).b64
CWD = "/srv/project"


def parse(text: str, path: str = "reqs.txt") -> tuple[object, ...]:
    return parse_reqfile(text, path=path, cwd=CWD)


def port(text: str, to: str) -> str:
    return port_entries(parse(text), to=to)  # type: ignore[arg-type]


PEEP_FILE = f"""\
# Our pins.
-i https://pypi.example.com/simple/

# sha256: {B64}
# sha256: {B64_2}
Foo[bar]==1.0

# why bar
# sha256: {B64}
bar==2.0; python_version < "3.10"  # inline comments go
baz==3.0
"""

PIP_FILE = f"""\
# Our pins.
--index-url https://pypi.example.com/simple/

Foo[bar]==1.0 \\
    --hash=sha256:{HEX} \\
    --hash=sha256:{HEX2}

# why bar
bar==2.0; python_version < "3.10" --hash=sha256:{HEX}
baz==3.0
"""

BACK_TO_PEEP = f"""\
# Our pins.
--index-url https://pypi.example.com/simple/

# sha256: {B64}
# sha256: {B64_2}
Foo[bar]==1.0

# why bar
# sha256: {B64}
bar==2.0; python_version < "3.10"
baz==3.0
"""


def test_peep_to_pip() -> None:
    assert port(PEEP_FILE, "pip") == PIP_FILE


def test_pip_to_peep() -> None:
    assert port(PIP_FILE, "peep") == BACK_TO_PEEP


def test_url_requirements_become_name_at_url() -> None:
    text = (
        f"https://h/files/foo-1.0.tar.gz#egg=foo&sha256={HEX}\n"
        "./dist/Bar_Baz-2.0-py3-none-any.whl[x] ; os_name == 'posix'\n"
        "qux @ https://h/q-1.zip\n"
    )
    assert port(text, "pip") == (
        f"foo @ https://h/files/foo-1.0.tar.gz --hash=sha256:{HEX}\n"
        f'Bar_Baz[x] @ file://{CWD}/dist/Bar_Baz-2.0-py3-none-any.whl ; os_name == "posix"\n'
        "qux @ https://h/q-1.zip\n"
    )
    assert port(text, "peep") == (
        f"# sha256: {B64}\n"
        "foo @ https://h/files/foo-1.0.tar.gz\n"
        f'Bar_Baz[x] @ file://{CWD}/dist/Bar_Baz-2.0-py3-none-any.whl ; os_name == "posix"\n'
        "qux @ https://h/q-1.zip\n"
    )


def test_environment_references_are_not_written_out() -> None:
    text = "--index-url https://${TOKEN}@h/simple/\nhttps://${TOKEN}@h/foo-1.0.tar.gz\n"
    entries = parse_reqfile(text, path="r.txt", environ={"TOKEN": "s3cret"}, cwd=CWD)
    ported = port_entries(entries, to="pip")  # type: ignore[arg-type]
    assert "s3cret" not in ported
    assert ported == text


def test_only_sha256_has_a_peep_spelling() -> None:
    with pytest.raises(RequirementsFileError) as caught:
        port(f"a==1 --hash=sha256:{HEX}\n\nb==1 --hash=sha512:{HEX512}\n", "peep")
    assert str(caught.value) == (
        "reqs.txt:3: peep's format carries only sha256 hashes; keep this file in pip's format"
    )


def test_requirements_without_hashes_and_empty_input() -> None:
    assert port("a==1\n", "pip") == "a==1\n"
    assert port("a==1", "peep") == "a==1\n"
    assert port("", "pip") == ""
    assert port("\n", "peep") == "\n"


def test_include_lines_are_written_back() -> None:
    entries = [IncludeLine(Location("r.txt", 1), "more.txt")]
    assert port_entries(entries, to="pip") == "--requirement more.txt\n"


def test_options_keep_their_long_spelling() -> None:
    text = (
        "-f ./wheels\n--only-binary=:all:\n--no-index\n--trusted-host h\n--pre\n"
        "-i 'https://h/a b'\n"
    )
    assert port(text, "pip") == (
        "--find-links ./wheels\n--only-binary :all:\n--no-index\n--trusted-host h\n--pre\n"
        "--index-url 'https://h/a b'\n"
    )


def key(items: tuple[object, ...]) -> list[tuple[object, ...]]:
    return [
        (r.name, r.version, r.url, frozenset(r.digests), r.extras, str(r.marker))
        for r in items
        if isinstance(r, ReqLine)
    ]


@pytest.mark.parametrize("source", [PEEP_FILE, PIP_FILE, BACK_TO_PEEP])
@pytest.mark.parametrize("to", ["pip", "peep"])
def test_round_trip(source: str, to: str) -> None:
    first = parse(source)
    again = parse(port_entries(first, to=to), path="ported.txt")  # type: ignore[arg-type]
    assert key(again) == key(first)
    assert collect_options(again) == collect_options(first)
    assert {r.hash_style for r in again if isinstance(r, ReqLine) and r.digests} == {to}


def test_round_trip_through_files(tmp_path: Path) -> None:
    (tmp_path / "reqs.txt").write_text(f"-r more.txt\n# sha256: {B64}\na==1\n")
    (tmp_path / "more.txt").write_text(f"-f wheels\nb==2 --hash=sha256:{HEX2}\n")
    loaded = load_reqfiles(["reqs.txt"], environ={}, cwd=str(tmp_path))
    ported = port_entries(loaded.entries, to="pip")
    assert ported == (f"--find-links wheels\nb==2 --hash=sha256:{HEX2}\na==1 --hash=sha256:{HEX}\n")
    (tmp_path / "ported.txt").write_text(ported)
    again = load_reqfiles(["ported.txt"], environ={}, cwd=str(tmp_path))
    assert key(again.requirements) == key(loaded.requirements)
    assert again.options == loaded.options


def test_requirement_spec_of_named_line() -> None:
    (line,) = [r for r in parse("Foo ==1.0 ; os_name=='nt'") if isinstance(r, ReqLine)]
    assert requirement_spec(line) == "Foo ==1.0 ; os_name=='nt'"
