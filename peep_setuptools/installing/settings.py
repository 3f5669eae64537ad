"""The index and HTTP settings of a run: pip's configuration < the files < the command line.

Every command that looks projects up (install, ``port --to pylock``, add, upgrade) resolves
them here, so a setting means the same in each.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from peep_setuptools.errors import UsageError
from peep_setuptools.frozen import frozen
from peep_setuptools.index.httpsettings import HttpSettings
from peep_setuptools.index.pipconfig import DEFAULT_INDEX_URL, pip_defaults
from peep_setuptools.installing.sources import BuildIndex
from peep_setuptools.requirements.lines import IndexOptions
from peep_setuptools.urls import redacting_repr, url_problem

if TYPE_CHECKING:
    from peep_setuptools.index.pages import IndexClient


@redacting_repr
@frozen
class IndexSettings:
    """Where to look projects up and how to talk to those places."""

    #: the index options in effect
    options: IndexOptions
    http: HttpSettings
    #: the proxy pip's own configuration gives it (``BuildIndex.pip_proxy``)
    pip_proxy: str | None = None

    @property
    def index_urls(self) -> list[str]:
        """The indexes to look projects up on, the main one first."""
        if self.options.no_index:
            return []
        return [self.options.index_url or DEFAULT_INDEX_URL, *self.options.extra_index_urls]

    def build_index(self) -> BuildIndex:
        """The same settings for the installer, which fetches sdists' build backends itself."""
        options = self.options
        return BuildIndex(
            index_url=None if options.no_index else (options.index_url or DEFAULT_INDEX_URL),
            extra_index_urls=options.extra_index_urls,
            find_links=options.find_links,
            no_index=options.no_index,
            trusted_hosts=options.trusted_hosts,
            cert=self.http.cert,
            pip_proxy=self.pip_proxy,
        )

    def open(self) -> IndexClient:
        """Return a client on these settings; the caller closes its ``http``."""
        # Imported here: a run the cache serves alone never opens one (nor loads ssl).
        from peep_setuptools.index.http import HttpClient
        from peep_setuptools.index.pages import IndexClient

        return IndexClient(self.index_urls, self.options.find_links, HttpClient(self.http))


def _home_expanded(find_links: Sequence[str]) -> tuple[str, ...]:
    """The find-links of pip's configuration or the command line, ``~`` expanded as pip does.

    pip expands it where the folder or file it then names exists, else keeps it as given.
    """
    expanded = [os.path.expanduser(link) if link.startswith("~") else link for link in find_links]
    return tuple(e if os.path.exists(e) else link for e, link in zip(expanded, find_links))


def resolve_settings(
    environ: Mapping[str, str],
    in_files: IndexOptions,
    on_command_line: IndexOptions,
    *,
    cert: str | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    prefix: str | None = None,
) -> IndexSettings:
    """Resolve the settings in effect, each from the strongest source that gives it.

    ``cert``, ``timeout`` and ``retries`` are the command line's, None where it gives none.
    ``prefix``: the target's ``sys.prefix``, where pip reads its site file (default: ours).
    Raises UsageError for a bad value in pip's configuration.
    """
    defaults = pip_defaults(environ, prefix=prefix)
    pip_config = IndexOptions(
        index_url=defaults.index_url,
        extra_index_urls=tuple(defaults.extra_index_urls),
        find_links=_home_expanded(defaults.find_links),
        no_index=defaults.no_index,
        trusted_hosts=tuple(defaults.trusted_hosts),
    )
    given = replace(on_command_line, find_links=_home_expanded(on_command_line.find_links))
    options = pip_config.overridden_by(in_files).overridden_by(given)
    for url in (options.index_url or "", *options.extra_index_urls, *options.find_links):
        # pip's configuration and the command line: caught here, not deep in the run
        problem = url_problem(url)
        if problem is not None:
            raise UsageError(f"the index or find-links URL {url} is not valid: {problem}")
    http = HttpSettings(
        cert=cert or defaults.cert,
        timeout=timeout if timeout is not None else defaults.timeout,
        retries=retries if retries is not None else defaults.retries,
        trusted_hosts=options.trusted_hosts,
    )
    return IndexSettings(options, http, defaults.proxy)
