"""PEP 751 lock files: validation messages name the key path; files are chosen by tags."""

from __future__ import annotations

import textwrap

import pytest
from packaging.tags import Tag
from packaging.version import Version

from peep_setuptools.errors import MalformedHashError, RequirementsFileError
from peep_setuptools.lock.names import is_lock_file
from peep_setuptools.lock.parse import parse_pylock
from peep_setuptools.lock.select import select_files

H1 = "a" * 64
H2 = "b" * 64
H512 = "c" * 128
HEAD = 'lock-version = "1.0"\ncreated-by = "tests"\n'
ENV = {
    "python_version": "3.11",
    "python_full_version": "3.11.4",
    "sys_platform": "linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "os_name": "posix",
    "platform_system": "Linux",
    "platform_release": "",
    "platform_version": "",
    "platform_python_implementation": "CPython",
    "implementation_version": "3.11.4",
}
TAGS = (Tag("cp311", "cp311", "manylinux_2_17_x86_64"), Tag("py3", "none", "any"))


def parse(body: str, head: str = HEAD):
    return parse_pylock(head + textwrap.dedent(body), path="pylock.toml", base_dir="/locks")


def select(lock, **kwargs):
    return select_files(lock, marker_env=ENV, tags=TAGS, python_version=Version("3.11.4"), **kwargs)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pylock.toml", True),
        ("dir/pylock.dev.toml", True),
        ("pylock.a.b.toml", False),
        ("pylock..toml", False),
        ("requirements.txt", False),
        ("mylock.toml", False),
    ],
)
def test_is_lock_file(name, expected):
    assert is_lock_file(name) is expected


GOOD = f"""
[[packages]]
name = "Alpha"
version = "1.0"
marker = "python_version >= '3.9'"
index = "https://example.org/simple/"
[[packages.wheels]]
url = "https://example.org/files/alpha-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
hashes = {{sha256 = "{H1}"}}
[[packages.wheels]]
url = "https://example.org/files/alpha-1.0-py3-none-any.whl"
hashes = {{sha256 = "{H2}", sha512 = "{H512}", md5 = "0123"}}
[packages.sdist]
path = "dist/alpha-1.0.tar.gz"
hashes = {{sha256 = "{H1}"}}

[[packages]]
name = "beta"
version = "2.0"
[packages.sdist]
url = "https://example.org/files/beta-2.0.tar.gz"
hashes = {{sha384 = "{"d" * 96}"}}

[[packages]]
name = "gamma"
marker = "sys_platform == 'win32'"
[[packages.wheels]]
url = "https://example.org/gamma-1.0-py3-none-win32.whl"
hashes = {{sha256 = "{H1}"}}

[[packages]]
name = "delta"
[packages.archive]
url = "https://example.org/archive/delta-snapshot.zip"
hashes = {{sha256 = "{H2}"}}
"""


def test_a_good_lock_parses_and_chooses_the_best_file_per_package():
    lock = parse(GOOD)
    assert [p.name for p in lock.packages] == ["alpha", "beta", "gamma", "delta"]
    alpha = lock.packages[0]
    assert alpha.sdist is not None and alpha.sdist.url == "file:///locks/dist/alpha-1.0.tar.gz"
    # the strongest accepted hash first; md5 is ignored
    assert [d.algorithm for d in alpha.wheels[1].digests] == ["sha512", "sha256"]
    chosen = select(lock)
    by_name = {r.name: r for r in chosen.requirements}
    assert by_name["alpha"].url.endswith("manylinux_2_17_x86_64.whl")
    assert by_name["alpha"].digests[0].hex == H1
    assert str(by_name["alpha"].location) == "pylock.toml: packages[0].wheels[0]"
    assert by_name["beta"].url.endswith("beta-2.0.tar.gz")
    assert by_name["beta"].digests[0].algorithm == "sha384"
    assert by_name["delta"].url.endswith("delta-snapshot.zip")
    assert [r.name for r in chosen.not_applicable] == ["gamma"]
    assert chosen.problems == ()


def test_only_binary_and_tags_without_a_fit_are_problems():
    lock = parse(GOOD)
    chosen = select(lock, only_binary=frozenset({"beta"}))
    assert [(r.name, m) for r, m in chosen.problems] == [
        ("beta", "beta has no wheel for this interpreter (--only-binary)")
    ]
    no_tags = select_files(lock, marker_env=ENV, tags=(), python_version=Version("3.11.4"))
    assert {r.name for r in no_tags.requirements} == {"alpha", "beta", "delta"}
    assert no_tags.requirements[0].url.endswith("alpha-1.0.tar.gz")


def test_the_py3_wheel_is_used_when_the_platform_wheel_does_not_fit():
    lock = parse(GOOD)
    chosen = select_files(lock, marker_env=ENV, tags=TAGS[1:], python_version=Version("3.11.4"))
    alpha = next(r for r in chosen.requirements if r.name == "alpha")
    assert alpha.url.endswith("py3-none-any.whl")
    assert alpha.digests[0].algorithm == "sha512"


def _wheel(name="alpha-1.0-py3-none-any.whl", hashes=f'{{sha256 = "{H1}"}}'):
    return f'[[packages.wheels]]\nurl = "https://x.org/{name}"\nhashes = {hashes}\n'


PKG = '[[packages]]\nname = "alpha"\nversion = "1.0"\n'


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "[[packages]]\n",
            "pylock.toml: packages[0].name: is required",
        ),
        (
            PKG,
            "pylock.toml: packages[0]: alpha has no source: give one of wheels, sdist, "
            "archive, vcs or directory",
        ),
        (
            PKG + '[packages.vcs]\ntype = "git"\nurl = "https://x.org/a.git"\n',
            "pylock.toml: packages[0].vcs: alpha: a version-control checkout cannot be "
            "hash-checked; lock an archive (sdist or wheel) with its hashes instead",
        ),
        (
            PKG + '[packages.directory]\npath = "."\n',
            "pylock.toml: packages[0].directory: alpha: a local directory cannot be "
            "hash-checked; lock an archive (sdist or wheel) with its hashes instead",
        ),
        (
            PKG
            + f'[packages.archive]\nurl = "https://x.org/a.zip"\nhashes = {{sha256 = "{H1}"}}\n'
            + _wheel(),
            "pylock.toml: packages[0]: alpha has archive and wheels; a package takes exactly "
            "one of vcs, directory or archive, or else sdist and/or wheels",
        ),
        (
            PKG + '[[packages.wheels]]\nurl = "https://x.org/alpha-1.0-py3-none-any.whl"\n',
            "pylock.toml: packages[0].wheels[0].hashes: is required: every file must be "
            "pinned by its hashes",
        ),
        (
            PKG + _wheel(hashes='{md5 = "00", sha1 = "11"}'),
            "pylock.toml: packages[0].wheels[0].hashes: has only md5, sha1 (too weak); "
            "give a sha256, sha384 or sha512 hash",
        ),
        (
            PKG + _wheel(hashes="{}"),
            "pylock.toml: packages[0].wheels[0].hashes: must be a table of "
            'algorithm = "hex digest", such as sha256 = "..."',
        ),
        (
            PKG + '[[packages.wheels]]\nhashes = {sha256 = "' + H1 + '"}\n',
            "pylock.toml: packages[0].wheels[0]: needs a url or a path",
        ),
        (
            PKG + _wheel(name="beta-1.0-py3-none-any.whl"),
            "pylock.toml: packages[0].wheels[0]: 'beta-1.0-py3-none-any.whl' is a file of "
            "beta, not of alpha",
        ),
        (
            PKG + _wheel(name="alpha-2.0-py3-none-any.whl"),
            "pylock.toml: packages[0].wheels[0]: 'alpha-2.0-py3-none-any.whl' is version "
            "2.0, but the package is 1.0",
        ),
        (
            PKG + _wheel(name="alpha.whl"),
            # the rest is packaging's own wording, which differs between its versions
            "pylock.toml: packages[0].wheels[0]: 'alpha.whl' is not a valid wheel file name: ...",
        ),
        (
            PKG + '[[packages.wheels]]\nurl = "ftp://x.org/alpha-1.0-py3-none-any.whl"\n'
            f'hashes = {{sha256 = "{H1}"}}\n',
            "pylock.toml: packages[0].wheels[0].url: 'ftp://x.org/alpha-1.0-py3-none-any.whl': "
            "only http://, https:// and file:// are supported",
        ),
        (
            # urlsplit's error quotes the netloc, password and all; it crashed the run (exit 3)
            PKG
            + '[[packages.wheels]]\nurl = "https://u:s3cret\uff03@x.org/alpha-1.0-py3-none-any.whl"\n'
            f'hashes = {{sha256 = "{H1}"}}\n',
            "pylock.toml: packages[0].wheels[0].url: 'https://u:****@x.org/alpha-1.0-py3-none-"
            "any.whl' is not a valid URL: its host part has a character that reads as '/', "
            "'?', '#', '@' or ':'",
        ),
        (
            '[[packages]]\nname = "alpha"\nversion = "1.0"\nindex = "https://x.org:99999/"\n'
            + _wheel(),
            "pylock.toml: packages[0].index: 'https://x.org:99999/' is not a valid URL: "
            "Port out of range 0-65535",
        ),
        (
            PKG + "wheels = []\n",
            "pylock.toml: packages[0].wheels: must be a non-empty array of tables",
        ),
        (
            '[[packages]]\nname = "alpha"\nversion = "1.0"\nmarker = "python_version >>"\n'
            + _wheel(),
            "pylock.toml: packages[0].marker: 'python_version >>' is not a valid environment "
            "marker: Expected a marker variable or quoted string",
        ),
        (
            '[[packages]]\nname = "alpha"\nversion = "x y"\n' + _wheel(),
            "pylock.toml: packages[0].version: 'x y' is not a valid version",
        ),
        (
            '[[packages]]\nname = "alpha"\nversion = "1.0\\n"\n' + _wheel(),
            "pylock.toml: packages[0].version: '1.0\\n' is not a valid version (spaces)",
        ),
        (
            PKG + _wheel().replace("hashes", "size = -1\nhashes"),
            "pylock.toml: packages[0].wheels[0].size: must be a non-negative integer",
        ),
        (
            PKG
            + '[packages.archive]\nurl = "https://x.org/a.zip"\nsubdirectory = "other"\n'
            + f'hashes = {{sha256 = "{H1}"}}\n',
            "pylock.toml: packages[0].archive.subdirectory: alpha: an archive's subdirectory "
            "cannot be installed as locked; lock an archive (sdist or wheel) of the project "
            "itself",
        ),
        (
            'packages = "no"\n',
            "pylock.toml: packages: must be an array of tables, not a string",
        ),
        (
            '[[packages]]\nname = "alpha\\nbeta"\n' + _wheel(),
            "pylock.toml: packages[0].name: 'alpha\\nbeta' is not a valid project name (ASCII "
            "letters, digits, '.', '_' and '-', starting and ending with a letter or digit)",
        ),
        (
            PKG + _wheel().replace("[[packages.wheels]]", '[[packages.wheels]]\nname = "a\\u0085"'),
            "pylock.toml: packages[0].wheels[0].name: 'a\\x85' is not a file name",
        ),
        (
            PKG + _wheel(name="alpha-1.0-py3-none-any.whl\\u2029"),
            "pylock.toml: packages[0].wheels[0].url: "
            "'https://x.org/alpha-1.0-py3-none-any.whl\\u2029' has a control character or "
            "line break",
        ),
    ],
)
def test_each_rule_names_its_key_path(body, message):
    with pytest.raises(RequirementsFileError) as caught:
        parse(body)
    if message.endswith("..."):
        assert str(caught.value).startswith(message[:-3])
    else:
        assert str(caught.value) == message


@pytest.mark.parametrize(
    ("head", "message"),
    [
        ('created-by = "x"\npackages = []\n', "pylock.toml: lock-version: is required"),
        ('lock-version = "1.0"\npackages = []\n', "pylock.toml: created-by: is required"),
        (
            'lock-version = "2.0"\ncreated-by = "x"\npackages = []\n',
            "pylock.toml: lock-version: '2.0' is not supported; this tool reads "
            "lock-version 1.x files",
        ),
        (
            'lock-version = 1.0\ncreated-by = "x"\npackages = []\n',
            "pylock.toml: lock-version: must be a string, not a number",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\n',
            "pylock.toml: packages: is required (write 'packages = []' for an empty lock)",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\nrequires-python = "three"\npackages = []\n',
            "pylock.toml: requires-python: 'three' is not a valid version specifier such as "
            "'>=3.9'",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\nenvironments = [1]\npackages = []\n',
            "pylock.toml: environments: must be an array of strings",
        ),
    ],
)
def test_top_level_rules(head, message):
    with pytest.raises(RequirementsFileError) as caught:
        parse_pylock(head, path="pylock.toml")
    assert str(caught.value) == message


def test_invalid_toml_names_the_file():
    with pytest.raises(RequirementsFileError, match=r"^pylock.toml: not valid TOML: "):
        parse_pylock("lock-version = ", path="pylock.toml")


def test_a_malformed_hash_names_its_key():
    with pytest.raises(MalformedHashError) as caught:
        parse(PKG + _wheel(hashes='{sha256 = "abc"}'))
    assert str(caught.value) == (
        "pylock.toml: packages[0].wheels[0].hashes.sha256: 'abc' is not a sha256 hash: "
        "expected 64 hex digits"
    )


def test_a_newer_minor_version_is_read_with_a_warning():
    lock = parse_pylock('lock-version = "1.3"\ncreated-by = "x"\npackages = []\n', path="p.toml")
    assert lock.warnings == ("p.toml: lock-version 1.3 is newer than 1.0; reading it as 1.0",)


def test_lock_level_requires_python_and_environments_must_fit():
    lock = parse_pylock(HEAD + 'requires-python = ">=3.12"\npackages = []\n', path="pylock.toml")
    with pytest.raises(RequirementsFileError, match=r"the lock is for Python >=3\.12"):
        select(lock)
    lock = parse_pylock(
        HEAD + "environments = [\"sys_platform == 'win32'\"]\npackages = []\n", path="pylock.toml"
    )
    with pytest.raises(RequirementsFileError, match="none of the locked environments"):
        select(lock)


def test_package_requires_python_is_a_problem_and_duplicates_an_error():
    lock = parse(PKG + 'requires-python = "<3"\n' + _wheel())
    chosen = select(lock)
    assert chosen.problems[0][1] == "alpha requires Python <3, and the target is Python 3.11.4"
    twice = parse(PKG + _wheel() + PKG + _wheel())
    with pytest.raises(RequirementsFileError, match=r"packages\[1\]: alpha is locked again"):
        select(twice)


def test_dependency_group_markers_use_the_default_groups():
    lock = parse(
        PKG + "marker = \"'dev' in dependency_groups\"\n" + _wheel(),
        head=HEAD + 'default-groups = ["dev"]\n',
    )
    assert [r.name for r in select(lock).requirements] == ["alpha"]
    assert [r.name for r in select(lock, groups=()).not_applicable] == ["alpha"]


def test_a_good_lock_has_no_warnings():
    assert parse(GOOD).warnings == ()


def test_a_package_key_written_below_a_wheels_header_is_a_warning():
    # the sdist line belongs to the wheel table in TOML, so the package has no sdist
    lock = parse(
        PKG
        + _wheel()
        + f'sdist = {{url = "https://x.org/alpha-1.0.tar.gz", hashes = {{sha256 = "{H2}"}}}}\n'
    )
    alpha = lock.packages[0]
    assert alpha.sdist is None
    assert [w.filename for w in alpha.wheels] == ["alpha-1.0-py3-none-any.whl"]
    assert lock.warnings == (
        "pylock.toml: packages[0].wheels[0].sdist: ignored: 'sdist' is a key of the package, "
        "not of a file (keys written below a [[packages.wheels]] header belong to that file; "
        "move them above it)",
    )


def _table(header, url):
    return f'{header}\nurl = "https://x.org/{url}"\nhashes = {{sha256 = "{H1}"}}\n'


@pytest.mark.parametrize(
    ("table", "misplaced", "keys"),
    [
        (
            _wheel(),
            'version = "1.0"\nmarker = "os_name == \'nt\'"\n',
            ["packages[0].wheels[0].version", "packages[0].wheels[0].marker"],
        ),
        (
            _table("[packages.sdist]", "alpha-1.0.tar.gz"),
            'requires-python = ">=3.9"\nwheels = []\n',
            ["packages[0].sdist.requires-python", "packages[0].sdist.wheels"],
        ),
        (
            _table("[packages.archive]", "a.zip"),
            'index = "https://x.org/simple/"\n',
            ["packages[0].archive.index"],
        ),
    ],
)
def test_each_misplaced_package_key_is_named_and_ignored(table, misplaced, keys):
    lock = parse('[[packages]]\nname = "alpha"\n' + table + misplaced)
    assert [w.split(": ")[1] for w in lock.warnings] == keys
    header = table.splitlines()[0]
    assert all(f"below a {header} header" in w for w in lock.warnings)
    # ignored: the package takes no version, marker or index from its file table
    package = lock.packages[0]
    assert package.version is None and package.marker is None and package.index is None
    assert package.requires_python is None
