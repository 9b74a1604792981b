"""Issue 15, "healthy": liveness (``/healthz``, and ``/api/v1/ping``) answers
while the process serves; readiness (``/readyz``) checks the database and
Redis when configured and answers 503 naming what failed (Redis:
tests/test_redis_down.py)."""

from __future__ import annotations

import socket

import pytest
from jishi.app import create_app


def test_liveness_and_readiness_when_all_is_well(client):
    """Issue 15 health: 200 from /healthz, /readyz (database ok) and /api/v1/ping."""
    assert client.get("/healthz").get_json() == {"ok": True}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["ready"] is True and body["failed"] == [] and body["checks"]["database"]["ok"] is True
    assert "redis" not in body["checks"]  # not configured
    assert ready.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/ping").status_code == 200


def test_readiness_fails_with_the_database_unreachable(tmp_path):
    """Issue 15 health: a database that does not answer makes /readyz 503
    naming it, while /healthz (and /api/v1/ping, the API's liveness) stay 200."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]  # nothing listens once the socket closes
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{closed_port}/none",
        },
        instance_path=str(tmp_path),
    )
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["ready"] is False and body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/ping").status_code == 200


@pytest.mark.parametrize("app_config", [{"JISHI_SCHEMA_CHECK": True}])
def test_schema_behind_is_not_ready_but_alive(client):
    """Issue 15 health (with item 8): while the schema is behind the code
    (tables from create_all, no migration recorded) pages answer 503, but
    /healthz stays 200 (no restart loop) and /readyz answers 503 naming
    ``schema`` with what is missing."""
    assert client.get("/").status_code == 503
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.get_json()
    assert body["failed"] == ["schema"] and body["checks"]["database"]["ok"] is True
    assert body["checks"]["schema"]["error"] == "SchemaBehind" and body["checks"]["schema"]["behind"]
