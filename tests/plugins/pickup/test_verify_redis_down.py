"""Issue 15 (5): pickup verification with the rate-limit storage (Redis)
down answers as usual (no 500), its budget counted in process."""

from __future__ import annotations

import socket

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "RATELIMIT_ENABLED": True,
            "JISHI_PICKUP_VERIFY_RATE_LIMIT": "3 per minute",
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{_closed_port()}/0",
        }
    ],
)
def test_verify_with_redis_down(app, api, factory, pk):
    """Issue 15 (5): Redis down: wrong codes answer 404 (not 500), the
    fourth attempt 429, from the in-process fallback."""
    admin = factory.admin()
    statuses = [api.post("/seller/pickup/verify", user=admin, json={"code": "000000000000"}) for _ in range(4)]
    assert [r.status_code for r in statuses] == [404, 404, 404, 429]
    assert statuses[-1].json["code"] == "rate_limited"
