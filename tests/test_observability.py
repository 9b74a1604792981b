"""Issue 15, "observable": request ids, structured (JSON) logs with request
id, user id and route on every request line, Prometheus metrics by route
(endpoint name), job runs, gauges and payment notifications, and a
protected ``/metrics``."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from jishi import metrics, observability


@pytest.fixture
def json_lines():
    """Log records of the jishi loggers as the JSON handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.json_formatter())
    handler.addFilter(observability.RequestContextFilter())
    logger = logging.getLogger("jishi")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_request_id_is_accepted_or_generated_and_echoed(client):
    """Issue 15 logs: a plausible X-Request-Id is kept, anything else is
    replaced by a fresh id; the response carries it."""
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123.x"}).headers["X-Request-Id"] == "abc-123.x"
    fresh = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    assert client.get("/healthz").headers["X-Request-Id"] != fresh
    spoofed = client.get("/healthz", headers={"X-Request-Id": "a b\u00e9" + "x" * 200}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", spoofed)
    # error answers too
    assert client.get("/no/such/page", headers={"X-Request-Id": "r404"}).headers["X-Request-Id"] == "r404"


def test_json_request_lines_carry_request_id_user_and_route(app, client, api, factory, json_lines):
    """Issue 15 logs: every request line (JSON) has request_id, user_id (the
    signed-in user's, web session or bearer) and route (the endpoint name,
    not the raw path), also for a request that never loaded the user."""
    buyer = factory.user()
    client.get("/healthz", headers={"X-Request-Id": "req-anon"})
    api.get("/cart", user=buyer, headers={"X-Request-Id": "req-bearer"})
    client.post("/login", data={"phone": buyer.phone, "password": "secret123"})
    client.get("/account", headers={"X-Request-Id": "req-session"})
    client.get("/healthz", headers={"X-Request-Id": "req-session-unloaded"})
    lines = [line for line in json_lines() if line["logger"] == "jishi.request"]
    by_id = {line["request_id"]: line for line in lines}
    anon = by_id["req-anon"]
    assert anon["route"] == "health.healthz" and anon["user_id"] is None and anon["status"] == 200
    assert anon["method"] == "GET" and anon["path"] == "/healthz" and anon["level"] == "INFO"
    assert isinstance(anon["duration_ms"], float)
    assert by_id["req-bearer"]["user_id"] == buyer.id and by_id["req-bearer"]["route"] == "cart.get_cart"
    assert by_id["req-session"]["user_id"] == buyer.id and by_id["req-session"]["route"] == "shop.account"
    assert by_id["req-session"]["status"] == 200
    assert by_id["req-session-unloaded"]["user_id"] == buyer.id
    assert all(set(line) >= {"time", "request_id", "user_id", "route"} for line in lines)


def test_json_log_option_installs_one_root_handler(tmp_path):
    """Issue 15 logs: JISHI_LOG_JSON=1 sends every log line to standard
    error as JSON (one handler however many apps the process builds)."""
    from jishi.testing import make_app

    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    try:
        from jishi.db import db

        for app in (
            make_app(tmp_path / "a", config={"JISHI_LOG_JSON": True}),
            make_app(tmp_path / "b", config={"JISHI_LOG_JSON": True, "JISHI_LOG_LEVEL": "WARNING"}),
        ):
            with app.app_context():
                db.engine.dispose()
        added = [h for h in root.handlers if h not in before]
        assert len(added) == 1 and getattr(added[0], "jishi_json", False)
        assert root.level == logging.WARNING
        record = logging.LogRecord("jishi", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
        assert added[0].filter(record)
        line = json.loads(added[0].format(record))
        assert line["message"] == "hello world" and line["request_id"] is None and line["level"] == "WARNING"
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                root.removeHandler(handler)
        root.setLevel(level)


def _sample(body: str, name: str, **labels) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in body.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_metrics_count_requests_by_route_and_latency(client):
    """Issue 15 metrics: requests by endpoint name (not path) and status,
    latency histogram by route; a 404 no route matched is ``<unmatched>``."""
    before = (
        _sample(
            client.get("/metrics").get_data(as_text=True),
            "jishi_http_requests_total",
            method="GET",
            route="health.healthz",
            status="200",
        )
        or 0
    )
    for _ in range(3):
        client.get("/healthz")
    client.get("/no/such/page/123")
    client.open("/healthz", method="BREW")
    body = client.get("/metrics").get_data(as_text=True)
    assert _sample(body, "jishi_http_requests_total", method="GET", route="health.healthz", status="200") == before + 3
    assert _sample(body, "jishi_http_requests_total", method="GET", route="<unmatched>", status="404") >= 1
    assert "/no/such/page" not in body
    assert (
        "BREW" not in body
        and _sample(body, "jishi_http_requests_total", method="OTHER", route="<unmatched>", status="405") >= 1
    )
    assert _sample(body, "jishi_http_request_duration_seconds_count", method="GET", route="health.healthz") >= 3


def test_job_runs_payment_notifications_and_plugin_gauges(app, client):
    """Issue 15 metrics: job runs (count_job_run), payment notifications by
    gateway and result (count_payment_notification) and a gauge a plugin
    registers (register_gauge; read at scrape time, a failing read left out)."""
    metrics.count_job_run("close_unpaid", "ok", 0.25)
    metrics.count_job_run("close_unpaid", "error")
    metrics.count_payment_notification("sandbox", "paid")
    metrics.count_payment_notification("sandbox", "bad_signature")
    depth = {"value": 7}
    gauges = app.extensions.setdefault("jishi_gauges", {})
    saved = dict(gauges)
    try:
        metrics.register_gauge(app, "jishi_test_queue_depth", "Jobs waiting.", lambda: depth["value"])
        metrics.register_gauge(app, "jishi_test_by_kind", "By kind.", lambda: {("a",): 1, ("b",): 2}, labels=("kind",))
        metrics.register_gauge(app, "jishi_test_broken", "Fails.", lambda: 1 / 0)
        with pytest.raises(ValueError, match="twice"):
            metrics.register_gauge(app, "jishi_test_queue_depth", "again", lambda: 0)
        body = client.get("/metrics").get_data(as_text=True)
        assert _sample(body, "jishi_job_runs_total", job="close_unpaid", result="ok") >= 1
        assert _sample(body, "jishi_job_runs_total", job="close_unpaid", result="error") >= 1
        assert _sample(body, "jishi_job_duration_seconds_count", job="close_unpaid") >= 1
        assert _sample(body, "jishi_payment_notifications_total", gateway="sandbox", result="paid") >= 1
        assert _sample(body, "jishi_payment_notifications_total", gateway="sandbox", result="bad_signature") >= 1
        assert _sample(body, "jishi_test_queue_depth") == 7
        assert _sample(body, "jishi_test_by_kind", kind="b") == 2
        assert "jishi_test_broken" not in body
        depth["value"] = 3
        assert _sample(client.get("/metrics").get_data(as_text=True), "jishi_test_queue_depth") == 3
    finally:
        gauges.clear()
        gauges.update(saved)


def test_metrics_endpoint_is_loopback_only_without_a_token(app, client):
    """Issue 15 metrics: without JISHI_METRICS_TOKEN only a loopback client
    that no proxy forwarded may scrape; with a token, only its bearer."""
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 403
    app.config["JISHI_METRICS_TOKEN"] = "s3cret-token"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = client.get(
        "/metrics", headers={"Authorization": "Bearer s3cret-token"}, environ_base={"REMOTE_ADDR": "203.0.113.5"}
    )
    assert ok.status_code == 200 and ok.mimetype == "text/plain"


@pytest.mark.parametrize("app_config", [{"JISHI_METRICS": False}])
def test_metrics_can_be_turned_off(client):
    """Issue 15 metrics: JISHI_METRICS=false: no /metrics route."""
    assert client.get("/metrics").status_code == 404


def test_worker_counts_job_runs(app):
    """Issue 15 metrics: each periodic job run the worker makes (the
    durable scheduler, jishi.jobs) is counted by job and result, with its
    duration."""
    from jishi.cli.worker import run_once
    from jishi.hookspecs import PeriodicJob
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, labels) or 0

    def broken():
        raise RuntimeError("boom")

    before_ok = value("jishi_job_runs_total", job="probe_ok", result="ok")
    before_err = value("jishi_job_runs_total", job="probe_broken", result="error")
    run_once(
        app,
        {
            "probe_ok": PeriodicJob(name="probe_ok", func=lambda: "done", every_seconds=60),
            "probe_broken": PeriodicJob(name="probe_broken", func=broken, every_seconds=60),
        },
    )
    assert value("jishi_job_runs_total", job="probe_ok", result="ok") == before_ok + 1
    assert value("jishi_job_runs_total", job="probe_broken", result="error") == before_err + 1
    assert value("jishi_job_duration_seconds_count", job="probe_ok") >= 1
