"""Issue 16 "Surfaces": the OpenAPI document describes what the sign-in API
sends (schemathesis over WSGI, like tests/api/test_openapi_conformance.py,
which does not enable points): real answers (201, 200, 401, 409, 422) and
generated requests to both operations get documented statuses, content
types and bodies. SQLite only (the document does not depend on the database)."""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from jishi import settings as shop_settings
from jishi.db import commit, db
from jishi.testing import is_postgres, principals
from jishi_points import earning
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
PATH = "/api/v1/points/signin"


def call(case, headers):
    db.session.commit()
    response = contextvars.Context().run(case.call, headers=headers)
    db.session.expire_all()
    return response


@pytest.mark.skipif(is_postgres(), reason="the document does not depend on the database: SQLite run only")
def test_sign_in_answers_are_documented(app, factory):
    """Issue 16/Surfaces: every answer of the sign-in API is in the document."""
    buyer = factory.user()
    auth = principals.bearer(buyer)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    calls = [
        ("POST", {}, auth, 201),
        ("POST", {}, auth, 200),
        ("POST", {}, {}, 401),
        ("GET", {}, auth, 200),
        ("GET", {"month": "2026-13"}, auth, 422),
        ("GET", {"month": "x"}, auth, 422),
        ("GET", {}, {}, 401),
    ]
    for method, query, headers, status in calls:
        case = schema[PATH][method].Case(query=query)
        response = call(case, headers)
        assert response.status_code == status, (method, query, response.text[:300])
        case.validate_response(response, checks=CHECKS)
    shop_settings.set_many({earning.SIGNIN_POINTS: 0})
    commit()
    case = schema[PATH]["POST"].Case()
    response = call(case, auth)
    assert response.status_code == 409 and response.json()["code"] == "signin_off"
    case.validate_response(response, checks=CHECKS)
    for method in ("GET", "POST"):

        @given(case=schema[PATH][method].as_strategy())
        @settings(
            max_examples=10,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            case.validate_response(call(case, auth), checks=CHECKS)

        run()
