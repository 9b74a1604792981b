"""Issue 15 (authorization): the serving routes. ``/healthz`` and
``/readyz`` are public (a load balancer has no account); ``/metrics`` is
decided by the network and a token, never by who is signed in: a platform
admin's session from outside gets no more than an anonymous client.
:func:`test_every_route_has_a_row` fails for a serving route without a row."""

from __future__ import annotations

import pytest
from jishi.testing import authz, principals
from jishi.testing.authz import Row

BLUEPRINTS = ("health", "metrics")
OUTSIDE = {"REMOTE_ADDR": "203.0.113.5"}

ROWS = [
    Row("GET", "/healthz", "public"),
    Row("GET", "/readyz", "public"),
    Row("GET", "/metrics", "loopback or JISHI_METRICS_TOKEN"),
]


@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, client, factory, row: Row):
    """Issue 15: every principal, from outside and from the loopback address,
    with and without the metrics token."""
    who = principals.standard(factory)
    for name, user in who.users.items():
        principals.sign_in(client, user)
        outside = client.get(row.path, environ_base=OUTSIDE).status_code
        local = client.get(row.path).status_code
        if row.access == "public":
            assert (outside, local) == (200, 200), name
        else:
            assert (outside, local) == (403, 200), name
            app.config["JISHI_METRICS_TOKEN"] = "tok"
            try:
                assert client.get(row.path).status_code == 403, name  # a token configured: loopback is not enough
                token = {"Authorization": "Bearer tok"}
                assert client.get(row.path, headers=token, environ_base=OUTSIDE).status_code == 200, name
            finally:
                app.config["JISHI_METRICS_TOKEN"] = None


def test_every_route_has_a_row(app):
    """Issue 15: a serving route without a row above fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)
