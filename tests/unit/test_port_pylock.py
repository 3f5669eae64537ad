"""``peep port --to pylock`` and back: the TOML writer, the index lookup, round trips (pure)."""

from __future__ import annotations

import hashlib
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from peep_setuptools.archives import Link
from peep_setuptools.errors import IndexLookupError, RequirementsFileError
from peep_setuptools.hashes import Digest
from peep_setuptools.lock.parse import parse_pylock
from peep_setuptools.lock.toreqs import port_lock
from peep_setuptools.lock.write import (
    PinnedFile,
    PinnedPackage,
    pin_requirements,
    render_pylock,
    toml_key,
    toml_string,
    toml_value,
)
from peep_setuptools.requirements.lines import parse_reqfile
from peep_setuptools.requirements.spec import ReqLine

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the dev venv is 3.11
    tomllib = pytest.importorskip("tomli")

INDEX = "https://pypi.example/simple/"
CWD = "/srv/project"


def sha(data: str, algorithm: str = "sha256") -> Digest:
    return Digest(algorithm, hashlib.new(algorithm, data.encode()).hexdigest())  # type: ignore[arg-type]


A_WHL = sha("alpha wheel")
A_WIN = sha("alpha win wheel")
A_SDIST = sha("alpha sdist")
B_WHL = sha("beta wheel")
B_512 = sha("beta wheel", "sha512")


def link(project: str, filename: str, *hashes: Digest, **kwargs: object) -> Link:
    base = f"https://user:pw@pypi.example/simple/{project}/"
    return Link(
        url=f"https://user:pw@files.example/{filename}",
        filename=filename,
        hashes=hashes,
        source=base,
        **kwargs,  # type: ignore[arg-type]
    )


LINKS = {
    "alpha": [
        link("alpha", "alpha-2.0-py3-none-any.whl", sha("decoy")),
        link("alpha", "alpha-1.0-py3-none-any.whl", A_WHL, requires_python=">=3.8"),
        link("alpha", "alpha-1.0-cp311-cp311-win_amd64.whl", A_WIN, requires_python=">=3.8"),
        link("alpha", "alpha-1.0.tar.gz", A_SDIST, requires_python=">=3.8"),
        link("alpha", "alpha-1.0-py2-none-any.whl", sha("not allowed")),
    ],
    "beta": [link("beta", "beta-1.0-py3-none-any.whl")],  # no advertised hash
}
CONTENT = {"beta-1.0-py3-none-any.whl": "beta wheel"}


class FakeIndex:
    """Links by project; "downloads" hash a known content and are recorded."""

    def __init__(self) -> None:
        self.downloads: list[tuple[str, tuple[str, ...]]] = []

    def find(self, project: str) -> list[Link]:
        return LINKS.get(project, [])

    def hash_link(self, link: Link, algorithms):
        self.downloads.append((link.filename, tuple(algorithms)))
        data = CONTENT[link.filename]
        return {a: sha(data, a) for a in algorithms}, len(data)


def reqs(text: str) -> list[ReqLine]:
    entries = parse_reqfile(textwrap.dedent(text), path="reqs.txt", cwd=CWD)
    return [e for e in entries if isinstance(e, ReqLine)]


def pin(text: str, fake: FakeIndex | None = None, lock_dir: str | None = "/srv/project"):
    fake = fake or FakeIndex()
    return pin_requirements(
        reqs(text),
        find=fake.find,
        hash_link=fake.hash_link,
        index_urls=["https://user:pw@pypi.example/simple/"],
        where="https://user:****@pypi.example/simple/",
        lock_dir=lock_dir,
    )


# -- the TOML writer ---------------------------------------------------------------------------


@given(st.text())
def test_any_string_reads_back(text):
    assert tomllib.loads(f"k = {toml_string(text)}\n") == {"k": text}


@given(st.text(min_size=1))
def test_any_key_reads_back(key):
    assert tomllib.loads(f"{toml_key(key)} = 1\n") == {key: 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", '"plain"'),
        ('a "q" \\ b', '"a \\"q\\" \\\\ b"'),
        ("tab\tnl\ncr\r", '"tab\\tnl\\ncr\\r"'),
        ("\x00\x1f\x7f", '"\\u0000\\u001F\\u007F"'),
        ("é ☃", '"é ☃"'),
    ],
)
def test_string_escapes(text, expected):
    assert toml_string(text) == expected


def test_values_and_inline_tables():
    value = {"name": "x", "size": 3, "ok": True, "list": ["a", 1], "a b": {}}
    assert toml_value(value) == '{name = "x", size = 3, ok = true, list = ["a", 1], "a b" = {}}'
    assert tomllib.loads(f"v = {toml_value(value)}")["v"] == value


def test_render_pylock_exact_text():
    package = PinnedPackage(
        name="Alpha",
        version="1.0",
        marker='python_version >= "3.9"',
        requires_python=">=3.8",
        index=INDEX,
        files=(
            PinnedFile("wheel", "alpha-1.0-py3-none-any.whl", "https://f/a.whl", None, (A_WHL,)),
            PinnedFile("sdist", "alpha-1.0.tar.gz", None, "dist/alpha-1.0.tar.gz", (A_SDIST,), 7),
        ),
    )
    archive = PinnedPackage(
        "odd",
        None,
        None,
        None,
        None,
        (PinnedFile("archive", "o.tar.bz2", "https://f/o.tar.bz2", None, (B_WHL, B_512)),),
    )
    assert render_pylock([package, archive], requires_python=">=3.9") == (
        'lock-version = "1.0"\n'
        'created-by = "peep-setuptools"\n'
        'requires-python = ">=3.9"\n'
        "\n"
        "[[packages]]\n"
        'name = "Alpha"\n'
        'version = "1.0"\n'
        'marker = "python_version >= \\"3.9\\""\n'
        'requires-python = ">=3.8"\n'
        f'index = "{INDEX}"\n'
        "wheels = [\n"
        '    {name = "alpha-1.0-py3-none-any.whl", url = "https://f/a.whl", '
        f'hashes = {{sha256 = "{A_WHL.hex}"}}}},\n'
        "]\n"
        'sdist = {name = "alpha-1.0.tar.gz", path = "dist/alpha-1.0.tar.gz", size = 7, '
        f'hashes = {{sha256 = "{A_SDIST.hex}"}}}}\n'
        "\n"
        "[[packages]]\n"
        'name = "odd"\n'
        'archive = {url = "https://f/o.tar.bz2", '
        f'hashes = {{sha256 = "{B_WHL.hex}", sha512 = "{B_512.hex}"}}}}\n'
    )


def test_an_empty_lock_is_valid():
    text = render_pylock([])
    lock = parse_pylock(text, path="pylock.toml")
    assert lock.packages == ()
    assert lock.created_by == "peep-setuptools"


# -- the index lookup --------------------------------------------------------------------------


def test_every_allowed_file_of_the_version_is_locked():
    fake = FakeIndex()
    (package,) = pin(
        f"""\
        alpha==1.0 ; python_version >= "3.9" \\
            --hash=sha256:{A_SDIST.hex} --hash=sha256:{A_WHL.hex} --hash=sha256:{A_WIN.hex}
        """,
        fake,
    )
    assert fake.downloads == []  # the advertised hashes said enough
    assert package == PinnedPackage(
        name="alpha",
        version="1.0",
        marker='python_version >= "3.9"',
        requires_python=">=3.8",
        index="https://pypi.example/simple/",  # credentials never written
        files=(
            PinnedFile(
                "wheel",
                "alpha-1.0-py3-none-any.whl",
                "https://files.example/alpha-1.0-py3-none-any.whl",
                None,
                (A_WHL,),
            ),
            PinnedFile(
                "wheel",
                "alpha-1.0-cp311-cp311-win_amd64.whl",
                "https://files.example/alpha-1.0-cp311-cp311-win_amd64.whl",
                None,
                (A_WIN,),
            ),
            PinnedFile(
                "sdist",
                "alpha-1.0.tar.gz",
                "https://files.example/alpha-1.0.tar.gz",
                None,
                (A_SDIST,),
            ),
        ),
    )


def test_a_file_without_an_advertised_hash_is_downloaded_and_hashed():
    fake = FakeIndex()
    (package,) = pin(f"beta==1.0 --hash=sha256:{B_WHL.hex} --hash=sha512:{B_512.hex}\n", fake)
    assert fake.downloads == [("beta-1.0-py3-none-any.whl", ("sha256", "sha512"))]
    assert package.files[0].digests == (B_WHL, B_512)
    assert package.files[0].size == len("beta wheel")


def test_an_allowed_hash_of_another_algorithm_than_advertised_downloads_the_file():
    fake = FakeIndex()
    LINKS["gamma"] = [link("gamma", "gamma-1.0-py3-none-any.whl", sha("gamma"))]
    CONTENT["gamma-1.0-py3-none-any.whl"] = "gamma"
    try:
        (package,) = pin(f"gamma==1.0 --hash=sha512:{sha('gamma', 'sha512').hex}\n", fake)
    finally:
        del LINKS["gamma"]
    assert fake.downloads == [("gamma-1.0-py3-none-any.whl", ("sha512",))]
    assert package.files[0].digests == (sha("gamma", "sha512"),)


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        (
            f"# one\nalpha==1.0 --hash=sha256:{A_WHL.hex} --hash=sha256:{'0' * 64}\n",
            IndexLookupError,
            "reqs.txt:2: alpha==1.0: no file of this version on https://user:****@pypi.example"
            f"/simple/ has the allowed hash sha256:{'0' * 64} (files: alpha-1.0-py3-none-any.whl, "
            "alpha-1.0-cp311-cp311-win_amd64.whl, alpha-1.0.tar.gz, alpha-1.0-py2-none-any.whl);"
            " remove the hash or correct it",
        ),
        (
            f"alpha==3.0 --hash=sha256:{A_WHL.hex}\n",
            IndexLookupError,
            "reqs.txt:1: alpha==3.0 not found on https://user:****@pypi.example/simple/",
        ),
        (
            "\nalpha==1.0\n",
            RequirementsFileError,
            "reqs.txt:2: 'alpha==1.0' has no hashes; a lock file pins every file by its hashes "
            "(get them with 'peep hash ARCHIVE')",
        ),
        (
            f"https://${{TOKEN}}@h/x-1.0.tar.gz --hash=sha256:{A_WHL.hex}\n",
            RequirementsFileError,
            "reqs.txt:1: 'https://${TOKEN}@h/x-1.0.tar.gz' uses an environment variable; a lock "
            "file cannot refer to one, and peep does not write its value into a file",
        ),
    ],
)
def test_lookup_errors_name_the_line(text, error, message):
    with pytest.raises(error) as caught:
        pin(text)
    assert str(caught.value) == message


def test_two_sdists_cannot_be_locked():
    LINKS["zeta"] = [
        link("zeta", "zeta-1.0.tar.gz", sha("z1")),
        link("zeta", "zeta-1.0.zip", sha("z2")),
    ]
    try:
        with pytest.raises(IndexLookupError, match="match 2 sdists"):
            pin(f"zeta==1.0 --hash=sha256:{sha('z1').hex} --hash=sha256:{sha('z2').hex}\n")
    finally:
        del LINKS["zeta"]


def test_url_and_local_requirements_keep_their_archive():
    text = f"""\
        https://h/files/beta-1.0-py3-none-any.whl --hash=sha256:{B_WHL.hex}
        ./dist/alpha-1.0.tar.gz ; os_name == "posix" --hash=sha256:{A_SDIST.hex}
        thing @ https://h/thing-latest.tar.bz2 --hash=sha512:{B_512.hex}
        """
    beta, alpha, thing = pin(text, lock_dir="/srv")
    assert beta.files == (
        PinnedFile(
            "wheel",
            "beta-1.0-py3-none-any.whl",
            "https://h/files/beta-1.0-py3-none-any.whl",
            None,
            (B_WHL,),
        ),
    )
    assert (alpha.version, alpha.marker, alpha.index) == ("1.0", 'os_name == "posix"', None)
    assert alpha.files == (
        PinnedFile("sdist", "alpha-1.0.tar.gz", None, "project/dist/alpha-1.0.tar.gz", (A_SDIST,)),
    )
    assert (thing.version, thing.files[0].kind, thing.files[0].digests) == (
        None,
        "archive",
        (B_512,),
    )
    (absolute,) = pin(f"./dist/alpha-1.0.tar.gz --hash=sha256:{A_SDIST.hex}\n", lock_dir=None)
    assert absolute.files[0].path == "/srv/project/dist/alpha-1.0.tar.gz"


def test_lines_of_one_project_merge_unless_their_markers_differ():
    one, two = pin(
        f"""\
        alpha==1.0 --hash=sha256:{A_WHL.hex} --hash=sha256:{A_SDIST.hex}
        alpha==1.0 --hash=sha256:{A_WHL.hex}
        alpha==1.0 ; sys_platform == "win32" --hash=sha256:{A_WIN.hex}
        """
    )
    assert [f.filename for f in one.files] == ["alpha-1.0-py3-none-any.whl"]
    assert (two.marker, [f.filename for f in two.files]) == (
        'sys_platform == "win32"',
        ["alpha-1.0-cp311-cp311-win_amd64.whl"],
    )


# -- lock files to requirements ----------------------------------------------------------------


def lock(body: str, path: str = "/locks/pylock.toml"):
    head = 'lock-version = "1.0"\ncreated-by = "tests"\n'
    return parse_pylock(head + textwrap.dedent(body), path=path)


def test_a_lock_becomes_name_version_with_every_hash():
    text = port_lock(
        lock(
            f"""
            [[packages]]
            name = "Alpha"
            version = "1.0"
            marker = "python_version >= '3.9'"
            index = "{INDEX}"
            [[packages.wheels]]
            url = "https://f/alpha-1.0-py3-none-any.whl"
            hashes = {{sha256 = "{A_WHL.hex}"}}
            [[packages.wheels]]
            url = "https://f/alpha-1.0-cp311-cp311-win_amd64.whl"
            hashes = {{sha256 = "{A_WIN.hex}"}}
            [packages.sdist]
            path = "alpha-1.0.tar.gz"
            hashes = {{sha256 = "{A_SDIST.hex}", sha512 = "{B_512.hex}"}}

            [[packages]]
            name = "odd"
            archive = {{url = "https://h/odd.tar.bz2", hashes = {{sha256 = "{B_WHL.hex}"}}}}

            [[packages]]
            name = "beta"
            version = "1.0"
            [[packages.wheels]]
            path = "wheels/beta-1.0-py3-none-any.whl"
            hashes = {{sha256 = "{B_WHL.hex}"}}
            """
        ),
        to="pip",
    )
    assert text == (
        "# Ported from pylock.toml (created by tests).\n"
        f"--index-url {INDEX}\n"
        "\n"
        'Alpha==1.0 ; python_version >= "3.9" \\\n'
        f"    --hash=sha256:{A_WHL.hex} \\\n"
        f"    --hash=sha256:{A_WIN.hex} \\\n"
        f"    --hash=sha512:{B_512.hex} \\\n"
        f"    --hash=sha256:{A_SDIST.hex}\n"
        f"odd @ https://h/odd.tar.bz2 --hash=sha256:{B_WHL.hex}\n"
        "beta @ file:///locks/wheels/beta-1.0-py3-none-any.whl"
        f" --hash=sha256:{B_WHL.hex}\n"
    )


def test_local_files_without_an_index_become_find_links():
    text = port_lock(
        lock(
            f"""
            [[packages]]
            name = "alpha"
            version = "1.0"
            sdist = {{path = "w/alpha-1.0.tar.gz", hashes = {{sha256 = "{A_SDIST.hex}"}}}}
            [[packages.wheels]]
            path = "w/alpha-1.0-py3-none-any.whl"
            hashes = {{sha256 = "{A_WHL.hex}"}}
            """
        ),
        to="peep",
    )
    assert text == (
        "# Ported from pylock.toml (created by tests).\n"
        "--find-links /locks/w\n"
        "\n"
        f"{A_WHL.peep_line()}\n{A_SDIST.peep_line()}\nalpha==1.0\n"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            f"""
            [[packages]]
            name = "a"
            version = "1.0"
            [[packages.wheels]]
            url = "https://f/a-1.0-py3-none-any.whl"
            hashes = {{sha512 = "{B_512.hex}"}}
            """,
            "/locks/pylock.toml: packages[0].wheels[0].hashes: has no sha256 hash, the only one "
            "peep's format carries; port to pip's format instead",
        ),
        (
            f"""
            [[packages]]
            name = "a"
            version = "1.0"
            marker = "'dev' in dependency_groups"
            [[packages.wheels]]
            url = "https://f/a-1.0-py3-none-any.whl"
            hashes = {{sha256 = "{A_WHL.hex}"}}
            """,
            "/locks/pylock.toml: packages[0].marker: '\"dev\" in dependency_groups' uses "
            "dependency_groups, which only a lock file can evaluate; a requirements file cannot "
            "say it",
        ),
    ],
)
def test_what_a_requirements_file_cannot_say(body, message):
    with pytest.raises(RequirementsFileError) as caught:
        port_lock(lock(body), to="peep")
    assert str(caught.value) == message


def test_several_indexes():
    body = "".join(
        f"""
        [[packages]]
        name = "p{i}"
        version = "1.0"
        index = "https://i{i % 2}/simple/"
        [[packages.wheels]]
        url = "https://f/p{i}-1.0-py3-none-any.whl"
        hashes = {{sha256 = "{A_WHL.hex}"}}
        """
        for i in range(3)
    )
    text = port_lock(lock(body), to="pip")
    assert "--index-url https://i0/simple/\n--extra-index-url https://i1/simple/\n" in text
    assert "p1==1.0 --hash" in text


# -- round trips -------------------------------------------------------------------------------


def key(lines):
    return sorted(
        (r.name, r.version, str(r.marker), frozenset(r.digests))
        for r in lines
        if isinstance(r, ReqLine)
    )


ROUND_TRIP = f"""\
-i {INDEX}
alpha==1.0 ; python_version >= "3.9" \\
    --hash=sha256:{A_SDIST.hex} --hash=sha256:{A_WHL.hex} --hash=sha256:{A_WIN.hex}
beta==1.0 --hash=sha256:{B_WHL.hex} --hash=sha512:{B_512.hex}
https://h/files/beta-1.0-py3-none-any.whl ; sys_platform == "win32" --hash=sha256:{B_WHL.hex}
./dist/alpha-1.0.tar.gz ; os_name == "nt" --hash=sha256:{A_SDIST.hex}
thing @ https://h/thing-latest.tar.bz2 --hash=sha512:{B_512.hex}
"""


@pytest.mark.parametrize("to", ["pip", "peep"])
def test_requirements_to_lock_and_back(to):
    original = reqs(ROUND_TRIP)
    if to == "peep":  # peep's format has no sha512: leave those lines out
        original = [r for r in original if all(d.algorithm == "sha256" for d in r.digests)]
    fake = FakeIndex()
    packages = pin_requirements(
        original,
        find=fake.find,
        hash_link=fake.hash_link,
        index_urls=["https://user:pw@pypi.example/simple/"],
        where=INDEX,
        lock_dir=CWD,
    )
    text = render_pylock(packages)
    assert tomllib.loads(text)["lock-version"] == "1.0"
    locked = parse_pylock(text, path=f"{CWD}/pylock.toml")
    ported = port_lock(locked, to=to)
    again = parse_reqfile(ported, path="ported.txt", cwd="/elsewhere")
    assert key(again) == key(original)
    urls = {r.name: r.url for r in again if isinstance(r, ReqLine) and r.url}
    assert urls.get(canonicalize_name("thing"), "https://h/thing-latest.tar.bz2") == (
        "https://h/thing-latest.tar.bz2"
    )
    assert f"--index-url {INDEX}" in ported
