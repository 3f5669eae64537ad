from __future__ import annotations

import base64
import hashlib
import io
import os

import pytest

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.hashes import (
    Digest,
    InvalidDigest,
    any_match,
    check_algorithm,
    hash_file,
    hash_stream,
    open_regular,
)
from peep_setuptools.lock.parse import load_pylock
from peep_setuptools.requirements.editing import read_text

REQUESTS_PEEP = "FWvz7Ce6nsfgz4--AoCHGAmdIY3kA-tkpxTXO6GimrE"


def test_peep_and_pip_spellings_are_inverse():
    digest = Digest.from_peep(REQUESTS_PEEP)
    assert digest.b64 == REQUESTS_PEEP
    assert Digest.from_hex("sha256", digest.hex) == digest
    assert digest.peep_line() == f"# sha256: {REQUESTS_PEEP}"
    assert digest.pip_option() == f"--hash=sha256:{digest.hex}"
    assert base64.urlsafe_b64decode(REQUESTS_PEEP + "=").hex() == digest.hex


def test_hex_is_case_insensitive_and_padding_is_tolerated():
    digest = Digest.from_peep(REQUESTS_PEEP + "=")
    assert Digest.from_hex("SHA256", digest.hex.upper()) == digest


@pytest.mark.parametrize(
    ("algorithm", "text", "message"),
    [
        ("sha256", "abc", "'abc' is not a sha256 hash: expected 64 hex digits"),
        ("sha256", "g" * 64, "expected 64 hex digits"),
        ("sha512", "a" * 64, "'" + "a" * 64 + "' is not a sha512 hash: expected 128 hex digits"),
        ("md5", "a" * 32, "md5 is too weak to pin an archive; use sha256 or stronger"),
        ("sha1", "a" * 40, "sha1 is too weak"),
        ("blake3", "a" * 64, "unknown hash algorithm 'blake3'; use sha256, sha384 or sha512"),
    ],
)
def test_bad_hex_digests(algorithm, text, message):
    with pytest.raises(InvalidDigest, match=message.replace("(", r"\(")):
        Digest.from_hex(algorithm, text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "short",
        REQUESTS_PEEP[:-1],
        REQUESTS_PEEP + "A",
        REQUESTS_PEEP[:-1] + "+",
        REQUESTS_PEEP[:-1] + "F",
    ],
)
def test_bad_peep_digests(text):
    with pytest.raises(InvalidDigest):
        Digest.from_peep(text)


def test_hash_stream_matches_hashlib_for_every_algorithm():
    data = b"x" * 200_000
    digests = hash_stream(io.BytesIO(data), ("sha256", "sha512"))
    assert digests["sha256"].hex == hashlib.sha256(data).hexdigest()
    assert digests["sha512"].hex == hashlib.sha512(data).hexdigest()


def test_any_match_needs_same_algorithm():
    data = io.BytesIO(b"data")
    actual = hash_stream(data, ("sha256",))
    assert any_match([actual["sha256"]], actual)
    other = Digest("sha512", "a" * 128)
    assert not any_match([other], actual)


def test_check_algorithm_normalises_case():
    assert check_algorithm("SHA384") == "sha384"


def test_open_regular_refuses_what_would_block_or_never_end(tmp_path):
    # A FIFO blocks open() and read() for ever, a device such as /dev/zero never ends.
    fifo = tmp_path / "a.whl"
    os.mkfifo(fifo)
    link = tmp_path / "link.whl"
    link.symlink_to(os.devnull)
    for path, why in [
        (fifo, "it is not a regular file"),
        (os.devnull, "it is not a regular file"),
        (link, "it is not a regular file"),
        (tmp_path, "it is a directory"),
    ]:
        with pytest.raises(OSError) as raised:
            open_regular(str(path))
        assert raised.value.strerror == why
        with pytest.raises(OSError):
            hash_file(str(path))
    real = tmp_path / "real.whl"
    real.write_bytes(b"data")
    (tmp_path / "to-real.whl").symlink_to(real)
    with open_regular(str(tmp_path / "to-real.whl")) as stream:
        assert stream.read() == b"data"
    with pytest.raises(OSError, match="it is not a regular file"):  # lstat: a link
        open_regular(str(tmp_path / "to-real.whl"), follow=False)
    with pytest.raises(FileNotFoundError):
        open_regular(str(tmp_path / "missing"))


def test_readers_of_user_files_do_not_block_on_a_fifo(tmp_path):
    fifo = tmp_path / "pylock.toml"
    os.mkfifo(fifo)
    with pytest.raises(RequirementsFileError, match="it is not a regular file"):
        load_pylock(str(fifo))
    with pytest.raises(RequirementsFileError, match="it is not a regular file"):
        read_text(str(fifo))
