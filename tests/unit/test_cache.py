"""The verified cache on its own: naming, atomic entries, re-hashing on the way out."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from peep_setuptools.hashes import Digest
from peep_setuptools.installing.cache import ArchiveCache, default_cache_dir, open_cache


def _digest(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"PEEP_CACHE_DIR": "/x/peep", "XDG_CACHE_HOME": "/xdg"}, "/x/peep"),
        ({"XDG_CACHE_HOME": "/xdg"}, "/xdg/peep-setuptools"),
        ({"XDG_CACHE_HOME": "relative/ignored", "HOME": "/home/u"}, "~/.cache/peep-setuptools"),
        ({"PEEP_CACHE_DIR": "  "}, "~/.cache/peep-setuptools"),
    ],
)
def test_default_cache_dir_follows_xdg(environ, expected):
    assert default_cache_dir(environ) == os.path.expanduser(expected)


@pytest.fixture
def archive(tmp_path):
    path = tmp_path / "src" / "alpha-1.0-py3-none-any.whl"
    path.parent.mkdir()
    path.write_bytes(b"wheel bytes" * 1000)
    return path


def test_store_lookup_take_round_trip(tmp_path, archive):
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    cache.store(str(archive), digest, requires_python=">=3.8")
    (entry,) = cache.lookup([Digest("sha512", "0" * 128), digest])
    assert (entry.filename, entry.requires_python) == (archive.name, ">=3.8")
    copied = cache.take(entry, str(tmp_path / "work"), algorithms=("sha256", "sha512"))
    assert copied is not None
    assert Path(copied.path).read_bytes() == archive.read_bytes()
    assert copied.digests["sha256"] == digest
    assert copied.digests["sha512"].hex == hashlib.sha512(archive.read_bytes()).hexdigest()
    assert copied.size == archive.stat().st_size
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_take_links_for_a_reader_that_hashes_again(tmp_path, archive):
    # pip --require-hashes: no copy of the bytes, a second name, in the run's folder, of the
    # very file hashed. The cache's files are replaced whole, never written in place, so what
    # the cache path names later (a run storing it again, an entry dropped) is not handed out.
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    cache.store(str(archive), digest)
    (entry,) = cache.lookup([digest])
    copied = cache.take(entry, str(tmp_path / "work"))  # others (uv build, --strict): a copy
    assert copied is not None
    assert not os.path.samestat(os.stat(copied.path), os.stat(entry.path))
    copied = cache.take(entry, str(tmp_path / "linked"), link=True)
    assert copied is not None and copied.digests["sha256"] == digest
    assert os.path.samestat(os.stat(copied.path), os.stat(entry.path))
    replacement = tmp_path / "other"
    replacement.write_bytes(b"not the verified bytes")
    os.replace(replacement, entry.path)
    assert Path(copied.path).read_bytes() == archive.read_bytes()


def test_take_copies_where_it_cannot_link(tmp_path, archive, monkeypatch):
    # Another file system (EXDEV), or none of hard links: the copy hashed as it is written.
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    cache.store(str(archive), digest)
    (entry,) = cache.lookup([digest])

    def no_link(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    copied = cache.take(entry, str(tmp_path / "work"), link=True)
    assert copied is not None and copied.digests["sha256"] == digest
    assert not os.path.samestat(os.stat(copied.path), os.stat(entry.path))
    assert Path(copied.path).read_bytes() == archive.read_bytes()


def test_take_refuses_a_symlink_swapped_in_after_the_lookup(tmp_path, archive):
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    cache.store(str(archive), digest)
    (entry,) = cache.lookup([digest])
    os.remove(entry.path)
    os.symlink(archive, entry.path)  # the right bytes, behind a link
    assert cache.take(entry, str(tmp_path / "work"), link=True) is None
    assert not os.path.lexists(tmp_path / "work" / archive.name)


@pytest.mark.parametrize("umask", [0o002, 0o077])
def test_a_linked_store_is_the_file_itself_with_the_cache_mode(tmp_path, archive, umask):
    """With ``link`` (uv's runs), the verified file gets a second name: no copy of its bytes."""
    old = os.umask(umask)
    try:
        archive.chmod(0o666 & ~umask)  # as the download was created
        cache = ArchiveCache(str(tmp_path / "cache"))
        digest = _digest(archive.read_bytes())
        stored = cache.store(str(archive), digest, link=True)
    finally:
        os.umask(old)
    assert stored is not None
    assert os.path.samefile(stored, archive)
    assert os.stat(stored).st_mode & 0o777 == 0o644  # others may read, never write
    (entry,) = cache.lookup([digest])  # trusted as any stored file
    assert entry.path == stored
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    # Without ``link``, a copy, as before.
    other = tmp_path / "other" / archive.name
    other.parent.mkdir()
    other.write_bytes(b"other bytes")
    copied = cache.store(str(other), _digest(b"other bytes"))
    assert copied is not None
    assert not os.path.samefile(copied, other)


def test_a_store_that_cannot_link_copies(tmp_path, archive, monkeypatch):
    def no_links(source, dest):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    stored = cache.store(str(archive), digest, link=True)
    assert stored is not None
    assert not os.path.samefile(stored, archive)
    assert Path(stored).read_bytes() == archive.read_bytes()
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_unknown_digests_and_half_entries_are_misses(tmp_path, archive):
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    assert cache.lookup([digest]) == []
    cache.store(str(archive), digest)
    entry_json = tmp_path / "cache" / "archives" / digest.hex[:2] / digest.hex / "entry.json"
    entry_json.unlink()  # as if a crash came between the file and its entry
    assert cache.lookup([digest]) == []
    entry_json.write_text(json.dumps({"filename": "../../escape.whl", "sha256": digest.hex}))
    assert cache.lookup([digest]) == []


def test_a_tampered_file_is_dropped_with_a_warning(tmp_path, archive, caplog):
    cache = ArchiveCache(str(tmp_path / "cache"))
    digest = _digest(archive.read_bytes())
    cache.store(str(archive), digest)
    (entry,) = cache.lookup([digest])
    with open(entry.path, "r+b") as stream:
        stream.write(b"X")
    with caplog.at_level(logging.WARNING, logger="peep_setuptools"):
        assert cache.take(entry, str(tmp_path / "work")) is None
    assert "does not have the hash it is stored under" in caplog.text
    assert cache.lookup([digest]) == []
    assert not (tmp_path / "work" / archive.name).exists()


def test_an_unwritable_cache_warns_once(tmp_path, archive, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cache = ArchiveCache(str(blocker / "cache"))
    digest = _digest(archive.read_bytes())
    with caplog.at_level(logging.WARNING, logger="peep_setuptools"):
        cache.store(str(archive), digest)
        cache.store(str(archive), digest)
        cache.store_built_wheel(digest, "py3-none-any", "pip", str(archive), digest)
    assert caplog.text.count("continuing without caching") == 1
    assert cache.lookup([digest]) == []


def _key_file(tmp_path):
    return str(tmp_path / "state" / "peep-setuptools" / "cache-key")


def test_built_wheels_are_keyed_by_sdist_and_tag(tmp_path, archive):
    cache = ArchiveCache(str(tmp_path / "cache"), key_file=_key_file(tmp_path))
    sdist = _digest(b"the sdist")
    wheel_digest = _digest(archive.read_bytes())
    tag = "cp311-cp311-manylinux_2_17_x86_64"
    cache.store_built_wheel(sdist, tag, "pip", str(archive), wheel_digest)
    assert cache.built_wheel(sdist, "cp312-cp312-manylinux_2_17_x86_64", "pip") is None
    found = cache.built_wheel(sdist, tag, "pip")
    assert found is not None
    assert found.digest == wheel_digest
    copied = cache.take(found, str(tmp_path / "work"))
    assert copied is not None
    assert copied.filename == archive.name


def test_a_built_wheel_is_reused_only_under_its_own_seal(tmp_path, archive, caplog):
    key_file = _key_file(tmp_path)
    root = str(tmp_path / "cache")
    sdist, other = _digest(b"the sdist"), _digest(b"another sdist")
    wheel_digest = _digest(archive.read_bytes())
    ArchiveCache(root, key_file=key_file).store_built_wheel(
        sdist, "py3-none-any", "pip", str(archive), wheel_digest
    )
    assert os.stat(key_file).st_mode & 0o777 == 0o600
    cache = ArchiveCache(root, key_file=key_file)
    assert cache.built_wheel(sdist, "py3-none-any", "pip") is not None
    assert cache.built_wheel(sdist, "py3-none-any", "uv") is None  # another builder
    # The same entry under another sdist's folder, or with its digest rewritten: no seal.
    entry = tmp_path / "cache" / "built" / sdist.hex[:2] / sdist.hex / "py3-none-any"
    copy = tmp_path / "cache" / "built" / other.hex[:2] / other.hex / "py3-none-any"
    shutil.copytree(entry, copy)
    assert cache.built_wheel(other, "py3-none-any", "pip") is None
    data = json.loads((entry / "entry.json").read_text())
    (entry / "entry.json").write_text(json.dumps({**data, "sha256": "0" * 64}))
    assert cache.built_wheel(sdist, "py3-none-any", "pip") is None
    # Another user's key (or none) trusts nothing that was sealed with ours.
    assert ArchiveCache(root).built_wheel(other, "py3-none-any", "pip") is None
    assert (
        ArchiveCache(root, key_file=str(tmp_path / "k2")).built_wheel(other, "py3-none-any", "pip")
        is None
    )


def test_a_key_in_a_folder_others_can_swap_is_not_used(tmp_path, archive, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone may rename our key folder and put theirs
    key_file = shared / "peep-setuptools" / "cache-key"
    cache = ArchiveCache(str(tmp_path / "cache"), key_file=str(key_file))
    sdist = _digest(b"the sdist")
    with caplog.at_level(logging.WARNING, logger="peep_setuptools"):
        cache.store_built_wheel(sdist, "py3-none-any", "pip", str(archive), sdist)
        assert cache.built_wheel(sdist, "py3-none-any", "pip") is None
    assert caplog.text.count(f"{shared} above it can be changed by others") == 1
    assert not list((tmp_path / "cache").rglob("entry.json"))


def test_a_cache_under_a_folder_others_can_change_is_not_used(tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # not sticky: anyone may rename our cache and put theirs there
    key_file = str(tmp_path / "key" / "cache-key")
    with caplog.at_level(logging.WARNING, logger="peep_setuptools"):
        assert open_cache(str(shared / "peep" / "cache"), key_file) is None
        # through a symlink from a safe place too
        (tmp_path / "link").symlink_to(shared / "peep" / "cache")
        assert open_cache(str(tmp_path / "link"), key_file) is None
    assert caplog.text.count(f"{shared} above it can be changed by others") == 2
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)  # as /tmp: others cannot rename what is ours
    assert open_cache(str(sticky / "cache"), key_file) is not None


def test_the_folders_made_above_a_new_cache_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        cache = open_cache(str(tmp_path / "a" / "b" / "cache"), str(tmp_path / "k" / "key"))
    finally:
        os.umask(old)
    assert cache is not None
    for folder in ("a", "a/b", "a/b/cache"):
        assert (tmp_path / folder).stat().st_mode & 0o777 == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a link to another user")
def test_a_cache_reached_through_a_link_someone_else_owns_is_not_used(tmp_path, caplog):
    # In a sticky folder (/tmp) the owner of a link can replace it: whoever owns a link on
    # the way to the cache can point the cache at a folder of theirs, whatever it points at now.
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    sticky.chmod(0o1777)
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o700)
    theirs = sticky / "theirs"
    theirs.symlink_to(ours)
    os.lchown(theirs, 65534, 65534)
    (tmp_path / "hop").symlink_to(theirs)  # ours, but the next hop is not
    key_file = str(tmp_path / "key" / "cache-key")
    with caplog.at_level(logging.WARNING, logger="peep_setuptools"):
        assert open_cache(str(theirs / "cache"), key_file) is None
        assert open_cache(str(tmp_path / "hop" / "cache"), key_file) is None
    assert (
        caplog.text.count(f"{theirs} on the way to it is a symbolic link owned by uid 65534") == 2
    )
    (tmp_path / "ourlink").symlink_to(ours)  # a link of ours is fine
    assert open_cache(str(tmp_path / "ourlink" / "cache"), key_file) is not None


def test_a_cache_reached_through_a_link_in_a_folder_others_can_change_is_not_used(tmp_path, caplog):
    # home/a -> shared/b -> home/c: where each link points now is safe, but anyone can
    # replace b in shared (no sticky bit); neither the path as written nor where it ends
    # up passes through shared, so only a walk of every hop sees it.
    home = tmp_path / "home"
    (home / "c").mkdir(parents=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "b").symlink_to(home / "c")
    (home / "a").symlink_to(shared / "b")
    key_file = str(tmp_path / "key" / "cache-key")
    with caplog.at_level(logging.WARNING, logger="peep_setuptools"):
        assert open_cache(str(home / "a" / "cache"), key_file) is None
    assert f"{shared} above it can be changed by others" in caplog.text
    # the same link in a folder only we can change is fine, whoever owns it
    (home / "b").symlink_to(home / "c")
    if os.geteuid() == 0:
        os.lchown(home / "b", 65534, 65534)
    assert open_cache(str(home / "b" / "cache"), key_file) is not None
