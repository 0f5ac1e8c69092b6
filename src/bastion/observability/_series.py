"""The request series (`http_requests`, `http_request_duration_seconds`) and their collector.

Imported only once `HttpMetrics` has chosen prometheus-client's mode (see
`_metrics._use_directory`): importing prometheus-client fixes that mode.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from itertools import accumulate

from prometheus_client import Counter, Histogram, Metric
from prometheus_client.core import CounterMetricFamily, Exemplar, HistogramMetricFamily, Sample

from bastion.observability._metrics import LATENCY_BUCKETS

__all__ = [
    "DURATION",
    "DURATION_HELP",
    "LABELS",
    "REQUESTS",
    "REQUESTS_HELP",
    "LocalSeries",
    "RequestCollector",
    "SharedSeries",
    "created_series_exported",
]

#: The label names of both request metrics.
LABELS = ("route", "method", "status")
REQUESTS = "http_requests"
REQUESTS_HELP = "HTTP requests answered."
DURATION = "http_request_duration_seconds"
DURATION_HELP = "Time to answer an HTTP request, in seconds."

# The `le` label of each bucket, `+Inf` last, as prometheus-client writes them
# (a test compares the whole exposition with prometheus-client's own histogram).
_BOUNDS = (*(repr(bound) for bound in LATENCY_BUCKETS), "+Inf")


class LocalSeries:
    """One `(route, method, status)` series of this process, as plain numbers.

    Changed without a lock: only the event loop's thread records, and a
    scrape reads copies.

    Attributes:
        labels: The series' label values.
        created: When the series was first recorded (its `_created` samples).
        buckets: Requests per latency bucket (not cumulative), `+Inf` last.
        exemplars: Each bucket's latest exemplar (the trace id of a sampled trace).
        total: The sum of the recorded latencies, in seconds.
    """

    __slots__ = ("buckets", "created", "exemplars", "labels", "total")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        """Start an empty series."""
        self.labels = labels
        self.created = time.time()
        self.buckets = [0] * len(_BOUNDS)
        self.exemplars: list[Exemplar | None] = [None] * len(_BOUNDS)
        self.total = 0.0

    def observe(self, seconds: float, trace_id: str | None) -> None:
        """Record one request that took `seconds`."""
        # The first bucket whose bound is at least `seconds`: prometheus' `le`.
        index = bisect_left(LATENCY_BUCKETS, seconds)
        self.buckets[index] += 1
        self.total += seconds
        if trace_id is not None:
            self.exemplars[index] = Exemplar({"trace_id": trace_id}, seconds, time.time())


class SharedSeries:
    """One series whose values prometheus-client keeps in the workers' shared files."""

    __slots__ = ("duration", "requests")

    def __init__(self, requests: Counter, duration: Histogram) -> None:
        """Record through the two metrics' children of one label set."""
        self.requests = requests
        self.duration = duration

    def observe(self, seconds: float, trace_id: str | None) -> None:
        """Record one request that took `seconds` (multiprocess mode keeps no exemplars)."""
        self.requests.inc()
        self.duration.observe(seconds)


class RequestCollector:
    """Exposes the in-process series as a counter and a histogram.

    A collector over plain numbers rather than a prometheus-client `Counter`
    and `Histogram`, whose every update takes a lock and several calls: they
    were most of what the metrics cost a request. The exposition is the
    same: per series its count with `_created`, then its cumulative buckets
    (with exemplars), count, sum and `_created`.
    """

    def __init__(self, series: dict[tuple[str, str, int], LocalSeries]) -> None:
        """Expose `series`, the live table requests are recorded into."""
        self._series = series

    def collect(self) -> list[Metric]:
        """The two metric families, with the series' values at this moment."""
        requests = CounterMetricFamily(REQUESTS, REQUESTS_HELP, labels=LABELS)
        duration = HistogramMetricFamily(DURATION, DURATION_HELP, labels=LABELS)
        created = created_series_exported()
        for series in list(self._series.values()):
            cumulative = [float(count) for count in accumulate(list(series.buckets))]
            exemplars = list(series.exemplars)
            requests.add_metric(series.labels, cumulative[-1], series.created if created else None)
            buckets = [
                (bound, count) if exemplar is None else (bound, count, exemplar)
                for bound, count, exemplar in zip(_BOUNDS, cumulative, exemplars, strict=True)
            ]
            duration.add_metric(series.labels, buckets, series.total)
            if created:
                labels = dict(zip(LABELS, series.labels, strict=True))
                duration.samples.append(Sample(f"{duration.name}_created", labels, series.created))
        return [requests, duration]


def created_series_exported() -> bool:
    """Whether prometheus-client now writes `_created` samples.

    Asked of a throwaway counter: the switch (`disable_created_metrics()`,
    `PROMETHEUS_DISABLE_CREATED_SERIES`) has no public getter.
    """
    probe = Counter("created_probe", "", registry=None)
    [family] = probe.collect()
    return any(sample.name.endswith("_created") for sample in family.samples)
