"""peep-setuptools: install Python dependencies only when every archive matches a pinned hash."""

from __future__ import annotations

__version__ = "1.0.0.dev0"
