"""The OpenAPI document describes what the API sends (schemathesis, in
process over WSGI): a bounded sample of generated requests to every public,
buyer, merchant and platform operation, each as the principal it is for,
never answers a 5xx, and every answer (success or error) has a documented
status, content type and body: the error body ``{code, message, field}``,
date-times with their offset.

Runs once, on SQLite (the document does not depend on the database).
"""

from __future__ import annotations

import contextvars
import re
from datetime import UTC

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from jishi.db import db
from jishi.testing import flows, is_postgres, principals
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

#: every first-party plugin but the delivery ones (whose checkout needs a
#: delivery choice: the seeded orders use the kernel's default delivery)
PLUGINS = (
    "multistore",
    "coupons",
    "flashsale",
    "groupbuy",
    "points",
    "distribution",
    "designer",
    "messages",
    "shopping_options",
    "favorites",
    "footprints",
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: generated cases per operation (about 220 operations)
EXAMPLES = 5
#: the document itself and the sandbox's notify callback (signed by the
#: gateway, not a client) are left out
SKIP = re.compile(r"/openapi\.json$|/pay/sandbox/notify")


ORDER = ("buyer", "admin1", "platform")


def principal_for(path: str) -> str:
    if path.startswith(("/api/v1/merchant", "/api/v1/seller")):
        return "admin1"
    if path.startswith("/api/v1/admin"):
        return "platform"
    return "buyer"


def call(case, headers):
    """``case`` sent to the app as a server would (a fresh app context, as
    :class:`jishi.testing.ServedClient` does), with ``headers``."""
    db.session.commit()
    response = contextvars.Context().run(case.call, headers=headers)
    db.session.expire_all()
    return response


def sample(op, auth):
    """The bounded hypothesis test of one operation, called as ``auth``."""

    @given(case=op.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = call(case, auth)
        case.validate_response(response, checks=CHECKS)

    return run


@pytest.mark.skipif(is_postgres(), reason="the document does not depend on the database: SQLite run only")
@pytest.mark.jishi_plugins(*PLUGINS)
def test_generated_requests_get_documented_answers(app, factory, ms):
    who = principals.standard(factory, addresses=True)
    cat = factory.category()
    own = factory.product(category=cat)
    sold = ms.product(who.merchants["m1"], category=cat)
    # the buyer's orders (one paid, one not): the answers carry their date-times
    home = flows.address_id(who["buyer"])
    flows.pay(flows.place(who["buyer"], [(own.skus[0], 1)], home)[0])
    order = flows.place(who["buyer"], [(sold.skus[0], 2)], home)[0].orders[0]
    headers = {name: principals.bearer(user) for name, user in who.users.items() if user is not None}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures = []
    # a representative set of real answers, success and error, each checked
    # against the document (generated queries may filter every order out),
    # before the generated writes change what they answer
    calls = [
        ("GET", "/api/v1/ping", {}, None, 200),
        ("GET", "/api/v1/orders", {}, "buyer", 200),
        ("GET", "/api/v1/orders/{order_id}", {"order_id": order.id}, "buyer", 200),
        ("GET", "/api/v1/orders/{order_id}", {"order_id": order.id}, None, 401),
        ("GET", "/api/v1/orders/{order_id}", {"order_id": order.id}, "other_buyer", 404),
        ("POST", "/api/v1/orders/{order_id}/receive", {"order_id": order.id}, "buyer", 409),
        ("GET", "/api/v1/merchant/orders", {}, "admin1", 200),
        ("GET", "/api/v1/merchant/orders", {}, "buyer", 403),
        ("GET", "/api/v1/admin/orders/{order_id}", {"order_id": order.id}, "platform", 200),
    ]
    for method, path, params, user, status in calls:
        case = schema[path][method].Case(path_parameters=params)
        response = call(case, headers[user] if user else {})
        assert response.status_code == status, (method, path, user, response.text[:500])
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:
            failures.append(f"{method} {path} as {user}: {exc}"[:2000])
    operations = 0
    # buyers' and public operations first, then the merchant's, then the
    # platform's (which may close the merchant), signing out last
    todo = [result.ok() for result in schema.get_all_operations()]
    todo.sort(key=lambda op: (ORDER.index(principal_for(op.path)), op.path.endswith("/logout")))
    for op in todo:
        if SKIP.search(op.path):
            continue
        operations += 1
        try:
            sample(op, headers[principal_for(op.path)])()
        except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them all
            failures.append(f"{op.method.upper()} {op.path}: {exc}"[:2000])
    assert operations > 120
    assert not failures, "\n\n".join(failures)


@pytest.mark.jishi_plugins(*PLUGINS)
def test_document_states_errors_times_and_limits(client):
    """What the conformance check relies on, stated in the document itself."""
    doc = client.get("/api/v1/openapi.json").get_json()
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "field"}
    assert error["properties"]["code"]["type"] == "string" and error["properties"]["field"]["nullable"] is True
    assert doc["paths"]["/api/v1/ping"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Ping"
    }
    assert doc["components"]["schemas"]["Ping"]["required"] == ["ok"]
    cancel = doc["paths"]["/api/v1/orders/{order_id}/cancel"]
    assert {"401", "404", "409", "422"} <= set(cancel["post"]["responses"])
    assert cancel["parameters"][0]["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert {"401", "403"} <= set(doc["paths"]["/api/v1/merchant/orders"]["get"]["responses"])
    assert {"401", "403"} <= set(doc["paths"]["/api/v1/admin/orders"]["get"]["responses"])
    place = doc["paths"]["/api/v1/checkout/place"]["post"]
    assert {"400", "401", "409", "422"} <= set(place["responses"])
    key = next(p for p in place["parameters"] if p["name"] == "Idempotency-Key")["schema"]
    assert (key["minLength"], key["maxLength"], key["pattern"]) == (1, 72, "^[^#]+$")
    assert doc["components"]["schemas"]["OrderSummary"]["properties"]["created_at"]["format"] == "date-time"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method != "parameters":
                for status, response in op["responses"].items():
                    if status[0] in "45":
                        assert "content" in response or "$ref" in response, (method, path, status)


def test_date_times_go_out_with_their_offset():
    from datetime import datetime, timedelta, timezone

    from jishi.api.common import DateTime
    from marshmallow import Schema

    class At(Schema):
        at = DateTime(allow_none=True)

    assert At().dump({"at": datetime(2026, 12, 4, 2, 36, 46)}) == {"at": "2026-12-04T02:36:46+00:00"}
    shanghai = timezone(timedelta(hours=8))
    assert At().dump({"at": datetime(2026, 12, 4, 10, 36, 46, tzinfo=shanghai)}) == {"at": "2026-12-04T10:36:46+08:00"}
    assert At().dump({"at": None}) == {"at": None}
    assert At().load({"at": "2026-12-04T02:36:46+00:00"})["at"] == datetime(2026, 12, 4, 2, 36, 46, tzinfo=UTC)
