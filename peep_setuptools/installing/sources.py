"""Where the installer may take files from, spelled for pip and for uv, and its environment.

A run is told either only the folder of verified wheels (``pinned``) or, when an sdist is
left to build, the index its build backend comes from (``index``); never a secret on a
command line, which every local user can read (/proc/PID/cmdline).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from peep_setuptools.errors import BackendError
from peep_setuptools.frozen import frozen
from peep_setuptools.index.pipconfig import normalized_name, pip_settings
from peep_setuptools.installing.children import absolute as _absolute
from peep_setuptools.installing.handoff import write_installer_input
from peep_setuptools.requirements.spec import control_character
from peep_setuptools.urls import proxy_url, redact_url, split_credentials

__all__ = ["PIP", "UV", "BuildIndex", "Sources", "child_env", "pip_env", "plain_path"]

#: pip's options that would send the install elsewhere than the environment peep probed and
#: checks (``python``: pip starts itself again in another interpreter; ``no-user = yes``
#: is ``--user``, pip sets a store_false option to the value given). Neither pip's files
#: nor its variables give them to the pip we run.
_ELSEWHERE = frozenset({"target", "user", "no-user", "prefix", "root", "python"})
#: pip's options that change what it installs: the requirements they name are added to the
#: command line's (pinned by their own hashes, they would reach the target unverified by
#: peep): a requirements file's, an editable, a script's inline metadata's, a dependency
#: group's, any ``-r`` line's in a constraints file. dry-run installs nothing, and pip
#: succeeds (peep would report an install).
_NOT_VERIFIED = frozenset(
    {"requirement", "editable", "requirements-from-script", "group", "constraint", "dry-run"}
)
#: Bootstrap recipes set these variables for setuptools' own fetch of our plugin; they must
#: not reach the pip we run, whose hash options are its own (and whose build-isolation pip
#: would otherwise refuse the unpinned build backend of every sdist). In pip's files they
#: are the user's standing choice, as pip applies it everywhere: kept (but ``constraint``).
_BOOTSTRAP_ONLY = frozenset({"require-hashes", "constraint", "no-deps", "no-dependencies"})

#: (requirements-file lines, child environment, arguments)
IndexInput = tuple[list[str], dict[str, str], list[str]]
#: (requirements-file lines, child environment, arguments)
PinnedInput = tuple[list[str], dict[str, str], list[str]]


@frozen
class BuildIndex:
    """Index options for the one thing the installer still fetches: sdists' build backends."""

    index_url: str | None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    trusted_hosts: tuple[str, ...] = ()
    cert: str | None = None
    #: the proxy pip's own configuration gives it (``proxy``, PIP_PROXY), which pip passes
    #: on to its build pip as an argument
    pip_proxy: str | None = None

    def pip_lines(self, netrc: str) -> tuple[list[str], dict[str, str]]:
        """The options as requirements-file lines for pip, and the environment they need.

        Never on a command line, which every local user can read (/proc/PID/cmdline): the
        lines go into a file in the private workdir. Credentials are taken out of the URLs
        and into a netrc file there too, because pip hands its index URLs on to the pip it
        starts for build dependencies, on that one's command line.
        """
        if self.pip_proxy and split_credentials(self.pip_proxy)[2] is not None:
            raise BackendError(
                f"cannot let pip build an sdist through the proxy {redact_url(self.pip_proxy)} "
                "of its configuration: pip passes it, password and all, on the command line "
                "of the pip that fetches the build dependencies. Give the proxy as "
                "https_proxy/http_proxy in the environment instead, or use --installer uv, "
                "or wheels only (--only-binary :all:)"
            )
        options: list[tuple[str, ...]] = []
        logins: dict[str, tuple[str, str | None]] = {}

        def plain(url: str) -> str:
            bare, host, login = split_credentials(_no_query_for_pip(url))
            if login is not None:
                logins[host] = login
            return bare

        if self.no_index:
            options.append(("--no-index",))
        elif self.index_url:
            options.append(("--index-url", plain(self.index_url)))
        options += [("--extra-index-url", plain(url)) for url in self.extra_index_urls]
        options += [("--find-links", plain(_absolute(link))) for link in self.find_links]
        options += [("--trusted-host", host) for host in self.trusted_hosts]
        # pip splits option lines as a shell would: a folder with a space stays one value.
        lines = [" ".join(shlex.quote(word) for word in option) for option in options]
        if not logins:
            return lines, {}
        write_installer_input([_netrc_entry(host, *login) for host, login in logins.items()], netrc)
        return lines, {"NETRC": netrc}

    def uv_env(self) -> dict[str, str]:
        """The options as uv's environment variables (only our own user reads those)."""
        env: dict[str, str] = {}
        if self.index_url and not self.no_index:
            env["UV_INDEX_URL"] = self.index_url
        if self.extra_index_urls and not self.no_index:
            env["UV_EXTRA_INDEX_URL"] = " ".join(self.extra_index_urls)
        if self.find_links:
            env["UV_FIND_LINKS"] = ",".join(_absolute(link) for link in self.find_links)
        if self.trusted_hosts:
            env["UV_INSECURE_HOST"] = " ".join(self.trusted_hosts)
        return env


def _no_query_for_pip(url: str) -> str:
    """``url``, which pip may pass on as an argument; one with a query is refused.

    pip starts a pip for an sdist's build dependencies with every index and find-links URL
    on its command line, which every local user reads; a query (a token, a signature) cannot
    go into the netrc file as a user name and password do.
    """
    if "://" in url and urlsplit(url).query:
        raise BackendError(
            f"cannot hand {redact_url(url)} to pip for building an sdist without putting its "
            "query on a command line (pip starts a pip for the build dependencies with every "
            "index and find-links URL as arguments): use --installer uv, or wheels only "
            "(--only-binary :all:)"
        )
    return url


def _netrc_entry(host: str, user: str, password: str | None) -> str:
    values = [host, user, *([password] if password else [])]
    if any(
        not value or control_character(value) or any(c.isspace() or c in "\"'#" for c in value)
        for value in values
    ):
        # The message names neither value: they are secrets.
        raise BackendError(
            f"cannot hand the credentials for {host} to pip without putting them on a command "
            "line: the user name or password has a space, a quote, '#' or a control character; "
            "use --installer uv, "
            "or wheels only (--only-binary :all:)"
        )
    if not password:  # a token as the user name: Python 3.11+ reads an entry without one
        return f"machine {host} login {user}"
    return f"machine {host} login {user} password {password}"


#: variables the installers (pip, uv, their HTTP and TLS libraries) read a path from, from
#: their current folder; the lists' (uv's) separated by spaces (UV_CONSTRAINT is not among
#: them: it never reaches uv, ``_UV_SCRUBBED``)
_PATH_VARIABLES = frozenset(
    {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC", "UV_CACHE_DIR"}
)
_PATH_LIST_VARIABLES = frozenset({"UV_BUILD_CONSTRAINT"})


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Our environment less the pip variables that must not reach an installer.

    The installer starts in an empty folder of the run: a relative path in a variable it
    reads is made absolute from ours, where the user meant it (one under ``~`` as it is).
    """
    env = {k: v for k, v in os.environ.items() if not _scrubbed(k)}
    for name in _PATH_VARIABLES.intersection(env):
        env[name] = _from_here(env[name])
    for name in _PATH_LIST_VARIABLES.intersection(env):
        env[name] = " ".join(_here(place) for place in env[name].split(" "))
    if "SSL_CERT_DIR" in env:  # OpenSSL's folders, separated as PATH's
        folders = env["SSL_CERT_DIR"].split(os.pathsep)
        env["SSL_CERT_DIR"] = os.pathsep.join(_from_here(folder) for folder in folders)
    env.update(extra or {})
    return env


def _from_here(path: str) -> str:
    """``path`` from our current folder; one under ``~`` (the tool may expand it) as it is."""
    return path if not path or path.startswith("~") else os.path.join(os.getcwd(), path)


def pip_env(command: str, prefix: str, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of a ``pip COMMAND`` of ours, pip's configuration given as variables.

    pip reads no configuration file (``PIP_CONFIG_FILE`` is os.devnull): each setting it
    would take from its files and variables comes as the ``PIP_*`` variable it reads, in
    the order pip would apply them (``pip_settings``), less the ones that install elsewhere
    (``_ELSEWHERE``) and those ``extra`` sets. A variable that wins is passed as it is,
    and every value as written (pip still rejects what it would) but a path: pip starts in
    an empty folder of the run, so a relative one is made absolute from our current folder,
    as pip run here would read it (``_resolved``). ``prefix``: the target's ``sys.prefix``,
    where pip reads its site file.
    """
    ours = {normalized_name(k[4:]) for k in extra if k.startswith("PIP_")}
    environ = child_env()
    env = {k: v for k, v in environ.items() if not k.startswith("PIP_")}
    for setting in pip_settings(environ, command, prefix=prefix or None):
        if setting.key not in ours | _ELSEWHERE | _NOT_VERIFIED:
            value = _resolved(setting.key, setting.value)
            env[setting.variable or _variable(setting.key)] = value
    env.update(extra)
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


#: pip's path options (its type "path"): pip expands ``~`` in them, then reads them from its
#: current folder, which for the pip we run is an empty one of the run (``empty_dir``)
_PATHS = frozenset(
    {"log", "log-file", "local-log", "cert", "client-cert", "cache-dir"}
    | {"src", "source", "source-dir", "source-directory"}
)
#: pip's options that name files or folders but expand nothing (``-`` is pip's stdout;
#: ``build-constraint`` takes several, and URLs)
_PLAIN_PATHS = frozenset({"build-constraint", "report", "wheel-dir"})


def _resolved(key: str, value: str) -> str:
    """``value`` as pip would read it in our current folder, for a pip started in another."""
    if key in _PATHS:
        return os.path.join(os.getcwd(), os.path.expanduser(value))
    if key == "build-constraint":  # one or more, split as pip splits a list option
        return " ".join(_here(place) for place in value.split())
    if key in _PLAIN_PATHS and value != "-":
        return os.path.join(os.getcwd(), value)  # not os.path.abspath: "link/.." as pip
    return value


def _here(place: str) -> str:
    """A constraints file's place: a URL (as pip and uv read one) as it is, a path from here."""
    url = urlsplit(place).scheme in ("http", "https", "file")
    return place if url or not place else os.path.join(os.getcwd(), place)


def _scrubbed(name: str) -> bool:
    """Whether ``name`` is a pip variable (as pip reads them) not to pass on."""
    return (
        name.startswith("PIP_")
        and normalized_name(name[4:]) in _ELSEWHERE | _NOT_VERIFIED | _BOOTSTRAP_ONLY
    )


def _variable(key: str) -> str:
    """The ``PIP_*`` variable pip reads as ``key``."""
    name = key.replace("-", "_")
    upper = name.upper()
    return "PIP_" + (upper if upper.lower() == name else name)


@frozen
class Sources:
    """How one installer is told where to look."""

    #: ``(build_index, workdir, step, prefix)``: the index options, any netrc written into
    #: workdir; step "install" or "build" (pip's ``wheel``); prefix: the target's sys.prefix
    index: Callable[[BuildIndex, str, str, str], IndexInput]
    #: ``(folder, in_place, prefix)``: make the verified folder and in-place wheels the
    #: places to look in. Both installers add ``--find-links`` from their configuration to
    #: the command line's; a wheelhouse there could offer another file for a pin (then
    #: refused by its hash).
    pinned: Callable[[str, Sequence[str], str], PinnedInput]


def _pip_index(build_index: BuildIndex, workdir: str, step: str, prefix: str) -> IndexInput:
    # pip adds the find-links of its own configuration (its files, PIP_FIND_LINKS) to the
    # lines', credentials and all, and passes them on to its build pip as arguments. The
    # lines hold them already (ours merge pip's): an empty folder replaces them (pip skips
    # an empty value). Its extra indexes go with the lines' --index-url.
    nothing = os.path.join(workdir, f"{step}-no-links")
    os.makedirs(nothing, mode=0o700, exist_ok=True)
    command = "wheel" if step == "build" else "install"
    env = pip_env(command, prefix, {"PIP_FIND_LINKS": nothing})
    # The proxy this pip takes (a build's from [wheel]), which it passes on as an argument.
    proxies = [v for k, v in env.items() if k[:4] == "PIP_" and normalized_name(k[4:]) == "proxy"]
    pip_proxy = proxy_url(proxies[-1].strip()) or None if proxies else None
    lines, netrc = replace(build_index, pip_proxy=pip_proxy).pip_lines(
        os.path.join(workdir, f"{step}-netrc")
    )
    cert = ["--cert", os.path.abspath(build_index.cert)] if build_index.cert else []
    return lines, {**env, **netrc}, cert


def _pip_pinned(folder: str, in_place: Sequence[str], prefix: str) -> PinnedInput:
    # Ours replaces the find-links of pip's configuration (pip_env).
    return [], pip_env("install", prefix, {"PIP_FIND_LINKS": folder}), ["--no-index"]


def _uv_index(build_index: BuildIndex, workdir: str, step: str, prefix: str) -> IndexInput:
    # uv reads the CA bundle from the environment; it has no --cert. It builds in its
    # own process, so its environment (which only our user can read) can hold secrets.
    env = build_index.uv_env()
    if build_index.cert:
        env["SSL_CERT_FILE"] = os.path.abspath(build_index.cert)
    # No configuration file: uv looks for one in each folder above ours (TMPDIR's parent,
    # /tmp, anyone's to write), and any of them (the user's too) adds indexes searched
    # before ours, build dependencies never pinned, build settings, another target. The
    # places to fetch from are ours alone (pip's configuration and the files).
    no_index = ["--no-index"] if build_index.no_index else []
    return [], _uv_env(env, drop=_UV_CONFIG + _UV_PLACES), ["--no-config", *no_index]


#: uv's variables that change what it installs whatever the requirements say (and that
#: --no-config keeps): an override, its own hash and all, installs an archive never pinned;
#: so does a constraint with a URL and a hash (it does not only narrow); an exclude leaves
#: a pinned one out, the run a success
_UV_SCRUBBED = ("UV_OVERRIDE", "UV_CONSTRAINT", "UV_EXCLUDE")
#: uv's configuration file, which it reads even with --no-config
_UV_CONFIG = ("UV_CONFIG_FILE",)
#: uv's variables for places to fetch from, which ours (``BuildIndex.uv_env``) replace only
#: where it sets them (and UV_DEFAULT_INDEX would clash with our UV_INDEX_URL); a build
#: constraint with a URL names the place of a build dependency
_UV_PLACES = (
    *("UV_INDEX", "UV_DEFAULT_INDEX", "UV_INDEX_URL", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS"),
    "UV_BUILD_CONSTRAINT",
)


def _uv_env(extra: dict[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """Our environment less uv's variables to drop, then ours (``extra``) over it.

    ``UV_LINK_MODE=symlink`` too: the installed files would be links into uv's cache, whose
    bytes anyone who can write that cache changes later (copy, hardlink and clone stay).
    """
    env = {k: v for k, v in child_env().items() if k not in (*_UV_SCRUBBED, *drop)}
    if env.get("UV_LINK_MODE", "").strip().lower() == "symlink":
        del env["UV_LINK_MODE"]
    return {**env, **(extra or {})}


def _uv_pinned(folder: str, in_place: Sequence[str], prefix: str) -> PinnedInput:
    # uv merges configured find-links with the command line's: read no configuration, nor
    # its find-links and config-file variables (--no-config drops neither; that file's target
    # installs elsewhere, its excludes leave pins out). The folders go into the file, which a
    # uv started ahead reads late (``warmuv``); a folder its parser would split (a space, a
    # quote) goes on the command line.
    places = (folder, *in_place)
    links = [arg for place in places for arg in ("--find-links", place)]
    env = _uv_env(drop=("UV_FIND_LINKS", *_UV_CONFIG))
    if all(plain_path(place) for place in places):
        return [f"--find-links {place}" for place in places], env, _UV_PINNED
    return [], env, [*_UV_PINNED, *links]


_UV_PINNED = ["--no-config", "--no-index"]


def plain_path(path: str) -> bool:
    """An absolute path uv's requirements-file parser takes whole and as it is.

    No space, quote or ``#`` (it would split it), no ``$`` (it expands ``${NAME}``: the
    path would name another file or folder, one someone else may have put there), nothing
    unprintable (a control character; a byte that is not UTF-8, which the file cannot hold).
    """
    plain = os.path.isabs(path) and path.isprintable()
    return plain and not any(c.isspace() or c in "\"'#\\$" for c in path)


PIP = Sources(index=_pip_index, pinned=_pip_pinned)
UV = Sources(index=_uv_index, pinned=_uv_pinned)
