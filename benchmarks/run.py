"""Benchmark ``peep install`` against pip and uv on ~40 real packages from a loopback index.

One command (from the repository root, with the dev virtualenv)::

    .venv/bin/python benchmarks/run.py            # 5 interleaved runs of everything
    .venv/bin/python benchmarks/run.py --runs 3   # fewer runs
    .venv/bin/python benchmarks/run.py --quick    # 1 run, no latency variant, for a smoke test

The first run downloads the pinned set in ``benchmarks/packages.txt`` from PyPI into
``benchmarks/work/`` (not committed); later runs are offline. Every timed command runs
with ``PIP_CONFIG_FILE=/dev/null`` and no ``PIP_*``/``UV_*`` variables, into a fresh virtual
environment (created untimed), against a PEP 503 index on 127.0.0.1 (TCP_NODELAY). pip gets
``--trusted-host 127.0.0.1``: pip only caches downloads from https or trusted hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
DIST = WORK / "dl"
sys.path.insert(0, str(ROOT / "tests"))

from many import tiny_wheels  # noqa: E402
from support.indexserver import IndexServer  # noqa: E402

from peep_setuptools.hashes import hash_file  # noqa: E402

#: peep as a user has it: installed from a wheel of this checkout into a virtualenv of its
#: own (as pipx does), with bytecode, run by its ``peep`` script; not the editable checkout,
#: whose import hook and .pth files cost every run ~10 ms of start-up that no installed copy
#: pays, nor ``python -m peep_setuptools`` (runpy and importlib.util: ~2 ms more)
PEEP_VENV = WORK / "peep-venv"
PEEP = [str(PEEP_VENV / "bin" / "peep")]
UV = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"

#: the issue's targets: (row, baseline row, maximum ratio)
TARGETS = [
    ("peep(pip) cold", "pip cold", 0.8),
    ("peep(pip) warm", "pip warm", 0.8),
    ("peep(pip) cold +latency", "pip cold +latency", 0.7),
    ("peep(uv) cold", "uv cold", 1.2),
    ("peep(uv) warm", "uv warm", 1.5),
    ("peep no-op", "pip no-op", 0.25),
]


def _with_pip(tool: str) -> bool:
    """Whether the tool's target has pip: pip's, and peep(pip)'s, which then runs the same
    pip pip alone runs (the target's, as in a venv made by ``python -m venv``); uv's not.

    Before round eight peep(pip)'s target had none, and peep ran its own pip there (through
    pip's ``__pip-runner__.py``), which it does not start ahead (``warmpip.py``).
    """
    return tool in ("pip", "peep(pip)")


def many_targets(n: int) -> list[tuple[str, str, float]]:
    """The issue's targets for the N-tiny-wheels scenario."""
    rows = [
        (f"{n}x peep(pip) cold", f"{n}x pip cold", 0.8),
        (f"{n}x peep(pip) warm", f"{n}x pip warm", 0.8),
        (f"{n}x peep(uv) cold", f"{n}x uv cold", 1.2),
        (f"{n}x peep(uv) warm", f"{n}x uv warm", 1.5),
    ]
    if n >= 400:
        rows.append((f"{n}x peep no-op", f"{n}x pip no-op", 0.15))
    return rows


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """No PIP_*/UV_*/PEEP_* help from this machine; pip's config switched off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PEEP_"))}
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        UV_NO_CONFIG="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra or {})
    return env


# -- the package set ------------------------------------------------------------------------


def read_set() -> list[tuple[str, str]]:
    """(kind, name==version) for each line of packages.txt."""
    pairs = []
    for line in (HERE / "packages.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, spec = line.split()
            pairs.append((kind, spec))
    return pairs


def download(pairs: Sequence[tuple[str, str]]) -> None:
    """Fetch the pinned set once (from PyPI) into benchmarks/work/dl, and pip for the venvs."""
    DIST.mkdir(parents=True, exist_ok=True)
    have = {p.name.lower() for p in DIST.iterdir()}
    binaries = [s for k, s in pairs if k != "sdist"]
    sources = [s for k, s in pairs if k == "sdist"]
    if len(have) < len(pairs):
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(DIST)]
        subprocess.run([*pip, "--only-binary", ":all:", *binaries], check=True, env=clean_env())
        subprocess.run([*pip, "--no-binary", ":all:", *sources], check=True, env=clean_env())
    tools = WORK / "tools"
    import importlib.metadata

    # pip for the environments, packaging for peep's own (``install_peep``): this
    # interpreter's versions
    for project in ("pip", "packaging"):
        if not any(tools.glob(f"{project}-*.whl")):
            pinned = f"{project}=={importlib.metadata.version(project)}"
            fetch = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", str(tools)]
            subprocess.run([*fetch, pinned], check=True, env=clean_env())


def archives_of(pairs: Sequence[tuple[str, str]]) -> dict[str, list[Path]]:
    """kind -> the downloaded archives of that kind."""
    from packaging.utils import canonicalize_name

    from peep_setuptools.archives import parse_filename

    kinds = {canonicalize_name(s.split("==")[0]): k for k, s in pairs}
    found: dict[str, list[Path]] = {}
    for path in sorted(DIST.iterdir()):
        parsed = parse_filename(path.name)
        if parsed is not None:
            found.setdefault(kinds[parsed.name], []).append(path)
    return found


def write_reqfiles(installed: Sequence[Path], tag: str = "") -> tuple[Path, Path]:
    """The same requirements in pip's --hash format and in peep's comment format."""
    from peep_setuptools.archives import parse_filename

    pip_lines, peep_lines = [], []
    for path in installed:
        parsed = parse_filename(path.name)
        assert parsed is not None
        name, version = parsed.name, parsed.version
        digest = hash_file(str(path))["sha256"]
        pip_lines.append(f"{name}=={version} {digest.pip_option()}\n")
        peep_lines.append(f"{digest.peep_line()}\n{name}=={version}\n")
    pip_file = WORK / f"requirements{tag}-pip.txt"
    peep_file = WORK / f"requirements{tag}-peep.txt"
    pip_file.write_text("".join(pip_lines))
    peep_file.write_text("".join(peep_lines))
    return pip_file, peep_file


def serve(paths: Sequence[Path]) -> IndexServer:
    """A PEP 503 index of ``paths`` on 127.0.0.1 (the test suite's server: TCP_NODELAY)."""
    from peep_setuptools.archives import parse_filename

    server = IndexServer().start()
    for path in paths:
        parsed = parse_filename(path.name)
        assert parsed is not None
        server.add_file(parsed.name, path)
    return server


# -- running things -------------------------------------------------------------------------


class Bench:
    """Fresh venvs, private caches, and the timed commands of each tool."""

    def __init__(
        self, server: IndexServer, pip_req: Path, peep_req: Path, *, prefix: str = ""
    ) -> None:
        self.server = server
        #: put before every label: the per-requirement scenario's "400x "
        self.prefix = prefix
        self.pip_req = pip_req
        self.peep_req = peep_req
        self.scratch = WORK / f"scratch{prefix.strip()}"
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        self.counter = 0
        self.base_python = getattr(sys, "_base_executable", sys.executable)
        self.times: dict[str, list[float]] = {}
        self.requests: dict[str, list[int]] = {}
        self.rss: dict[str, list[float]] = {}

    def fresh(self, what: str) -> Path:
        self.counter += 1
        return self.scratch / f"{self.counter:04d}-{what}"

    def venv(self, *, with_pip: bool) -> Path:
        """A new virtual environment (untimed); pip from the local wheel when asked."""
        path = self.fresh("venv")
        subprocess.run([UV, "venv", "-q", "--python", self.base_python, str(path)], check=True)
        python = path / "bin" / "python"
        if with_pip:
            subprocess.run(
                [
                    UV,
                    "pip",
                    "install",
                    "-q",
                    # as ensurepip and pip itself install pip: compiled (this machine sets
                    # PYTHONDONTWRITEBYTECODE, so pip would otherwise compile itself each run)
                    "--compile-bytecode",
                    "--python",
                    str(python),
                    "--no-index",
                    "pip",
                    "--find-links",
                    str(WORK / "tools"),
                ],
                check=True,
                env=clean_env({"UV_CACHE_DIR": str(WORK / "setup-uv-cache")}),
            )
        return python

    def command(self, tool: str, python: Path, cache: Path) -> tuple[list[str], dict[str, str]]:
        url = self.server.index_url
        env = clean_env({"PIP_CACHE_DIR": str(cache / "pip"), "UV_CACHE_DIR": str(cache / "uv")})
        if tool == "pip":
            argv = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--require-hashes"]
            argv += ["-r", str(self.pip_req), "-i", url, "--trusted-host", "127.0.0.1"]
        elif tool == "uv":
            argv = [UV, "pip", "install", "-q", "--no-deps", "--require-hashes"]
            argv += ["-r", str(self.pip_req), "-i", url, "--python", str(python)]
        else:
            argv = [*PEEP, "install", "-q", "-r", str(self.peep_req), "-i", url]
            argv += ["--trusted-host", "127.0.0.1", "--python", str(python)]
            argv += ["--cache-dir", str(cache / "peep")]
            if tool == "peep(uv)":
                argv += ["--installer", "uv"]
        return argv, env

    def timed(self, label: str, argv: list[str], env: dict[str, str]) -> float:
        """Run ``argv`` through the launcher: its wall time and the peak RSS of its tree."""
        label = self.prefix + label
        self.server.clear_requests()
        done = subprocess.run(
            [sys.executable, "-c", _MEASURED, *argv],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{label} failed:\n{' '.join(argv)}\n{done.stdout}\n{done.stderr}")
        elapsed, peak_kib = done.stdout.strip().splitlines()[-1].split()
        self.times.setdefault(label, []).append(float(elapsed))
        self.rss.setdefault(label, []).append(int(peak_kib) / 1024)
        self.requests.setdefault(label, []).append(len(self.server.requests))
        return float(elapsed)

    def series(self, tool: str, *, noop: bool) -> None:
        """Cold (empty caches), warm (same caches, fresh venv), no-op (same venv again)."""
        cache = self.fresh("cache")
        with_pip = _with_pip(tool)
        argv, env = self.command(tool, self.venv(with_pip=with_pip), cache)
        self.timed(f"{tool} cold", argv, env)
        python = self.venv(with_pip=with_pip)
        argv, env = self.command(tool, python, cache)
        self.timed(f"{tool} warm", argv, env)
        if noop:
            label = "peep no-op" if tool == "peep(pip)" else f"{tool} no-op"
            self.timed(label, argv, env)

    def noops(self, files: Sequence[Path], rounds: int) -> None:
        """pip's and peep's no-op runs, alternating, in one environment with everything in it.

        The environment is filled (untimed) by ``uv pip install`` of the local files; both
        tools then find every pinned version installed.
        """
        python = self.venv(with_pip=True)
        subprocess.run(
            [
                UV,
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--python",
                str(python),
                "--no-index",
                "--find-links",
                str(DIST),
                *map(str, files),
            ],
            check=True,
            env=clean_env({"UV_CACHE_DIR": str(WORK / "setup-uv-cache")}),
        )
        cache = self.fresh("cache")
        for _ in range(rounds):
            for tool, label in (("pip", "pip no-op"), ("peep(pip)", "peep no-op")):
                argv, env = self.command(tool, python, cache)
                self.timed(label, argv, env)

    def latency_cold(self, tool: str, latency: float) -> None:
        self.server.latency = latency
        try:
            cache = self.fresh("cache")
            argv, env = self.command(tool, self.venv(with_pip=_with_pip(tool)), cache)
            self.timed(f"{tool} cold +latency", argv, env)
        finally:
            self.server.latency = 0.0

    def floor_pip_local(self, files: Sequence[Path]) -> None:
        python = self.venv(with_pip=True)
        cache = self.fresh("cache")
        argv = [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index"]
        argv += ["--find-links", str(DIST), *map(str, files)]
        self.timed(
            "floor: pip --no-index local files", argv, clean_env({"PIP_CACHE_DIR": str(cache)})
        )


def hash_floor(files: Sequence[Path]) -> tuple[float, int]:
    """Seconds to sha256 every file in-process (best of 3), and the bytes hashed."""
    best = float("inf")
    size = sum(p.stat().st_size for p in files)
    for _ in range(3):
        start = time.perf_counter()
        for path in files:
            hash_file(str(path))
        best = min(best, time.perf_counter() - start)
    return best, size


# peep's client (``fetch_url``: stream to disk, hashing), or with "raw" only http.client
# reading every body into one buffer and dropping it: what the loopback itself allows.
_FETCH_ALL = """
import http.client, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit
from peep_setuptools.index.download import fetch_url
from peep_setuptools.index.http import HttpClient
how, jobs, rounds, base, work, *names = sys.argv[1:]
jobs, rounds = int(jobs), int(rounds)
local = threading.local()
def raw(name):
    parts = urlsplit(base)
    if not hasattr(local, "conn"):  # one keep-alive connection and buffer per thread
        local.conn = http.client.HTTPConnection(parts.hostname, parts.port)
        local.buffer = bytearray(256 * 1024)
    local.conn.request("GET", parts.path + name)
    response = local.conn.getresponse()
    while response.readinto(local.buffer):
        pass
best = float("inf")
for _ in range(rounds):
    local = threading.local()
    with tempfile.TemporaryDirectory(dir=work) as into, HttpClient() as client:
        get = raw if how == "raw" else lambda name: fetch_url(base + name, name, into, client)
        start = time.perf_counter()
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(get, names))
        best = min(best, time.perf_counter() - start)
print(best)
"""


def fetch_throughput(
    base_url: str, files: Sequence[Path], *, jobs: int = 8, how: str = "peep", rounds: int = 5
) -> float:
    """Seconds to download and hash every file from ``base_url`` (best of ``rounds``).

    ``jobs`` downloads at once, as ``peep install`` does by default. The client runs in its
    own process, so that it does not share a GIL with the server.
    """
    argv = [sys.executable, "-c", _FETCH_ALL, how, str(jobs), str(rounds), base_url, str(WORK)]
    done = subprocess.run(
        argv + [p.name for p in files], capture_output=True, text=True, check=True, env=clean_env()
    )
    return float(done.stdout.strip())


def fast_file_server(folder: Path) -> tuple[subprocess.Popen[str], str]:
    """Start ``fileserver.py`` (sendfile, NODELAY, its own process); return it and its URL."""
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "fileserver.py"), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip() + "/files/"


def fetch_rates(server: IndexServer, files: Sequence[Path], jobs: int = 8) -> dict[str, float]:
    """Seconds for peep's client against both servers, and for a bare client (best of 5).

    The index server of the test suite copies files through Python in 64 KiB writes, in a
    thread of this process; ``fileserver.py`` lets the kernel send them. The target is
    measured against the latter, so that it measures peep rather than the server.
    """
    proc, fast_url = fast_file_server(DIST)
    try:
        return {
            "peep, fast server": fetch_throughput(fast_url, files, jobs=jobs),
            "peep, test index server": fetch_throughput(
                f"{server.url}/files/simple/", files, jobs=jobs
            ),
            "bare http.client, no hashing or disk, fast server": fetch_throughput(
                fast_url, files, jobs=jobs, how="raw"
            ),
            "peep, fast server, 1 job": fetch_throughput(fast_url, files, jobs=1),
        }
    finally:
        proc.kill()
        proc.wait()


# Every timed command runs under this small launcher, which prints its wall time and the peak
# RSS of the largest process in its tree (the tool, or the installer it starts): on Linux a
# child's peak RSS starts from its parent's at fork, so measuring from this (large) process
# would report our own size.
_MEASURED = """
import os, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
elapsed = time.perf_counter() - start
if os.waitstatus_to_exitcode(status):
    sys.exit("failed")
print(elapsed, usage.ru_maxrss)
"""

_MEASURE_RSS = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
if os.waitstatus_to_exitcode(status):
    sys.exit("failed")
print(usage.ru_maxrss)
"""


def peak_rss(server_files: dict[str, Path]) -> dict[str, float]:
    """Peak RSS (MB) of ``peep install --dry-run --no-cache`` of one small and one ~200 MB wheel."""
    results = {}
    server = serve(list(server_files.values()))
    try:
        for label, path in server_files.items():
            req = WORK / f"rss-{label}.txt"
            digest = hash_file(str(path))["sha256"]
            name = path.name.split("-")[0]
            req.write_text(f"{name}=={path.name.split('-')[1]} {digest.pip_option()}\n")
            argv = [*PEEP, "install", "-q", "--dry-run", "--no-cache", "-r", str(req)]
            argv += ["-i", server.index_url]
            peaks = []
            for _ in range(2):
                done = subprocess.run(
                    [sys.executable, "-c", _MEASURE_RSS, *argv],
                    env=clean_env(),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise SystemExit(f"peak RSS run for {label} failed: {done.stderr}")
                peaks.append(int(done.stdout.strip().splitlines()[-1]) / 1024)  # KiB on Linux
            results[label] = max(peaks)
    finally:
        server.stop()
    return results


def big_wheel() -> Path:
    """A ~200 MB wheel of incompressible bytes (stored, not deflated), made once."""
    path = WORK / "big" / "bigwheel-1.0-py3-none-any.whl"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("bigwheel/data.bin", "w", force_zip64=True) as out:
            for _ in range(200):
                out.write(os.urandom(1024 * 1024))
        zf.writestr(
            "bigwheel-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: bigwheel\nVersion: 1.0\n",
        )
    return path


def small_wheel() -> Path:
    path = WORK / "big" / "smallwheel-1.0-py3-none-any.whl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("smallwheel/__init__.py", "")
            zf.writestr(
                "smallwheel-1.0.dist-info/METADATA",
                "Metadata-Version: 2.1\nName: smallwheel\nVersion: 1.0\n",
            )
    return path


def profile(bench: Bench, what: str, extra: Sequence[str], out: Path) -> str:
    """cProfile of one peep(pip) run; returns the top of the cumulative listing."""
    import cProfile  # noqa: F401 -- run as a module below
    import io
    import pstats

    cache = bench.fresh("cache")
    python = bench.venv(with_pip=False)
    argv, env = bench.command("peep(pip)", python, cache)
    if what != "cold":
        subprocess.run(argv, env=env, check=True, capture_output=True)
    if what == "warm":
        argv, env = bench.command("peep(pip)", bench.venv(with_pip=False), cache)
    profiled = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "peep_setuptools"]
    argv = [*profiled, *argv[len(PEEP) :], *extra]
    subprocess.run(argv, env=env, check=True, capture_output=True)
    stream = io.StringIO()
    pstats.Stats(str(out), stream=stream).sort_stats("cumulative").print_stats(18)
    return stream.getvalue()


def run_many(bench: Bench, n: int, runs: int, tools: Sequence[str]) -> None:
    """The N-tiny-wheels scenario, interleaved like the main one; results go into ``bench``."""
    wheels = tiny_wheels(n, WORK / f"tiny-{n}")
    pip_req, peep_req = write_reqfiles(wheels, f"-{n}")
    server = serve(wheels)
    print(f"{n} tiny wheels; index at {server.index_url}", flush=True)
    many = Bench(server, pip_req, peep_req, prefix=f"{n}x ")
    try:
        for run in range(runs):
            for tool in list(tools[run % 4 :]) + list(tools[: run % 4]):
                many.series(tool, noop=True)
            print(f"{n}x: run {run + 1}/{runs} done", flush=True)
    finally:
        server.stop()
    for mine, theirs in ((many.times, bench.times), (many.rss, bench.rss)):
        theirs.update(mine)
    bench.requests.update(many.requests)


def many_rows(n: int, medians: dict[str, float], peaks: dict[str, float]) -> list[str]:
    """Target rows of the N-tiny-wheels scenario: ratios, warm vs cold, overhead, memory."""
    lines = []
    for row, base, goal in many_targets(n):
        ratio = medians[row] / medians[base]
        met = "yes" if ratio <= goal else "NO"
        lines.append(f"| {row} / {base} | {ratio:.2f} | <= {goal} | {met} |")
    for tool, installer in (("peep(pip)", "pip"), ("peep(uv)", "uv")):
        cold, warm = medians[f"{n}x {tool} cold"], medians[f"{n}x {tool} warm"]
        met = "yes" if warm < cold else "NO"
        lines.append(f"| {n}x {tool} warm / cold | {warm / cold:.2f} | < 1 | {met} |")
        extra = (warm - medians[f"{n}x {installer} warm"]) / n * 1000
        lines.append(
            f"| {n}x {tool} warm: ms per requirement beyond {installer} | {extra:.1f} | "
            "(context) | |"
        )
        ours, its = peaks[f"{n}x {tool} cold"], peaks[f"{n}x {installer} cold"]
        met = "yes" if ours <= its + 15 else "NO"
        lines.append(
            f"| {n}x {tool} cold peak RSS - {installer}'s | {ours - its:+.1f} MB | "
            f"<= +15 MB | {met} |"
        )
        small = peaks.get(f"40x {tool} cold")
        if n > 40 and small is not None:
            met = "yes" if ours <= small + 10 else "NO"
            lines.append(
                f"| {tool} cold peak RSS {n}x - 40x | {ours - small:+.1f} MB | <= +10 MB | {met} |"
            )
    return lines


def versions() -> dict[str, str]:
    def out(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()

    import importlib.metadata

    return {
        "python": platform.python_version(),
        "pip": importlib.metadata.version("pip"),
        "uv": out([UV, "--version"]),
        "peep-setuptools": importlib.metadata.version("peep-setuptools"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
    }


PARTS = ("series", "latency", "floor", "noop", "fetch", "rss", "many")


def install_peep() -> None:
    """A fresh ``PEEP_VENV``: a wheel of this checkout, ``packaging`` and pip, as pipx makes.

    peep builds an sdist with the pip beside it (``--python TARGET``) where the target's is
    older or missing; uv is linked beside its python, where peep looks for it.
    """
    shutil.rmtree(PEEP_VENV, ignore_errors=True)
    wheels = WORK / "peep-wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    pip = [sys.executable, "-m", "pip"]
    build = [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(wheels)]
    subprocess.run([*build, str(ROOT)], check=True, env=clean_env())
    (ours,) = wheels.glob("peep_setuptools-*.whl")
    (packaging,) = (WORK / "tools").glob("packaging-*.whl")
    (pip_wheel,) = (WORK / "tools").glob("pip-*.whl")
    env = clean_env({"UV_CACHE_DIR": str(WORK / "setup-uv-cache")})
    subprocess.run([UV, "venv", "-q", str(PEEP_VENV)], check=True, env=env)
    install = [UV, "pip", "install", "-q", "--no-deps", "--compile-bytecode", "--no-index"]
    python = str(PEEP_VENV / "bin" / "python")
    subprocess.run(
        [*install, "--python", python, str(ours), str(packaging), str(pip_wheel)],
        check=True,
        env=env,
    )
    os.symlink(UV, PEEP_VENV / "bin" / "uv")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="interleaved runs of each (default 5)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="added per request")
    parser.add_argument("--quick", action="store_true", help="1 run, no latency variant")
    parser.add_argument("--profile", action="store_true", help="also cProfile peep runs")
    parser.add_argument(
        "--many", default="40,400", help="sizes of the N-tiny-wheels scenario (default 40,400)"
    )
    parser.add_argument(
        "--only",
        default=",".join(PARTS),
        help=f"comma-separated parts to run (default: all of {','.join(PARTS)}); 'noop' alone "
        "times pip's and peep's no-op runs in one environment, several times each",
    )
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    parts = {p.strip() for p in args.only.split(",") if p.strip()}
    if parts - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(parts - set(PARTS)))}")
    if args.quick:
        parts.discard("latency")

    pairs = read_set()
    download(pairs)
    install_peep()
    kinds = archives_of(pairs)
    installed = kinds["wheel"] + kinds["binary"] + kinds["sdist"]
    pip_req, peep_req = write_reqfiles(installed)
    server = serve(installed + kinds.get("build", []))
    total = sum(p.stat().st_size for p in installed)
    print(f"{len(installed)} packages, {total / 1e6:.1f} MB; index at {server.index_url}")
    bench = Bench(server, pip_req, peep_req)
    tools = ["pip", "uv", "peep(pip)", "peep(uv)"]
    hashing = fetching = 0.0
    size = total
    rates: dict[str, float] = {}
    profiles = {}
    try:
        for run in range(runs):
            order = tools[run % 4 :] + tools[: run % 4]  # interleaved, rotating who goes first
            if "series" in parts:
                for tool in order:
                    bench.series(tool, noop=tool in ("pip", "peep(pip)", "uv"))
            elif "noop" in parts:
                bench.noops(installed, rounds=3)
            if "latency" in parts:
                for tool in order:
                    bench.latency_cold(tool, args.latency_ms / 1000)
            if "floor" in parts:
                bench.floor_pip_local(installed)
            print(f"run {run + 1}/{runs} done", flush=True)
        if "fetch" in parts:
            hashing, size = hash_floor(installed)
            rates = fetch_rates(server, installed)
            fetching = rates["peep, fast server"]
        if args.profile:
            profiles["no-op"] = profile(bench, "no-op", [], WORK / "noop.prof")
            profiles["warm"] = profile(bench, "warm", [], WORK / "warm.prof")
    finally:
        server.stop()
    rss = peak_rss({"small": small_wheel(), "200 MB": big_wheel()}) if "rss" in parts else {}

    sizes = [int(n) for n in args.many.split(",") if n.strip()] if "many" in parts else []
    for n in sizes:
        run_many(bench, n, runs, tools)

    medians = {k: statistics.median(v) for k, v in bench.times.items()}
    peaks = {k: max(v) for k, v in bench.rss.items()}
    lines = ["| what | median s | runs | requests (last) | peak RSS MB |", "|---|---|---|---|---|"]
    for label, values in bench.times.items():
        lines.append(
            f"| {label} | {medians[label]:.3f} | {len(values)} | {bench.requests[label][-1]} "
            f"| {peaks[label]:.1f} |"
        )
    lines += ["", "| target | ratio | goal | met |", "|---|---|---|---|"]
    for n in sizes:
        lines += many_rows(n, medians, peaks)
    for row, base, goal in TARGETS:
        if row in medians and base in medians:
            ratio = medians[row] / medians[base]
            lines.append(
                f"| {row} / {base} | {ratio:.2f} | <= {goal} | {'yes' if ratio <= goal else 'NO'} |"
            )
    if fetching:
        hash_rate = size / hashing / 1e6
        for label, seconds in rates.items():
            rate = size / seconds / 1e6
            met = "yes" if rate >= 0.7 * hash_rate else "NO"
            lines.append(
                f"| {label} / hashlib floor | {rate / hash_rate:.2f} "
                f"({rate:.0f} vs {hash_rate:.0f} MB/s) | >= 0.7 | "
                + (met if label == "peep, fast server" else "(context)")
                + " |"
            )
    if rss:
        lines.append(
            f"| peak RSS 200 MB - small | {rss['200 MB'] - rss['small']:+.1f} MB "
            f"({rss['200 MB']:.1f} vs {rss['small']:.1f}) | <= +10 MB | "
            f"{'yes' if rss['200 MB'] - rss['small'] <= 10 else 'NO'} |"
        )
    table = "\n".join(lines)
    print(table)
    for name, text in profiles.items():
        print(f"\n--- cProfile of peep(pip) {name}\n{text}")
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "versions": versions(),
        "runs": runs,
        "parts": sorted(parts),
        "times": bench.times,
        "requests": bench.requests,
        "hash_floor_s": hashing,
        "fetch_s": rates,
        "bytes": size,
        "rss_mb": rss,
        "peak_rss_mb": bench.rss,
        "table": table,
        "profiles": profiles,
    }
    (WORK / "results.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result["versions"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
