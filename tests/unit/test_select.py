"""choose_archive and parse_filename: pure table tests, no server."""

from __future__ import annotations

import pytest
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from peep_setuptools.archives import ArchiveName, InvalidArchiveName, Link, parse_filename
from peep_setuptools.hashes import Digest
from peep_setuptools.index.choose import choose_archive

TAGS = (
    Tag("cp311", "cp311", "manylinux_2_17_x86_64"),
    Tag("cp311", "abi3", "manylinux_2_17_x86_64"),
    Tag("cp311", "none", "any"),
    Tag("py3", "none", "any"),
)
PY = Version("3.11.4")
GOOD = Digest("sha256", "a" * 64)
OTHER = Digest("sha256", "b" * 64)


def link(filename, *, hashes=(), requires_python=None, yanked=False):
    return Link(
        url=f"https://files.example/{filename}",
        filename=filename,
        hashes=tuple(hashes),
        requires_python=requires_python,
        yanked=yanked,
        source="https://idx.example/simple/foo/",
    )


def select(links, *, version="1.0", allowed=(), only_binary=False, name="foo", tags=TAGS, py=PY):
    chosen = choose_archive(
        links,
        name=canonicalize_name(name),
        version=Version(version),
        tags=tags,
        python_version=py,
        allowed=allowed,
        only_binary=only_binary,
    ).link
    return chosen.filename if chosen else None


SDIST = "foo-1.0.tar.gz"
PURE = "foo-1.0-py3-none-any.whl"
CP311 = "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
ABI3 = "foo-1.0-cp311-abi3-manylinux_2_17_x86_64.whl"
WIN = "foo-1.0-cp311-cp311-win_amd64.whl"


@pytest.mark.parametrize(
    ("links", "kwargs", "expected"),
    [
        ([], {}, None),
        ([link(SDIST)], {}, SDIST),
        ([link(SDIST), link(PURE)], {}, PURE),
        ([link(PURE), link(ABI3), link(CP311)], {}, CP311),
        ([link(PURE), link(ABI3)], {}, ABI3),
        ([link(WIN)], {}, None),
        ([link(WIN), link(SDIST)], {}, SDIST),
        ([link(SDIST)], {"only_binary": True}, None),
        ([link(SDIST), link(PURE)], {"only_binary": True}, PURE),
        # exact version only, compared as versions
        ([link("foo-1.0.1.tar.gz"), link("foo-1.0.0.tar.gz")], {}, "foo-1.0.0.tar.gz"),
        ([link("foo-1.0rc1.tar.gz")], {}, None),
        ([link("foo-2.0-py3-none-any.whl")], {}, None),
        # names compared canonically; other projects ignored
        ([link("Foo_Bar-1.0.zip")], {"name": "foo-bar"}, "Foo_Bar-1.0.zip"),
        (
            [link("foo.bar-1.0-py3-none-any.whl")],
            {"name": "Foo_Bar"},
            "foo.bar-1.0-py3-none-any.whl",
        ),
        ([link("foobar-1.0.tar.gz")], {}, None),
        # every sdist suffix, and unparseable names ignored
        ([link("foo-1.0.tar.bz2")], {}, "foo-1.0.tar.bz2"),
        ([link("foo-1.0.tgz")], {}, "foo-1.0.tgz"),
        ([link("foo-1.0.tar.xz")], {}, "foo-1.0.tar.xz"),
        ([link("foo-1.0.tar")], {}, "foo-1.0.tar"),
        ([link("foo-1.0.zip")], {}, "foo-1.0.zip"),
        ([link("foo.tar.gz"), link("foo-1.0-bad.whl"), link("foo-notaversion.tar.gz")], {}, None),
        # requires-python
        ([link(PURE, requires_python=">=3.12"), link(SDIST)], {}, SDIST),
        ([link(PURE, requires_python=">=3.8,<4")], {}, PURE),
        ([link(PURE, requires_python="~=3.11.0")], {}, PURE),
        ([link(PURE, requires_python="not a specifier")], {}, PURE),
        ([link(PURE, requires_python="<3")], {}, None),
        ([link(PURE, requires_python="")], {}, PURE),
        # yanked loses to anything not yanked, but is taken if alone
        ([link(CP311, yanked=True), link(SDIST)], {}, SDIST),
        ([link(CP311, yanked=True)], {}, CP311),
        # an advertised hash among the allowed ones beats tag preference
        ([link(CP311, hashes=[OTHER]), link(PURE, hashes=[GOOD])], {"allowed": [GOOD]}, PURE),
        ([link(CP311, hashes=[OTHER]), link(SDIST, hashes=[GOOD])], {"allowed": [GOOD]}, SDIST),
        ([link(CP311, hashes=[OTHER]), link(PURE, hashes=[OTHER])], {"allowed": [GOOD]}, CP311),
        # ...but not yanked-ness
        ([link(PURE, hashes=[GOOD], yanked=True), link(SDIST)], {"allowed": [GOOD]}, SDIST),
        # tags in the caller's order
        ([link(CP311), link(PURE)], {"tags": (Tag("py3", "none", "any"), *TAGS)}, PURE),
        ([link(CP311)], {"tags": ()}, None),
    ],
)
def test_select_archive(links, kwargs, expected):
    assert select(links, **kwargs) == expected


def test_first_link_wins_a_tie():
    first = Link("https://a.example/" + SDIST, SDIST, source="a")
    second = Link("https://b.example/" + SDIST, SDIST, source="b")
    chosen = choose_archive(
        [first, second],
        name=canonicalize_name("foo"),
        version=Version("1.0"),
        tags=TAGS,
        python_version=PY,
        allowed=(),
        only_binary=False,
    ).link
    assert chosen is first


def test_multi_tag_wheel_uses_its_best_tag():
    multi = "foo-1.0-py2.py3-none-any.whl"
    assert select([link(ABI3), link(multi)], tags=(Tag("py3", "none", "any"), *TAGS)) == multi


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("foo-1.0.tar.gz", ("sdist", "foo", "foo", Version("1.0"), frozenset(), True)),
        (
            "Foo_Bar-2.0.post1.zip",
            ("sdist", "Foo_Bar", "foo-bar", Version("2.0.post1"), frozenset(), True),
        ),
        ("foo-bar-1.0.tar.gz", ("sdist", "foo-bar", "foo-bar", Version("1.0"), frozenset(), True)),
        ("FOO-1.0.TAR.GZ", ("sdist", "FOO", "foo", Version("1.0"), frozenset(), False)),
        ("foo-1.0.tar.bz2", ("sdist", "foo", "foo", Version("1.0"), frozenset(), False)),
        (
            "foo-1.0-py3-none-any.whl",
            ("wheel", "foo", "foo", Version("1.0"), frozenset({Tag("py3", "none", "any")}), True),
        ),
        ("foo-1.0.exe", None),
        ("foo.tar.gz", None),
        ("-1.0.tar.gz", None),
        ("foo-x.y.z.tar.gz", None),
        ("foo-1.0.whl", None),
        ("foo-1.0-py3-none-any.WHL", None),
    ],
)
def test_parse_filename(filename, expected):
    parsed = parse_filename(filename)
    if expected is None:
        assert parsed is None
        with pytest.raises(InvalidArchiveName):
            ArchiveName.parse(filename)
        return
    assert parsed is not None
    shown = (parsed.kind, parsed.project, parsed.name, parsed.version, parsed.tags)
    assert (*shown, parsed.is_standard) == expected
    assert parsed.filename == filename


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        (
            "foo-1.0.exe",
            "'foo-1.0.exe' ends neither in .whl nor in an sdist suffix "
            "(.tar.gz, .zip, .tar.bz2, .tgz, .tar.xz, .tar)",
        ),
        ("foo.tar.gz", "'foo.tar.gz' is not of the form name-version.tar.gz"),
        ("foo-x.y.tar.gz", "'x.y' in 'foo-x.y.tar.gz' is not a version"),
    ],
)
def test_archive_name_says_why_not(filename, message):
    with pytest.raises(InvalidArchiveName) as caught:
        ArchiveName.parse(filename)
    assert str(caught.value) == message


def test_the_tag_ranks_follow_the_tags_asked_with():
    """The ranks are remembered for one tags tuple; other tags (or a list) get their own."""
    links = [link(PURE), link(CP311)]
    assert select(links) == CP311
    assert select(links, tags=TAGS[::-1]) == PURE
    assert select(links, tags=list(TAGS)) == CP311
    assert select(links, tags=(TAGS[3],)) == PURE
    assert select(links) == CP311
