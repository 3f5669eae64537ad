"""The requirements-file parser: every accepted form, every refusal with its full message."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement

from peep_setuptools.errors import (
    ConflictingRequirementsError,
    MalformedHashError,
    RequirementsFileError,
)
from peep_setuptools.hashes import Digest
from peep_setuptools.requirements.files import load_reqfiles, merge_requirements
from peep_setuptools.requirements.lines import (
    Comment,
    IncludeLine,
    IndexOptions,
    OptionLine,
    collect_options,
    parse_reqfile,
)
from peep_setuptools.requirements.spec import Location, ReqLine

HEX = hashlib.sha256(b"a").hexdigest()
HEX2 = hashlib.sha256(b"b").hexdigest()
HEX384 = hashlib.sha384(b"a").hexdigest()
HEX512 = hashlib.sha512(b"a").hexdigest()
D1 = Digest("sha256", HEX)
D2 = Digest("sha256", HEX2)
D384 = Digest("sha384", HEX384)
D512 = Digest("sha512", HEX512)
B64 = D1.b64
B64_2 = D2.b64
CWD = "/work/nowhere"


def parse(text: str, **kwargs: object) -> tuple[object, ...]:
    kwargs.setdefault("cwd", CWD)
    return parse_reqfile(text, path="reqs.txt", **kwargs)  # type: ignore[arg-type]


def reqs(text: str, **kwargs: object) -> list[ReqLine]:
    return [item for item in parse(text, **kwargs) if isinstance(item, ReqLine)]


def one(text: str, **kwargs: object) -> ReqLine:
    (req,) = reqs(text, **kwargs)
    return req


# --- accepted forms --------------------------------------------------------------------

# text -> (name, version, url, digests, hash_style)
ACCEPTED = [
    (f"# sha256: {B64}\nfoo==1.0\n", ("foo", "1.0", None, (D1,), "peep")),
    (f"# sha256: {B64}\n# sha256: {B64_2}\nfoo==1.0\n", ("foo", "1.0", None, (D1, D2), "peep")),
    (f"  #sha256:{B64}\nfoo==1.0\n", ("foo", "1.0", None, (D1,), "peep")),
    (
        f"# SHA256: {B64}  # peep's trailing comment\nfoo==1.0\n",
        ("foo", "1.0", None, (D1,), "peep"),
    ),
    (
        f"# sha256: {B64}\n\n# why\n# sha256: {B64_2}\nfoo==1.0",
        ("foo", "1.0", None, (D1, D2), "peep"),
    ),
    (f"foo==1.0 --hash=sha256:{HEX}", ("foo", "1.0", None, (D1,), "pip")),
    (f"foo==1.0 --hash sha256:{HEX}", ("foo", "1.0", None, (D1,), "pip")),
    (f"foo==1.0 --hash=sha256:{HEX.upper()}", ("foo", "1.0", None, (D1,), "pip")),
    (f"foo==1.0 --hash=sha384:{HEX384}", ("foo", "1.0", None, (D384,), "pip")),
    (f"foo==1.0 --hash=sha512:{HEX512}", ("foo", "1.0", None, (D512,), "pip")),
    (
        f"foo==1.0 \\\n    --hash=sha256:{HEX} \\\n    --hash=sha256:{HEX2}\n",
        ("foo", "1.0", None, (D1, D2), "pip"),
    ),
    (f"foo==1.0 \\\r\n  --hash=sha256:{HEX}\r\n", ("foo", "1.0", None, (D1,), "pip")),
    (f"foo==1.0 --hash=sha256:{HEX}  # why this pin", ("foo", "1.0", None, (D1,), "pip")),
    (f"foo==1.0 --hash=sha256:{HEX} --hash=sha256:{HEX}", ("foo", "1.0", None, (D1,), "pip")),
    ("foo==1.0", ("foo", "1.0", None, (), "peep")),
    ("Foo_Bar==1.0", ("foo-bar", "1.0", None, (), "peep")),
    ("foo===1.0-weird", ("foo", "1.0-weird", None, (), "peep")),
    ("foo == 1.0.post1", ("foo", "1.0.post1", None, (), "peep")),
    ("foo==1.0+local", ("foo", "1.0+local", None, (), "peep")),
    ('foo==1.0; python_version < "3.10"', ("foo", "1.0", None, (), "peep")),
    ("foo[bar,baz]==1.0", ("foo", "1.0", None, (), "peep")),
    (
        f"https://example.com/p/foo-1.0.tar.gz#egg=foo --hash=sha256:{HEX}",
        ("foo", "1.0", "https://example.com/p/foo-1.0.tar.gz", (D1,), "pip"),
    ),
    (
        "https://example.com/p/foo-1.0.tar.gz",
        ("foo", "1.0", "https://example.com/p/foo-1.0.tar.gz", (), "peep"),
    ),
    (
        "http://example.com/Foo_Bar-2.0-py3-none-any.whl",
        ("foo-bar", "2.0", "http://example.com/Foo_Bar-2.0-py3-none-any.whl", (), "peep"),
    ),
    (
        f"https://example.com/foo-1.0.zip#sha256={HEX}",
        ("foo", "1.0", "https://example.com/foo-1.0.zip", (D1,), "pip"),
    ),
    (
        "https://example.com/archive.tar.gz#egg=foo",
        ("foo", None, "https://example.com/archive.tar.gz", (), "peep"),
    ),
    (
        "foo @ https://example.com/foo-1.0.tar.bz2",
        ("foo", "1.0", "https://example.com/foo-1.0.tar.bz2", (), "peep"),
    ),
    (
        "foo @ https://example.com/bar-1.0.tgz",
        ("foo", None, "https://example.com/bar-1.0.tgz", (), "peep"),
    ),
    (
        'foo @ https://example.com/foo-1.0.tar.xz ; python_version >= "3"',
        ("foo", "1.0", "https://example.com/foo-1.0.tar.xz", (), "peep"),
    ),
    (
        'https://example.com/foo-1.0.tar ; python_version >= "3"',
        ("foo", "1.0", "https://example.com/foo-1.0.tar", (), "peep"),
    ),
    (
        "foo @ file:///srv/dist/foo-1.0-py3-none-any.whl",
        ("foo", "1.0", "file:///srv/dist/foo-1.0-py3-none-any.whl", (), "peep"),
    ),
    (
        "file:///srv/dist/foo-1.0.tar.gz",
        ("foo", "1.0", "file:///srv/dist/foo-1.0.tar.gz", (), "peep"),
    ),
    (
        "foo @ file:/srv/foo-1.0-py3-none-any.whl",
        ("foo", "1.0", "file:///srv/foo-1.0-py3-none-any.whl", (), "peep"),
    ),
    (
        "FILE://localhost/srv/foo-1.0.tar.gz",
        ("foo", "1.0", "file://localhost/srv/foo-1.0.tar.gz", (), "peep"),
    ),
    ("./dist/foo-1.0.tar.gz", ("foo", "1.0", f"file://{CWD}/dist/foo-1.0.tar.gz", (), "peep")),
    ("dist/foo-1.0.tar.gz", ("foo", "1.0", f"file://{CWD}/dist/foo-1.0.tar.gz", (), "peep")),
    ("foo-1.0.tar.gz", ("foo", "1.0", f"file://{CWD}/foo-1.0.tar.gz", (), "peep")),
    ("../foo-1.0.zip", ("foo", "1.0", "file:///work/foo-1.0.zip", (), "peep")),
    (
        "/abs/foo-1.0-py3-none-any.whl",
        ("foo", "1.0", "file:///abs/foo-1.0-py3-none-any.whl", (), "peep"),
    ),
    (
        "./my dist/foo-1.0.tar.gz",
        ("foo", "1.0", f"file://{CWD}/my%20dist/foo-1.0.tar.gz", (), "peep"),
    ),
    (
        "foo @ ./dist/foo-1.0.tar.gz",
        ("foo", "1.0", f"file://{CWD}/dist/foo-1.0.tar.gz", (), "peep"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), [case for case in ACCEPTED if case[1] is not None])
def test_accepted(text: str, expected: tuple[object, ...]) -> None:
    req = one(text)
    assert (req.name, req.version, req.url, req.digests, req.hash_style) == expected
    assert req.location == Location("reqs.txt", text.count("\n", 0, text.find(req.text[:3])) + 1)


def test_fields_of_a_named_requirement() -> None:
    req = one(
        '# why\nFoo[Bar,baz]==1.0 ; python_version < "3.10" '
        f"--hash=sha256:{HEX} --hash=sha256:{HEX2}"
    )
    assert req == ReqLine(
        location=Location("reqs.txt", 2),
        text='Foo[Bar,baz]==1.0 ; python_version < "3.10"',
        name="foo",  # type: ignore[arg-type]
        display_name="Foo",
        version="1.0",
        url=None,
        extras=("Bar", "baz"),
        marker=Marker('python_version < "3.10"'),
        digests=(D1, D2),
        hash_style="pip",
    )


def test_url_requirement_keeps_text_and_extras() -> None:
    req = one("./dist/foo-1.0.tar.gz[x] ; os_name == 'posix'")
    assert req.text == "./dist/foo-1.0.tar.gz[x] ; os_name == 'posix'"
    assert req.extras == ("x",)
    assert req.marker == Marker("os_name == 'posix'")
    assert req.display_name == "foo"
    req = one("https://h/x.tar.gz#egg=Foo[a,b]")
    assert (req.name, req.display_name, req.extras) == ("foo", "Foo", ("a", "b"))
    req = one("https://h/foo-1.0.tar.gz#anchor")
    assert req.url == "https://h/foo-1.0.tar.gz"


def test_hash_style_without_hashes_follows_the_file() -> None:
    assert [r.hash_style for r in reqs(f"a==1 --hash=sha256:{HEX}\nb==1\n")] == ["pip", "pip"]
    assert [r.hash_style for r in reqs(f"# sha256: {B64}\na==1\nb==1\n")] == ["peep", "peep"]
    assert [r.hash_style for r in reqs(f"b==1\nhttps://h/a-1.0.zip#sha256={HEX}\n")] == [
        "peep",
        "pip",
    ]


def test_both_formats_in_one_file_each_requirement_one_way() -> None:
    text = (
        f"# sha256: {B64}\n\n# why\n\nfoo==1.0\n# note: # sha256: is peep's\n"
        f"bar==1.0 --hash=sha256:{HEX2}\n# sha256: {B64_2}\nbaz==1.0\n"
    )
    assert [(r.name, r.digests, r.hash_style) for r in reqs(text)] == [
        ("foo", (D1,), "peep"),
        ("bar", (D2,), "pip"),
        ("baz", (D2,), "peep"),
    ]


def test_entries_keep_comments_and_options_in_order() -> None:
    text = f"# head\n\n# sha256: {B64}\n# note\nfoo==1.0  # inline\n-r other.txt\n-i https://x/simple/\n"
    assert parse(text) == (
        Comment(Location("reqs.txt", 1), "# head"),
        Comment(Location("reqs.txt", 2), ""),
        Comment(Location("reqs.txt", 4), "# note"),
        one(text),
        IncludeLine(Location("reqs.txt", 6), "other.txt"),
        OptionLine(
            Location("reqs.txt", 7),
            "--index-url https://x/simple/",
            "--index-url",
            "https://x/simple/",
        ),
    )
    assert one(text).location == Location("reqs.txt", 5)
    assert one(text).text == "foo==1.0"


def test_comment_ends_a_continuation_like_pip() -> None:
    items = parse("foo==1.0 \\\n# later\nbar==2.0 \\")
    assert [type(i).__name__ for i in items] == ["ReqLine", "Comment", "ReqLine"]
    assert [i.location.line for i in items] == [1, 2, 3]


def test_continuation_location_is_the_first_line() -> None:
    assert one(f"\n\nfoo==1.0 \\\n \\\n  --hash=sha256:{HEX}").location == Location("reqs.txt", 3)


OPTIONS = [
    ("-i https://x/simple/", "--index-url https://x/simple/", "https://x/simple/"),
    ("--index-url https://x/simple/", "--index-url https://x/simple/", "https://x/simple/"),
    ("--index-url=https://x/simple/", "--index-url https://x/simple/", "https://x/simple/"),
    ("-ihttps://x/simple/", "--index-url https://x/simple/", "https://x/simple/"),
    ("--extra-index-url https://y/", "--extra-index-url https://y/", "https://y/"),
    ("-f https://x/links/", "--find-links https://x/links/", "https://x/links/"),
    ("--find-links=wheels", "--find-links wheels", "/srv/reqs/wheels"),
    ("-f ../wheels", "--find-links ../wheels", "/srv/wheels"),
    ("-f /abs/wheels", "--find-links /abs/wheels", "/abs/wheels"),
    ("--no-index", "--no-index", None),
    ("--trusted-host x.example", "--trusted-host x.example", "x.example"),
    ("--only-binary :all:", "--only-binary :all:", ":all:"),
    ("--only-binary=Foo,bar", "--only-binary Foo,bar", "Foo,bar"),
    ("--require-hashes", "--require-hashes", None),
    ("--pre", "--pre", None),
    ("--prefer-binary", "--prefer-binary", None),
    ("--index-url 'https://x/a b'", "--index-url 'https://x/a b'", "https://x/a b"),
    ("--index-url ${IDX}", "--index-url ${IDX}", "https://secret@x/simple/"),
]


@pytest.mark.parametrize(("text", "normalised", "value"), OPTIONS)
def test_option_lines(text: str, normalised: str, value: str | None) -> None:
    (item,) = parse_reqfile(
        text, path="/srv/reqs/r.txt", environ={"IDX": "https://secret@x/simple/"}
    )
    assert isinstance(item, OptionLine)
    assert (item.location, item.text, item.value) == (
        Location("/srv/reqs/r.txt", 1),
        normalised,
        value,
    )
    assert item.option == normalised.split(" ")[0]


def test_several_options_on_one_line() -> None:
    items = parse("-i https://x/ --trusted-host x -r more.txt")
    assert [getattr(i, "text", None) for i in items] == [
        "--index-url https://x/",
        "--trusted-host x",
        None,
    ]
    assert items[2] == IncludeLine(Location("reqs.txt", 1), "more.txt")


@pytest.mark.parametrize(
    "text", ["-r other.txt", "--requirement other.txt", "--requirement=other.txt", "-rother.txt"]
)
def test_include_spellings(text: str) -> None:
    assert parse(text) == (IncludeLine(Location("reqs.txt", 1), "other.txt"),)


def test_relative_find_links_follow_a_relative_file_path() -> None:
    (item,) = parse_reqfile("-f wheels", path="sub/r.txt", cwd="/srv")
    assert isinstance(item, OptionLine)
    assert item.value == "/srv/sub/wheels"


def test_collect_options() -> None:
    items = parse(
        "-i https://a/\n--extra-index-url https://e/\n-f https://f/\n--only-binary foo\n"
        "-i https://b/\n--extra-index-url https://e/\n--only-binary Bar_Baz\n--no-index\n"
        "--trusted-host a\n--trusted-host a\n--pre\n"
    )
    assert collect_options(items) == IndexOptions(
        index_url="https://b/",
        extra_index_urls=("https://e/",),
        find_links=("https://f/",),
        no_index=True,
        trusted_hosts=("a",),
        only_binary=frozenset({"foo", "bar-baz"}),
    )
    cleared = parse("--only-binary :all:\n--only-binary :none:,foo\n")
    assert collect_options(cleared).only_binary == frozenset({"foo"})
    assert collect_options(parse("--only-binary :all:")).only_binary == frozenset({":all:"})
    base = IndexOptions(index_url="https://cli/")
    assert collect_options(parse("foo==1.0"), base) == base


ENV = {"HOST": "example.com", "V": "1.0", "lower": "no", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "url", "version"),
    [
        ("https://${HOST}/foo-${V}.tar.gz", "https://example.com/foo-1.0.tar.gz", "1.0"),
        ("foo==${V}", None, "1.0"),
        ("https://${UNSET}/foo-1.0.tar.gz", "https://${UNSET}/foo-1.0.tar.gz", "1.0"),
        # As pip: a variable set to "" is not expanded.
        ("https://h${EMPTY}/foo-1.0.tar.gz", "https://h${EMPTY}/foo-1.0.tar.gz", "1.0"),
        ("https://h/$HOST/foo-1.0.tar.gz", "https://h/$HOST/foo-1.0.tar.gz", "1.0"),
    ],
)
def test_environment_expansion(text: str, url: str | None, version: str) -> None:
    req = one(text, environ=ENV)
    assert (req.url, req.version, req.text) == (url, version, text)


def test_no_expansion_without_environ() -> None:
    assert one("https://${HOST}/foo-1.0.tar.gz").url == "https://${HOST}/foo-1.0.tar.gz"


def test_lowercase_variables_are_not_expanded() -> None:
    req = one("https://h/${lower}/foo-1.0.tar.gz", environ=ENV)
    assert req.url == "https://h/${lower}/foo-1.0.tar.gz"


def test_expanded_hash() -> None:
    assert one("foo==1.0 --hash=${H}", environ={"H": f"sha256:{HEX}"}).digests == (D1,)


# --- refusals ---------------------------------------------------------------------------


def packaging_message(text: str) -> str:
    """packaging's wording differs between releases; its first line is what we show."""
    with pytest.raises(InvalidRequirement) as caught:
        Requirement(text)
    return str(caught.value).splitlines()[0]


MD5 = hashlib.md5(b"a").hexdigest()
ARCHIVES = ".whl, .tar.gz, .zip, .tar.bz2, .tgz, .tar.xz, .tar"
BUILD = "build an archive (sdist or wheel) and pin it with its hashes"
REFUSED = [
    (
        "wombat>=2",
        "reqs.txt:1: 'wombat>=2' is not pinned; pin it with == so its hashes can be checked",
    ),
    (
        "\n\nwombat",
        "reqs.txt:3: 'wombat' is not pinned; pin it with == so its hashes can be checked",
    ),
    (
        "wombat==1.*",
        "reqs.txt:1: 'wombat==1.*' is not pinned; pin it with == so its hashes can be checked",
    ),
    (
        "wombat~=1.0",
        "reqs.txt:1: 'wombat~=1.0' is not pinned; pin it with == so its hashes can be checked",
    ),
    (
        "wombat==1.0,<2",
        "reqs.txt:1: 'wombat==1.0,<2' is not pinned; pin it with == so its hashes can be checked",
    ),
    (
        'wombat; python_version < "3"',
        """reqs.txt:1: 'wombat; python_version < "3"' is not pinned; """
        "pin it with == so its hashes can be checked",
    ),
    ("-e .", f"reqs.txt:1: editable requirements cannot be hash-checked; {BUILD}"),
    (
        "--editable=git+https://h/r",
        f"reqs.txt:1: editable requirements cannot be hash-checked; {BUILD}",
    ),
    (
        "-c constraints.txt",
        "reqs.txt:1: constraints files are not supported: pin every requirement with its hashes "
        "in a requirements file",
    ),
    (
        "--constraint=c.txt",
        "reqs.txt:1: constraints files are not supported: pin every requirement with its hashes "
        "in a requirements file",
    ),
    (
        "git+https://github.com/x/y@v1#egg=y",
        "reqs.txt:1: 'git+https://github.com/x/y@v1#egg=y' is a version-control requirement, "
        f"which cannot "
        f"be hash-checked; {BUILD}",
    ),
    (
        "y @ hg+https://h/y",
        f"reqs.txt:1: 'y @ hg+https://h/y' is a version-control requirement, which cannot "
        f"be hash-checked; {BUILD}",
    ),
    (
        "SVN+svn://h/y#egg=y",
        f"reqs.txt:1: 'SVN+svn://h/y#egg=y' is a version-control requirement, which cannot "
        f"be hash-checked; {BUILD}",
    ),
    (
        "bzr+lp:y#egg=y",
        f"reqs.txt:1: 'bzr+lp:y#egg=y' is a version-control requirement, which cannot "
        f"be hash-checked; {BUILD}",
    ),
    (
        "https://h/download?id=7#egg=foo",
        # the query's values are hidden: any may be a token
        f"reqs.txt:1: 'https://h/download?id=****#egg=foo' is not an archive ({ARCHIVES}); {BUILD}",
    ),
    ("./src/foo", f"reqs.txt:1: './src/foo' is not an archive ({ARCHIVES}); {BUILD}"),
    (
        "foo @ file:///",
        f"reqs.txt:1: 'foo @ file:///' is a directory, which cannot be hash-checked; {BUILD}",
    ),
    ("/", f"reqs.txt:1: '/' is a directory, which cannot be hash-checked; {BUILD}"),
    (
        "ftp://h/foo-1.0.tar.gz",
        "reqs.txt:1: 'ftp://h/foo-1.0.tar.gz': "
        "only http://, https:// and file:// URLs are supported",
    ),
    (
        "file://otherhost/foo-1.0.tar.gz",
        "reqs.txt:1: 'file://otherhost/foo-1.0.tar.gz': file:// URLs must name a local file",
    ),
    # hypothesis found these: Path.as_uri() wrote //host as file:////host, read back as
    # file://host; a //host path names another machine (pip: file://host, Windows: a share).
    (
        "delta @//example.com/x.whl",
        "reqs.txt:1: '//example.com/x.whl': paths must name a local file, not one on another host",
    ),
    (
        "//example.com/delta-1.0.tar.gz",
        "reqs.txt:1: '//example.com/delta-1.0.tar.gz': "
        "paths must name a local file, not one on another host",
    ),
    (
        "https://h/a b/foo-1.0.tar.gz",
        "reqs.txt:1: 'https://h/a b/foo-1.0.tar.gz' is not a valid URL: it contains whitespace; "
        "write it as %20",
    ),
    (
        "delta @ file:////example.com/x.whl",
        "reqs.txt:1: 'file:////example.com/x.whl': file:// URLs must name a local file",
    ),
    (
        "https://h/archive.tar.gz",
        "reqs.txt:1: cannot tell the project name from 'https://h/archive.tar.gz'; "
        "add #egg=NAME to the URL",
    ),
    (
        "./dist/archive.whl",
        "reqs.txt:1: cannot tell the project name from './dist/archive.whl'; "
        f"write it as 'NAME @ file://{CWD}/dist/archive.whl'",
    ),
    # fuzzing found it: a wheel filename whose name is no PEP 508 name (pip reads "¹==0")
    (
        "¹-0-A-0-0.whl",
        "reqs.txt:1: cannot tell the project name from '¹-0-A-0-0.whl'; "
        f"write it as 'NAME @ file://{CWD}/%C2%B9-0-A-0-0.whl'",
    ),
    (
        "https://h/²-1.0-py3-none-any.whl",
        "reqs.txt:1: cannot tell the project name from 'https://h/²-1.0-py3-none-any.whl'; "
        "add #egg=NAME to the URL",
    ),
    # fuzzing found it: written back without the blank, the backslash continues the line
    (
        "foo===1.0\\ --hash=sha256:" + "a" * 64,
        "reqs.txt:1: 'foo===1.0\\\\' ends in a backslash, which joins the next line to it once "
        "the blank after it is gone; remove the backslash",
    ),
    (
        "https://h/x.tar.gz#egg=foo==1.0",
        "reqs.txt:1: '#egg=foo==1.0' is not a project name; write #egg=NAME",
    ),
    (
        "http://[::1/foo-1.0.tar.gz",
        "reqs.txt:1: 'http://[::1/foo-1.0.tar.gz' is not a valid URL: Invalid IPv6 URL",
    ),
    # pip builds the project in that folder of the archive; peep hands over the archive
    (
        "https://h/foo-1.0.tar.gz#egg=foo&subdirectory=sub",
        "reqs.txt:1: 'https://h/foo-1.0.tar.gz#egg=foo&subdirectory=sub': #subdirectory= "
        f"cannot be installed from a hash-checked archive; {BUILD}",
    ),
    (
        "foo @ https://h/foo-1.0.tar.gz?a=1&subdirectory=sub",
        "reqs.txt:1: 'foo @ https://h/foo-1.0.tar.gz?a=****&subdirectory=sub': pip reads '&egg=', "
        "'&subdirectory=' and '&sha256=' before the '#' too; move them to the URL's fragment "
        "(after '#')",
    ),
    # urlsplit's own message quotes the netloc, password and all
    (
        "https://u:s3cret\uff03@h/foo-1.0.tar.gz",
        "reqs.txt:1: 'https://u:****@h/foo-1.0.tar.gz' is not a valid URL: its host part has "
        "a character that reads as '/', '?', '#', '@' or ':'",
    ),
    (
        "--index-url https://u:s3cret\uff0f@h/simple/",
        "reqs.txt:1: --index-url https://u:****@h/simple/: not a valid URL: its host part has "
        "a character that reads as '/', '?', '#', '@' or ':'",
    ),
    (
        "--find-links https://u:s3cret@h:99999/",
        "reqs.txt:1: --find-links https://u:****@h:99999/: not a valid URL: "
        "Port out of range 0-65535",
    ),
    (
        "foo bar",
        f"reqs.txt:1: 'foo bar' is not a valid requirement: {packaging_message('foo bar')}",
    ),
    (
        "foo==1.0; nonsense",
        "reqs.txt:1: 'foo==1.0; nonsense' is not a valid requirement: "
        + packaging_message("foo==1.0; nonsense"),
    ),
    (
        "./foo-1.0.tar.gz ; nonsense",
        "reqs.txt:1: './foo-1.0.tar.gz ; nonsense' has an invalid environment marker: "
        + packaging_message("x; nonsense"),
    ),
    ("--foo", "reqs.txt:1: unknown option --foo"),
    ("--no-binary :all:", "reqs.txt:1: unknown option --no-binary"),
    ("-x", "reqs.txt:1: unknown option -x"),
    ("-", "reqs.txt:1: unexpected '-'; write one requirement or option per line"),
    ("foo==1.0 --install-option=x", "reqs.txt:1: unknown option --install-option"),
    (
        "foo==1.0 -i https://x/",
        "reqs.txt:1: --index-url must be on a line of its own, not after a requirement",
    ),
    ("-i", "reqs.txt:1: --index-url needs a value"),
    ("--index-url=", "reqs.txt:1: --index-url needs a value"),
    ("--no-index=yes", "reqs.txt:1: --no-index takes no value"),
    (
        "-i https://x/ extra",
        "reqs.txt:1: unexpected 'extra'; write one requirement or option per line",
    ),
    (
        "-i 'https://x/",
        'reqs.txt:1: cannot read the options "-i \'https://x/": No closing quotation',
    ),
    (
        f"foo==1.0\n--hash=sha256:{HEX}",
        "reqs.txt:2: --hash must be on the same line as its requirement; "
        "join the lines with a backslash (\\)",
    ),
    (f"# sha256: {B64}\n", "reqs.txt:1: hash lines with no requirement below them"),
    (
        f"# sha256: {B64}\n\n# c\n-i https://x/\nfoo==1.0",
        "reqs.txt:1: hash lines with no requirement below them",
    ),
    (
        f"foo==1.0\n# sha256: {B64}\n# sha256: {B64_2}",
        "reqs.txt:2: hash lines with no requirement below them",
    ),
    (f"foo==1.0 \\\n# sha256: {B64}", "reqs.txt:2: hash lines with no requirement below them"),
    (
        f"# sha256: {B64}\n-r other.txt\nfoo==1.0",
        "reqs.txt:1: hash lines with no requirement below them",
    ),
    # A requirement pinned the pip way takes no hashes from comments (pip ignores them).
    *(
        (
            f"{above}foo==1.0 --hash=sha256:{HEX2}\n",
            f"reqs.txt:{line}: 'foo==1.0' has --hash options and '# sha256:' lines above it "
            f"(at reqs.txt:1): pip allows only the --hash values, peep would allow the "
            "comment's hashes too; write this requirement's hashes one way only",
        )
        for above, line in [
            (f"# sha256: {B64}\n", 2),
            (f"#   sha256: {B64}\n", 2),
            (f"# sha256: {B64}\n\n", 3),
            (f"# sha256: {B64}\n# pinned for CI\n\n", 4),
            (f"# sha256: {B64}\n# sha256: {B64_2}\n", 3),
        ]
    ),
    (
        f"# Our pins\n#\n#   sha256: {B64}\n\n\nfoo==1.0 \\\n    --hash=sha256:{HEX2}\n",
        "reqs.txt:6: 'foo==1.0' has --hash options and '# sha256:' lines above it "
        "(at reqs.txt:3): pip allows only the --hash values, peep would allow the "
        "comment's hashes too; write this requirement's hashes one way only",
    ),
    (
        f"bar==1.0 \\\n# sha256: {B64}\nfoo==1.0 --hash=sha256:{HEX2}\n",
        "reqs.txt:3: 'foo==1.0' has --hash options and '# sha256:' lines above it "
        "(at reqs.txt:2): pip allows only the --hash values, peep would allow the "
        "comment's hashes too; write this requirement's hashes one way only",
    ),
    (
        f"# sha256: {B64}\nhttps://h/foo-1.0.tar.gz#sha256={HEX2}\n",
        "reqs.txt:2: 'https://h/foo-1.0.tar.gz#sha256=" + HEX2 + "' has a hash in its URL and "
        "'# sha256:' lines above it (at reqs.txt:1): pip allows only the URL hash, peep "
        "would allow the comment's hashes too; write this requirement's hashes one way only",
    ),
    # pip splits lines at these too (str.splitlines): one file must not read two ways.
    *(
        (
            f"foo==1.0 --hash=sha256:{HEX}\n# c{char}bar==1.0\n",
            f"reqs.txt:2: U+{ord(char):04X} starts a new line for pip but not for peep; "
            "remove it (end lines with \\n)",
        )
        for char in "\v\f\x1c\x1d\x1e\x85\u2028\u2029"
    ),
    (
        f"foo==1.0 --hash=md5:{MD5}",
        "reqs.txt:1: md5 is too weak to pin an archive; use sha256 or stronger",
    ),
    (
        f"foo==1.0 --hash=sha1:{hashlib.sha1(b'a').hexdigest()}",
        "reqs.txt:1: sha1 is too weak to pin an archive; use sha256 or stronger",
    ),
    (
        "foo==1.0 --hash=whirlpool:abc",
        "reqs.txt:1: unknown hash algorithm 'whirlpool'; use sha256, sha384 or sha512",
    ),
    (
        f"https://h/foo-1.0.tar.gz#md5={MD5}",
        "reqs.txt:1: md5 is too weak to pin an archive; use sha256 or stronger",
    ),
    (
        f"foo==1.0 --hash={HEX}",
        f"reqs.txt:1: --hash={HEX} needs an algorithm: write --hash=sha256:HEX",
    ),
    ("foo==1.0 --hash", "reqs.txt:1: --hash needs a value"),
]


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(RequirementsFileError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


SHA = "recompute it with 'peep hash ARCHIVE'"
MALFORMED = [
    (
        "# sha256: tooshort\nfoo==1.0",
        f"reqs.txt:1: 'tooshort' is not a sha256 hash: "
        f"expected 43 urlsafe-base64 characters; {SHA}",
    ),
    (
        f"# sha256: {HEX}\nfoo==1.0",
        f"reqs.txt:1: '{HEX}' is not a sha256 hash: expected 43 urlsafe-base64 characters; {SHA}",
    ),
    (
        f"# sha256: {B64[:-1]}!\nfoo==1.0",
        f"reqs.txt:1: '{B64[:-1]}!' is not a sha256 hash: "
        f"expected 43 urlsafe-base64 characters; {SHA}",
    ),
    ("# sha256:\nfoo==1.0", "reqs.txt:1: '# sha256:' line with no hash after it"),
    (
        f"# sha256: {B64} {B64_2}\nfoo==1.0",
        f"reqs.txt:1: unexpected '{B64_2}' after the hash; "
        "write one '# sha256: HASH' line per hash",
    ),
    (
        "foo==1.0 --hash=sha256:abc",
        f"reqs.txt:1: 'abc' is not a sha256 hash: expected 64 hex digits; {SHA}",
    ),
    (
        f"foo==1.0 --hash=sha256:{HEX[:-1]}g",
        f"reqs.txt:1: '{HEX[:-1]}g' is not a sha256 hash: expected 64 hex digits; {SHA}",
    ),
    (
        f"\nfoo==1.0 \\\n  --hash=sha512:{HEX}",
        f"reqs.txt:2: '{HEX}' is not a sha512 hash: expected 128 hex digits; {SHA}",
    ),
    (
        "https://h/foo-1.0.tar.gz#sha256=nothex",
        f"reqs.txt:1: 'nothex' is not a sha256 hash: expected 64 hex digits; {SHA}",
    ),
]


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed_hash(text: str, message: str) -> None:
    with pytest.raises(MalformedHashError) as caught:
        parse(text)
    assert str(caught.value) == message
    assert caught.value.exit_code == 1
    assert not isinstance(caught.value, RequirementsFileError)


def test_local_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "proj-1.0.tar.gz").mkdir()
    for text in (
        "./proj-1.0.tar.gz",
        "proj-1.0.tar.gz",
        f"proj @ {(tmp_path / 'proj-1.0.tar.gz').as_uri()}",
    ):
        with pytest.raises(
            RequirementsFileError, match="is a directory, which cannot be hash-checked"
        ):
            parse(text, cwd=str(tmp_path))


# --- load_reqfiles ----------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path):
    def write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            # open(newline=) rather than write_text(newline=), which is Python 3.10+
            with path.open("w", encoding="utf-8", newline="") as f:
                f.write(text)
        return path

    return write


def load(tmp_path: Path, *paths: str, environ: dict[str, str] | None = None):
    return load_reqfiles(list(paths), environ=environ or {}, cwd=str(tmp_path))


def names(result: object) -> list[str]:
    return [r.name for r in result.requirements]  # type: ignore[attr-defined]


def test_includes_expand_in_place(tmp_path: Path, files) -> None:
    files("reqs.txt", "a==1\n-r sub/more.txt\nb==1\n")
    files("sub/more.txt", "-i https://x/simple/\nc==1\n-r ../last.txt\n-f wheels\n")
    files("last.txt", "d==1\n")
    result = load(tmp_path, "reqs.txt")
    assert names(result) == ["a", "c", "d", "b"]
    assert result.files == ("reqs.txt", "sub/more.txt", "last.txt")
    assert [str(r.location) for r in result.requirements] == [
        "reqs.txt:1",
        "sub/more.txt:2",
        "last.txt:1",
        "reqs.txt:3",
    ]
    assert result.options == IndexOptions(
        index_url="https://x/simple/", find_links=(str(tmp_path / "sub" / "wheels"),)
    )
    assert len(result.entries) == 6


def test_several_files_in_order_and_options_merged(tmp_path: Path, files) -> None:
    files("one.txt", "-i https://one/\n--extra-index-url https://e/\na==1\n")
    files("two.txt", "-i https://two/\n--extra-index-url https://e/\n--trusted-host t\nb==1\n")
    result = load(tmp_path, "one.txt", "two.txt", "one.txt")
    assert names(result) == ["a", "b"]
    assert result.files == ("one.txt", "two.txt")
    assert result.options == IndexOptions(
        index_url="https://two/", extra_index_urls=("https://e/",), trusted_hosts=("t",)
    )


def test_diamond_is_read_once(tmp_path: Path, files) -> None:
    files("top.txt", "-r left.txt\n-r right.txt\n")
    files("left.txt", "-r base.txt\nl==1\n")
    files("right.txt", "-r ./base.txt\nr==1\n")
    files("base.txt", "b==1\n")
    result = load(tmp_path, "top.txt")
    assert names(result) == ["b", "l", "r"]
    assert result.files == ("top.txt", "left.txt", "base.txt", "right.txt")


@pytest.mark.parametrize(
    ("layout", "message"),
    [
        (
            {"reqs.txt": "a==1\n-r reqs.txt\n"},
            "reqs.txt:2: including 'reqs.txt' again closes a cycle: reqs.txt -> reqs.txt",
        ),
        (
            {"reqs.txt": "-r b.txt\n", "b.txt": "\n-r c.txt\n", "c.txt": "-r b.txt\n"},
            "c.txt:1: including 'b.txt' again closes a cycle: b.txt -> c.txt -> b.txt",
        ),
        (
            {"reqs.txt": "-r sub/b.txt\n", "sub/b.txt": "-r ../reqs.txt\n"},
            "sub/b.txt:1: including 'reqs.txt' again closes a cycle: "
            "reqs.txt -> sub/b.txt -> reqs.txt",
        ),
    ],
)
def test_include_cycle(tmp_path: Path, files, layout: dict[str, str], message: str) -> None:
    for name, text in layout.items():
        files(name, text)
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == message


def test_missing_include(tmp_path: Path, files) -> None:
    files("reqs.txt", "a==1\n\n-r other.txt\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        "reqs.txt:3: cannot read included file 'other.txt': No such file or directory"
    )


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "nope.txt")
    assert str(caught.value) == (
        "cannot read requirements file 'nope.txt': No such file or directory"
    )


def test_directory(tmp_path: Path, files) -> None:
    (tmp_path / "adir").mkdir()
    files("reqs.txt", "-r adir\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "adir")
    assert str(caught.value) == "cannot read requirements file 'adir': it is a directory"
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == "reqs.txt:1: cannot read included file 'adir': it is a directory"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_fifo_is_refused_without_blocking(tmp_path: Path, files) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    files("reqs.txt", "-r pipe.txt\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "pipe.txt")
    assert str(caught.value) == "cannot read requirements file 'pipe.txt': it is not a regular file"
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        "reqs.txt:1: cannot read included file 'pipe.txt': it is not a regular file"
    )


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path: Path, files) -> None:
    path = files("reqs.txt", "a==1\n")
    path.chmod(0)
    try:
        with pytest.raises(RequirementsFileError) as caught:
            load(tmp_path, "reqs.txt")
    finally:
        path.chmod(0o644)
    assert str(caught.value) == "cannot read requirements file 'reqs.txt': Permission denied"


def test_non_utf8(tmp_path: Path, files) -> None:
    files("latin.txt", "# caf\xe9\n".encode("latin-1"))
    files("reqs.txt", "a==1\n-r latin.txt\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "latin.txt")
    assert str(caught.value) == (
        "cannot read requirements file 'latin.txt': line 1 is not UTF-8 text (byte 0xe9); "
        "save it as UTF-8"
    )
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        "reqs.txt:2: cannot read included file 'latin.txt': line 1 is not UTF-8 text "
        "(byte 0xe9); save it as UTF-8"
    )


def test_bom_and_crlf(tmp_path: Path, files) -> None:
    files(
        "reqs.txt",
        b"\xef\xbb\xbf# sha256: " + B64.encode() + b"\r\nfoo==1.0\r\nbar==2.0 \\\r\n"
        b"  --hash=sha256:" + HEX.encode() + b"\r\n# caf\xc3\xa9\r\n",
    )
    result = load(tmp_path, "reqs.txt")
    assert [(r.name, r.digests, r.location.line) for r in result.requirements] == [
        ("foo", (D1,), 2),
        ("bar", (D1,), 3),
    ]
    assert result.entries[-1] == Comment(Location("reqs.txt", 5), "# caf\xe9")


def test_environment_and_cwd(tmp_path: Path, files) -> None:
    files("reqs.txt", "-i ${IDX}\n-r ${MORE}\n./dist/foo-1.0.tar.gz\n")
    files("more.txt", "bar==${V}\n")
    result = load(tmp_path, "reqs.txt", environ={"IDX": "https://x/", "MORE": "more.txt", "V": "2"})
    assert result.options.index_url == "https://x/"
    assert [(r.name, r.version, r.url) for r in result.requirements] == [
        ("bar", "2", None),
        ("foo", "1.0", (tmp_path / "dist" / "foo-1.0.tar.gz").as_uri()),
    ]


def test_environ_defaults_to_os_environ(tmp_path: Path, files, monkeypatch) -> None:
    monkeypatch.setenv("PEEP_TEST_VERSION", "3.0")
    files("reqs.txt", "bar==${PEEP_TEST_VERSION}\n")
    result = load_reqfiles([str(tmp_path / "reqs.txt")])
    assert result.requirements[0].version == "3.0"
    assert result.files == (str(tmp_path / "reqs.txt"),)


@pytest.mark.parametrize("target", ["https://example.com/reqs.txt", "http://x/r.txt"])
def test_remote_include_is_refused(tmp_path: Path, files, target: str) -> None:
    files("reqs.txt", f"a==1\n-r {target}\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        f"reqs.txt:2: remote requirements files are not supported ({target!r}): "
        "download it, check it, and include the local copy"
    )


def test_file_url_include(tmp_path: Path, files) -> None:
    other = files("other.txt", "b==1\n")
    files("reqs.txt", f"-r {other.as_uri()}\n")
    assert names(load(tmp_path, "reqs.txt")) == ["b"]


def test_file_url_include_on_another_host_is_refused(tmp_path: Path, files) -> None:
    files("reqs.txt", "-r file://server/share/reqs.txt\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        "reqs.txt:1: 'file://server/share/reqs.txt': file:// URLs must name a local file"
    )


def test_include_of_a_path_on_another_host_is_refused(tmp_path: Path, files) -> None:
    files("reqs.txt", "-r //server/share/reqs.txt\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        "reqs.txt:1: '//server/share/reqs.txt': "
        "paths must name a local file, not one on another host"
    )


def test_error_in_included_file_names_it(tmp_path: Path, files) -> None:
    files("reqs.txt", "-r sub/more.txt\n")
    files("sub/more.txt", "\nwombat>=2\n")
    with pytest.raises(RequirementsFileError) as caught:
        load(tmp_path, "reqs.txt")
    assert str(caught.value) == (
        "sub/more.txt:2: 'wombat>=2' is not pinned; pin it with == so its hashes can be checked"
    )


# --- merge_requirements -----------------------------------------------------------------


def test_merge_intersects_and_unions() -> None:
    lines = reqs(
        f"a==1.0 --hash=sha256:{HEX} --hash=sha256:{HEX2}\n"
        "b==2\n"
        f"A[x]==1.0.0 --hash=sha256:{HEX2} --hash=sha512:{HEX512}\n"
        f"b[y]==2 --hash=sha256:{HEX}\n"
        "a[z]==1.0\n"
    )
    merged = merge_requirements(lines)
    assert [(m.name, m.location.line, m.digests, m.extras) for m in merged] == [
        ("a", 1, (D2,), ("x", "z")),
        ("b", 2, (D1,), ("y",)),
    ]


def test_merge_same_url() -> None:
    lines = reqs(f"https://h/a-1.0.zip\na @ https://h/a-1.0.zip --hash=sha256:{HEX}\n")
    (merged,) = merge_requirements(lines)
    assert (merged.location.line, merged.digests) == (1, (D1,))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "a==1.0\n\na==2.0\n",
            "reqs.txt:3: 'a==2.0' and 'a==1.0' at reqs.txt:1 pin a to different versions; "
            "keep one of them",
        ),
        (
            "a==1.0\nhttps://h/a-1.0.zip\n",
            "reqs.txt:2: 'https://h/a-1.0.zip' and 'a==1.0' at reqs.txt:1 ask for different "
            "archives of a; keep one of them",
        ),
        (
            "https://h/a-1.0.zip\nhttps://g/a-1.0.zip\n",
            "reqs.txt:2: 'https://g/a-1.0.zip' and 'https://h/a-1.0.zip' at reqs.txt:1 ask for "
            "different archives of a; keep one of them",
        ),
        (
            f"a==1.0 --hash=sha256:{HEX}\na==1.0 --hash=sha256:{HEX2}\n",
            "reqs.txt:2: these lines allow no common hash: 'a==1.0' here and 'a==1.0' at "
            "reqs.txt:1; give them the same hashes",
        ),
        (
            f"a==1.0 --hash=sha256:{HEX}\na==1.0 --hash=sha512:{HEX512}\n",
            "reqs.txt:2: these lines allow no common hash: 'a==1.0' here and 'a==1.0' at "
            "reqs.txt:1; give them the same hashes",
        ),
    ],
)
def test_merge_conflicts(text: str, message: str) -> None:
    with pytest.raises(ConflictingRequirementsError) as caught:
        merge_requirements(reqs(text))
    assert str(caught.value) == message
    assert caught.value.exit_code == 2
