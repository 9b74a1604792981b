"""Issue 18: the plugin's API operations answer what the OpenAPI document
says (schemathesis, the kernel's conformance check, tests/api/
test_openapi_conformance.py, which does not enable this plugin), as a
buyer, a merchant's admin and the platform."""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from jishi.db import db
from jishi.testing import is_postgres, principals
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from . import helpers as so

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def call(case, headers):
    """``case`` sent to the app as a server would (a fresh app context)."""
    db.session.commit()
    response = contextvars.Context().run(case.call, headers=headers)
    db.session.expire_all()
    return response


def sample(op, auth):
    """The bounded hypothesis test of one operation, called as ``auth``."""

    @given(case=op.as_strategy())
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

    return run


@pytest.mark.skipif(is_postgres(), reason="the document does not depend on the database: SQLite run only")
@pytest.mark.jishi_plugins("multistore", "shopping_options")
def test_shopping_options_operations_conform(app, factory):
    """Issue 18: every shopping-options operation, sampled as each principal, gets documented answers (no 5xx)."""
    from jishi_multistore import testing as ms

    who = principals.standard(factory, multistore=True, addresses=True)
    p1 = ms.product(who.merchants["m1"], price=1000, stock=50)
    so.options(p1, max_per_buyer=2)
    headers = {name: principals.bearer(user) for name, user in who.users.items() if user is not None}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    ops = [r.ok() for r in schema.get_all_operations()]
    ops = [op for op in ops if "/shopping-options/" in op.path]
    assert len(ops) == 5
    failures = []
    seller = "/api/v1/shopping-options/seller/products/{product_id}"
    real = [  # real answers, success and error, checked against the document
        ("GET", "/api/v1/shopping-options/products/{product_id}", p1.id, None, "buyer", 200),
        ("GET", "/api/v1/shopping-options/products/{product_id}", 999999, None, "buyer", 404),
        ("PUT", seller, p1.id, {"min_per_order": 5, "max_per_order": 2}, "platform", 422),
        ("PUT", seller, p1.id, {"max_per_order": 3}, "admin1", 200),
        ("PUT", seller, p1.id, {"max_per_order": 3}, "buyer", 403),
    ]
    for method, path, pid, body, who_name, status in real:
        kw = {"body": body, "media_type": "application/json"} if body is not None else {}
        case = schema[path][method].Case(path_parameters={"product_id": pid}, **kw)
        response = call(case, headers[who_name])
        assert response.status_code == status, (method, path, who_name, response.text[:300])
        case.validate_response(response, checks=CHECKS)
    for op in ops:
        for who_name in ("buyer", "admin1", "platform"):
            try:
                sample(op, headers[who_name])()
            except (Exception, BaseExceptionGroup) as exc:
                failures.append(f"{op.method.upper()} {op.path} as {who_name}: {exc}"[:2000])
    assert not failures, "\n\n".join(failures)
