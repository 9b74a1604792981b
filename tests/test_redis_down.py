"""Issue 15 (5) and "healthy": Redis down or hanging. Rate limits (logins,
registrations) degrade to in-process limits with a logged warning and short
timeouts, never a 500 nor a request held for seconds; readiness names Redis.
Each test runs a throwaway redis-server of its own (never the shared one)."""

from __future__ import annotations

import logging
import shutil
import time

import pytest
from jishi.testing import make_app
from jishi.testing.faults import RedisProcess

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server is not installed")


@pytest.fixture
def own_redis():
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.stop()


def test_readiness_checks_redis_when_configured(tmp_path, own_redis):
    """Issue 15 health: with JISHI_REDIS_URL, /readyz pings Redis: 200 while
    it answers, 503 naming ``redis`` at once when it hangs (SIGSTOP) or is
    stopped — never a request held for seconds."""
    app = make_app(tmp_path, config={"JISHI_REDIS_URL": own_redis.url, "JISHI_REDIS_TIMEOUT": 0.3})
    try:
        _readiness_follows_redis(app, own_redis)
    finally:
        from jishi.db import db

        with app.app_context():
            db.engine.dispose()


def _readiness_follows_redis(app, own_redis):
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["checks"]["redis"]["ok"] is True

    own_redis.pause()
    try:
        started = time.monotonic()
        ready = client.get("/readyz")
        assert time.monotonic() - started < 1.5
        assert ready.status_code == 503 and ready.get_json()["failed"] == ["redis"]
        assert client.get("/healthz").status_code == 200
    finally:
        own_redis.resume()
    assert client.get("/readyz").status_code == 200

    own_redis.stop()
    started = time.monotonic()
    ready = client.get("/readyz")
    assert time.monotonic() - started < 1.5
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}
    assert ready.get_json()["checks"]["database"]["ok"] is True


@pytest.fixture
def app_config(own_redis):
    return {
        "RATELIMIT_ENABLED": True,
        "JISHI_LOGIN_RATE_LIMIT": "3 per minute",
        "JISHI_REDIS_URL": own_redis.url,
        "JISHI_REDIS_TIMEOUT": 0.3,
    }


def _timed(call):
    started = time.monotonic()
    response = call()
    return response.status_code, time.monotonic() - started


def test_logins_fall_back_to_in_process_limits_while_redis_hangs(app, client, api, factory, own_redis, caplog):
    """Issue 15 (5): while Redis hangs (SIGSTOP) a login costs at most the
    short Redis timeout once, then the rate limit counts in this process
    (still answering 429 past the budget) with a logged warning; no 500, no
    request waits seconds. Registration goes on too."""
    import redis

    user = factory.user()
    wrong = {"phone": user.phone, "password": "wrong-password"}
    assert client.post("/login", data=wrong).status_code == 401
    assert redis.Redis.from_url(own_redis.url).dbsize() > 0  # counted in Redis while it answers

    caplog.set_level(logging.WARNING, logger="jishi")
    own_redis.pause()
    try:
        results = [_timed(lambda: client.post("/login", data=wrong)) for _ in range(4)]
        assert [status for status, _ in results] == [401, 401, 401, 429]
        # The first pays the short Redis timeout once (and a password hash, slower
        # on a loaded machine); a hang would cost the socket's seconds on every one.
        assert max(seconds for _, seconds in results) < 3.0, results
        assert any("rate limits: the storage (Redis) is unreachable" in r.getMessage() for r in caplog.records)
        status, seconds = _timed(
            lambda: api.post("/auth/register", json={"phone": "13912345678", "password": "longenough"})
        )
        assert status == 201 and seconds < 3.0
    finally:
        own_redis.resume()


def test_logins_go_on_with_redis_stopped(app, client, api, factory, own_redis, caplog):
    """Issue 15 (5): Redis stopped: web and API logins and registrations
    answer as usual (no 500) and the budget still holds, in process."""
    user = factory.user()
    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="jishi")
    wrong = {"phone": user.phone, "password": "wrong-password"}
    statuses = [_timed(lambda: api.post("/auth/login", json=wrong)) for _ in range(4)]
    assert [s for s, _ in statuses] == [401, 401, 401, 429]
    # A stopped Redis refuses at once; a hang would cost the socket's seconds
    # on every one (the bound leaves room for password hashes on a loaded machine).
    assert max(t for _, t in statuses) < 3.0, statuses
    assert client.post("/login", data={"phone": user.phone, "password": "secret123"}).status_code == 302
    assert api.post("/auth/register", json={"phone": "13912345678", "password": "longenough"}).status_code == 201
    assert client.post(
        "/register", data={"phone": "13912345679", "password": "longenough", "password2": "longenough"}
    ).status_code in (302, 303)
    assert any("unreachable" in r.getMessage() for r in caplog.records)
