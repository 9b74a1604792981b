"""Flash-sale JSON API (SPEC FS), under ``/api/v1/flashsale``.

Buyers:

- ``GET  /flashsale/activities``        running (and, within a week, upcoming)
  flash sales with prices, stock left and the server time (anyone)
- ``GET  /flashsale/products/<id>``     the product's flash sale (anyone)
- ``POST /flashsale/buy``               buy one flash SKU (signed in). Sold
  out is answered 409 ``sold_out`` from the per-process flag, Redis or ONE
  read of the flash SKU, before anything is written (also to a visitor: a
  sold-out state is public); otherwise the order is placed through the
  kernel's checkout (flash price, flash stock, per-buyer limit).
  A retry with the same ``Idempotency-Key`` answers the first placement.

Sellers (``seller_api("marketing")``; the seller comes from the principal):
platform staff acting for the platform see and edit every activity and may
use any product; a merchant's admin only its own products' activities
(another merchant's ids are 404); clerks are 403.

- ``GET|POST /flashsale/seller/activities``, ``GET|PUT /flashsale/seller/activities/<id>``
"""

from __future__ import annotations

from flask import g, request
from flask_login import current_user
from jishi import promotions
from jishi.api.common import (
    IDEMPOTENCY_KEY_MAX,
    Blueprint,
    DateTime,
    Id,
    Money,
    StrictBool,
    StrictInt,
    UtcDateTime,
    error_response,
    fail,
    first_field,
    idempotency_key,
    not_found,
)
from jishi.catalog.service import MAX_PRICE as MAX_FEN
from jishi.checkout import entry as checkout_entry
from jishi.checkout.entry import (
    CheckoutPlacedSchema,
    OrderSummarySchema,
    PaymentOrderSchema,
)
from jishi.checkout.errors import CheckoutError, OutOfStock
from jishi.db import commit, db, fresh_write, is_sqlite, reads_only, rollback, utcnow
from jishi.i18n import gettext as _
from jishi.sellers import seller_api
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.exc import SQLAlchemyError

from jishi_flashsale import gate, service
from jishi_flashsale import queue as fs_queue
from jishi_flashsale.models import Activity

blp = Blueprint(
    "flashsale_api", __name__, url_prefix="/api/v1", description="Flash sales (秒杀): activities, flash prices, buying."
)


# -- schemas -------------------------------------------------------------------------


class SkuArgs(Schema):
    sku_id = Id(required=True)
    flash_price = Money(required=True, validate=validate.Range(min=1, max=service.MAX_PRICE))
    stock = StrictInt(
        required=True,
        validate=validate.Range(min=0, max=service.MAX_STOCK),
        metadata={"description": "flash stock, apart from the SKU's stock"},
    )


class ActivityArgs(Schema):
    product_id = Id(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=60))
    per_user_limit = StrictInt(
        load_default=1,
        validate=validate.Range(min=0, max=service.MAX_LIMIT),
        metadata={"description": "units per buyer and flash SKU; 0: no limit"},
    )
    starts_at = UtcDateTime(required=True, metadata={"description": "ISO 8601; without an offset: UTC"})
    ends_at = UtcDateTime(required=True)
    enabled = StrictBool(load_default=True)
    skus = fields.List(fields.Nested(SkuArgs), required=True, validate=validate.Length(min=1, max=200))


class ActivityUpdateArgs(ActivityArgs):
    class Meta:
        exclude = ("product_id",)


class FlashSkuSchema(Schema):
    sku_id = fields.Integer()
    flash_price = fields.Integer()
    stock = fields.Integer()
    sold = fields.Integer()
    remaining = fields.Integer()


class ActivitySchema(Schema):
    id = fields.Integer()
    seller_id = fields.Integer(allow_none=True)
    product_id = fields.Integer()
    title = fields.String()
    per_user_limit = fields.Integer()
    starts_at = DateTime()
    ends_at = DateTime()
    enabled = fields.Boolean()
    created_by_platform = fields.Boolean()
    state = fields.Function(lambda a: service.state_of(a), metadata={"description": "upcoming, running, ended, off"})
    skus = fields.List(fields.Nested(FlashSkuSchema))


class OfferSkuSchema(Schema):
    sku_id = fields.Integer()
    spec_text = fields.String()
    price = fields.Integer(metadata={"description": "the normal price, fen"})
    flash_price = fields.Integer()
    remaining = fields.Integer(metadata={"description": "flash stock left"})
    stock = fields.Integer(metadata={"description": "flash stock"})
    used = fields.Integer(allow_none=True, metadata={"description": "units the signed-in buyer holds"})


class OfferSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    product_id = fields.Integer()
    product_name = fields.String()
    image = fields.String()
    state = fields.String()
    starts_at = DateTime()
    ends_at = DateTime()
    per_user_limit = fields.Integer()
    seconds_left = fields.Integer(metadata={"description": "to the start when upcoming, to the end when running"})
    skus = fields.List(fields.Nested(OfferSkuSchema))


class ListingSchema(Schema):
    server_time = DateTime()
    activities = fields.List(fields.Nested(OfferSchema))


class ProductOfferSchema(Schema):
    server_time = DateTime()
    product_id = fields.Integer()
    activity = fields.Nested(OfferSchema, allow_none=True)


class BuyArgs(Schema):
    sku_id = Id(required=True)
    quantity = StrictInt(load_default=1, validate=validate.Range(min=1, max=9999))
    address_id = Id(allow_none=True, load_default=None)
    delivery = fields.Dict(keys=fields.String(), values=fields.String())
    messages = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=200)))
    options = fields.Dict()
    expected_total = Money(
        validate=validate.Range(min=0, max=MAX_FEN),  # (a payment's amount holds no more)
        metadata={
            "description": "the total (fen) the buyer saw; when it is not the total now, nothing is placed "
            "(409 total_changed, or a failed ticket when queued)"
        },
    )


_buy_args = BuyArgs()


class TicketSchema(Schema):
    ticket = fields.String()
    status = fields.String(
        metadata={"description": "queued, placed (the payment orders and orders below) or failed (code, message)"}
    )
    payments = fields.List(fields.Nested(PaymentOrderSchema))
    orders = fields.List(fields.Nested(OrderSummarySchema))
    code = fields.String(
        allow_none=True,
        metadata={"description": "why a failed ticket failed (out_of_stock, flashsale_limit, address...)"},
    )
    message = fields.String(allow_none=True)


_ticket_schema = TicketSchema()  # (a schema holds no state of a dump: one for every answer)


# -- helpers ----------------------------------------------------------------------------


def offer(activity, user=None, at=None) -> dict:
    """An activity as buyers see it (prices, stock left, countdown)."""
    at = at or utcnow()
    from jishi.catalog.models import Product

    product = db.session.get(Product, activity.product_id)
    skus = {s.id: s for s in product.skus if s.is_active} if product else {}
    used = {}
    if user is not None and activity.per_user_limit:
        from jishi_flashsale.models import Usage

        used = dict(
            db.session.execute(
                db.select(Usage.flash_sku_id, Usage.units).where(
                    Usage.user_id == user.id, Usage.flash_sku_id.in_([f.id for f in activity.skus])
                )
            ).all()
        )
    state = service.state_of(activity, at)
    target = activity.starts_at if state == "upcoming" else activity.ends_at
    return {
        "id": activity.id,
        "title": activity.title,
        "product_id": activity.product_id,
        "product_name": product.name if product else "",
        "image": product.image if product else "",
        "state": state,
        "starts_at": activity.starts_at,
        "ends_at": activity.ends_at,
        "per_user_limit": activity.per_user_limit,
        "seconds_left": max(int((target - at).total_seconds()), 0),
        "skus": [
            {
                "sku_id": f.sku_id,
                "spec_text": skus[f.sku_id].spec_text,
                "price": skus[f.sku_id].price,
                "flash_price": f.flash_price,
                "remaining": f.remaining,
                "stock": f.stock,
                "used": used.get(f.id, 0) if user is not None else None,
            }
            for f in activity.skus
            if f.sku_id in skus
        ],
    }


def _buyer():
    return current_user if current_user.is_authenticated else None


# -- buyers --------------------------------------------------------------------------------


@blp.get("/flashsale/activities")
@blp.response(200, ListingSchema)
def listing():
    """Running flash sales (soonest to end first), then those starting
    within a week; ``server_time`` lets a client run its countdown."""
    at = utcnow()
    user = _buyer()
    return {"server_time": at, "activities": [offer(a, user, at) for a in service.listing(at)]}


@blp.get("/flashsale/products/<int:product_id>")
@blp.response(200, ProductOfferSchema)
def product_offer(product_id):
    """The product's running (or next, within a week) flash sale; ``activity`` null: none."""
    from jishi.catalog.service import get_product

    product = get_product(product_id) if 0 < product_id < 2**31 else None
    if product is None:
        not_found("product")
    at = utcnow()
    activity = service.current_for_product(product.id, at)
    return {
        "server_time": at,
        "product_id": product.id,
        "activity": offer(activity, _buyer(), at) if activity else None,
    }


def _quick_locale() -> str:
    """The request's locale without loading the user (the kernel's choice
    minus the account's preference: the session's, then Accept-Language),
    so a sold-out answer costs no database query."""
    from flask import current_app, session

    locales = current_app.config["JISHI_LOCALES"]
    chosen = session.get("locale")
    if chosen in locales:
        return chosen
    best = request.accept_languages.best_match(list(locales) + ["zh", "en-US", "zh-CN"])
    if best in ("zh", "zh-CN"):
        return "zh_CN"
    if best == "en-US":
        return "en"
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


BUY_PATH = "/api/v1/flashsale/buy"


SOLD_OUT_BODIES = "jishi_flashsale.sold_out"  # the app's ``extensions`` key of its cached answers
SOLD_OUT_BODIES_MAX = 500  # cached answers per app (keys carry a client's Accept-Language)


def _sold_out_bodies(app=None) -> dict:
    """The sold-out answers (bytes) ``app`` keeps (default: the current
    app), by key: ``<locale>`` (the JSON body in that language), ``h:`` /
    ``v:`` + the request's ``Accept-Language`` (an unkeyed attempt's answer,
    :func:`soldout_first`; a keyed attempt's, :func:`_keyed_sold_out`:
    what :class:`SoldOutGate` answers in front of Flask). Per app: the
    words are the app's translations."""
    if app is None:
        from flask import current_app

        app = current_app._get_current_object()
    bodies = app.extensions.get(SOLD_OUT_BODIES)
    if bodies is None:
        bodies = app.extensions[SOLD_OUT_BODIES] = {}
    return bodies


def _keep_sold_out(key: str, body: bytes, app=None) -> bytes:
    """Cache ``body`` under ``key`` for the app (:func:`_sold_out_bodies`),
    at most :data:`SOLD_OUT_BODIES_MAX` answers (then emptied: the keys are
    the clients' headers); returns ``body``."""
    bodies = _sold_out_bodies(app)
    if len(bodies) >= SOLD_OUT_BODIES_MAX:
        bodies.clear()
    bodies[key] = body
    return body


def _loads(data: bytes):
    try:
        import orjson

        return orjson.loads(data)
    except ImportError:  # pragma: no cover - orjson is a kernel dependency
        import json

        return json.loads(data)


def soldout_first():
    """A ``before_request`` function put FIRST by the plugin's ``app_ready``:
    a purchase of a SKU this process knows is sold out is answered 409
    before anything else runs (no CSRF or rate-limit bookkeeping, no view
    machinery, no user, no database). Anything else goes on as usual (the
    body stays cached for the view)."""
    if request.method != "POST" or request.path != BUY_PATH or request.headers.get("Idempotency-Key"):
        return None  # a keyed retry may be of a purchase made: the view answers it
    try:
        raw = _loads(request.get_data(cache=True))
    except ValueError:
        return None
    if not (isinstance(raw, dict) and type(raw.get("sku_id")) is int and gate.is_sold_out(raw["sku_id"])):
        return None
    from flask import current_app

    if request.cookies:  # a browser session may hold a chosen locale
        body = _sold_out_body(_quick_locale())
    else:
        key = "h:" + request.headers.get("Accept-Language", "")[:200]
        body = _sold_out_bodies().get(key) or _keep_sold_out(key, _sold_out_body(_quick_locale()))
    return current_app.response_class(body, status=409, mimetype="application/json")


class SoldOutGate:
    """WSGI middleware the plugin's ``app_ready`` puts around the app: a
    purchase of a SKU this process knows is sold out, from a client without
    cookies (the JSON API's clients: a mini-program, an app), is answered
    409 ``sold_out`` before Flask builds a request: no context, no session,
    no routing, no user, no database — cheaper than the trivial endpoint.

    It answers only when it can answer exactly as :func:`soldout_first`
    would: the body (bounded) parses, names a flagged SKU, and the answer
    for this ``Accept-Language`` is already cached (the first such request
    to an app goes through Flask, which translates and caches it).
    Anything else passes on untouched (the body it read is put back).

    A keyed attempt (``Idempotency-Key``: it may be the retry of a purchase
    made, which the view answers) is answered here only when the view would
    find nothing, known from Redis alone (:func:`jishi_flashsale.gate.key_unused`:
    the queue is on, Redis holds every key used on the sale and not this
    one), and the view would pass the body and the key as they are (a plain
    ``sku_id``/``quantity``/``address_id`` body, a valid key); otherwise
    (Redis lacks the answer, knows the key, or fails) the view answers."""

    MAX_BODY = 4096

    def __init__(self, wsgi_app, app=None):
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ, start_response):
        if (
            environ.get("PATH_INFO") == BUY_PATH  # anything else: one comparison and on
            and gate.any_sold_out()
            and environ.get("REQUEST_METHOD") == "POST"
            and "HTTP_COOKIE" not in environ
            and (self.app is not None or "HTTP_IDEMPOTENCY_KEY" not in environ)
        ):
            body = self._answer(environ)
            if body is not None:
                start_response(
                    "409 CONFLICT", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
                )
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ) -> bytes | None:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= self.MAX_BODY:
            return None
        import io

        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # the app reads it as if untouched
        environ["CONTENT_LENGTH"] = str(len(raw))
        key = environ.get("HTTP_IDEMPOTENCY_KEY")
        # unkeyed: soldout_first's answer; keyed: the view's (_keyed_sold_out)
        bodies = _sold_out_bodies(self.app) if self.app is not None else {}
        body = bodies.get(("h:" if key is None else "v:") + environ.get("HTTP_ACCEPT_LANGUAGE", "")[:200])
        if body is None:
            return None
        try:
            data = _loads(raw)
        except ValueError:
            return None
        if not (isinstance(data, dict) and type(data.get("sku_id")) is int and gate.is_sold_out(data["sku_id"])):
            return None
        if key is None:
            return body
        if (
            1 <= len(key) <= IDEMPOTENCY_KEY_MAX
            and "#" not in key
            and _plain_buy(data)
            and gate.key_unused(data["sku_id"], key, self.app.config)
        ):
            return body
        return None


_MAX_ID = 2**31 - 1


def _plain_args(raw) -> dict | None:
    """The arguments :class:`BuyArgs` loads from a plain body (see
    :func:`_plain_buy`: ``sku_id`` and, optionally, ``quantity`` and
    ``address_id``, each an integer in range), made without the schema (a
    winner's request is the flash sale's busiest; the schema costs about as
    much as the Redis script); None for any other body (the schema decides,
    with its 422)."""
    if raw.__class__ is not dict or "sku_id" not in raw or not _plain_buy(raw):
        return None
    return {"sku_id": raw["sku_id"], "quantity": raw.get("quantity", 1), "address_id": raw.get("address_id")}


def _autocommit() -> None:
    """PostgreSQL, queued path: the request's statements each commit on
    their own (the connection in autocommit), so a winner's token read
    needs no ``BEGIN`` and its ticket's INSERT is durable when it returns,
    without a ``COMMIT`` (two round trips less). Nothing the request does
    on this path needs two statements in one transaction: it reads, then
    writes the ticket in ONE statement (``INSERT .. ON CONFLICT DO
    NOTHING``); a purchase placed in the request after all (no consumer,
    Redis failed) starts a real transaction first (``fresh_write``: the
    session's next connection is a transactional one). Only when the
    request has read nothing yet (the connection's mode is set before its
    first statement); SQLite keeps its ``reads_only`` transactions."""
    if is_sqlite():
        return
    session = db.session()
    # (nothing pending either: a flush must not commit what a caller of the
    # session meant to commit or roll back itself)
    if not (session.in_transaction() or session.new or session.deleted or session.dirty):
        session.connection(execution_options={"isolation_level": _AUTOCOMMIT})
        g.flashsale_autocommit = True


_AUTOCOMMIT = "AUTOCOMMIT"


def _end_autocommit(failed: bool) -> None:
    """After :func:`buy`: a session still on the autocommit connection of
    :func:`_autocommit` gives it back (its mode is reset in the pool), so
    whatever the session does next (another request sharing the app
    context, the loading of an answer's objects) runs in a transaction
    again. Nothing is undone or committed by this (each statement committed
    itself); the loaded objects stay as they are (the answer may be dumped
    after the view returns)."""
    if not g.pop("flashsale_autocommit", False):
        return
    session = db.session()
    if not session.in_transaction():
        return  # given back already (the ticket's commit, or fresh_write)
    try:
        if session.connection().get_execution_options().get("isolation_level") != _AUTOCOMMIT:
            return  # (a transaction of its own since: not this function's)
        if failed:
            rollback()
        else:
            old, session.expire_on_commit = session.expire_on_commit, False
            try:
                commit()
            finally:
                session.expire_on_commit = old
    except SQLAlchemyError:
        if not failed:
            raise
        # the request is failing already (the database away, say): its
        # error is the answer; the app context's teardown closes the session


def _plain_buy(data: dict) -> bool:
    """A buy body :class:`BuyArgs` loads as it is, with nothing in it but
    ``sku_id``, ``quantity`` and ``address_id`` (anything else: the view
    validates it)."""
    for name, value in data.items():
        if name == "sku_id" or (name == "address_id" and value is not None):
            if not (type(value) is int and 1 <= value <= _MAX_ID):
                return False
        elif name == "quantity":
            if not (type(value) is int and 1 <= value <= 9999):
                return False
        elif name != "address_id":
            return False
    return True


def _sold_out_body(locale: str) -> bytes:
    """The sold-out JSON body in ``locale``, translated once per app."""
    body = _sold_out_bodies().get(locale)
    if body is None:
        import json

        text = _translated("Sold out.", locale)
        body = _keep_sold_out(
            locale,
            json.dumps({"code": "sold_out", "message": text, "field": "sku_id"}, ensure_ascii=False).encode(),
        )
    return body


def _translated(text: str, locale: str) -> str:
    """``text`` in ``locale`` from this plugin's catalog (then the kernel's),
    without the request's own locale selection (which loads the user)."""
    from jishi.i18n import gettext_in

    return gettext_in(locale, text)


def _sold_out_text() -> str:
    import json

    return json.loads(_sold_out_body(_quick_locale()))["message"]


def _sold_out():
    """409 ``sold_out``: translated once per locale, answered without
    touching the database."""
    fail(409, "sold_out", _sold_out_text(), "sku_id")


@blp.post("/flashsale/buy")
@blp.doc(
    requestBody={"required": True, "content": {"application/json": {"schema": BuyArgs}}},
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 72, "pattern": "^[^#]+$"},
            "description": "a unique string per purchase attempt; a retry sends the same one",
        }
    ],
)
@blp.response(201, CheckoutPlacedSchema)
@blp.alt_response(
    202, schema=TicketSchema, description="queued (JISHI_FLASHSALE_QUEUE): poll /flashsale/tickets/<ticket>"
)
@blp.alt_response(409, description="sold_out (nothing written), flashsale_limit, out_of_stock")
@blp.alt_response(
    503,
    description="unavailable (queue on, Redis failed): nothing promised; retry with the same Idempotency-Key",
)
@blp.alt_response(401, response="UNAUTHORIZED")
def buy():
    """Buy one flash SKU at its flash price.

    Answers 409 ``sold_out`` without writing anything when the flash stock
    is gone (checked before sign-in: it is public), 404 when the SKU is not
    in a running flash sale, 401 signed out, 409 ``flashsale_limit`` over
    the per-buyer limit; 201 with the payment order and order otherwise
    (the body may carry ``address_id``, ``delivery``, ``messages`` and
    ``options`` as for ``/checkout/place``)."""
    try:
        answer = _buy()
    except BaseException:
        _end_autocommit(failed=True)
        raise
    _end_autocommit(failed=False)
    return answer


def _buy():
    """:func:`buy`'s work (its answer, or an HTTP error raised)."""
    raw = request.get_json(silent=True) or {}
    args = _plain_args(raw)
    if args is None:  # anything but a plain body: validated by the schema
        try:
            args = _buy_args.load(raw)
        except ValidationError as exc:
            field, message = first_field(exc.messages)
            fail(422, "invalid", message, field)
    sku_id, quantity = args["sku_id"], args["quantity"]
    key = idempotency_key()
    if gate.is_sold_out(sku_id):
        return _earlier_or_sold_out(key, sku_id)
    queued = fs_queue.enabled()
    if queued:
        reads_only()  # the order is placed by the queue's consumer: no write lock on SQLite
        _autocommit()
    user = current_user._get_current_object() if current_user.is_authenticated else None
    if queued:  # Redis holds the units and the buyers' counts: the offer may be a second old
        row = gate.cached_offer(sku_id)
    else:
        row = service.running_flash(
            sku_id, user.id if user is not None else None
        )  # with the buyer's units, in one query
    if row is None:
        fail(404, "not_found", _("This variant is not in a running flash sale."), "sku_id")
    if row.stock - row.sold <= 0:
        gate.mark_sold_out(sku_id, row.id)
        return _earlier_or_sold_out(key, sku_id)
    if user is None:
        fail(401, "unauthorized", _("Sign in first."))
    if row.stock - row.sold < quantity:
        fail(409, "out_of_stock", _("Only %(n)d left.", n=row.stock - row.sold), "quantity")
    if row.per_user_limit and quantity > row.per_user_limit:
        fail(409, "flashsale_limit", _("At most %(n)d per buyer in this flash sale.", n=row.per_user_limit), "quantity")
    options = dict(args.get("options") or {})
    options["delivery"] = dict(args.get("delivery") or {})
    options["messages"] = dict(args.get("messages") or {})
    options["flashsale"] = {"sku_id": sku_id, "flash_sku_id": row.id}  # at this flash price or not at all
    if queued:
        answer = _enqueue(row, user, sku_id, quantity, args.get("address_id"), options, key, args.get("expected_total"))
        if answer is not None:
            return answer
        fresh_write()  # no consumer running, or Redis failed: this request places the order itself
    verdict = gate.take(row, user.id, quantity)
    if verdict != gate.OK and key:
        # Refused by Redis: a retry of a purchase that was placed answers
        # that placement (its unit is the one Redis counted), not "sold out".
        existing = checkout_entry.find_placed(user, key)
        if existing is not None:
            return checkout_entry.placed_answer(checkout_entry.placed_together(existing), True), 200
    if verdict == gate.SOLD_OUT:
        gate.mark_sold_out(sku_id)
        _sold_out()
    if verdict == gate.LIMIT:
        fail(409, "flashsale_limit", _("At most %(n)d per buyer in this flash sale.", n=row.per_user_limit), "quantity")
    try:
        payments = checkout_entry.place_order(
            user,
            [(sku_id, quantity)],
            args.get("address_id"),
            options,
            idempotency_key=key,
            expected_total=args.get("expected_total"),
        )
    except OutOfStock:
        gate.give_back(row.id, user.id, quantity, row.per_user_limit)
        return _earlier_or_sold_out(key, sku_id)
    except BaseException:
        gate.give_back(row.id, user.id, quantity, row.per_user_limit)
        raise
    if payments.replayed:  # a retry answered by the kernel: no unit was taken now
        gate.give_back(row.id, user.id, quantity, row.per_user_limit)
        return checkout_entry.placed_answer(payments, True), 200
    return checkout_entry.placed_answer(payments, False), 201


def _earlier_or_sold_out(key, sku_id):
    """A retry carrying the Idempotency-Key of a purchase this buyer made
    before answers that purchase (its order, or its ticket while queued),
    never "sold out": its unit is one of those counted (the first answer
    may have been a 503 while Redis stalled, and the purchase admitted when
    it came back). Anything else: 409 ``sold_out`` (from Redis alone, before
    the buyer is signed in, when Redis holds every key used on the sale and
    not this one: :func:`jishi_flashsale.gate.key_unused`)."""
    if key and gate.key_unused(sku_id, key):
        return _keyed_sold_out()
    if key and current_user.is_authenticated:
        user = current_user._get_current_object()
        existing = checkout_entry.find_placed(user, key)
        if existing is not None:
            return checkout_entry.placed_answer(checkout_entry.placed_together(existing), True), 200
        earlier = fs_queue.by_key(user.id, key)
        if earlier is None and fs_queue.enabled():
            # The first answer may have been a 503 while Redis stalled and its
            # script ran when Redis came back: the ticket is in Redis only
            # (until the consumer records it). Recorded now and answered.
            try:
                ticket_id = fs_queue.ticket_by_key(user.id, key)
                job = fs_queue.redis_job(ticket_id) if ticket_id else None
                if job is not None:
                    fresh_write()
                    earlier = fs_queue.stored(job["ticket"]) or fs_queue.record(job)[0]
            except fs_queue.redis_errors() as exc:  # cannot tell: nothing promised, ask again
                from flask import current_app

                current_app.logger.warning("flashsale: a keyed retry answered 503, Redis failed: %s", exc)
                return _unavailable()
            except SQLAlchemyError as exc:
                rollback()
                from flask import current_app

                current_app.logger.warning("flashsale: a keyed retry answered 503, the database failed: %s", exc)
                return _unavailable()
        if earlier is not None:
            from flask import jsonify

            body, status = _ticket_answer(fs_queue.as_data(earlier))
            return jsonify(_ticket_schema.dump(body)), status
    _sold_out()


def _keyed_sold_out():
    """409 ``sold_out`` to a keyed attempt, as :func:`_sold_out` answers it
    (the app's own error handler makes it); its bytes are kept per
    ``Accept-Language`` for :class:`SoldOutGate` when the request has no
    cookies (its locale then comes from that header alone)."""
    from flask import current_app
    from werkzeug.exceptions import HTTPException

    try:
        _sold_out()
    except HTTPException as exc:
        resp = current_app.make_response(current_app.handle_http_exception(exc))
    if not request.cookies:
        _keep_sold_out("v:" + request.headers.get("Accept-Language", "")[:200], resp.get_data())
    return resp


def _enqueue(row, user, sku_id, quantity, address_id, options, key, expected_total=None):
    """The queued path (``JISHI_FLASHSALE_QUEUE``): the gate takes the units
    and queues the placement in one Redis script, the ticket is recorded in
    the database (committed), then answered (202 while queued). None when
    no consumer runs: the caller places directly. A Redis failure answers
    503 (see :mod:`jishi_flashsale.queue`: the script may still run, and
    its job is then placed by the consumer; placing here too could place
    the purchase twice)."""
    from flask import current_app
    from jishi.i18n import locale_code

    job = {
        "sku_id": sku_id,
        "address_id": address_id,
        "options": options,
        # the request's locale by its code (what str(get_locale()) gives,
        # without making the Babel Locale): the consumer's Accept-Language
        "locale": locale_code(),
        "expected_total": expected_total,
    }
    try:
        verdict, ticket_id = fs_queue.enqueue(row, user.id, quantity, job, key)
    except fs_queue.redis_errors() as exc:
        current_app.logger.warning("flashsale: queue unavailable, answered 503: %s", exc)
        return _unavailable()
    if verdict == fs_queue.NO_CONSUMER:  # nobody would place it: this request does
        return None
    if verdict in (gate.SOLD_OUT, gate.LIMIT) and key:
        # Refused: a retry whose ticket Redis no longer knows (it restarted
        # empty) answers that ticket, not "sold out" (its unit is counted)
        earlier = fs_queue.by_key(user.id, key)
        if earlier is not None:
            body, status = _ticket_answer(fs_queue.as_data(earlier))
            from flask import jsonify

            return jsonify(_ticket_schema.dump(body)), status
    if verdict == gate.SOLD_OUT:
        gate.mark_sold_out(sku_id, row.id)
        _sold_out()
    if verdict == gate.LIMIT:
        fail(409, "flashsale_limit", _("At most %(n)d per buyer in this flash sale.", n=row.per_user_limit), "quantity")
    job.update(ticket=ticket_id, user_id=user.id, fsid=row.id, quantity=quantity, key=key)
    try:
        if verdict == fs_queue.QUEUED:
            if is_sqlite():  # the request read until now (reads_only): the ticket is its one write
                fresh_write()  # (PostgreSQL: autocommit, see _autocommit; or the read's transaction goes on into it)
            if fs_queue.record_new(job):  # the winner: the answer's JSON made at once (nothing to read or dump)
                return _queued_answer(ticket_id)
            # recorded already (by a consumer), or the buyer's key holds another ticket
            stored, own = fs_queue.record(job)
            if own:
                data = {"ticket": ticket_id, "status": "queued", "payment_ids": []}
            else:  # the key's ticket from before Redis lost its index: this one is a second, undone
                fs_queue._fail_redis(job, "duplicate", _("This purchase was already made with this Idempotency-Key."))
                data = fs_queue.as_data(stored)
        else:  # a retry: the ticket as it stands (recorded now if the first answer could not)
            stored = fs_queue.stored(ticket_id)
            if stored is None:
                first = fs_queue.redis_job(ticket_id)
                stored = fs_queue.record(first)[0] if first else None
            if stored is not None:
                data = fs_queue.as_data(stored)
            else:
                data = fs_queue.ticket(ticket_id, user.id) or {"ticket": ticket_id, "status": "queued"}
    except fs_queue.redis_errors() as exc:
        rollback()
        current_app.logger.warning("flashsale: queue unavailable, answered 503: %s", exc)
        return _unavailable()
    except SQLAlchemyError as exc:  # the database away: nothing promised; the consumer records the job
        rollback()
        current_app.logger.warning("flashsale: ticket %s not recorded, answered 503: %s", ticket_id, exc)
        return _unavailable()
    body, status = _ticket_answer(data)
    from flask import jsonify

    return jsonify(_ticket_schema.dump(body)), status  # a Response: not the 201 schema


def _queued_answer(ticket_id: str):
    """202 with a ticket just queued: what ``TicketSchema`` dumps of it (no
    payment orders yet), without the schema; its JSON is ``jsonify``'s,
    made once per app (:func:`_queued_body`) with the ticket put in."""
    from flask import current_app

    app = current_app._get_current_object()
    parts = _queued_body(app)
    if parts is None or not _is_hex(ticket_id):
        from flask import jsonify

        resp = jsonify(_queued_dict(ticket_id))
        resp.status_code = 202
        return resp
    return app.response_class(parts[0] + ticket_id.encode() + parts[1], status=202, mimetype=parts[2])


QUEUED_BODY = "jishi_flashsale.queued_body"  # the app's ``extensions`` key of _queued_body's parts
_HEX = frozenset("0123456789abcdef")


def _is_hex(text: str) -> bool:
    return 0 < len(text) <= 64 and _HEX.issuperset(text)


def _queued_dict(ticket_id: str) -> dict:
    return {"code": None, "message": None, "orders": [], "payments": [], "status": "queued", "ticket": ticket_id}


def _queued_body(app) -> tuple[bytes, bytes, str] | None:
    """The bytes ``jsonify`` makes of a queued ticket's answer before and
    after the ticket (a hex string: nothing in it is escaped) and its
    mimetype, made once per app and JSON settings (debug, compact, key
    order, ASCII); None when that answer does not hold the ticket exactly
    once as it is."""
    provider = app.json
    settings = (app.debug, getattr(provider, "compact", None), provider.sort_keys, provider.ensure_ascii)
    kept = app.extensions.get(QUEUED_BODY)
    if kept is not None and kept[0] == settings:
        return kept[1]
    marker = "0123456789abcdef" * 2
    resp = provider.response(_queued_dict(marker))
    pieces = resp.get_data().split(marker.encode())
    parts = (pieces[0], pieces[1], resp.mimetype) if len(pieces) == 2 else None
    app.extensions[QUEUED_BODY] = (settings, parts)
    return parts


def _unavailable():
    """503 ``unavailable`` with ``Retry-After``: nothing was promised; a
    retry with the same ``Idempotency-Key`` never buys twice."""
    resp = error_response(
        503, "unavailable", _("The flash sale is busy. Please try again in a moment with the same request.")
    )
    resp.headers["Retry-After"] = "1"
    return resp


def _ticket_answer(data: dict):
    from jishi.orders.models import PaymentOrder

    payments = []
    if data.get("payment_ids"):
        payments = list(
            db.session.execute(
                db.select(PaymentOrder)
                .where(PaymentOrder.id.in_(data["payment_ids"]), PaymentOrder.user_id == current_user.id)
                .order_by(PaymentOrder.id)
            ).scalars()
        )
    body = {
        "ticket": data["ticket"],
        "status": data["status"],
        "payments": payments,
        "orders": [o for p in payments for o in p.orders],
        "code": data.get("code"),
        "message": data.get("message"),
    }
    return body, 202 if data["status"] == "queued" else 200


@blp.get("/flashsale/tickets/<ticket_id>")
@blp.response(200, TicketSchema)
@blp.alt_response(202, schema=TicketSchema, description="still queued")
@blp.alt_response(401, response="UNAUTHORIZED")
def ticket(ticket_id):
    """A queued purchase (``JISHI_FLASHSALE_QUEUE``): ``queued`` (202),
    ``placed`` with its payment orders and orders, or ``failed`` with the
    reason (its units went back to the sale). Only the buyer's own tickets
    (another buyer's is 404). Answered from Redis, else from the database
    (an accepted ticket never answers 404, also after Redis lost it)."""
    if not current_user.is_authenticated:
        fail(401, "unauthorized", _("Sign in first."))
    data = fs_queue.ticket(ticket_id, current_user.id)
    if data is None:
        not_found("ticket")
    return _ticket_answer(data)


# -- sellers and the platform --------------------------------------------------------------


@blp.get("/flashsale/seller/activities")
@seller_api("marketing")
@blp.response(200, ActivitySchema(many=True))
def activities():
    """Activities the acting seller may see (the platform: all)."""
    scope, platform = promotions.acting("api")
    return service.visible_activities(seller_id=scope.seller_id, platform=platform)


@blp.post("/flashsale/seller/activities")
@seller_api("marketing")
@blp.arguments(ActivityArgs)
@blp.response(201, ActivitySchema)
def activity_create(args):
    """Create an activity on ``product_id`` (a merchant: its own products
    only; another merchant's product is 404). 409 when another enabled
    flash sale of the product overlaps the window."""
    scope, platform = promotions.acting("api")
    a = service.save_activity(args, seller_id=scope.seller_id, platform=platform)
    commit()
    return a


@blp.get("/flashsale/seller/activities/<int:activity_id>")
@seller_api("marketing")
@blp.response(200, ActivitySchema)
def activity_get(activity_id):
    return promotions.api_activity(Activity, activity_id)


@blp.put("/flashsale/seller/activities/<int:activity_id>")
@seller_api("marketing")
@blp.arguments(ActivityUpdateArgs)
@blp.response(200, ActivitySchema)
def activity_update(args, activity_id):
    """Change an activity (every field but the product); a flash stock never
    goes below what is sold (409)."""
    scope, platform = promotions.acting("api")
    a = promotions.api_activity(Activity, activity_id)
    service.save_activity(args, seller_id=scope.seller_id, platform=platform, activity=a)
    commit()
    return a


__all__ = ["CheckoutError", "blp"]
