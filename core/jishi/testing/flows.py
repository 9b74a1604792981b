"""An order's life in tests, through the kernel's real paths::

    from jishi.testing import flows

    [payment] = flows.place(buyer, [(sku, 2)], address, {"delivery": {"shop": "express"}})
    flows.pay(payment)                 # the sandbox gateway's signed notification
    order = flows.complete(payment.orders[0])   # ship, receive, complete
    flows.refund(order)                # the buyer asks, the platform approves

- :func:`place`: ``checkout.service.place_order`` (every checkout hook runs);
  :func:`place_api`: ``POST /api/v1/checkout/place`` as the buyer.
- :func:`pay`: the sandbox trade and its notification (signature, amount,
  idempotency, the order transitions and their signals), as a gateway's
  callback arrives.
- :func:`ship`, :func:`receive`, :func:`complete`: ``orders.service``.
- :func:`request_refund`: the buyer's request only; :func:`refund`: ``aftersales.service`` (request, approve, and for a
  return the goods' arrival).

Each returns what the next step takes; objects are re-read after each step
(``db.session.expire_all``), as a new request would see them.
"""

from __future__ import annotations

import itertools

from jishi.db import db

_keys = itertools.count(1)


def _sku_id(sku) -> int:
    return sku if isinstance(sku, int) else sku.id


def _address_id(address):
    return address if address is None or isinstance(address, int) else address.id


def checkout_body(items, address=None, options=None, **extra) -> dict:
    """The JSON of ``/api/v1/checkout/place`` (and ``/preview``): ``items``
    as ``(sku or sku id, quantity)``, an address (or its id), options."""
    body: dict = {"items": [{"sku_id": _sku_id(s), "quantity": q} for s, q in items]}
    if address is not None:
        body["address_id"] = _address_id(address)
    if options is not None:
        body["options"] = options
    body.update(extra)
    return body


def address_id(user):
    """The id of ``user``'s default address (else its first; None without one)."""
    from jishi.accounts.models import Address

    q = db.select(Address.id).where(Address.user_id == user.id).order_by(Address.is_default.desc(), Address.id)
    return db.session.execute(q.limit(1)).scalar()


def place(user, items, address=None, options=None, *, key: str | None = None) -> list:
    """Place ``items`` [(sku or sku id, quantity)] for ``user`` through the
    checkout service; returns the payment orders (each holds its ``orders``).
    ``key``: an idempotency key (a retry with it returns the first result)."""
    from flask import current_app

    from jishi.checkout.service import place_order

    with current_app.test_request_context("/", method="POST"):
        return place_order(
            user, [(_sku_id(s), q) for s, q in items], _address_id(address), options or {}, idempotency_key=key
        )


def place_api(
    api, user, items, address=None, options=None, *, key: str | None = None, expect: int | None = 201, **extra
) -> dict:
    """``POST /api/v1/checkout/place`` as ``user`` with the ``api`` fixture;
    asserts the status ``expect`` (None: any) and returns the JSON."""
    resp = api.post(
        "/checkout/place",
        user=user,
        json=checkout_body(items, address, options, **extra),
        headers={"Idempotency-Key": key or f"flows-{next(_keys)}"},
    )
    if expect is not None:
        assert resp.status_code == expect, (resp.status_code, resp.get_json())
    return resp.get_json()


def payment_of(obj):
    """A payment order from itself, its number, or one of its orders."""
    from jishi.orders.models import Order, PaymentOrder

    if isinstance(obj, str):
        return db.session.execute(db.select(PaymentOrder).where(PaymentOrder.number == obj)).scalar_one()
    if isinstance(obj, Order):
        order = db.session.get(Order, obj.id)
        assert order is not None, f"order {obj.id} is gone"
        return order.payment
    return obj


def pay(payment, *, check: bool = True) -> dict:
    """Pay a payment order (or an order's, or the one with this number)
    through the sandbox gateway's signed notification. ``check``: assert the
    gateway's answer is ``success``. Returns the notification (to send it
    again, as a gateway retries)."""
    from flask import current_app

    from jishi.payments import sandbox
    from jishi.payments.service import handle_notification, start, trade_number

    payment = payment_of(payment)
    with current_app.test_request_context("/", method="POST"):
        trades = [t for t in sandbox.trades_of(trade_number(payment)) if t.status in ("created", "paid")]
        if not trades:
            start(payment, "sandbox", "pc")  # the buyer chooses the sandbox: its trade
            trades = [t for t in sandbox.trades_of(trade_number(payment)) if t.status == "created"]
        trade = trades[-1]
        trade.status = "paid"
        db.session.commit()
        note = sandbox.notification_for(trade)
        answer = handle_notification("sandbox", dict(note))
    if check and answer != "success":
        raise AssertionError(f"the sandbox notification was refused: {answer!r}")
    db.session.expire_all()
    return note


def fetch(order):
    """The order (or order id) as the database holds it now."""
    from jishi.orders.models import Order

    db.session.expire_all()
    return db.session.get(Order, order if isinstance(order, int) else order.id)


def ship(order, *, carrier: str = "SF", tracking_no: str = "1", actor_kind: str = "platform"):
    """Ship a paid order (``orders.service.ship``); returns it re-read."""
    from jishi.orders import service

    service.ship(fetch(order), carrier=carrier, tracking_no=tracking_no, actor_kind=actor_kind)
    return fetch(order)


def receive(order):
    """The buyer confirms receipt of a shipped order; returns it re-read."""
    from jishi.orders import service

    service.receive(fetch(order), actor_kind="buyer")
    return fetch(order)


def complete(order):
    """Ship (if paid), receive (if shipped) and complete; returns the order."""
    from jishi.orders import service

    order = fetch(order)
    if order.status == "paid":
        order = ship(order)
    if order.status == "shipped":
        order = receive(order)
    service.complete(order, actor_kind="buyer")
    return fetch(order)


def request_refund(order, lines=None, kind: str = "refund_only", reason: str = ""):
    """The buyer asks to refund ``lines`` [(order_line_id, quantity)] (by
    default every line in full); nobody has decided yet. Returns the request."""
    from jishi.accounts.models import User
    from jishi.aftersales import service

    order = fetch(order)
    if lines is None:
        lines = [(line.id, line.quantity) for line in order.lines]
    user = db.session.get(User, order.user_id)
    return service.request_refund(user, order, kind, lines, reason)


def refund(order, lines=None, kind: str = "refund_only"):
    """The buyer asks to refund ``lines`` [(order_line_id, quantity)] (by
    default every line in full) and the platform approves; a
    ``return_refund`` also confirms the goods came back. Returns the refund
    (executed, unless the request waits for something else)."""
    from jishi.aftersales import service

    r = request_refund(order, lines, kind)
    service.approve(r)
    if kind == "return_refund":
        service.confirm_returned(r)
    db.session.expire_all()
    return r
