"""`HttpMetrics`: the app's Prometheus registry and the request metrics it exposes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge

    from bastion.observability._series import LocalSeries, SharedSeries

__all__ = ["LATENCY_BUCKETS", "METRICS_DIR_VARIABLE", "HttpMetrics"]

#: The variable prometheus-client reads its multiprocess directory from.
METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

#: Latency histogram buckets, in seconds: from a cached read to a request timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# Any other method is counted as `_OTHER`: a client must not mint label values.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def _use_directory(directory: Path) -> None:
    """Point prometheus-client's multiprocess mode at `directory` before it is imported.

    prometheus-client picks between in-process and file-backed values once,
    when first imported, from `PROMETHEUS_MULTIPROC_DIR`: bastion imports it
    only here, after setting that variable, so `BASTION_METRICS_DIR` alone
    is enough.

    Raises:
        ValueError: prometheus-client was imported earlier without the variable
            set to `directory`, so its values cannot be shared between workers.
    """
    if not directory.is_dir():
        raise ValueError(f"BASTION_METRICS_DIR {str(directory)!r} is not a directory")
    wanted = str(directory)
    current = os.environ.get(METRICS_DIR_VARIABLE)
    if current is None and "prometheus_client.values" in sys.modules:
        raise ValueError(
            f"BASTION_METRICS_DIR needs {METRICS_DIR_VARIABLE} set to the same directory "
            "before prometheus_client is first imported (it was imported earlier)"
        )
    if current is not None and Path(current).resolve() != directory.resolve():
        raise ValueError(
            f"BASTION_METRICS_DIR and {METRICS_DIR_VARIABLE} name different directories"
        )
    os.environ.setdefault(METRICS_DIR_VARIABLE, wanted)


class HttpMetrics:
    """One app's request metrics, in a registry of its own.

    Many apps in one process never share a series. With `directory` set
    (`BASTION_METRICS_DIR`), every worker process writes its values to files
    there and a scrape of any worker sums them all (prometheus-client's
    multiprocess mode); exemplars are then not kept.

    Metrics:
        `http_requests_total{route, method, status}`: requests answered.
        `http_request_duration_seconds{route, method, status}`: latency histogram.
        `http_requests_in_flight`: requests being served.
        `http_errors_total{route, code}`: error envelopes sent, by error code.
    """

    def __init__(self, *, directory: Path | None = None) -> None:
        """Create the metrics (file-backed under `directory` when given)."""
        if directory is not None:
            _use_directory(directory)
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        from prometheus_client.multiprocess import MultiProcessCollector

        from bastion.observability import _series

        self.directory = directory
        #: What `/metrics` exposes.
        self.registry: CollectorRegistry = CollectorRegistry(auto_describe=True)
        self._series: dict[tuple[str, str, int], LocalSeries | SharedSeries] = {}
        if directory is None:
            own: CollectorRegistry | None = self.registry
            self.registry.register(_series.RequestCollector(self._series))  # type: ignore[arg-type]  # only local series in this mode
        else:
            # The values live in files: the registry reads every worker's through
            # the collector, and the metrics themselves stay unregistered.
            own = None
            MultiProcessCollector(self.registry, path=str(directory))  # type: ignore[no-untyped-call]  # untyped upstream
            self._requests = Counter(
                _series.REQUESTS, _series.REQUESTS_HELP, _series.LABELS, registry=None
            )
            self._duration = Histogram(
                _series.DURATION,
                _series.DURATION_HELP,
                _series.LABELS,
                buckets=LATENCY_BUCKETS,
                registry=None,
            )
        self.in_flight: Gauge = Gauge(
            "http_requests_in_flight",
            "HTTP requests being served.",
            registry=own,
            multiprocess_mode="livesum",
        )
        #: Requests this process is serving.
        self.active = 0
        if directory is None:
            # Read when scraped: a request then changes a plain count, not a locked value.
            self.in_flight.set_function(lambda: self.active)
        self.errors: Counter = Counter(
            "http_errors", "Error envelopes sent, by error code.", ("route", "code"), registry=own
        )

    def request_started(self) -> None:
        """Count a request in flight."""
        self.active += 1
        if self.directory is not None:
            self.in_flight.inc()

    @staticmethod
    def method_label(method: str) -> str:
        """The label value for a request `method` (`_OTHER` for unknown methods)."""
        return method if method in _METHODS else "_OTHER"

    def request_finished(
        self,
        route: str,
        method: str,
        status: int,
        seconds: float,
        error_code: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        """Count a request in flight no more, and count it answered.

        Args:
            route: The matched route template (one fixed value when unmatched).
            method: The request method.
            status: The response status.
            seconds: Time taken to answer.
            error_code: The code of the error envelope sent, if any.
            trace_id: The request's trace id (hex), kept as the latency exemplar.
        """
        self.active -= 1
        if self.directory is not None:
            self.in_flight.dec()
        key = (route, method if method in _METHODS else "_OTHER", status)
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = self._new_series(key)
        series.observe(seconds, trace_id)
        if error_code is not None:
            self.errors.labels(route, error_code).inc()

    def _new_series(self, key: tuple[str, str, int]) -> LocalSeries | SharedSeries:
        """The series of a label set seen for the first time."""
        from bastion.observability._series import LocalSeries, SharedSeries

        labels = (key[0], key[1], str(key[2]))
        if self.directory is None:
            return LocalSeries(labels)
        return SharedSeries(self._requests.labels(*labels), self._duration.labels(*labels))

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The registry rendered for a scrape: OpenMetrics when `accept` asks for it.

        Returns:
            The body and its content type.
        """
        from prometheus_client.exposition import choose_encoder

        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type

    def close(self) -> None:
        """Mark this process's live gauges dead (multiprocess mode), at shutdown."""
        if self.directory is not None:
            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), str(self.directory))  # type: ignore[no-untyped-call]  # untyped upstream
