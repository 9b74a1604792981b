"""Posting is rate-limited (issue 18 messages; the kernel's limiter): per
signed-in user, API and pages sharing the budget; another user keeps theirs."""

from __future__ import annotations

import pytest

from .helpers import ask


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "JISHI_MESSAGES_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": "memory://"}],
)
def test_posting_is_limited_per_user(app, api, client, login, factory):
    """Issue 18 messages: the fourth post in a minute is a 429
    (``rate_limited``), on the page too; reading is not limited; another
    buyer may still post."""
    buyer, other = factory.user(), factory.user()
    p = factory.product()
    t, _m = ask(buyer, p)  # the service itself is not limited
    for i in range(3):
        r = api.post(f"/me/messages/threads/{t.id}/messages", user=buyer, json={"body": str(i)})
        assert r.status_code == 201, r.json
    r = api.post(f"/me/messages/threads/{t.id}/messages", user=buyer, json={"body": "again"})
    assert r.status_code == 429 and r.json["code"] == "rate_limited"
    assert api.get(f"/me/messages/threads/{t.id}", user=buyer).status_code == 200
    login(buyer)
    assert client.post(f"/messages/{t.id}", data={"body": "page"}).status_code == 429
    assert client.post(f"/messages/contact?product_id={p.id}", data={"body": "page"}).status_code == 429
    assert api.post("/me/messages", user=other, json={"product_id": p.id, "body": "hi"}).status_code == 201
