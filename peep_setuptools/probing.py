"""Running scripts in the target interpreter, and starting its probe early: stdlib only.

``target.py`` reads the answers. This module imports nothing of ours and no ``packaging``,
so that the command line can start the probe (~20 ms, most of it the target's own start-up)
before it imports the rest of the package, and the two run side by side. Every child of
ours starts by ``start_process`` here (``installing.children`` has it too); one stopped has
its pipes closed by ``close_streams``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: Script text that sets ``paths``: the site folders the target installs into and imports
#: from, computed without running its site.py. Every probe runs with -I -S (run_script's
#: ``isolated``), so no ``.pth`` file or sitecustomize in the target runs or answers for it;
#: a venv's site folders are only added by site.py, so pyvenv.cfg is read here as site.py
#: reads it (sys.prefix is not the venv's under -S before 3.11). Also sets ``venv`` (its
#: folder or None), ``venv_paths`` (its own purelib and platlib), ``scheme`` and ``where``
#: (for sysconfig.get_path) and ``user_site``.
SITE_DIRS = r"""
import os, site, sys, sysconfig
venv = None
system = False
home = os.path.dirname(os.path.abspath(sys.executable))
for conf in (os.path.join(home, "pyvenv.cfg"), os.path.join(os.path.dirname(home), "pyvenv.cfg")):
    if os.path.isfile(conf):
        with open(conf, encoding="utf-8") as f:
            pairs = [line.partition("=") for line in f]
        system = any(k.strip().lower() == "include-system-site-packages"
                     and v.strip().lower() == "true" for k, _, v in pairs)
        venv = os.path.dirname(home)
        break
names = sysconfig.get_scheme_names()
# The venv scheme's folders (a distribution's patched site.py, as Debian's, differs).
scheme = "venv" if "venv" in names else ("nt" if os.name == "nt" else "posix_prefix")
where = {"base": venv, "platbase": venv}
user_site = site.getusersitepackages()
if venv is None:
    paths = list(site.getsitepackages())
    if os.path.isdir(user_site):
        paths.insert(0, user_site)
else:
    paths = [sysconfig.get_path(kind, scheme, where) for kind in ("purelib", "platlib")]
    paths += list(site.getsitepackages([sys.base_prefix, sys.base_exec_prefix])) if system else []
venv_paths = paths[:2] if venv else []
paths = list(dict.fromkeys(paths))
"""

# Runs inside the target with nothing but its standard library: the target may be an older
# Python than our copy of `packaging` supports, so tags are computed here from these facts.
# Listing what is installed is most of its cost, so the usual layout (site folders holding
# *.dist-info / *.egg-info folders) is read directly: importing importlib.metadata and
# running the email parser on every METADATA took ~35 of its ~55 ms. Anything else (a zip
# or .egg, an egg-info file, an odd METADATA) falls back to importlib.metadata over the same
# folders, so the result is the same.
PROBE = (
    SITE_DIRS
    + r"""
import json, platform, re
impl = sys.implementation
iver = "{0.major}.{0.minor}.{0.micro}".format(impl.version)
if impl.version.releaselevel != "final":
    iver += impl.version.releaselevel[0] + str(impl.version.serial)
markers = {
    "implementation_name": impl.name,
    "implementation_version": iver,
    "os_name": os.name,
    "platform_machine": platform.machine(),
    "platform_release": platform.release(),
    "platform_system": platform.system(),
    "platform_version": platform.version(),
    "python_full_version": platform.python_version(),
    "platform_python_implementation": platform.python_implementation(),
    "python_version": ".".join(platform.python_version_tuple()[:2]),
    "sys_platform": sys.platform,
}
def headers(path):
    # Name and Version from the header block (up to the first blank line), or None.
    found = {}
    try:
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                if not line.strip():
                    break
                key, sep, value = line.partition(":")
                key = key.strip().lower()
                if sep and key in ("name", "version") and key not in found:
                    found[key] = value.strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not found.get("name") or "version" not in found:
        return None
    return found["name"], found["version"]
def scan():
    # importlib.metadata.distributions(path=paths), in its order; None when it might find
    # something this does not look for.
    found = {}
    for entry in paths:
        if entry.lower().endswith(".egg"):
            return None
        try:
            children = os.listdir(entry or ".")
        except OSError:
            if os.path.exists(entry or "."):
                return None  # a zip file
            continue
        for child in children:
            low = child.lower()
            if low.endswith(".egg"):
                return None
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            folder = os.path.join(entry or ".", child)
            if not os.path.isdir(folder):
                return None  # an egg-info file
            meta = os.path.join(folder, "METADATA")
            head = headers(meta if os.path.isfile(meta) else os.path.join(folder, "PKG-INFO"))
            if head is None:
                return None
            found.setdefault(head[0], head[1])
    return found
installed = scan()
if installed is None:
    import importlib.metadata as md
    installed = {}
    for dist in md.distributions(path=paths):
        name = dist.metadata["Name"]
        if name and name not in installed:
            installed[name] = dist.version
def pip_name(entry):
    # pip knows an installed distribution by its folder's name up to the first "-" (a wheel
    # of "foo" may carry "foobar-1.0.dist-info": pip refuses it, uv does not). The target
    # cannot import us: this is checks.claims.metadata_project(eggs=True) of the basename,
    # spelled again (tests/unit/test_claims.py keeps the two in step).
    stem, dot, suffix = os.path.basename(entry.rstrip("/" + os.sep)).rpartition(".")
    if dot and suffix.lower() in ("dist-info", "egg-info", "egg"):
        return stem.split("-", 1)[0]
    return None
def pip_names():
    # What pip would take for installed (and may remove): the site folders' distributions,
    # those of folders their .pth files list (not run: a line that imports is skipped) and
    # of PYTHONPATH, which the installer is started with. Also every word of the .pth lines
    # that import: the modules a starting Python imports (a wheel replacing one is a hook).
    found, words, egg_links = set(), set(), False
    folders = list(paths) + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    # each folder once: a .pth naming a site folder (its own) would be read forever
    seen = set(folders)
    for folder in folders:
        found.add(pip_name(folder))
        try:
            children = os.listdir(folder or ".")
        except OSError:
            continue
        found.update(pip_name(child) for child in children)
        # a legacy editable: pip knows it by its stem, uv by the PKG-INFO it points to
        links = [c[: -len(".egg-link")] for c in children if c.lower().endswith(".egg-link")]
        found.update(links)
        egg_links = egg_links or bool(links)
        if folder not in paths:
            continue
        for child in children:
            if not child.lower().endswith(".pth"):
                continue
            try:
                with open(os.path.join(folder, child), encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for line in lines:
                if line.startswith(("import ", "import\t")):
                    words.update(w.lower() for w in re.findall(r"[A-Za-z_]\w*", line))
                elif line.strip() and not line.startswith("#"):
                    named = os.path.join(folder, line.rstrip())
                    if named not in seen:
                        seen.add(named)
                        folders.append(named)
    found.discard(None)
    return sorted(found), sorted(words | customize_words()), egg_links
def customize_words():
    # Every word of a sitecustomize/usercustomize outside the site folders (Debian's, in the
    # standard library, imports apport_python_hook when there is one): each Python start
    # runs it, so a module of that name a wheel installs is a start-up hook too.
    words = set()
    for folder in sys.path:
        for name in ("sitecustomize.py", "usercustomize.py", "sitecustomize/__init__.py"):
            try:
                path = os.path.join(folder or ".", name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read(1 << 20)
            except OSError:
                continue
            words.update(w.lower() for w in re.findall(r"[A-Za-z_]\w*", text))
    return words
pip_seen, startup_words, egg_links = pip_names()
print(json.dumps({
    "executable": sys.executable,
    "markers": markers,
    "version": list(sys.version_info[:2]),
    "soabi": sysconfig.get_config_var("SOABI") or "",
    "debug": bool(sysconfig.get_config_var("Py_DEBUG")),
    "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "platform": sysconfig.get_platform(),
    "installed": installed,
    "pip_names": pip_seen,
    "startup_modules": startup_words,
    "egg_links": egg_links,
    # pip's sys.prefix there, where it reads its site configuration file (pip.conf)
    "prefix": venv or sys.prefix,
    # where an installer writes (batches: a file of a wheel where the target has a folder)
    "install_paths": {
        kind: sysconfig.get_path(kind, scheme, where) if venv else sysconfig.get_path(kind)
        for kind in ("purelib", "platlib", "scripts", "data")
    },
    "has_pip": any(
        os.path.isdir(os.path.join(p, "pip")) for p in paths if p and os.path.isdir(p)
    ),
}))
"""
)


#: how long a script in the target may take
TIMEOUT = 120.0


class Running:
    """A script running in the target interpreter, in a new empty directory of its own.

    ``isolated`` adds ``-I -S``: no PYTHON* variables, no site-packages, no ``.pth`` files,
    so nothing installed in the target can run in the script or change its answer.
    """

    def __init__(
        self,
        python: str,
        script: str,
        args: Sequence[str],
        *,
        isolated: bool,
        held: list[Running] | None = None,
    ) -> None:
        self.key = _key(python, script, args, isolated)
        self.command = [self.key[0], *(("-I", "-S") if isolated else ()), "-c", script, *args]
        # the cwd: so that nothing in the caller's directory shadows the standard library
        self._cwd: tempfile.TemporaryDirectory[str] | None = tempfile.TemporaryDirectory()
        self._error: OSError | subprocess.SubprocessError | None = None
        self._process: subprocess.Popen[str] | None = None
        if held is not None:  # before it starts: a signal as __init__ returned left it unheld
            held.append(self)
        try:
            self._process = start_process(
                self.command,
                started=self._started,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=self._cwd.name,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._error = exc
            self.close()

    def _started(self, process: subprocess.Popen[str]) -> None:
        self._process = process  # before start_process returns (a signal then: see there)

    @staticmethod
    def normalized(python: str) -> str:
        """A relative ``python`` means the caller's directory, not the script's temporary one."""
        if os.sep in python or (os.altsep and os.altsep in python):
            return os.path.abspath(python)
        return python

    def result(self) -> subprocess.CompletedProcess[str]:
        """Wait for the script; raises OSError or SubprocessError (a timeout) as ``run`` does."""
        try:
            if self._process is None:
                assert self._error is not None  # noqa: S101 -- set whenever there is no process
                raise self._error
            out, err = self._process.communicate(timeout=TIMEOUT)  # a timeout: close() kills
            return subprocess.CompletedProcess(self.command, self._process.returncode, out, err)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the script if it still runs, and remove its directory.

        What is left of its output is not read to its end: a process it started (the
        interpreter a wrapper script runs) may hold its pipes open for as long as it runs,
        and peep waited for that one at exit (a Ctrl-C there: a traceback).
        """
        process = self._process
        if process is not None:
            if process.returncode is None:
                process.kill()
                process.wait()
            close_streams(process)
        if self._cwd is not None:
            self._cwd.cleanup()
            self._cwd = None


def start_process(
    command: Sequence[str],
    *,
    started: Callable[[subprocess.Popen[Any]], None] | None = None,
    **options: Any,  # noqa: ANN401
) -> subprocess.Popen[Any]:
    """``subprocess.Popen(command, **options)``; interrupted as it starts, the child is killed.

    Popen waits for the child's exec to succeed: an interrupt (Ctrl-C, a SIGTERM turned into
    one) raised there goes out of Popen with no object to stop the child by, while the
    child, started, runs on. Its pid is set on the object by then. ``started``: given the
    process before it is returned, to hold it; one raised as this call returned (the
    handler runs in the caller, before it stores the value) left it running, unheld.
    """
    process: subprocess.Popen[Any] = subprocess.Popen.__new__(subprocess.Popen)
    try:
        subprocess.Popen.__init__(process, command, **options)
        if started is not None:
            started(process)
    except (OSError, subprocess.SubprocessError, ValueError):
        raise  # it never ran, or Popen has waited for it already
    except BaseException:
        pid = getattr(process, "pid", None)
        if pid is not None and getattr(process, "returncode", None) is None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                process.returncode = -signal.SIGKILL  # waited for: held, it is not again
        raise
    return process


def close_streams(process: subprocess.Popen[Any]) -> None:
    """Close our ends of the child's pipes (stdin, stdout, stderr: those it was given).

    What is left unread is dropped. Closing stdin writes what waits in its buffer: the
    child gone (killed), that fails (BrokenPipeError), to no harm; so does a stream another
    thread closed meanwhile (ValueError).
    """
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.close()


def _key(python: str, script: str, args: Sequence[str], isolated: bool) -> tuple[str, ...]:
    return (Running.normalized(python), script, *args, "isolated" if isolated else "")


_early: list[Running] = []


def start(
    python: str, script: str, *args: str, isolated: bool = False, held: list[Running] | None = None
) -> Running:
    """Start ``python -c script *args``; a probe started early (``start_early``) if it fits.

    ``held``: where it is put as soon as it starts (or is taken), for the caller to stop
    it; a signal as it was returned left it unheld and running.
    """
    key = _key(python, script, args, isolated)
    for running in _early:
        if running.key == key:
            if held is not None:
                held.append(running)  # first: in one list or the other, whatever comes
            _early.remove(running)
            return running
    return Running(python, script, args, isolated=isolated, held=held)


def start_early(python: str, *, uv: bool = False) -> None:
    """Start probing ``python`` now, for ``target.probe`` to collect the answer later.

    A probe nobody collects (the command failed first, or asked for another interpreter)
    is stopped at exit. ``uv``: the run will likely install with uv (``prime_uv``).
    """
    if not _early and not _primers:
        atexit.register(_stop_early)
    Running(python, PROBE, (), isolated=True, held=_early)
    if uv:
        prime_uv(python)


def _stop_early() -> None:
    while _early:
        _early.pop().close()
    while _primers:
        process = _primers.pop()
        if process.returncode is None:  # not reaped: its group is still its own
            try:  # uv and the interpreter it queries (whose start-up may not end)
                os.killpg(process.pid, signal.SIGKILL)
            except (AttributeError, OSError):  # no killpg (Windows)
                process.kill()
            process.wait()


def locate_uv() -> str | None:
    """The uv executable: on PATH, or beside this interpreter (a venv's own); None if neither."""
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    found = shutil.which("uv")  # from a relative PATH entry: relative to our folder
    # absolute: children run in folders of their own (the installer's: a relative one failed)
    return os.path.abspath(found) if found else (beside if os.path.isfile(beside) else None)


#: the primers started (``prime_uv``), stopped at exit if still running
_primers: list[subprocess.Popen[bytes]] = []


def prime_uv(python: str) -> None:
    """Have uv ask ``python`` about itself now, into the cache its install will read.

    ``uv pip install`` reads its requirements before it queries its interpreter (~35 ms,
    most of it a Python start-up): the one started ahead (``warmuv.py``) waits for them
    with the query still to do. uv keeps the answer in its cache by the interpreter's
    absolute path (``uv python find`` so): asked now, beside our own start-up, the install
    finds it there; a guess that was wrong costs that time and nothing else. It runs what
    the install would run (the target with its site: its .pth files), also in a run that
    then installs nothing or fails; it reads no configuration or project.
    """
    uv = locate_uv()
    # Only the file the probe runs: a name found on a relative PATH entry is another file
    # for uv (run in /) and for the probe (in a folder of its own); a folder uv takes for an
    # environment, and would run the interpreter in it (the probe fails there).
    absolute = shutil.which(python) if os.sep not in python else os.path.abspath(python)
    if uv is None or not absolute or not os.path.isabs(absolute) or not os.path.isfile(absolute):
        return
    if uv_cache_off(os.environ) or not _uv_cache_is_absolute():
        return
    command = [uv, "python", "find", "--no-config", "--no-project", "--offline"]
    command += ["--no-python-downloads", "--quiet", absolute]
    env = {k: v for k, v in os.environ.items() if k != "UV_CONFIG_FILE"}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        start_process(
            command,
            started=_primers.append,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=os.sep,
            env=env,
            start_new_session=True,  # a group of its own: stopped with what it starts
        )


def _uv_cache_is_absolute() -> bool:
    """Whether uv's cache folder is named absolutely (a relative one: under /, for the query).

    UV_CACHE_DIR; else $XDG_CACHE_HOME/uv, that variable ignored unless absolute; else
    $HOME/.cache/uv (uv takes a relative HOME as it is; an empty one: not looked into).
    """
    cache = os.environ.get("UV_CACHE_DIR")
    if cache is not None:
        return os.path.isabs(cache)
    return os.path.isabs(os.environ.get("XDG_CACHE_HOME", "")) or os.path.isabs(
        os.environ.get("HOME", os.sep)
    )


def primed(timeout: float = 2.0) -> None:
    """Wait (up to ``timeout`` seconds) for uv's query started by ``prime_uv``, if any.

    An install that starts while it runs queries again, from the start: waiting for the
    rest of the one under way is never longer.
    """
    for process in list(_primers):
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)


def uv_cache_off(env: Mapping[str, str]) -> bool:
    """Whether ``UV_NO_CACHE`` in ``env`` turns uv's cache off, as uv reads a boolean."""
    return env.get("UV_NO_CACHE", "").strip().lower() not in _UV_FALSE


#: what uv reads as false in a boolean variable (unset: "")
_UV_FALSE = ("", "0", "false", "f", "no", "n", "off")
