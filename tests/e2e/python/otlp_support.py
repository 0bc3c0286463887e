"""What the e2e sender scripts (``send_spans.py``, ``send_logs_metrics.py``) share.

The OpenTelemetry SDK only logs failed exports; the tests need to know about
them, so each script wraps its exporters in a recording exporter built on
:class:`ExportLedger`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlparse

R = TypeVar("R")


class PlanError(ValueError):
    """The JSON plan read from stdin is malformed."""


class ExportLedger:
    """Counts successful export calls and records failed ones (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.ok_calls = 0
        self.failures: list[str] = []

    def record(
        self,
        label: str,
        call: Callable[[], R],
        success: object,
        on_success: Callable[[], None],
    ) -> R:
        """Run ``call``; on ``success`` count it and run ``on_success`` under the lock."""
        try:
            result = call()
        except Exception as exc:  # the SDK would swallow it; record it instead
            with self._lock:
                self.failures.append(f"{label}: exporter raised {exc!r}")
            raise
        with self._lock:
            if result == success:
                self.ok_calls += 1
                on_success()
            else:
                self.failures.append(f"{label}: {result.name}")
        return result


def bypass_proxy_for_loopback(endpoint: str) -> None:
    """Never route loopback test traffic through an HTTP(S) proxy from the env."""
    host = urlparse(endpoint if "://" in endpoint else "//" + endpoint).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        return
    for var in ("NO_PROXY", "no_proxy"):
        entries = [e for e in os.environ.get(var, "").split(",") if e]
        for extra in ("127.0.0.1", "localhost", "::1"):
            if extra not in entries:
                entries.append(extra)
        os.environ[var] = ",".join(entries)
