"""FS: flash price, flash stock apart from normal stock, per-buyer limit,
sold out answered without writing, unpaid timeout, late payment refunded,
stock given back exactly once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from jishi.db import commit, db, utcnow
from jishi.models import Order, Sku
from jishi.orders.models import OrderLine, PaymentOrder
from jishi_flashsale import service
from jishi_flashsale.models import Reservation

from . import helpers as fs


def _count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_flash_price_and_flash_stock_apart_from_normal_stock(api, factory):
    """FS: a running sale prices the SKU at the flash price (priority over member price) and takes the flash stock, not the SKU stock."""
    product = factory.product(price=1000, stock=7)
    a = fs.activity(product, stock=3, price=300, per_user=0)
    sku_id = product.skus[0].id
    user = fs.buyer(factory)
    resp = fs.buy_api(api, user, sku_id, quantity=2)
    assert resp.status_code == 201, resp.json
    order = fs.order(resp.json["orders"][0]["id"])
    assert order.goods_amount == 600
    line = order.lines[0]
    assert (line.unit_price, line.price_source, line.stock_source) == (300, "flashsale", "flashsale")
    assert db.session.get(Sku, sku_id).stock == 7  # normal stock untouched
    f = fs.flash_sku(a.id)
    assert (f.sold, f.remaining) == (2, 1)


def test_flash_sale_with_no_normal_stock_still_sells(api, factory):
    """FS: flash stock is separate: a SKU with normal stock 0 sells its flash units."""
    product = factory.product(price=1000, stock=0)
    a = fs.activity(product, stock=2, per_user=0)
    user = fs.buyer(factory)
    resp = fs.buy_api(api, user, product.skus[0].id)
    assert resp.status_code == 201, resp.json
    assert fs.flash_sku(a.id).sold == 1


def test_no_flash_price_outside_the_window(api, factory):
    """FS: before the start and after the end the SKU sells at its normal price from normal stock; buy is 404."""
    product = factory.product(price=1000, stock=5)
    now = utcnow()
    fs.activity(product, starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2))
    user = fs.buyer(factory)
    assert fs.buy_api(api, user, product.skus[0].id).status_code == 404
    order = fs.place(user, product.skus[0].id)
    assert order.lines[0].unit_price == 1000 and order.lines[0].stock_source == "sku"
    assert db.session.get(Sku, product.skus[0].id).stock == 4


def test_sold_out_answers_409_and_writes_nothing(api, factory, queries):
    """FS: once the flash stock is gone, buy answers 409 sold_out with no
    write; without an Idempotency-Key from the per-process flag with no
    read at all; a keyed request (it may be the retry of a purchase made,
    issue 15) only looks its key up first; a visitor too."""
    product = factory.product(price=1000, stock=50)
    a = fs.activity(product, stock=1, per_user=0)
    sku_id = product.skus[0].id
    first, second = fs.buyer(factory), fs.buyer(factory)
    assert fs.buy_api(api, first, sku_id).status_code == 201
    orders, payments = _count(Order), _count(PaymentOrder)
    api.headers(second)  # the test client's token, made outside the measured block
    with queries() as q:
        resp = fs.buy_api(api, second, sku_id)
    assert resp.status_code == 409 and resp.json["code"] == "sold_out", resp.json
    assert not [s for s in q.statements if s.lstrip().lower().startswith(("insert", "update", "delete"))], q.statements
    assert (_count(Order), _count(PaymentOrder)) == (orders, payments)
    # unkeyed: answered from the per-process flag, nothing read
    with queries() as q:
        resp = api.post("/flashsale/buy", json={"sku_id": sku_id}, user=second)
    assert resp.status_code == 409
    assert not [s for s in q.statements if "flashsale_skus" in s or "payment_orders" in s], q.statements
    # from the database when the flag is not set (another process)
    from jishi_flashsale import gate

    gate.clear_all()
    resp = api.post("/flashsale/buy", json={"sku_id": sku_id})
    assert resp.status_code == 409 and resp.json["code"] == "sold_out"
    assert fs.flash_sku(a.id).sold == 1


def test_a_keyed_retry_after_sold_out_answers_the_purchase_made(api, factory):
    """Issue 15 (the deploy fault suite's Redis pause): a buyer whose first
    answer was lost (a 503 while Redis stalled, a dropped connection) but
    whose purchase went through retries with the same Idempotency-Key after
    the sale sold out: the answer is that purchase, never 409 sold_out."""
    from jishi_flashsale import gate

    product = factory.product(price=1000, stock=50)
    fs.activity(product, stock=1, per_user=0)
    sku_id = product.skus[0].id
    buyer, other = fs.buyer(factory), fs.buyer(factory)
    first = fs.buy_api(api, buyer, sku_id, key="mine-1")
    assert first.status_code == 201
    assert fs.buy_api(api, other, sku_id).json["code"] == "sold_out"
    assert gate.is_sold_out(sku_id)
    again = fs.buy_api(api, buyer, sku_id, key="mine-1")
    assert again.status_code == 200 and again.json["replayed"] is True
    assert [o["id"] for o in again.json["orders"]] == [o["id"] for o in first.json["orders"]]
    # another buyer with the same key: not theirs
    assert fs.buy_api(api, other, sku_id, key="mine-1").json["code"] == "sold_out"


def test_sold_out_answered_in_front_of_flask(app, api, client, factory, monkeypatch):
    """FS: for a client without cookies, a purchase of a flagged SKU is
    answered by the WSGI gate before Flask builds a request (no before_request
    runs), with the very body Flask gave; anything else passes on with its
    body intact."""
    from jishi_flashsale import api as fs_api

    monkeypatch.setitem(app.extensions, fs_api.SOLD_OUT_BODIES, {})  # (a reused app: not another test's answers)
    product = factory.product(price=1000, stock=50)
    fs.activity(product, stock=1, per_user=0)
    other = factory.product(price=1000, stock=50)
    sku_id = product.skus[0].id
    assert fs.buy_api(api, fs.buyer(factory), sku_id).status_code == 201  # the last unit: flagged
    seen = []
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: seen.append(1))  # before soldout_first
    headers = {"Accept-Language": "zh-CN"}

    def buy(sku, **kw):
        return client.post("/api/v1/flashsale/buy", json={"sku_id": sku}, headers=headers, **kw)

    first = buy(sku_id)  # through Flask: translated and cached
    assert (first.status_code, first.json["code"], len(seen)) == (409, "sold_out", 1)
    assert first.json["message"] == "已售罄。"
    again = buy(sku_id)
    assert (again.status_code, again.get_data(), len(seen)) == (409, first.get_data(), 1)  # Flask never ran
    assert again.headers["Content-Type"] == "application/json"
    passed = buy(other.skus[0].id)  # not flagged: on to the view, which reads the body the gate read
    assert (passed.status_code, passed.json["field"], len(seen)) == (404, "sku_id", 2)
    client.set_cookie("session", "x", domain=(app.config.get("SERVER_NAME") or "localhost").split(":")[0])
    cookie = buy(sku_id)  # a browser session may hold a language: Flask answers
    assert (cookie.status_code, cookie.json["code"], len(seen)) == (409, "sold_out", 3)
    client.delete_cookie("session", domain=(app.config.get("SERVER_NAME") or "localhost").split(":")[0])
    bad = client.post(
        "/api/v1/flashsale/buy", data=b"{not json", headers={**headers, "Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and len(seen) == 4


def test_sold_out_answers_are_kept_per_app(tmp_path, monkeypatch):
    """FS: the sold-out answers' bytes are cached per app, not per process:
    two apps in one process (their default languages differ) each answer
    in their own words, through Flask first, then in front of it from their
    own cache; a cache holds at most ``SOLD_OUT_BODIES_MAX`` answers (the
    keys are the clients' ``Accept-Language`` headers)."""
    from jishi.testing import make_app
    from jishi_flashsale import api as fs_api
    from jishi_flashsale import gate

    apps = {
        locale: make_app(
            tmp_path / locale,
            plugins="flashsale",
            config={"BABEL_DEFAULT_LOCALE": locale, "JISHI_FLASHSALE_SOLDOUT_TTL": 600},
        )
        for locale in ("zh_CN", "en")
    }
    with apps["en"].app_context():
        gate.mark_sold_out(987654)  # the process's flag (a SKU is flagged for every app alike)
    seen = {locale: [] for locale in apps}
    for locale, app in apps.items():
        app.before_request_funcs.setdefault(None, []).insert(0, lambda locale=locale: seen[locale].append(1))
    try:
        answers = {}
        for _round in range(2):
            for locale, app in apps.items():
                resp = app.test_client().post("/api/v1/flashsale/buy", json={"sku_id": 987654})
                assert (resp.status_code, resp.json["code"]) == (409, "sold_out")
                assert answers.setdefault(locale, resp.get_data()) == resp.get_data()
        assert json.loads(answers["en"])["message"] == "Sold out."
        assert json.loads(answers["zh_CN"])["message"] == "已售罄。"
        assert seen == {"zh_CN": [1], "en": [1]}  # the second answer of each: in front of Flask
        for locale, app in apps.items():
            assert app.extensions[fs_api.SOLD_OUT_BODIES]["h:"] == answers[locale]
        monkeypatch.setattr(fs_api, "SOLD_OUT_BODIES_MAX", 3)
        app = apps["en"]
        for i in range(7):
            headers = {"Accept-Language": f"en;q=0.{i + 1}"}
            resp = app.test_client().post("/api/v1/flashsale/buy", json={"sku_id": 987654}, headers=headers)
            assert resp.status_code == 409 and len(app.extensions[fs_api.SOLD_OUT_BODIES]) <= 3
        assert apps["zh_CN"].extensions[fs_api.SOLD_OUT_BODIES]["h:"] == answers["zh_CN"]  # untouched
    finally:
        gate.clear_all()
        for app in apps.values():
            with app.app_context():
                db.engine.dispose()


def test_buy_validation_and_auth(api, factory):
    """FS: bad input is a 4xx naming the field; signed out is 401 while units remain."""
    product = factory.product(price=1000, stock=5)
    fs.activity(product, stock=5, per_user=2)
    sku_id = product.skus[0].id
    user = fs.buyer(factory)
    assert api.post("/flashsale/buy", json={"sku_id": sku_id}).status_code == 401
    resp = api.post("/flashsale/buy", json={"sku_id": "x"}, user=user)
    assert resp.status_code == 422 and resp.json["field"] == "sku_id"
    resp = api.post("/flashsale/buy", json={"sku_id": sku_id, "quantity": 0}, user=user)
    assert resp.status_code == 422 and resp.json["field"] == "quantity"
    resp = fs.buy_api(api, user, sku_id, quantity=3)
    assert resp.status_code == 409 and resp.json["code"] == "flashsale_limit"
    resp = api.post("/flashsale/buy", json={"sku_id": sku_id}, user=user)  # no address
    assert resp.status_code == 422 and resp.json["field"] == "address_id", resp.json
    assert _count(Order) == 0


def test_per_user_limit_over_several_orders(api, factory):
    """FS: limit 2: 1 + 1 placed, the third unit refused (409), through buy and through the kernel checkout alike."""
    product = factory.product(price=1000, stock=50)
    a = fs.activity(product, stock=10, per_user=2)
    sku_id = product.skus[0].id
    user = fs.buyer(factory)
    assert fs.buy_api(api, user, sku_id).status_code == 201
    assert fs.buy_api(api, user, sku_id).status_code == 201
    resp = fs.buy_api(api, user, sku_id)
    assert resp.status_code in (409, 422) and resp.json["code"] in ("flashsale_limit", "limit"), resp.json
    body = {"items": [{"sku_id": sku_id, "quantity": 1}], "address_id": fs.address_id(user)}
    resp = api.post("/checkout/place", json=body, user=user, headers={"Idempotency-Key": "k-limit"})
    assert resp.status_code in (409, 422) and resp.json["code"] in ("limit", "flashsale_limit"), resp.json
    f = fs.flash_sku(a.id)
    assert f.sold == 2 and service.used_units(f.id, user.id) == 2


def test_idempotent_retry_places_once(api, factory):
    """FS: the same Idempotency-Key twice places one order and takes one unit."""
    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=5, per_user=0)
    user = fs.buyer(factory)
    r1 = fs.buy_api(api, user, product.skus[0].id, key="same")
    r2 = fs.buy_api(api, user, product.skus[0].id, key="same")
    assert r1.status_code == 201 and r2.status_code == 200
    assert r1.json["orders"][0]["id"] == r2.json["orders"][0]["id"]
    assert fs.flash_sku(a.id).sold == 1 and _count(Order) == 1


def test_a_stale_expected_total_places_nothing_and_keeps_the_unit(api, factory):
    """FS / issue 13 A1: the buy request may carry the total the buyer saw;
    when it is not the total now nothing is placed (409 total_changed on
    ``expected_total``) and the flash unit is not spent; the true total places."""
    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=1, per_user=0, price=500)
    user = fs.buyer(factory)
    sku_id = product.skus[0].id
    body = {"sku_id": sku_id, "quantity": 1, "address_id": fs.address_id(user), "expected_total": 1}
    r = api.post("/flashsale/buy", json=body, user=user, headers={"Idempotency-Key": "stale"})
    assert r.status_code == 409 and (r.json["code"], r.json["field"]) == ("total_changed", "expected_total"), r.json
    assert fs.flash_sku(a.id).sold == 0 and _count(Order) == 0
    preview = api.post(
        "/checkout/preview",
        user=user,
        json={"address_id": body["address_id"], "items": [{"sku_id": sku_id, "quantity": 1}]},
    )
    total = preview.json["totals"]["pay_amount"]
    r = api.post("/flashsale/buy", json={**body, "expected_total": total}, user=user, headers={"Idempotency-Key": "ok"})
    assert r.status_code == 201, r.json
    assert fs.flash_sku(a.id).sold == 1 and _count(Order) == 1


def test_cancel_returns_flash_stock_and_limit_exactly_once(api, factory):
    """FS: cancelling an unpaid flash order gives its units and the buyer's limit back once; a second release changes nothing."""
    from jishi.orders import service as orders_service

    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=2, per_user=1)
    user = fs.buyer(factory)
    resp = fs.buy_api(api, user, product.skus[0].id)
    order = fs.order(resp.json["orders"][0]["id"])
    orders_service.cancel(order, actor=user)
    f = fs.flash_sku(a.id)
    assert f.sold == 0 and service.used_units(f.id, user.id) == 0
    # the kernel asking again (a retried job, a bug) gives nothing more
    line = db.session.get(OrderLine, order.lines[0].id)
    assert service.release(line, 1, "closed") is True
    commit()
    f = fs.flash_sku(a.id)
    assert f.sold == 0 and db.session.get(Sku, product.skus[0].id).stock == 5
    assert db.session.execute(db.select(Reservation.released)).scalar() == 1
    # the buyer may buy again
    assert fs.buy_api(api, user, product.skus[0].id).status_code == 201


def test_unpaid_flash_orders_close_after_the_flash_timeout(api, factory):
    """FS: after JISHI_FLASHSALE_UNPAID_MINUTES the job closes the unpaid flash order and returns the unit once; a second run does nothing."""
    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=1, per_user=1)
    user = fs.buyer(factory)
    resp = fs.buy_api(api, user, product.skus[0].id)
    oid = resp.json["orders"][0]["id"]
    assert "0 unpaid" in service.close_unpaid()  # not yet
    fs.age_reservations(6)
    assert "1 unpaid" in service.close_unpaid()
    order = fs.order(oid)
    assert order.status == "closed" and order.close_reason == "timeout"
    assert order.payment.status == "closed"
    assert fs.flash_sku(a.id).sold == 0
    assert "0 unpaid" in service.close_unpaid()
    assert fs.flash_sku(a.id).sold == 0
    other = fs.buyer(factory)
    assert fs.buy_api(api, other, product.skus[0].id).status_code == 201


def test_unpaid_timeout_is_configurable_and_paid_orders_stay(api, factory, app):
    """FS: JISHI_FLASHSALE_UNPAID_MINUTES decides; paid flash orders are never closed by the job."""
    app.config["JISHI_FLASHSALE_UNPAID_MINUTES"] = 30
    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=5, per_user=0)
    u1, u2 = fs.buyer(factory), fs.buyer(factory)
    o1 = fs.order(fs.buy_api(api, u1, product.skus[0].id).json["orders"][0]["id"])
    o2 = fs.order(fs.buy_api(api, u2, product.skus[0].id).json["orders"][0]["id"])
    fs.pay(o2)
    fs.age_reservations(10)
    service.close_unpaid()
    assert fs.order(o1.id).status == "pending_payment"
    fs.age_reservations(31)
    service.close_unpaid()
    assert fs.order(o1.id).status == "closed" and fs.order(o2.id).status == "paid"
    assert fs.flash_sku(a.id).sold == 1


def test_the_flash_timeout_closes_the_trade_at_the_gateway_first(api, factory):
    """FS, issue 14: the flash timeout closes the payment's trade at its
    gateway before closing the order (its page then takes no money; a
    notification claiming it is refused); the flash unit goes back once."""
    from flask import current_app
    from jishi.payments import sandbox
    from jishi.payments.models import PaymentNotification, SandboxTrade
    from jishi.payments.service import PaymentError, handle_notification

    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=1, per_user=1)
    user = fs.buyer(factory)
    oid = fs.buy_api(api, user, product.skus[0].id).json["orders"][0]["id"]
    order = fs.order(oid)
    with current_app.test_request_context("/", method="POST"):
        trade = sandbox.trade_for(order.payment)
        db.session.commit()
        trade_id = trade.id
    fs.age_reservations(6)
    service.close_unpaid()
    assert fs.order(oid).status == "closed"
    db.session.expire_all()
    assert db.session.get(SandboxTrade, trade_id).status == "closed"
    with current_app.test_request_context("/", method="POST"):
        trade = db.session.get(SandboxTrade, trade_id)
        with pytest.raises(PaymentError):
            handle_notification("sandbox", sandbox.notification_for(trade, status="TRADE_SUCCESS"))
    db.session.rollback()
    order = fs.order(oid)
    assert order.status == "closed" and order.paid_at is None and order.payment.status == "closed"
    assert db.session.execute(db.select(db.func.count(PaymentNotification.id))).scalar() == 0
    assert fs.flash_sku(a.id).sold == 0  # the unit given back, once


def test_a_flash_trade_paid_before_the_timeout_is_recorded_not_closed(api, factory):
    """FS, issue 14: the buyer paid at the gateway but the notification was
    lost; the flash timeout asks the gateway first and records the payment
    instead of closing the order."""
    from flask import current_app
    from jishi.payments import sandbox

    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=1, per_user=1)
    user = fs.buyer(factory)
    oid = fs.buy_api(api, user, product.skus[0].id).json["orders"][0]["id"]
    with current_app.test_request_context("/", method="POST"):
        trade = sandbox.trade_for(fs.order(oid).payment)
        trade.status = "paid"
        db.session.commit()
    fs.age_reservations(6)
    service.close_unpaid()
    assert fs.order(oid).status == "paid"
    assert fs.flash_sku(a.id).sold == 1


def test_full_refund_of_a_paid_flash_order_returns_the_unit(api, factory):
    """FS: the platform closing a paid flash order (full refund) returns the flash unit once, while the sale runs."""
    from jishi.orders import service as orders_service

    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=1, per_user=1)
    user = fs.buyer(factory)
    oid = fs.buy_api(api, user, product.skus[0].id).json["orders"][0]["id"]
    fs.pay(fs.order(oid))
    assert fs.flash_sku(a.id).sold == 1
    orders_service.close_paid(fs.order(oid), actor=factory.admin())
    assert fs.order(oid).status == "closed"
    f = fs.flash_sku(a.id)
    assert f.sold == 0 and service.used_units(f.id, user.id) == 0
    assert db.session.get(Sku, product.skus[0].id).stock == 5


def test_activity_validation(factory):
    """FS: activities name the field at fault; the flash stock never goes below what is sold; overlapping sales are refused."""
    import pytest

    product = factory.product(price=1000, stock=5)
    now = utcnow()
    base = {
        "product_id": product.id,
        "title": "t",
        "per_user_limit": 1,
        "starts_at": now,
        "ends_at": now + timedelta(hours=1),
        "skus": [{"sku_id": product.skus[0].id, "flash_price": 500, "stock": 3}],
    }

    def err(**changes):
        data = {**base, **changes}
        with pytest.raises(service.FlashSaleError) as exc:
            service.save_activity(data, seller_id=None, platform=True)
        db.session.rollback()
        return exc.value.field

    assert err(title="") == "title"
    assert err(ends_at=now - timedelta(hours=1)) == "ends_at"
    assert err(skus=[{"sku_id": product.skus[0].id, "flash_price": 1500, "stock": 3}]) == "skus.0.flash_price"
    assert err(skus=[{"sku_id": product.skus[0].id, "flash_price": 500, "stock": -1}]) == "skus.0.stock"
    assert err(skus=[{"sku_id": 999999, "flash_price": 500, "stock": 1}]) == "skus.0.sku_id"
    assert err(per_user_limit=-1) == "per_user_limit"
    a = service.save_activity(base, seller_id=None, platform=True)
    commit()
    assert err() == "starts_at"  # overlaps
    user = fs.buyer(factory)
    fs.place(user, product.skus[0].id)
    with pytest.raises(service.FlashSaleError) as exc:
        service.save_activity(
            {**base, "skus": [{"sku_id": product.skus[0].id, "flash_price": 500, "stock": 0}]},
            seller_id=None,
            platform=True,
            activity=a,
        )
    assert exc.value.status == 409
    db.session.rollback()
    assert fs.flash_sku(a.id).stock == 3


def test_listing_and_product_api(api, factory):
    """FS: the listing API shows running and upcoming sales with prices, stock left, countdown seconds and server time."""
    p1, p2 = factory.product(price=1000, stock=5), factory.product(price=2000, stock=5)
    now = utcnow()
    a1 = fs.activity(p1, stock=4, price=100, per_user=1)
    fs.activity(p2, stock=2, price=900, starts_at=now + timedelta(hours=2), ends_at=now + timedelta(hours=3))
    user = fs.buyer(factory)
    fs.buy_api(api, user, p1.skus[0].id)
    resp = api.get("/flashsale/activities", user=user)
    assert resp.status_code == 200
    acts = resp.json["activities"]
    assert [a["state"] for a in acts] == ["running", "upcoming"]
    assert acts[0]["skus"][0] == {
        "sku_id": p1.skus[0].id,
        "spec_text": p1.skus[0].spec_text,
        "price": 1000,
        "flash_price": 100,
        "remaining": 3,
        "stock": 4,
        "used": 1,
    }
    assert 0 < acts[1]["seconds_left"] <= 7200 and "server_time" in resp.json
    resp = api.get(f"/flashsale/products/{p1.id}")
    assert resp.json["activity"]["id"] == a1.id and resp.json["activity"]["skus"][0]["used"] is None
    assert api.get(f"/flashsale/products/{p2.id}").json["activity"]["state"] == "upcoming"
    assert api.get("/flashsale/products/99999999").status_code == 404


def test_hook_line_price_rules_quantity_limit(factory, app):
    """FS: line_price_rules gives the flash price (priority 100) with quantity_limit = what the buyer may still take."""
    from jishi.checkout.service import load_lines, price_lines

    product = factory.product(price=1000, stock=5)
    fs.activity(product, stock=5, per_user=3, price=400)
    user = fs.buyer(factory)
    fs.place(user, product.skus[0].id)
    lines = load_lines([(product.skus[0].id, 1)])
    price_lines(lines, user)
    assert (lines[0].unit_price, lines[0].price_source, lines[0].quantity_limit, lines[0].stock) == (
        400,
        "flashsale",
        2,
        4,
    )
    lines = load_lines([(product.skus[0].id, 1)])
    price_lines(lines, None)
    assert lines[0].quantity_limit == 3


def test_sold_out_answer_is_translated_and_first(api, factory, app):
    """FS: the fast sold-out answer speaks Chinese by default and English on Accept-Language: en; it runs before every other before_request."""
    from jishi_flashsale import gate

    funcs = [f.__qualname__ for f in app.before_request_funcs[None]]
    assert funcs.index("soldout_first") < min(i for i, q in enumerate(funcs) if "csrf" in q or "limit" in q.lower()), (
        funcs
    )
    product = factory.product(price=1000, stock=5)
    fs.activity(product, stock=0, per_user=0)
    sku_id = product.skus[0].id
    resp = api.post("/flashsale/buy", json={"sku_id": sku_id})
    assert resp.status_code == 409 and resp.json["message"] == "已售罄。"
    assert gate.is_sold_out(sku_id)
    resp = api.post("/flashsale/buy", json={"sku_id": sku_id}, headers={"Accept-Language": "en"})
    assert resp.status_code == 409 and resp.json == {"code": "sold_out", "message": "Sold out.", "field": "sku_id"}
    resp = api.post("/flashsale/buy", json={"sku_id": sku_id})
    assert resp.json["message"] == "已售罄。"
    # a malformed body is not the gate's business: the view names the field
    resp = api.post("/flashsale/buy", data="{not json", headers={"Content-Type": "application/json"})
    assert resp.status_code == 422 and resp.json["field"] == "sku_id"


def test_returned_goods_after_the_sale_go_to_normal_stock(factory):
    """FS: a unit returned after the sale ended goes back to the SKU's normal stock (once); during the sale, to the flash stock."""
    from jishi_flashsale.models import Activity

    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=4, per_user=0)
    user = fs.buyer(factory)
    o1, o2 = fs.place(user, product.skus[0].id), fs.place(user, product.skus[0].id)
    l1 = db.session.execute(db.select(OrderLine).where(OrderLine.order_id == o1.id)).scalar_one()
    assert service.release(l1, 1, "returned") is True
    commit()
    assert fs.flash_sku(a.id).sold == 1 and db.session.get(Sku, product.skus[0].id).stock == 5
    db.session.execute(db.update(Activity).where(Activity.id == a.id).values(ends_at=utcnow() - timedelta(minutes=1)))
    commit()
    l2 = db.session.execute(db.select(OrderLine).where(OrderLine.order_id == o2.id)).scalar_one()
    assert service.release(l2, 1, "returned") is True
    assert service.release(l2, 1, "returned") is True  # twice: once
    commit()
    db.session.expire_all()
    assert fs.flash_sku(a.id).sold == 1 and db.session.get(Sku, product.skus[0].id).stock == 6
    # a line the plugin did not take is left to the kernel
    other = factory.product(price=500, stock=3)
    o3 = fs.place(user, other.skus[0].id)
    l3 = db.session.execute(db.select(OrderLine).where(OrderLine.order_id == o3.id)).scalar_one()
    assert service.release(l3, 1, "closed") is None


def test_hook_console_menu_items_and_reconcile_without_redis(app, factory):
    """FS: the platform and merchant consoles get a "Flash sales" entry (products permission); reconcile is a no-op without Redis."""
    hook = app.extensions["jishi"].hook
    items = [i for r in hook.console_menu_items(console="platform", principal=factory.admin()) for i in (r or [])]
    mine = [i for i in items if i.endpoint == "flashsale.activities"]
    assert len(mine) == 1 and mine[0].permission == "marketing"
    assert service.reconcile() == "no redis"


@pytest.mark.jishi_plugins("multistore", "groupbuy", "coupons", "flashsale")
def test_with_the_other_marketing_plugins(api, factory):
    """FS: enabled together with groupbuy, coupons and multistore, the flash sale prices, sells and sells out the same way."""
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    product = factory.product(price=1000, stock=5)
    a = fs.activity(product, stock=1, price=200, per_user=1)
    u1, u2 = fs.buyer(factory), fs.buyer(factory)
    resp = fs.buy_api(api, u1, product.skus[0].id)
    assert resp.status_code == 201, resp.json
    assert fs.order(resp.json["orders"][0]["id"]).goods_amount == 200
    assert fs.buy_api(api, u2, product.skus[0].id).json["code"] == "sold_out"
    assert fs.flash_sku(a.id).sold == 1


def test_hook_price_rules_one_statement_for_any_number_of_lines(api, factory, queries):
    """FS: the flash prices of a 1-line and a 10-line checkout cost the same
    statements (``price_rules`` loads every line's flash offer and the buyer's
    units in ONE query), and the whole preview costs the same too."""
    products = [factory.product(price=1000 + i, stock=5) for i in range(10)]
    for product in products:
        fs.activity(product, stock=5, per_user=3, price=400)
    user = fs.buyer(factory)
    api.headers(user)  # issue the token outside the measured blocks
    plugin, total = [], []
    for n in (1, 10):
        body = {
            "items": [{"sku_id": p.skus[0].id, "quantity": 1} for p in products[:n]],
            "address_id": fs.address_id(user),
        }
        api.post("/checkout/preview", json=body, user=user)  # a first request may read what a process caches
        with queries() as q:
            r = api.post("/checkout/preview", json=body, user=user)
        assert r.status_code == 200, r.json
        lines = [line for g in r.json["groups"] for line in g["lines"]]
        assert [(line["unit_price"], line["price_source"]) for line in lines] == [(400, "flashsale")] * n
        plugin.append(sum("flashsale_" in s for s in q.statements))
        total.append(q.count)
    assert plugin == [1, 1], plugin
    assert total[0] == total[1], total
