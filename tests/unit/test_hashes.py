from __future__ import annotations

import base64
import hashlib
import io

import pytest

from peep_setuptools.hashes import Digest, InvalidDigest, any_match, check_algorithm, hash_stream

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
