"""Property tests: the requirements parser is total, and porting round-trips.

Bounded by default; ``HYPOTHESIS_PROFILE=fuzz`` runs many more examples.
"""

from __future__ import annotations

import hashlib
import os

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from peep_setuptools.errors import MalformedHashError, RequirementsFileError
from peep_setuptools.hashes import Digest
from peep_setuptools.requirements.lines import (
    Comment,
    IncludeLine,
    OptionLine,
    collect_options,
    parse_reqfile,
)
from peep_setuptools.requirements.porting import port_entries
from peep_setuptools.requirements.spec import ReqLine

settings.register_profile(
    "fuzz",
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "")
# Explicit per-test settings, so that other modules' profiles are left alone.
SETTINGS = (
    settings.get_profile("fuzz")
    if _PROFILE == "fuzz"
    else settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
)

ENVIRON = {"HOST": "example.com", "TOKEN": "s3cret", "EMPTY": ""}
CWD = "/nonexistent-peep-fuzz"
HEX = hashlib.sha256(b"a").hexdigest()
HEX2 = hashlib.sha256(b"b").hexdigest()
B64 = Digest("sha256", HEX).b64

VALID = f"""\
# a comment

# sha256: {B64}
alpha==1.0
beta[x,y]==2.0; python_version >= "3" --hash=sha256:{HEX2} \\
    --hash=sha512:{"c" * 128}  # trailing
https://${{HOST}}/files/gamma-1.0.tar.gz#egg=gamma&sha256={HEX}
delta @ https://example.com/delta-1.0-py3-none-any.whl ; sys_platform == "linux"
./dist/epsilon-1.0.zip --hash sha384:{"d" * 96}
-i https://example.com/simple/
--extra-index-url=https://mirror.example.com/simple
-f ./wheels
--only-binary :all:
--no-index
--trusted-host example.com
-r other.txt
zeta===abc
"""

FRAGMENTS = [
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "\\",
    "\\\n",
    "#",
    "# sha256: ",
    "#sha256:",
    B64,
    HEX,
    "alpha",
    "Beta_2",
    "==",
    "===",
    ">=",
    "1.0",
    "1.*",
    "[",
    "]",
    ",",
    ";",
    " ; ",
    "@",
    " @ ",
    "python_version",
    '"3.9"',
    "'",
    '"',
    "<",
    "-",
    "--",
    "-r",
    "-r ",
    "-c",
    "-e",
    "-i",
    "-f",
    "--hash",
    "--hash=",
    "sha256:",
    "sha512:",
    "md5:",
    "--index-url",
    "--find-links=",
    "--only-binary",
    ":all:",
    ":none:",
    "--no-index",
    "--pre",
    "--foo",
    "https://",
    "http://",
    "file://",
    "file:///",
    "git+https://",
    "ftp://",
    "/",
    "./",
    "../",
    ".tar.gz",
    ".whl",
    "-1.0-py3-none-any.whl",
    "pkg-1.0.tar.gz",
    "#egg=",
    "#sha256=",
    "&",
    "=",
    "${HOST}",
    "${NOPE}",
    "${",
    "}",
    "\x00",
    "\ufeff",
    "é",
    "[::1",
    "%",
    "?",
    ":",
    "C:\\",
    "~",
]

texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)), max_size=40).map("".join),
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """The valid file with a few random edits: deletions, insertions, line shuffles."""
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "swap", "duplicate"]))
        if kind in ("delete", "insert"):
            start = draw(st.integers(0, len(text)))
            if kind == "delete":
                text = text[:start] + text[start + draw(st.integers(1, 20)) :]
            else:
                piece = draw(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)))
                text = text[:start] + piece + text[start:]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if kind == "swap":
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(j, lines[i])
            text = "\n".join(lines)
    return text


def parse(text: str, path: str = "fuzz.txt") -> tuple[object, ...] | None:
    """Parse; None for a user error; any other exception fails the test."""
    try:
        return parse_reqfile(text, path=path, environ=ENVIRON, cwd=CWD)
    except (RequirementsFileError, MalformedHashError) as exc:
        message = str(exc)
        assert message.startswith(f"{path}:"), message
        assert "\n" not in message, message
        return None


def check_invariants(text: str, items: tuple[object, ...]) -> None:
    physical = max(1, text.count("\n") + text.count("\r") + 1)
    for item in items:
        assert isinstance(item, (ReqLine, Comment, OptionLine, IncludeLine))
        assert 1 <= item.location.line <= physical
        if isinstance(item, ReqLine):
            assert item.version is not None or item.url is not None
            assert item.url is None or item.url.split(":", 1)[0] in ("http", "https", "file")
            assert item.url is None or "#" not in item.url
            assert len(set(item.digests)) == len(item.digests)


def requirement_key(item: ReqLine) -> tuple[object, ...]:
    return (item.name, item.version, item.url, frozenset(item.digests), item.extras)


def check_round_trip(items: tuple[object, ...]) -> None:
    entries = [i for i in items if not isinstance(i, IncludeLine)]
    requirements = [requirement_key(i) for i in entries if isinstance(i, ReqLine)]
    for target in ("pip", "peep"):
        if target == "peep" and any(
            d.algorithm != "sha256" for i in entries if isinstance(i, ReqLine) for d in i.digests
        ):
            continue
        text = port_entries(entries, to=target)  # type: ignore[arg-type]
        again = parse_reqfile(text, path="ported.txt", environ=ENVIRON, cwd=CWD)
        assert [requirement_key(i) for i in again if isinstance(i, ReqLine)] == requirements
        assert collect_options(again) == collect_options(entries), text


@SETTINGS
@given(texts)
@example("foo==1.0 \\")
@example("# sha256: x\n")
@example("http://[::1/pkg-1.0.tar.gz")
@example("-r")
@example("--hash=sha256:" + HEX)
@example("a @ file://host/x.whl")
@example("a @ \x00.whl")
def test_arbitrary_text_only_raises_user_errors(text: str) -> None:
    items = parse(text)
    if items is not None:
        check_invariants(text, items)


@SETTINGS
@given(mutated())
@example(VALID.replace("delta @ https:", "delta @"))  # //host: another machine, refused
@example(VALID.replace("https://${HOST}", "https://$ {HOST}"))  # a blank in a URL, refused
def test_mutated_files_only_raise_user_errors(text: str) -> None:
    items = parse(text)
    if items is not None:
        check_invariants(text, items)
        check_round_trip(items)


@SETTINGS
@given(texts)
@example("¹-0-A-0-0.whl")  # a wheel filename whose name is no project name: refused
@example("0===0\\ ")  # written back without the blank, the backslash continues the line
@example("0===\\ ")
def test_whatever_parses_survives_porting(text: str) -> None:
    items = parse(text)
    if items is not None:
        check_round_trip(items)


def test_valid_file_parses() -> None:
    items = parse(VALID)
    assert items is not None
    assert sum(isinstance(i, ReqLine) for i in items) == 6
    check_round_trip(items)


names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}([._-][A-Za-z0-9]{1,4})?", fullmatch=True)
versions = st.from_regex(
    r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}((a|b|rc)[0-9])?(\.post[0-9])?", fullmatch=True
)
digests = st.one_of(
    st.binary(min_size=32, max_size=32).map(lambda raw: Digest("sha256", raw.hex())),
    st.binary(min_size=48, max_size=48).map(lambda raw: Digest("sha384", raw.hex())),
    st.binary(min_size=64, max_size=64).map(lambda raw: Digest("sha512", raw.hex())),
)


@st.composite
def requirement_files(draw: st.DrawFn) -> str:
    """Valid files of named and URL requirements in either format, with comments."""
    lines = []
    for name in draw(st.lists(names, max_size=6, unique_by=str.lower)):
        version = draw(versions)
        hashes = draw(st.lists(digests, max_size=3))
        if draw(st.booleans()):
            lines.append(
                "# "
                + draw(
                    st.text(
                        st.characters(
                            exclude_characters="\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
                        ),
                        max_size=10,
                    )
                )
            )
        spec = draw(
            st.sampled_from(
                [
                    f"{name}=={version}",
                    f"{name} @ https://example.com/{name}-{version}.tar.gz",
                    f"https://example.com/{name.replace('-', '_')}-{version}-py3-none-any.whl",
                ]
            )
        )
        # One requirement, one way: peep's lines above it, or pip's --hash options on it.
        as_peep = all(d.algorithm == "sha256" for d in hashes) and draw(st.booleans())
        peep = list(hashes) if as_peep else []
        pip = [] if as_peep else list(hashes)
        lines.extend(d.peep_line() for d in peep)
        lines.append(" ".join([spec, *(d.pip_option() for d in pip)]))
    return "\n".join(lines) + "\n"


@SETTINGS
@given(requirement_files())
def test_generated_files_round_trip(text: str) -> None:
    items = parse_reqfile(text, path="gen.txt", cwd=CWD)
    check_invariants(text, items)
    check_round_trip(items)


@SETTINGS
@given(digests)
def test_peep_and_pip_encodings_are_inverse(digest: Digest) -> None:
    assert Digest.from_hex(digest.algorithm, digest.hex) == digest
    if digest.algorithm == "sha256":
        assert Digest.from_peep(digest.b64) == digest
        assert Digest.from_peep(digest.peep_line().split(": ", 1)[1]) == digest
