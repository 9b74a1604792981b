"""What every API module shares: the error format, auth, strict types.

Errors are JSON ``{"code": ..., "message": ..., "field": ...}`` (plus
``"errors"`` listing every problem when there are several); bad input is a
4xx naming the field, never a 500. Date-times are sent in UTC with their
offset (``2026-12-04T02:36:46+00:00``, :class:`DateTime`).

The OpenAPI document describes both: every operation documents the error
body for the statuses it can answer (:class:`ErrorResponsesPlugin`; auth
decorators add theirs with :func:`documents_errors`).
"""

from __future__ import annotations

import functools
import http
import inspect
from copy import deepcopy
from datetime import UTC
from types import FunctionType, MethodType
from typing import Any, NoReturn

import flask_smorest
from apispec import BasePlugin
from flask import abort, current_app, jsonify, request
from flask.globals import _cv_app
from flask_login import current_user
from flask_smorest import Api
from flask_smorest.utils import resolve_schema_instance, set_status_and_headers_in_response, unpack_tuple_response
from marshmallow import Schema, fields, validate
from werkzeug.wrappers import Response as WerkzeugResponse

from jishi.i18n import gettext as _


class StrictInt(fields.Integer):
    """An integer that refuses 2.5 and "2" (money in fen, quantities)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        super().__init__(**kwargs)


class StrictBool(fields.Boolean):
    """JSON ``true`` or ``false`` only. marshmallow's ``truthy={True},
    falsy={False}`` still took 1, 0, 1.0 and 0.0 (``1 == True`` in Python),
    though the document says boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


def Money(**kwargs):
    """Integer fen, never negative unless told."""
    kwargs.setdefault("validate", validate.Range(min=0))
    kwargs.setdefault("metadata", {}).setdefault("description", "amount in fen (integer; 1234 = ¥12.34)")
    return StrictInt(**kwargs)


class ListedProductSchema(Schema):
    """A product as a buyer's own list shows it now
    (:class:`jishi.catalog.service.ListedProduct`): subclass it with the
    list's own fields (favorites, footprints)."""

    product_id = fields.Integer()
    name = fields.String()
    image = fields.String()
    price = fields.Integer(metadata={"description": "the product's price now (fen)"})
    original_price = fields.Integer(allow_none=True)
    available = fields.Boolean(metadata={"description": "still on the shelf and open to buyers"})


class DateTime(fields.DateTime):
    """A date-time sent with its offset: the stored naive times are UTC, so
    ``2026-12-04T02:36:46`` goes out as ``2026-12-04T02:36:46+00:00`` (an
    aware value keeps its own offset). Reading is marshmallow's
    :class:`~marshmallow.fields.DateTime`. Use it for every date-time a
    response carries; the OpenAPI document declares ``format: date-time``."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


#: the largest id (ids are 1 .. 2**31-1, the database's integer)
MAX_ID = 2**31 - 1


def Id(**kwargs):
    """A strict integer id (1 .. 2**31-1): larger numbers are a 422, not a database error."""
    kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
    return StrictInt(**kwargs)


def QueryId(**kwargs):
    """An id or cursor in the query string."""
    kwargs.setdefault("validate", validate.Range(min=1, max=MAX_ID))
    return fields.Integer(**kwargs)


class UtcDateTime(fields.AwareDateTime):
    """An ISO 8601 date-time loaded as stored (naive UTC): with an offset it
    is converted, without one it is read as UTC (``default_timezone=None``:
    an offset is required). A time the calendar cannot hold once converted
    (``0001-01-01T00:00:00+01:01``) or outside the years 1000 to 9998 is a
    422 naming the field, never an ``OverflowError``."""

    default_error_messages = {"range": "Not a date and time between the years 1000 and 9998."}

    def __init__(self, **kwargs):
        from datetime import UTC

        kwargs.setdefault("default_timezone", UTC)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # stored naive UTC goes out with its offset
        return super()._serialize(value, attr, obj, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        from jishi.i18n import naive_utc

        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return naive_utc(moment)
        except ValueError:
            raise self.make_error("range") from None


try:  # orjson: a third of the time of json.dumps for a product page
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; keep working without it
    orjson = None  # type: ignore[assignment]


def json_response(data, status: int = 200):
    """``data`` as a UTF-8 JSON response (no ``\\uXXXX`` escapes, like
    ``jsonify`` with the app's settings), serialised by orjson when
    installed. For plain data only (dicts, lists, str, int, bool, None)."""
    body = None
    if orjson is not None:
        try:
            body = orjson.dumps(data)
        except TypeError:
            body = None
    if body is None:
        return jsonify(data) if status == 200 else (jsonify(data), status)
    return current_app.response_class(body, status=status, mimetype="application/json")


def query_arguments(schema, error_status_code: int = 422):
    """Document ``schema`` as the view's query parameters in the OpenAPI
    document, exactly as ``Blueprint.arguments(schema, location="query")``
    does, without parsing them: for hot views that check their few
    arguments by hand (with the same error format)."""
    parameters = {"in": "query", "required": True, "schema": schema}

    def decorator(func):
        func._apidoc = deepcopy(getattr(func, "_apidoc", {}))
        docs = func._apidoc.setdefault("arguments", {})
        docs.setdefault("parameters", []).append(parameters)
        docs.setdefault("responses", {})[error_status_code] = http.HTTPStatus(error_status_code).name
        return func

    return decorator


_CO_COROUTINE = inspect.CO_COROUTINE


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's ``Blueprint`` whose :meth:`response` answers the same
    with less work per request (issue 20: flask-smorest's wrapper cost a
    quarter of a ping). Use it for every API blueprint (the kernel's and the
    plugins'); the OpenAPI document is flask-smorest's, unchanged."""

    def arguments(self, schema, *, location="json", required=None, **kwargs):
        """``flask_smorest.Blueprint.arguments``, whose ``required`` (which
        only documents a body: webargs loads a missing one as ``{}``)
        defaults to what the server does: a body is required when its schema
        has a required field, and may be left out otherwise (a client or
        schemathesis reading the document is not told "required" of a body
        the server takes as empty)."""
        if required is None:
            required = location not in ("json", "form", "files", "json_or_form") or any(
                f.required for f in resolve_schema_instance(schema).fields.values()
            )
        return super().arguments(schema, location=location, required=required, **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        """Exactly ``flask_smorest.Blueprint.response``: the same document
        (flask-smorest's own decorator records it) and the same answer —
        the view's ``Response`` passed on with the status and headers it
        returned, else its result dumped by the schema (kept in
        ``g._flask_smorest["result_dump"]`` for ETags), sent by ``jsonify``
        with the view's status and headers or ``status_code`` — in fewer
        steps: a plain (not ``async``) view is called without
        ``current_app.ensure_sync``, a result that is not a tuple is not
        unpacked, ``g`` is reached without its proxy, and the status of
        the JSON response, 200 already, is not set to 200 again."""
        smorest_decorator = super().response(status_code, schema, **kwargs)
        schema = resolve_schema_instance(schema)
        keep_status = isinstance(status_code, int) and int(status_code) == 200
        prepare = self._prepare_response_content

        def decorator(func):
            documented = smorest_decorator(func)  # flask-smorest's wrapper: its _apidoc
            f = func.__func__ if type(func) is MethodType else func
            plain = (
                type(f) is FunctionType
                and not f.__code__.co_flags & _CO_COROUTINE
                and "_is_coroutine_marker" not in f.__dict__
            )

            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                rv = func(*args, **kwargs) if plain else current_app.ensure_sync(func)(*args, **kwargs)
                if isinstance(rv, tuple):
                    result_raw, r_status_code, r_headers = unpack_tuple_response(rv)
                else:
                    result_raw, r_status_code, r_headers = rv, None, None
                if isinstance(result_raw, WerkzeugResponse):
                    set_status_and_headers_in_response(result_raw, r_status_code, r_headers)
                    return result_raw
                result_dump = result_raw if schema is None else schema.dump(result_raw)
                _cv_app.get().g.__dict__.setdefault("_flask_smorest", {})["result_dump"] = result_dump
                resp = current_app.json.response(prepare(result_dump))  # jsonify(...)
                if r_status_code is not None or r_headers is not None:
                    set_status_and_headers_in_response(resp, r_status_code, r_headers)
                if r_status_code is None and not keep_status:
                    resp.status_code = status_code
                return resp

            wrapper.__dict__.update(documented.__dict__)  # _apidoc (and __wrapped__: func)
            return wrapper

        return decorator


class ErrorSchema(Schema):
    """The body of every API error (4xx and 5xx)."""

    code = fields.String(
        required=True, metadata={"description": "machine-readable: invalid, conflict, not_found, unauthorized..."}
    )
    message = fields.String(required=True, metadata={"description": "for people, in the request's language"})
    field = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "the input at fault (``items.0.quantity``, ``Idempotency-Key``) or null"},
    )
    errors = fields.List(fields.Dict(), metadata={"description": "every problem, when there are several"})


#: the statuses the kernel's error body is documented for, by name
ERROR_RESPONSES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT"}
ERROR_RESPONSES[422] = "UNPROCESSABLE_ENTITY"
WRITE_METHODS = ("post", "put", "patch", "delete")


def documents_errors(view, *statuses: int):
    """Mark ``view`` (an auth decorator's wrapper) as answering ``statuses``
    (401, 403) so the OpenAPI document lists them for its operation; the
    mark follows ``functools.wraps`` outwards. Returns ``view``."""
    view._jishi_errors = tuple(sorted({*getattr(view, "_jishi_errors", ()), *statuses}))
    return view


class ErrorResponsesPlugin(BasePlugin):
    """apispec plugin documenting the error body, in one place, for the
    statuses each operation can answer: 422 with parameters or a body, 400
    with a body (malformed JSON) or a header parameter, 404 with a path
    parameter, 409 and 422 for writes (a :class:`jishi.errors.DomainError`),
    401/403 as its auth decorator marks them (:func:`documents_errors`),
    and the ``default`` response for anything else. Integer path ids are
    1 .. 2**31-1 (outside: 404)."""

    def __init__(self):
        super().__init__()
        self.app = None

    def operation_helper(self, path=None, operations=None, **kwargs):
        rule = kwargs.get("rule")
        view = self.app.view_functions.get(rule.endpoint) if self.app is not None and rule is not None else None
        marked = getattr(view, "_jishi_errors", ())
        for method, operation in (operations or {}).items():
            params = [*operation.get("parameters", []), *kwargs.get("parameters", [])]
            statuses = set(marked)
            if params or "requestBody" in operation:
                statuses.add(422)
            if "requestBody" in operation or any(p.get("in") == "header" for p in params if isinstance(p, dict)):
                statuses.add(400)
            if "{" in (path or ""):
                statuses.add(404)
            if method in WRITE_METHODS:
                statuses.update((409, 422))
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                # an error documented by its description alone gets the error body
                if str(status)[0] in "45" and isinstance(response, dict) and "content" not in response:
                    response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            for status in sorted(statuses):
                if status in ERROR_RESPONSES and str(status) not in responses and status not in responses:
                    responses[str(status)] = ERROR_RESPONSES[status]

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        for param in parameters or []:
            if not isinstance(param, dict) or param.get("in") != "path":
                continue
            schema = param.get("schema") or {}
            if schema.get("type") == "integer":
                schema["minimum"], schema["maximum"] = 1, MAX_ID


def error_response(status: int, code: str, message: str, field: str | None = None, errors: list | None = None):
    body: dict[str, Any] = {"code": code, "message": message, "field": field}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    return resp


def first_field(messages, prefix="") -> tuple[str | None, str]:
    """webargs messages {"json": {"items": {0: {"quantity": ["..."]}}}} -> ("items.0.quantity", "...")."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key in ("json", "query", "form", "headers", "files", "view_args") and not prefix:
                return first_field(value, "")
            name = f"{prefix}.{key}" if prefix else str(key)
            return (
                first_field(value, name)
                if isinstance(value, (dict, list)) and not _is_msg_list(value)
                else (name, _msg(value))
            )
    if isinstance(messages, list):
        return (prefix or None, _msg(messages))
    return (prefix or None, _msg(messages))


def _is_msg_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _msg(value) -> str:
    """The message(s) of a field, marshmallow's own in the reader's language."""
    from jishi.api.messages import translate

    if isinstance(value, list):
        return "; ".join(translate(str(v)) for v in value)
    return translate(str(value))


class JishiApi(Api):
    """flask-smorest Api whose errors use the kernel's error format, and
    whose OpenAPI document says so (:class:`ErrorSchema` for every error
    response, :class:`ErrorResponsesPlugin`)."""

    ERROR_SCHEMA = ErrorSchema

    def __init__(self, app=None, **kwargs):
        self.errors_plugin = ErrorResponsesPlugin()
        spec_kwargs = kwargs.setdefault("spec_kwargs", {})
        spec_kwargs.setdefault("extra_plugins", []).append(self.errors_plugin)
        super().__init__(app, **kwargs)

    def init_app(self, app, *args, **kwargs):
        self.errors_plugin.app = app
        super().init_app(app, *args, **kwargs)

    def handle_http_exception(self, error):
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        if status == 422 and "messages" in data:
            field, message = first_field(data["messages"])
            return error_response(422, "invalid", message, field)
        payload = getattr(error, "jishi", None)
        if payload:
            return error_response(status, **payload)
        from jishi.web.errors import own_message

        code = {
            400: "bad_request",
            401: "unauthorized",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            429: "rate_limited",
        }.get(status, "error")
        resp = error_response(status, code, data.get("message") or own_message(error) or _default_message(status))
        # What the status obliges the answer to say (RFC 9110: a 405 lists
        # the methods the address takes in Allow), as the pages keep it.
        for name, value in error.get_headers():
            if name in KEPT_ERROR_HEADERS:
                resp.headers[name] = value
        return resp


#: Headers of an HTTP error that its JSON answer keeps (the web pages too).
KEPT_ERROR_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def _default_message(status: int) -> str:
    """The API's message for an HTTP error no view worded (werkzeug's own
    are English): in the request's language, like every other message."""
    messages = {
        400: _("The request could not be understood."),
        401: _("Sign in first."),
        403: _("You may not do this."),
        404: _("What you are looking for does not exist or is no longer available."),
        405: _("This address does not take that method."),
        413: _("What you sent is too large."),
        429: _("Too many requests. Wait a moment and try again."),
    }
    if status in messages:
        return messages[status]
    if status >= 500:
        return _("Something went wrong on our side. Try again later.")
    return _("This request cannot be done.")


def domain_error(exc):
    """The answer to a :class:`jishi.errors.DomainError` a view let through:
    roll back, then for the API ``{"code", "message", "field"[, "errors"]}``
    with its status; for pages, the error page with the message and status
    (:func:`jishi.web.errors.error_page`)."""
    from jishi.db import rollback
    from jishi.web.errors import error_page, is_api_request

    rollback()
    if is_api_request():
        return error_response(exc.status, exc.code, exc.message, exc.field, exc.errors)
    return error_page(exc.status, exc.message)


def fail(status: int, code: str, message: str, field: str | None = None, errors: list | None = None) -> NoReturn:
    """Abort with a structured API error."""
    from werkzeug.exceptions import HTTPException

    exc = HTTPException(description=message)
    exc.code = status
    exc.jishi = {"code": code, "message": message, "field": field, "errors": errors}  # type: ignore[attr-defined]
    raise exc


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            fail(401, "unauthorized", _("Sign in first."))
        return view(*args, **kwargs)

    return documents_errors(wrapper, 401)


def platform_required(view):
    """Any platform staff member (:func:`jishi.access.platform_api` with no
    permission): for endpoints every staff role may use."""
    from jishi.access import platform_api

    return platform_api(None)(view)


def platform_admin_required(view):
    """Platform admins only (:func:`jishi.access.platform_api` with
    :data:`jishi.access.ADMIN_ONLY`)."""
    from jishi.access import ADMIN_ONLY, platform_api

    return platform_api(ADMIN_ONLY)(view)


IDEMPOTENCY_KEY_MAX = 72  # the column holds 80: room for the "#n" of a per-store payment's siblings


def idempotency_key() -> str | None:
    """The request's ``Idempotency-Key`` (None without one): 1 to 72
    characters without ``#`` (the kernel stores the other payment orders of a
    per-store placement as ``<key>#1``, ``<key>#2``...)."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= IDEMPOTENCY_KEY_MAX and "#" not in key):
        fail(400, "invalid", _("Idempotency-Key must be 1 to 72 characters, without #."), "Idempotency-Key")
    return key


def get_or_404(model, ident: int, what: str):
    """``db.session.get(model, ident)`` or a 404 naming ``what`` (also for an
    id outside the integer column's range, which the database would refuse)."""
    from jishi.catalog.service import MAX_ID
    from jishi.db import db

    obj = db.session.get(model, ident) if 1 <= ident <= MAX_ID else None
    if obj is None:
        not_found(what)
    return obj


def not_found(what: str = "object") -> NoReturn:
    fail(404, "not_found", _("Not found: %(what)s", what=what))


__all__ = [
    "MAX_ID",
    "Blueprint",
    "DateTime",
    "ErrorResponsesPlugin",
    "ErrorSchema",
    "Id",
    "JishiApi",
    "Money",
    "QueryId",
    "StrictInt",
    "UtcDateTime",
    "abort",
    "documents_errors",
    "fail",
    "first_field",
    "get_or_404",
    "idempotency_key",
    "json_response",
    "login_required",
    "not_found",
    "platform_admin_required",
    "platform_required",
    "query_arguments",
]
