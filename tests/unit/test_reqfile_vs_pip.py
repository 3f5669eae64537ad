"""Files that peep and pip would read differently are refused (exit 2), shown against pip.

Each case runs the real pip (``install --dry-run --no-index``, nothing can be found or
installed) on the same file to record what pip makes of it, then asserts peep's refusal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from peep_setuptools.errors import RequirementsFileError
from peep_setuptools.requirements.files import load_reqfiles

HEX = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
OTHER = "a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa"


def pip_reads(path: Path, environ: dict[str, str]) -> str:
    """What the real pip prints for ``-r path`` (it finds nothing: no index)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(environ, PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps"]
    command += ["--require-hashes", "--no-index", "--report", "-", "-r", path.name]
    done = subprocess.run(
        command, cwd=path.parent, env=env, capture_output=True, text=True, timeout=120
    )
    return done.stdout + done.stderr


CASES = [
    pytest.param(
        # PEP 263: pip decodes UTF-7, where "+AAo-" is a line break.
        b"# -*- coding: utf-7 -*-\n# notes +AAo-evilpkg==1.0 --hash=sha256:" + HEX.encode(),
        {},
        "No matching distribution found for evilpkg==1.0",
        "cannot read requirements file 'reqs.txt': line 1 declares the encoding 'utf-7', "
        "under which pip reads this file differently from peep (UTF-8); save it as UTF-8 "
        "and remove the declaration",
        id="coding-utf7",
    ),
    pytest.param(
        b"#!/bin/true\n# vim: set fileencoding=latin-1 :\nfoo==1.0 # caf\xc3\xa9\n",
        {},
        "No matching distribution found for foo==1.0",
        "cannot read requirements file 'reqs.txt': line 2 declares the encoding 'latin-1', "
        "under which pip reads this file differently from peep (UTF-8); save it as UTF-8 "
        "and remove the declaration",
        id="coding-latin1",
    ),
    pytest.param(
        # pip finds options only after a space; a tab leaves the hash in the requirement.
        f"foo==1.0\t--hash=sha256:{HEX}\n".encode(),
        {},
        "Invalid requirement: 'foo==1.0\\t--hash",
        f"reqs.txt:1: 'foo==1.0\\t--hash=sha256:{HEX}' is not a valid requirement: ",
        id="tab-before-hash",
    ),
    pytest.param(
        f"foo==1.0\u00a0--hash=sha256:{HEX}\n".encode(),
        {},
        "Invalid requirement: 'foo==1.0\\xa0--hash",
        f"reqs.txt:1: 'foo==1.0\\xa0--hash=sha256:{HEX}' is not a valid requirement: ",
        id="nbsp-before-hash",
    ),
    pytest.param(
        # pip leaves a variable set to "" unexpanded.
        b"foo==1.0${EMPTY}\n",
        {"EMPTY": ""},
        "Invalid requirement: 'foo==1.0${EMPTY}'",
        "reqs.txt:1: 'foo==1.0${EMPTY}' is not a valid requirement: ",
        id="empty-variable",
    ),
    pytest.param(
        # pip expands before splitting: one variable, two hashes.
        f"foo==1.0 --hash=sha256:{HEX} --hash=${{H}}\n".encode(),
        {"H": f"sha256:{OTHER} --hash=sha256:{OTHER[::-1]}"},
        "No matching distribution found for foo==1.0",
        "reqs.txt:1: an environment variable's value here holds spaces, quotes or option "
        "text, which pip would read as more words or options than peep; give the variable "
        "a plain value",
        id="variable-with-option-text",
    ),
    pytest.param(
        b"foo==${V}\n",
        {"V": "1.0 --hash=sha256:" + HEX},
        "No matching distribution found for foo==1.0",
        "reqs.txt:1: an environment variable's value here holds spaces, quotes or option "
        "text, which pip would read as more words or options than peep; give the variable "
        "a plain value",
        id="variable-adds-options-to-a-requirement",
    ),
    pytest.param(
        # pip reads a URL's marker after "; " only: it takes this marker for part of the URL.
        b'file:///nonexistent/foo-1.0.tar.gz ;python_version<"0"\n',
        {},
        "No such file or directory: '/nonexistent/foo-1.0.tar.gz ;python_version<\"0\"'",
        "reqs.txt:1: 'file:///nonexistent/foo-1.0.tar.gz ;python_version<\"0\"' is not a "
        "valid URL: it contains whitespace",
        id="url-marker-after-space-semicolon",
    ),
    pytest.param(
        b'file:///nonexistent/foo-1.0.tar.gz;\tpython_version<"0"\n',
        {},
        "No such file or directory: '/nonexistent/foo-1.0.tar.gz;python_version<\"0\"'",
        "reqs.txt:1: 'file:///nonexistent/foo-1.0.tar.gz;\\tpython_version<\"0\"' is not a "
        "valid URL: it contains whitespace",
        id="url-marker-after-semicolon-tab",
    ),
    pytest.param(
        f"foo==1.0 --hash=SHA256:{HEX}\n".encode(),
        {},
        "Allowed hash algorithms for --hash are sha256, sha384, sha512.",
        "reqs.txt:1: 'SHA256': pip knows hash algorithms by their lower-case names only; "
        "write sha256",
        id="upper-case-algorithm",
    ),
    pytest.param(
        # pip reads no hash from #SHA256= (so it finds this requirement unpinned)
        f"file://@DIR@/foo-1.0.tar.gz#SHA256={HEX}\n".encode(),
        {},
        "Hashes are required in --require-hashes mode, but they are missing",
        "reqs.txt:1: 'SHA256': pip knows hash algorithms by their lower-case names only; "
        "write sha256",
        id="upper-case-algorithm-in-url",
    ),
    pytest.param(
        # a wheel filename whose name is no PEP 508 name (fuzzing found it): pip reads
        # "NAME==VERSION" from it and refuses; peep's porting could not write it back
        f"./\u00b9-1.0-py3-none-any.whl --hash=sha256:{HEX}\n".encode(),
        {},
        "Invalid requirement: '\u00b9==1.0'",
        "reqs.txt:1: cannot tell the project name from './\u00b9-1.0-py3-none-any.whl'; "
        "write it as 'NAME @ file://",
        id="wheel-name-not-a-project-name",
    ),
    # pip reads the first "#egg=" and the first hash after a "#" or "&" anywhere in a URL
    # (pip's Link); peep read the fragment's last #egg= and every hash in it.
    pytest.param(
        # HEX is the file's hash: old peep allowed either, pip only OTHER
        f"file://@DIR@/foo-1.0.tar.gz#sha256={OTHER}&sha256={HEX}\n".encode(),
        {},
        f"Expected sha256 {OTHER}\n",
        "reqs.txt:1: 'file://",
        id="url-second-hash",
    ),
    pytest.param(
        f"file://@DIR@/foo-1.0.tar.gz#egg=foo&egg=bar --hash=sha256:{OTHER}\n".encode(),
        {},
        "    foo from file://",
        "reqs.txt:1: 'file://",
        id="url-second-egg",
    ),
    pytest.param(
        f"file://@DIR@/foo-1.0.tar.gz?a=1&egg=bar --hash=sha256:{OTHER}\n".encode(),
        {},
        "    bar from file://",
        "reqs.txt:1: 'file://",
        id="url-egg-in-query",
    ),
    pytest.param(
        f"file://@DIR@/foo-1.0-py3-none-any.whl#egg=bar --hash=sha256:{OTHER}\n".encode(),
        {},
        "    foo==1.0 from file://",
        "reqs.txt:1: '#egg=bar': pip takes a wheel's project from its filename (foo) and "
        "ignores #egg=; remove it or write 'NAME[EXTRAS] @ URL'",
        id="wheel-url-egg-names-another-project",
    ),
    pytest.param(
        # pip takes a requirement naming an existing archive file for that file, "@" and all
        f"foo@foo-1.0.tar.gz --hash=sha256:{HEX}\n".encode(),
        {},
        "Processing ./foo@foo-1.0.tar.gz",
        "reqs.txt:1: 'foo@foo-1.0.tar.gz': pip reads this as the file 'foo@foo-1.0.tar.gz', "
        "which exists, and peep as 'NAME @ PATH'; write './' before the file, or spaces "
        "around the '@'",
        id="file-named-like-name-at-path",
    ),
]


@pytest.mark.parametrize(("data", "environ", "pip_says", "message"), CASES)
def test_read_differently_is_refused(
    tmp_path: Path, data: bytes, environ: dict[str, str], pip_says: str, message: str
) -> None:
    (tmp_path / "foo-1.0.tar.gz").write_bytes(b"x")  # what file:// cases name
    (tmp_path / "foo-1.0-py3-none-any.whl").write_bytes(b"x")
    (tmp_path / "foo@foo-1.0.tar.gz").write_bytes(b"y")
    path = tmp_path / "reqs.txt"
    path.write_bytes(data.replace(b"@DIR@", str(tmp_path).encode()))
    assert pip_says in pip_reads(path, environ)
    with pytest.raises(RequirementsFileError) as caught:
        load_reqfiles([str(path)], environ=environ, cwd=str(tmp_path))
    assert str(caught.value).replace(str(path), "reqs.txt").startswith(message)


@pytest.mark.parametrize(
    "data",
    [
        b"# -*- coding: utf-8 -*-\nfoo==1.0 --hash=sha256:" + HEX.encode() + b"\n",
        b"# coding: ascii\nfoo==1.0 --hash=sha256:" + HEX.encode() + b"\n",
        b"\xef\xbb\xbf# coding: utf-7\nfoo==1.0 --hash=sha256:" + HEX.encode() + b"\n",
    ],
)
def test_declarations_that_read_the_same_are_accepted(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "reqs.txt"
    path.write_bytes(data)
    found = load_reqfiles([str(path)], environ={}, cwd=str(tmp_path))
    assert [r.name for r in found.requirements] == ["foo"]
