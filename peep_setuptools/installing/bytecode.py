"""Bytecode for what pip installed, compiled on every core instead of pip's one.

pip byte-compiles each installed ``.py`` file in its own process, one after another, and
records each ``.pyc`` in RECORD with an empty hash and size. Compiling was most of pip's CPU
time in our benchmark. So the pip backend installs with ``--no-compile`` and this module then
does the same work in the target interpreter, spread over its cores: the same
``compileall.compile_file(path, force=True, quiet=True)`` call on the same files, the same
optimisation level and invalidation mode (``PYTHONOPTIMIZE``, ``SOURCE_DATE_EPOCH``), and a
RECORD written as pip writes it (rows sorted, CRLF). The result is what pip alone leaves.

The child starts with pip, not after it: pip installs one wheel after another, and each it
has finished is compiled while it goes on with the next, on the core it leaves idle
(``Compiler``); what is left once pip is done, on every core.

That child costs a start-up of its own, so when there is little to compile (a few small
wheels, or one core) pip compiles, as it would alone: ``compile_after_pays`` decides.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import subprocess
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from peep_setuptools.archives import is_wheel
from peep_setuptools.errors import interrupts_deferred
from peep_setuptools.installing.children import cores, start_process, stop_tree
from peep_setuptools.probing import close_streams

if TYPE_CHECKING:
    from peep_setuptools.checks.located import InstalledDist
    from peep_setuptools.installing import pipfinished
    from peep_setuptools.installing.handoff import VerifiedArchive

logger = logging.getLogger(__name__)

# Runs in the target interpreter with -I -S (nothing installed there can run in it), so it
# must stay valid Python 3.9. stdin: lines of [[base, record path relative to base, the
# files pip wrote from the wheel or null], ...].
_COMPILE = r"""
import compileall, contextlib, csv, importlib.machinery, importlib.util, io, json
import multiprocessing, os, queue, sys, sysconfig, threading, warnings


def identity(stat):
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


class FromStartUp(importlib.machinery.SourceFileLoader):
    # a codec's source as it was when we started, never its bytecode
    def __init__(self, name, path, expected):
        super().__init__(name, path)
        self.expected = expected

    def path_stats(self, path):
        raise OSError("read from its source")

    def get_data(self, path):
        with open(path, "rb") as stream:
            if identity(os.fstat(stream.fileno())) != self.expected:
                raise ImportError("changed since the compiler started: %s" % path)
            return stream.read()


class StartUpOnly:
    # Nothing is imported once we compile but a codec of the standard library as it was
    # when we started (a source's "coding:" line names the codec compile() imports): pip
    # writes as we compile, outside a venv into the standard library itself. Any other
    # import fails (the file is skipped, as pip skips one whose import is blocked).
    def __init__(self):
        import encodings

        sysconfig.get_config_vars()  # read now: installable() asks for paths later
        for name in ("_multibytecodec", "_codecs_cn", "_codecs_hk", "_codecs_iso2022",
                     "_codecs_jp", "_codecs_kr", "_codecs_tw"):  # the codecs' extensions
            with contextlib.suppress(ImportError):
                __import__(name)
        self.folder, self.codecs = os.path.dirname(encodings.__file__), {}
        for name in os.listdir(self.folder):
            if name.endswith(".py"):
                with contextlib.suppress(OSError):
                    self.codecs[name[:-3]] = identity(os.stat(os.path.join(self.folder, name)))

    def find_spec(self, name, path=None, target=None):
        package, _, codec = name.partition(".")
        if package != "encodings" or codec not in self.codecs:
            raise ImportError("nothing is imported while compiling: %s" % name)
        source = os.path.join(self.folder, codec + ".py")
        loader = FromStartUp(name, source, self.codecs[codec])
        return importlib.util.spec_from_file_location(name, source, loader=loader)


def compile_one(path):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore")
        try:
            return bool(compileall.compile_file(path, force=True, quiet=True))
        except ImportError:  # as pip: a blocked or missing import skips the file
            return False


def record_path(path, base):
    return os.path.relpath(path, base).replace(os.path.sep, "/")


def installable(records):
    # The folders pip installs into: a RECORD row elsewhere is not a file pip installed.
    # -S leaves sys.prefix at the base interpreter's: a venv is found as site.py finds it,
    # and then only its own folders are the environment's.
    prefixes = {sys.prefix, sys.exec_prefix}
    here = os.path.dirname(sys.executable)
    for folder in (here, os.path.dirname(here)):
        if os.path.isfile(os.path.join(folder, "pyvenv.cfg")):
            prefixes = {folder}
            break
    roots = {os.path.realpath(base) for base, _, _ in records}
    for prefix in prefixes:
        names = ("base", "platbase", "installed_base", "installed_platbase")
        paths = sysconfig.get_paths(vars=dict.fromkeys(names, prefix))
        roots |= {os.path.realpath(path) for path in paths.values()}
    return tuple(os.path.join(root, "") for root in roots)


def compile_records(records, pool):
    roots = installable(records)
    sources = {}
    for base, record, written in records:
        # the files pip wrote from the wheel (None: a wheel pip built); no other row is
        # compiled, as pip compiles none
        written = None if written is None else {os.path.realpath(p) for p in written}
        try:
            with open(os.path.join(base, record), encoding="utf-8", newline="") as stream:
                rows = [row for row in csv.reader(stream) if row]
        except OSError:  # removed since pip wrote it (a later uninstall): not ours to write
            continue
        for row in rows:
            full = os.path.normpath(os.path.join(base, row[0]))
            real = os.path.realpath(full)
            inside = real.startswith(roots) and (written is None or real in written)
            # a __pycache__ symlink planted beside it is never written through
            planted = os.path.islink(os.path.dirname(importlib.util.cache_from_source(full)))
            if full.endswith(".py") and inside and not planted and os.path.isfile(full):
                sources.setdefault(full, set()).add((base, record))
    paths = sorted(sources)
    if pool is not None and len(paths) > 16:
        jobs = int(sys.argv[1])
        done = pool.map(compile_one, paths, chunksize=max(1, len(paths) // (jobs * 4)))
    else:
        done = [compile_one(path) for path in paths]
    added = {}
    for path, ok in zip(paths, done):
        if ok:
            for owner in sources[path]:
                pyc = importlib.util.cache_from_source(path)
                added.setdefault(owner, []).append(record_path(pyc, owner[0]))
    for (base, record), pycs in added.items():
        full = os.path.join(base, record)
        try:
            with open(full, encoding="utf-8", newline="") as stream:
                rows = [tuple(row) for row in csv.reader(stream) if row]
        except OSError:
            continue
        known = {row[0] for row in rows}
        rows += [(pyc, "", "") for pyc in pycs if pyc not in known]
        rows = sorted((row[0], row[1] if len(row) > 1 else "", str(row[2]) if len(row) > 2 else "")
                      for row in rows)
        # A new name, opened exclusively: a file or symlink planted there is never written
        # through. The mode is what open() gives, as pip's RECORD has.
        temporary = "%s.peep-tmp-%d-%s" % (full, os.getpid(), os.urandom(4).hex())
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        try:
            with os.fdopen(os.open(temporary, flags, 0o666), "w", encoding="utf-8",
                           newline="") as stream:
                csv.writer(stream).writerows(rows)
            os.replace(temporary, full)
        except BaseException:  # a full disk: no half of it is left
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    return sum(done)


def read_lines(lines):
    for line in iter(sys.stdin.readline, ""):
        lines.put(line)
    lines.put("")


def main():
    # A JSON list a line, compiled as it comes: here alone (on the core pip leaves idle)
    # while pip runs, on every core once "null" says it is done. One batch after another: a
    # file that two give is compiled last for the one pip finished last.
    jobs, pool, total, only = int(sys.argv[1]), None, 0, StartUpOnly()
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("fork")  # forked before any thread
        pool = context.Pool(jobs, initializer=sys.meta_path.insert, initargs=(0, only))
    lines = queue.Queue()
    threading.Thread(target=read_lines, args=(lines,), daemon=True).start()
    sys.meta_path.insert(0, only)  # all we import is imported
    print("ready", flush=True)  # peep may now start pip (Compiler.start)
    along, ended = True, False
    while not ended:
        came = [lines.get()]
        while not lines.empty():
            came.append(lines.get())
        records = []
        for line in came:
            item = json.loads(line) if line else None
            ended = ended or not line
            along = along and item is not None
            records += item or []
        if records:
            total += compile_records(records, None if along else pool)
    if pool is not None:
        pool.close()
        pool.join()
    print(total)


main()
"""


#: pip's serial compile, measured on the benchmark's 40 packages (RESULTS.md): about 10 MB of
#: source a second, plus ~0.1 ms a file
_SOURCE_BYTES_PER_SECOND = 10e6
_SECONDS_PER_FILE = 1e-4
#: what compiling after pip costs beyond the compiling: starting our child, forking its pool
_AFTER_COST = 0.1


def compile_jobs() -> int:
    """How many processes the child compiles in (it computes the same on the same machine)."""
    return cores(8)


def compile_after_pays(archives: Sequence[VerifiedArchive], jobs: int | None = None) -> bool:
    """Whether compiling on every core after pip beats letting pip compile as it goes.

    Estimated from the ``.py`` members of the wheels (their central directories only); an
    sdist, or a wheel that cannot be read, counts as a lot (pip will say what is wrong).
    Either way the environment is the same: pip's own compile, or ours done as pip does it.
    """
    jobs = compile_jobs() if jobs is None else jobs
    if jobs <= 1:
        return False
    # Parallel saves (1 - 1/jobs) of the serial time; it has to pay for the child.
    enough = _AFTER_COST / (1 - 1 / jobs)
    seconds = 0.0
    for archive in archives:
        if not is_wheel(archive.path):
            return True
        facts = archive.wheel_facts()
        if facts.unreadable is not None:
            return True
        count, size = facts.sources
        seconds += size / _SOURCE_BYTES_PER_SECOND + count * _SECONDS_PER_FILE
        if seconds > enough:
            return True
    return False


def optimize_flags(environ: Mapping[str, str]) -> list[str]:
    """The ``-O`` options that ``PYTHONOPTIMIZE`` gives the pip we run (our script runs -I)."""
    value = environ.get("PYTHONOPTIMIZE", "")
    if not value:
        return []
    try:
        level = int(value)
    except ValueError:
        level = 1
    return ["-O"] * max(0, min(level, 2))


def records_of(installed: Sequence[InstalledDist]) -> list[tuple[str, str]]:
    """Each distribution's (base folder, RECORD path relative to it), as the child reads."""
    return [
        (dist.base, next(f for f in dist.files if f.endswith(".dist-info/RECORD")))
        for dist in installed
        if any(f.endswith(".dist-info/RECORD") for f in dist.files)
    ]


#: how often the site folders are looked at for a distribution pip has finished
_WATCH_SECONDS = 0.02


class Compiler:
    """Our compile child, started with the installer: each distribution compiled once done.

    pip installs one wheel after another in one process. While it goes on, the folders it
    puts dist-info folders in (purelib, platlib of ``schemes``) are looked at, and each
    verified wheel (``wheels``: (project, path)) that pip has finished is compiled by the
    child alone (pip keeps one core busy), as ``pipfinished`` tells it: its dist-info folder
    holds pip's own last RECORD, and nothing pip does after it writes where its compile does.
    Once pip is done, on every core; the rest is given to ``finish``. The files compiled, and
    RECORD, are the same either way.
    """

    def __init__(
        self,
        process: subprocess.Popen[str],
        schemes: Mapping[str, str],
        wheels: Sequence[tuple[str, str]],
        found: pipfinished.Before,
    ) -> None:
        from peep_setuptools.installing import pipfinished

        self._process = process
        self._schemes = dict(schemes)
        self._wheels = list(wheels)
        self._folders = pipfinished.lib_folders(schemes) if self._wheels else []
        self._before = found
        self._expected: dict[str, pipfinished.Expected] | None = None
        self._given: set[str] = set()
        self._written: list[str] = []  # each RECORD given, as the child writes it
        self._seen: set[tuple[str, str]] = set()  # folders given by the watch
        self._failed: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        if self._folders:
            self._thread.start()

    @classmethod
    def start(
        cls,
        python: str,
        env: Mapping[str, str],
        *,
        cwd: str,
        schemes: Mapping[str, str] | None = None,
        wheels: Sequence[tuple[str, str]] = (),
    ) -> Compiler | None:
        """The child, waiting for RECORDs; None (and a warning) if it cannot be started."""
        from peep_setuptools.installing import pipfinished

        schemes = schemes or {}
        # read before pip starts (what it removes, which RECORDs were there), and before
        # the child: an interrupt then leaves no child without an object to stop it by
        names = {canonicalize_name(name) for name, _ in wheels}
        found = pipfinished.before(names, schemes)
        command = [python, "-I", "-S", *optimize_flags(env), "-c", _COMPILE, str(compile_jobs())]
        held: list[subprocess.Popen[str]] = []  # held as it starts: see start_process
        try:  # an interrupt before the object returned holds it: no one would stop it
            try:
                pipes = dict.fromkeys(("stdin", "stdout", "stderr"), subprocess.PIPE)
                process = start_process(
                    command, started=held.append, text=True, env=dict(env), cwd=cwd, **pipes
                )
            except OSError as exc:
                _not_compiled(str(exc))
                return None
            if not pipfinished.in_a_venv(schemes):
                # pip may write into the standard library it imports from: not before it
                # has imported all it needs, and looked at the codecs there (``_COMPILE``)
                process.stdout.readline()  # type: ignore[union-attr]
            return cls(process, schemes, wheels, found)
        except BaseException:
            for started in held:
                stop_tree(started)
                started.wait()
            raise

    def finish(self, records: Sequence[tuple[str, str]]) -> bool:
        """Compile ``records`` too (those not given yet), wait; False (warned) on a failure.

        The install has succeeded by then: a failure is a warning (imports still work, they
        compile lazily), never an error.
        """
        self.installer_done()
        self._give(records)
        try:
            err = self._process.communicate()[1]
        except BaseException:
            self.stop()
            raise
        if self._process.returncode != 0:
            self._failed = (err.strip().splitlines() or ["no output"])[-1]
            self._remove_temporaries()  # killed as it wrote one (a full disk)
        if self._failed is not None:
            _not_compiled(self._failed)
            return False
        return True

    def installer_done(self) -> None:
        """The installer has exited: what it finished since the last look is given; no more looks.

        Called before anything else is done after pip, so that the compiling goes on
        meanwhile (pip failed: what it finished is compiled, as pip would have done). Once:
        ``finish`` calls it again, with nothing new to find (pip has exited).
        """
        if self._stop.is_set():
            return
        self._unwatch()
        if self._folders:
            self._give(self._finished(early=False))
        self._send("null")  # every core from now on

    def stop(self) -> None:
        """Kill the child, stop watching (we are interrupted); no RECORD left half-written."""
        with interrupts_deferred():  # a Ctrl-C again left its temporary RECORD behind
            self._stop.set()
            stop_tree(self._process)  # first: the watch may be writing to it
            self._process.wait()
            self._unwatch()
            close_streams(self._process)
            self._remove_temporaries()

    def _remove_temporaries(self) -> None:
        """The child's temporary RECORDs (``_COMPILE``): killed as it wrote one, it is left."""
        pid = self._process.pid
        for record in self._written:
            for left in glob.glob(f"{glob.escape(record)}.peep-tmp-{pid}-*"):
                with contextlib.suppress(OSError):
                    os.unlink(left)

    def _unwatch(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _watch(self) -> None:
        try:
            self._expecting()  # the wheels read while pip starts
            while not self._stop.wait(_WATCH_SECONDS):
                self._give(self._finished(early=True))
        except Exception:  # never a traceback from here: what is left waits for pip's end
            logger.debug("Stopped looking for wheels pip has finished", exc_info=True)

    def _expecting(self) -> dict[str, pipfinished.Expected]:
        from peep_setuptools.installing import pipfinished

        if self._expected is None:
            self._expected = pipfinished.expected(self._wheels, self._schemes, self._before)
        return self._expected

    def _finished(self, *, early: bool) -> list[tuple[str, str]]:
        """(folder, RECORD) of each wheel pip has finished, once each.

        ``early``: pip is still installing; only a wheel nothing later in it can touch.
        """
        from peep_setuptools.installing import pipfinished

        expected, done = self._expecting(), []
        for folder in self._folders:
            for entry in sorted(set(pipfinished.entries(folder)) & expected.keys()):
                wheel = expected[entry]
                mine = wheel.told and wheel.installs_into(folder, self._schemes)
                if (folder, entry) in self._seen or not mine or (early and not wheel.alone):
                    continue
                now = pipfinished.record_id(folder, entry)
                if now is None or now == self._before.records.get((folder, entry)):
                    continue  # none yet, or the one there before pip began
                if pipfinished.finished_by_pip(folder, entry):
                    self._seen.add((folder, entry))
                    done.append((folder, f"{entry}/RECORD"))
        return done

    def _give(self, records: Sequence[tuple[str, str]]) -> None:
        keys = {os.path.realpath(os.path.join(*record)): record for record in records}
        new = [record for key, record in keys.items() if key not in self._given]
        if not new or self._failed is not None:
            return
        self._given.update(os.path.realpath(os.path.join(*record)) for record in new)
        self._written += [os.path.join(*record) for record in new]
        expected = self._expecting() if self._wheels else {}
        given = []
        for base, record in new:
            wheel = expected.get(record.split("/", 1)[0])
            written = None if wheel is None else wheel.compiled(base, self._schemes)
            given.append((base, record, written))
        self._send(json.dumps(given))

    def _send(self, line: str) -> None:
        stdin = self._process.stdin
        assert stdin is not None  # noqa: S101 -- started with a pipe
        if self._failed is not None:
            return
        try:
            stdin.write(line + "\n")
            stdin.flush()
        except (OSError, ValueError) as exc:  # the child has ended: finish says why
            self._failed = f"the compiler stopped ({exc})"


def _not_compiled(why: str) -> None:
    logger.warning("Warning: bytecode was not compiled (%s); imports compile it lazily.", why)
