"""Login attempts are rate limited (K5)."""

import pytest


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "JISHI_LOGIN_RATE_LIMIT": "3 per minute"}


def test_login_posts_are_rate_limited(client, factory):
    """After the configured number of login posts a minute the next answers
    429; showing the login page is not limited."""
    user = factory.user()
    for _ in range(3):
        assert client.post("/login", data={"phone": user.phone, "password": "wrong-password"}).status_code == 401
    assert client.post("/login", data={"phone": user.phone, "password": "secret123"}).status_code == 429
    assert client.get("/login").status_code == 200
