"""Prometheus metrics (prometheus-client), served at ``/metrics``.

Kernel metrics:

- ``jishi_http_requests_total{method,route,status}`` and
  ``jishi_http_request_duration_seconds{method,route}``: every request, by
  endpoint name (``shop.product``, never the raw path; ``<unmatched>`` for
  a 404 no route matched);
- ``jishi_job_runs_total{job,result}`` and ``jishi_job_duration_seconds{job}``:
  periodic jobs, counted by :func:`count_job_run`;
- ``jishi_payment_notifications_total{gateway,result}``: gateway
  notifications, counted by :func:`count_payment_notification`.

Plugins add gauges read at scrape time with :func:`register_gauge` (the
flash-sale queue depth, for one). Several worker processes (gunicorn) share
their counters in multiprocess mode: set ``PROMETHEUS_MULTIPROC_DIR`` to an
empty folder before the processes start (docs/operations.md#metrics).

``/metrics`` answers a request carrying ``Authorization: Bearer
<JISHI_METRICS_TOKEN>``; without a token configured, only a client
connected from the loopback address with no ``X-Forwarded-For`` or
``Forwarded`` header (not a request a proxy passed on).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("jishi.metrics")

REQUESTS = Counter(
    "jishi_http_requests_total", "HTTP requests answered, by endpoint name and status.", ["method", "route", "status"]
)
REQUEST_SECONDS = Histogram(
    "jishi_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint name.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
JOB_RUNS = Counter("jishi_job_runs_total", "Periodic job runs, by job and result (ok, error).", ["job", "result"])
JOB_SECONDS = Histogram(
    "jishi_job_duration_seconds",
    "Time a periodic job run took.",
    ["job"],
    buckets=(0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
)
PAYMENT_NOTIFICATIONS = Counter(
    "jishi_payment_notifications_total",
    "Payment and refund notifications from gateways, by gateway and result.",
    ["gateway", "result"],
)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request (called for every request by jishi.observability).
    A method outside the usual ones is counted as ``OTHER`` (a client
    cannot grow the series without bound)."""
    method = method if method in _METHODS else "OTHER"
    key = (method, route, status)
    series = _REQUEST_SERIES.get(key)
    if series is None:
        series = _request_series(method, route, status)
        if len(_REQUEST_SERIES) < 10_000:
            _REQUEST_SERIES[key] = series
    count, add_seconds, bounds, buckets = series
    count(1)
    add_seconds(seconds)
    buckets[bisect_left(bounds, seconds)](1)


def _request_series(method: str, route: str, status: int) -> tuple:
    """What :func:`observe_request` does to count in the series of ``(method,
    route, status)``: ``Counter.inc(1)`` and ``Histogram.observe(seconds)`` of
    the children ``labels()`` answers, as their steps: the counter's value,
    the histogram's sum and the first bucket whose bound is at least the
    seconds (the last bound is +Inf), each incremented (prometheus-client's
    value objects, in-process or multiprocess alike). A prometheus-client
    whose children look otherwise counts through the public methods."""
    counter = REQUESTS.labels(method, route, str(status))
    histogram = REQUEST_SECONDS.labels(method, route)
    try:
        return (
            counter._value.inc,
            histogram._sum.inc,
            tuple(histogram._upper_bounds),
            tuple(b.inc for b in histogram._buckets),
        )
    except AttributeError:  # pragma: no cover - another prometheus-client
        return (lambda n: counter.inc(n), histogram.observe, (float("inf"),), (lambda n: None,))


#: (method, route, status) -> how to count a request in its series (see
#: :func:`_request_series`): found without ``labels()``'s checks and lock
#: (``REQUESTS`` and ``REQUEST_SECONDS`` are the kernel's own: nothing removes
#: their series). Bounded: past 10,000 keys, looked up at each request.
_REQUEST_SERIES: dict[tuple[str, str, int], tuple] = {}


def count_job_run(job: str, result: str, seconds: float | None = None) -> None:
    """Count one run of periodic job ``job``: ``result`` is ``"ok"`` or
    ``"error"`` (or another short word); ``seconds`` how long it took."""
    JOB_RUNS.labels(job, result).inc()
    if seconds is not None:
        JOB_SECONDS.labels(job).observe(seconds)


def count_payment_notification(gateway: str, result: str) -> None:
    """Count one notification from ``gateway`` (its code): ``result`` a short
    word such as ``"paid"``, ``"duplicate"``, ``"bad_signature"``,
    ``"unknown_trade"``, ``"amount_mismatch"``, ``"refunded"``, ``"error"``.
    Keep the words few: each is a time series."""
    PAYMENT_NOTIFICATIONS.labels(gateway, result).inc()


# -- gauges read at scrape time ---------------------------------------------------


@dataclass(frozen=True)
class _Gauge:
    name: str
    documentation: str
    read: Callable[[], float | Mapping[tuple[str, ...], float]]
    labels: tuple[str, ...]


def register_gauge(
    app: Flask,
    name: str,
    documentation: str,
    read: Callable[[], float | Mapping[tuple[str, ...], float]],
    labels: tuple[str, ...] = (),
) -> None:
    """Expose gauge ``name`` on ``app``'s ``/metrics``: ``read()`` is called
    in an app context at each scrape and answers a number, or, with
    ``labels``, a mapping of label values (a tuple) to numbers. A read that
    raises is logged and left out of that scrape. Call it from your plugin's
    ``app_ready(app)``; a name registered twice on one app is an error."""
    gauges: dict[str, _Gauge] = app.extensions.setdefault("jishi_gauges", {})
    if name in gauges:
        raise ValueError(f"gauge {name!r} is registered twice")
    gauges[name] = _Gauge(name, documentation, read, tuple(labels))


class _AppGauges:
    """A collector of the current app's registered gauges."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        for gauge in self.app.extensions.get("jishi_gauges", {}).values():
            try:
                value = gauge.read()
            except Exception:
                log.exception("metrics: gauge %s could not be read", gauge.name)
                continue
            family = GaugeMetricFamily(gauge.name, gauge.documentation, labels=gauge.labels or None)
            if gauge.labels:
                for label_values, number in dict(value).items():
                    family.add_metric(list(label_values), float(number))
            else:
                family.add_metric([], float(value))
            yield family


# -- the endpoint -------------------------------------------------------------------

bp = Blueprint("metrics", __name__)


def install(app: Flask) -> None:
    if app.config.get("JISHI_METRICS", True):
        app.register_blueprint(bp)


def _allowed() -> bool:
    token = current_app.config.get("JISHI_METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    if "HTTP_X_FORWARDED_FOR" in request.environ or "HTTP_FORWARDED" in request.environ:
        return False  # a proxy passed it on: not a local scraper
    orig = request.environ.get("werkzeug.proxy_fix.orig") or {}
    peer = orig.get("REMOTE_ADDR") or request.environ.get("REMOTE_ADDR") or ""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics():
    """The Prometheus exposition (text format)."""
    if not _allowed():
        return Response(
            "metrics: send the JISHI_METRICS_TOKEN bearer token, or scrape from the loopback address\n",
            403,
            mimetype="text/plain",
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    gauges = CollectorRegistry(auto_describe=False)
    gauges.register(_AppGauges(current_app._get_current_object()))  # type: ignore[attr-defined]
    body = generate_latest(registry) + generate_latest(gauges)
    return Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0], content_type=CONTENT_TYPE_LATEST)


def gunicorn_child_exit(server, worker) -> None:
    """For ``gunicorn.conf.py``: ``from jishi.metrics import gunicorn_child_exit as child_exit``
    (multiprocess mode: forget a dead worker's live gauges)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
