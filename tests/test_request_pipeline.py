"""Issue 20: the work every request pays (jishi.app.JishiFlask, the kernel's
request checks, sessions, request ids, metrics) made cheaper with the same
answers as before."""

from __future__ import annotations

import functools
import os
import uuid

import pytest


def test_ensure_sync_returns_plain_functions_and_still_wraps_coroutines(app):
    def plain():
        return 1

    class Thing:
        def method(self):
            return 2

        async def coro_method(self):
            return 3

    async def coro():
        return 4

    thing = Thing()
    assert app.ensure_sync(plain) is plain
    bound = thing.method
    assert app.ensure_sync(bound) is bound
    partial = functools.partial(plain)
    assert app.ensure_sync(partial) is partial  # Flask's own check: not a coroutine
    for fn in (coro, thing.coro_method, functools.partial(coro)):
        try:
            wrapped = app.ensure_sync(fn)
        except RuntimeError:  # Flask's async_to_sync without asgiref installed: still not passed as-is
            continue
        assert wrapped is not fn and not callable(getattr(wrapped, "__await__", None))


def test_new_request_ids_are_uuid4_hex_distinct_and_not_shared_with_a_fork():
    from jishi import observability

    # Start from an empty store: what earlier tests in this process left in
    # it would otherwise decide whether the last batch is used up exactly.
    observability._ids.clear()
    ids = [observability._new_id() for _ in range(300)]  # several batches
    assert len(set(ids)) == 300
    for rid in ids:
        parsed = uuid.UUID(hex=rid)
        assert (parsed.version, parsed.variant, parsed.hex) == (4, uuid.RFC_4122, rid)
    observability._new_id()
    assert observability._ids  # ids left over in this process
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, observability._new_id().encode() if not observability._ids else b"shared")
        os._exit(0)
    os.waitpid(pid, 0)
    child_id = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    assert child_id != "shared" and child_id not in observability._ids and len(child_id) == 32


def test_a_request_without_cookies_gets_vary_cookie_and_no_session_cookie(app, client):
    resp = client.get("/api/v1/ping")
    assert resp.status_code == 200 and resp.get_json() == {"ok": True}
    assert resp.headers["Vary"] == "Cookie"  # the session was looked at (Flask-Login), as before
    assert "Set-Cookie" not in resp.headers
    assert len(resp.headers["X-Request-Id"]) == 32
    given = client.get("/api/v1/ping", headers={"X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"


def test_a_view_writing_the_session_still_sets_the_cookie(app, client, monkeypatch):
    from flask import session

    def write():
        session["k"] = "v"
        return {"ok": True}

    monkeypatch.setitem(app.view_functions, "misc.ping", write)
    resp = client.get("/api/v1/ping")
    assert resp.status_code == 200
    assert "session=" in resp.headers.get("Set-Cookie", "")
    assert "Cookie" in resp.headers["Vary"]


def test_nul_in_an_argument_name_and_escaped_percent_text(api, client):
    resp = api.get("/products?a%00b=1")
    assert resp.status_code == 422 and resp.get_json()["code"] == "invalid"
    # "%2500" is the text "%00", not a NUL: answered as usual
    assert api.get("/products?q=%2500").status_code == 200
    assert client.get("/search?q=%00x").status_code == 422


def test_request_metrics_count_each_request_once(app, client):
    from prometheus_client import REGISTRY

    def count():
        labels = {"method": "GET", "route": "misc.ping", "status": "200"}
        return REGISTRY.get_sample_value("jishi_http_requests_total", labels) or 0

    before = count()
    for _ in range(3):
        client.get("/api/v1/ping")
    assert count() == before + 3
    labels = {"method": "OTHER", "route": "<unmatched>", "status": "405"}
    other = REGISTRY.get_sample_value("jishi_http_requests_total", labels) or 0
    for _ in range(2):  # an unusual method: counted as OTHER, never a new series per word
        client.open("/api/v1/ping", method="BREW")
    assert REGISTRY.get_sample_value("jishi_http_requests_total", labels) == other + 2


# -- issue 20, the pipeline floor: each faster step answers exactly as before ----------


def _twin_apis():
    """A bare Flask app with the same views on flask-smorest's Blueprint and on
    the kernel's (jishi.api.common.Blueprint), under /smorest and /jishi."""
    import flask_smorest
    from flask import Flask, Response, g
    from flask.views import MethodView
    from flask_smorest import Api
    from jishi.api.common import Blueprint
    from marshmallow import Schema, fields

    class Item(Schema):
        id = fields.Integer(required=True)
        name = fields.String(data_key="title")
        price = fields.Integer(dump_default=0)

    app = Flask("twins")
    app.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.2")
    api = Api(app)
    dumps = {}

    def build(cls, prefix):
        blp = cls(prefix, __name__, url_prefix=f"/{prefix}")
        views = {
            "plain": (200, Item, lambda: {"id": 1, "name": "a", "secret": "x"}),
            "many": (200, Item(many=True), lambda: [{"id": 1}, {"id": 2, "name": "b"}]),
            "object": (200, Item, lambda: type("O", (), {"id": 3, "name": "o"})()),
            "status_tuple": (200, Item, lambda: ({"id": 4}, 202)),
            "headers_tuple": (200, Item, lambda: ({"id": 5}, {"X-A": "1"})),
            "full_tuple": (200, Item, lambda: ({"id": 6}, 201, [("X-B", "2")])),
            "created": (201, Item, lambda: {"id": 7}),
            "created_text": ("201", Item, lambda: {"id": 8}),
            "http_status": (__import__("http").HTTPStatus.OK, Item, lambda: {"id": 9}),
            "no_schema": (200, None, lambda: {"z": 1, "a": [1, 2]}),
            "response": (200, Item, lambda: Response("raw", 203, {"X-C": "3"})),
            "response_tuple": (200, Item, lambda: (Response("raw"), 418, {"X-D": "4"})),
            "none": (204, None, lambda: None),
        }
        for name, (status, schema, body) in views.items():

            def view(body=body, name=name):
                return body()

            view.__name__ = f"{prefix}_{name}"
            wrapped = blp.response(status, schema, description=f"the {name}")(view)
            blp.route(f"/{name}")(wrapped)

        @blp.route("/method")
        class Things(MethodView):
            @blp.response(200, Item)
            def get(self):
                return {"id": 10, "name": "m"}

            @blp.response(201, Item)
            def post(self):
                return {"id": 11}

        @blp.route("/dump")
        @blp.response(200, Item)
        def dump():
            return {"id": 12}

        @app.after_request
        def keep(resp):
            store = g.get("_flask_smorest")
            if store is not None:
                dumps[(prefix, resp.status_code)] = store.get("result_dump")
            return resp

        api.register_blueprint(blp)
        return views

    views = build(flask_smorest.Blueprint, "smorest")
    build(Blueprint, "jishi")
    return app, api, [*views, "method", "dump"], dumps


def test_the_kernel_blueprint_answers_byte_for_byte_as_flask_smorest_and_documents_the_same():
    """Issue 20: jishi.api.common.Blueprint.response's faster wrapper gives the
    same status, headers, body and stored result_dump as flask-smorest's, for
    every kind of view result; the OpenAPI operations are identical."""
    app, api, names, dumps = _twin_apis()
    client = app.test_client()
    for name in names:
        for method in ("GET", "POST") if name == "method" else ("GET",):
            ours = client.open(f"/jishi/{name}", method=method)
            theirs = client.open(f"/smorest/{name}", method=method)
            assert (ours.status, ours.get_data(), list(ours.headers)) == (
                theirs.status,
                theirs.get_data(),
                list(theirs.headers),
            ), name
            assert dumps.get(("jishi", ours.status_code)) == dumps.get(("smorest", ours.status_code))
    assert client.get("/jishi/plain").get_json() == {"id": 1, "title": "a", "price": 0}  # the schema did dump
    spec = api.spec.to_dict()["paths"]
    for name in names:
        ours = spec[f"/jishi/{name}"]
        theirs = spec[f"/smorest/{name}"]
        strip = lambda ops: {m: {k: v for k, v in op.items() if k != "tags"} for m, op in ops.items()}  # noqa: E731
        assert strip(ours) == strip(theirs), name


def test_the_kernel_blueprint_keeps_the_view_and_its_marks():
    """The wrapper carries what functools.wraps and flask-smorest put on it
    (``__wrapped__`` is the view, ``_apidoc``, an auth decorator's marks)."""
    from jishi.api.common import Blueprint, documents_errors
    from marshmallow import Schema, fields

    class S(Schema):
        ok = fields.Boolean()

    def view():
        """Doc."""
        return {"ok": True}

    documents_errors(view, 401)
    blp = Blueprint("marks", __name__)
    wrapped = blp.response(200, S)(view)
    assert wrapped.__wrapped__ is view and wrapped.__doc__ == "Doc." and wrapped._jishi_errors == (401,)
    assert wrapped._apidoc["response"]["responses"][200][0]["description"] == "OK"
    assert wrapped._apidoc["success_status_codes"] == [200]


def test_the_ping_is_served_by_the_kernel_blueprint(app):
    from jishi.api.common import Blueprint

    blueprint = app.blueprints["misc"]
    assert isinstance(blueprint, Blueprint)


def test_json_responses_are_byte_for_byte_flasks(app):
    """Issue 20: jishi.jsonprovider.JishiJSONProvider answers ``jsonify`` with
    Flask's bytes (its kept encoder, bytes body) for every kind of value, and
    follows a setting changed at any time; debug's indented output is Flask's."""
    import dataclasses
    import datetime
    import decimal
    import uuid as uuid_mod

    from flask.json.provider import DefaultJSONProvider
    from jishi.jsonprovider import JishiJSONProvider
    from markupsafe import Markup

    @dataclasses.dataclass
    class Point:
        x: int
        y: float

    values = [
        {"ok": True},
        {"b": 1, "a": [1, 2.5, None, "中文", '\u2028\x7f\x1f/"\\'], "c": {"z": {}, "y": []}},
        [1e16, 1e-05, 0.1, -0.0, float("nan"), float("inf"), 2**70],
        {"when": datetime.datetime(2026, 12, 5, 4, 0), "day": datetime.date(2026, 12, 5)},
        {"d": decimal.Decimal("12.30"), "u": uuid_mod.UUID(int=7), "p": Point(1, 2.0), "m": Markup("<b>")},
        [[1, [2, [3, {"k": "v"}]]]],
        "text",
        None,
    ]
    assert isinstance(app.json, JishiJSONProvider)
    flask_provider = DefaultJSONProvider(app)
    with app.test_request_context():
        try:
            _compare_json_providers(app, flask_provider, values)
        finally:
            app.json.ensure_ascii, app.json.sort_keys, app.debug = False, True, False  # the shared app's


def _compare_json_providers(app, flask_provider, values):
    """Flask's bytes from ours under each setting; the same errors."""
    for ensure_ascii in (False, True):
        for sort_keys in (True, False):
            for provider in (app.json, flask_provider):
                provider.ensure_ascii, provider.sort_keys = ensure_ascii, sort_keys
            for value in values:
                ours, theirs = app.json.response(value), flask_provider.response(value)
                assert (ours.get_data(), list(ours.headers), ours.status) == (
                    theirs.get_data(),
                    list(theirs.headers),
                    theirs.status,
                ), value
    for provider in (app.json, flask_provider):
        provider.ensure_ascii, provider.sort_keys = False, True
    assert app.json.response(a=1, b=2).get_data() == flask_provider.response(a=1, b=2).get_data()
    app.debug = True
    assert app.json.response({"b": 1, "a": 2}).get_data() == flask_provider.response({"b": 1, "a": 2}).get_data()
    assert b"\n  " in app.json.response({"b": 1}).get_data()
    app.debug = False
    for bad in ({"s": "\ud800"}, {"o": object()}, {1: 1, "a": 2}, None):
        errors = []
        for provider in (app.json, flask_provider):
            try:
                provider.response(1, a=2) if bad is None else provider.response(bad)
            except Exception as exc:
                errors.append(type(exc))
        assert len(errors) == 2 and errors[0] is errors[1], bad


def test_request_steps_run_in_flasks_order_and_follow_later_changes(app, client, monkeypatch):
    """Issue 20: JishiFlask's preprocess_request / process_response / teardowns
    call every function in Flask's order (app then blueprint before; blueprint
    then app after and teardown, last registered first), a function added
    after the first request runs from the next one, a before function's answer
    ends the request, and the signals reach their receivers (the app
    context's too: JishiFlask's own AppContext sends them when received)."""
    from flask import signals

    calls = []
    monkeypatch.setitem(app.url_value_preprocessors, "misc", [lambda e, a: calls.append(("url", e))])
    app_before = [*app.before_request_funcs.get(None, []), lambda: calls.append("app-before")]
    monkeypatch.setitem(app.before_request_funcs, None, app_before)
    monkeypatch.setitem(app.before_request_funcs, "misc", [lambda: calls.append("bp-before")])
    monkeypatch.setitem(
        app.after_request_funcs,
        "misc",
        [lambda r: calls.append("bp-after-1") or r, lambda r: calls.append("bp-after-2") or r],
    )
    monkeypatch.setitem(app.teardown_request_funcs, "misc", [lambda e: calls.append(("bp-teardown", e))])
    monkeypatch.setattr(
        app, "teardown_appcontext_funcs", [*app.teardown_appcontext_funcs, lambda e: calls.append("app-td")]
    )
    received = []
    handlers = {
        name: (lambda sender, name=name, **kw: received.append(name))
        for name in (
            "appcontext_pushed",
            "request_started",
            "request_finished",
            "request_tearing_down",
            "appcontext_tearing_down",
            "appcontext_popped",
        )
    }
    for name, handler in handlers.items():
        getattr(signals, name).connect(handler, app)
    try:
        assert client.get("/api/v1/ping").status_code == 200
    finally:
        for name, handler in handlers.items():
            getattr(signals, name).disconnect(handler, app)
    assert calls == [
        ("url", "misc.ping"),
        "app-before",
        "bp-before",
        "bp-after-2",
        "bp-after-1",
        ("bp-teardown", None),
        "app-td",
    ]
    assert received == [
        "appcontext_pushed",
        "request_started",
        "request_finished",
        "request_tearing_down",
        "appcontext_tearing_down",
        "appcontext_popped",
    ]
    calls.clear()
    app.before_request_funcs["misc"].append(lambda: ("stopped", 409))  # after the first request
    resp = client.get("/api/v1/ping")
    assert (resp.status_code, resp.get_data()) == (409, b"stopped")
    assert calls[:3] == [("url", "misc.ping"), "app-before", "bp-before"]
    assert len(resp.headers["X-Request-Id"]) == 32  # the after functions ran on its answer


def test_a_view_setting_x_request_id_and_vary_keeps_one_of_each(app, client, monkeypatch):
    from flask import jsonify

    def view():
        resp = jsonify(ok=True)
        resp.headers["x-request-id"] = "from-the-view"
        resp.headers["Vary"] = "Accept-Language"
        return resp

    monkeypatch.setitem(app.view_functions, "misc.ping", view)
    resp = client.get("/api/v1/ping", headers={"X-Request-Id": "abc"})
    assert resp.headers.getlist("X-Request-Id") == ["abc"]
    assert resp.headers.getlist("Vary") == ["Accept-Language, Cookie"]


def test_request_metrics_match_prometheus_own_counting():
    """Issue 20: jishi.metrics.observe_request counts exactly as
    ``Counter.labels().inc()`` and ``Histogram.labels().observe()``, bucket
    bounds included (a duration equal to a bound is in that bucket)."""
    from jishi import metrics
    from prometheus_client import REGISTRY

    def snapshot(route):
        out = {}
        for family in REGISTRY.collect():
            if family.name in ("jishi_http_requests", "jishi_http_request_duration_seconds"):
                for s in family.samples:
                    if s.labels.get("route") == route and not s.name.endswith("_created"):
                        out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    route = f"test.metrics.{uuid.uuid4().hex}"
    durations = [0.0, 0.005, 0.0050001, 0.01, 0.3, 10.0, 11.0, 1e9]
    for seconds in durations:
        metrics.observe_request("GET", route, 200, seconds)
    ours = snapshot(route)
    expected_route = route + ".expected"
    for seconds in durations:
        metrics.REQUESTS.labels("GET", expected_route, "200").inc()
        metrics.REQUEST_SECONDS.labels("GET", expected_route).observe(seconds)
    theirs = {
        (name, tuple((k, route if v == expected_route else v) for k, v in labels)): value
        for (name, labels), value in snapshot(expected_route).items()
    }
    assert ours == theirs and ours
    buckets = {dict(labels)["le"]: v for (name, labels), v in ours.items() if name.endswith("_bucket")}
    assert (buckets["0.005"], buckets["0.01"], buckets["10.0"], buckets["+Inf"]) == (2, 4, 6, 8)


def test_csrf_still_guards_form_writes_and_lets_reads_through(app):
    """Issue 20: the kernel's csrf_protect (Flask-WTF's with the method looked
    at first) is in Flask-WTF's place and still refuses a form POST without
    the token."""
    names = [getattr(f, "__qualname__", "") for f in app.before_request_funcs[None]]
    assert "JishiCSRFProtect._before_request.<locals>.csrf_protect" in names
    assert "CSRFProtect.init_app.<locals>.csrf_protect" not in names
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        assert client.get("/login").status_code == 200
        assert client.post("/login", data={"phone": "13900000000", "password": "x"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
