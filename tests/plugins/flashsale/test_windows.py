"""Issue 20: the checkout reads flash prices only while a sale may run.

``flashsale.windows`` (a setting, read with the request's settings) holds
when the enabled activities run; ``price_rules`` skips its query when no
window covers now. Saving an activity writes the windows (its settings row
locked), the ``flashsale_windows`` job drops ended ones; without the
setting (activities saved before it existed) every checkout reads as
before."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import commit, db, utcnow
from jishi.settings import Setting
from jishi_flashsale import service
from jishi_flashsale.models import Activity

from . import helpers as fs


def _preview(api, user, sku_id, queries):
    body = {"items": [{"sku_id": sku_id, "quantity": 1}], "address_id": fs.address_id(user)}
    with queries() as q:
        r = api.post("/checkout/preview", user=user, json=body)
    assert r.status_code == 200, r.json
    reads = [s for s in q.statements if "flashsale_skus" in s.split("|")[0]]
    return r.json["totals"]["goods_amount"], len(reads)


def test_no_setting_reads_as_before(api, factory, queries):
    """Windows not known yet (a database of an earlier version): the query runs."""
    product = factory.product(price=1000, stock=5)
    user = fs.buyer(factory)
    api.headers(user)
    assert db.session.get(Setting, service.WINDOWS_SETTING) is None
    assert _preview(api, user, product.skus[0].id, queries) == (1000, 1)


def test_no_sale_no_query_and_a_saved_sale_is_priced(api, factory, queries):
    """Published windows without any sale: no query; saving a running sale
    writes its window (same transaction): its flash price applies at once."""
    product = factory.product(price=1000, stock=5)
    user = fs.buyer(factory)
    api.headers(user)
    assert service.publish_windows_job() == "0 windows"
    assert db.session.get(Setting, service.WINDOWS_SETTING).value == []
    assert _preview(api, user, product.skus[0].id, queries) == (1000, 0)
    fs.activity(product, price=300, per_user=0)
    assert len(db.session.get(Setting, service.WINDOWS_SETTING).value) == 1
    assert _preview(api, user, product.skus[0].id, queries) == (300, 1)


def test_a_future_sale_is_priced_once_it_starts(api, factory, queries, monkeypatch):
    """A scheduled sale: no query before its start, its price from its start."""
    product = factory.product(price=1000, stock=5)
    other = factory.product(price=800, stock=5)
    user = fs.buyer(factory)
    api.headers(user)
    start = utcnow() + timedelta(hours=1)
    fs.activity(product, price=300, per_user=0, starts_at=start, ends_at=start + timedelta(hours=1))
    assert _preview(api, user, product.skus[0].id, queries) == (1000, 0)
    monkeypatch.setattr(service, "now", lambda: start + timedelta(minutes=1))
    assert _preview(api, user, product.skus[0].id, queries) == (300, 1)
    assert _preview(api, user, other.skus[0].id, queries) == (800, 1)  # a sale runs: every cart looks


def test_windows_merge_and_the_job_drops_ended_sales(factory):
    """Overlapping windows are merged; a disabled or ended sale leaves them."""
    now = utcnow()
    p1, p2, p3 = (factory.product(price=1000, stock=5) for _ in range(3))
    fs.activity(p1, starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=1))
    fs.activity(p2, starts_at=now, ends_at=now + timedelta(hours=2))
    a3 = fs.activity(p3, starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=2))
    windows = db.session.get(Setting, service.WINDOWS_SETTING).value
    assert [w[0] for w in windows] == [(now - timedelta(hours=2)).isoformat(), (now + timedelta(days=1)).isoformat()]
    assert windows[0][1] == (now + timedelta(hours=2)).isoformat()
    db.session.execute(
        db.update(Activity).where(Activity.product_id != p3.id).values(ends_at=now - timedelta(seconds=1))
    )
    commit()
    assert service.publish_windows_job() == "1 windows"
    data = {
        "product_id": p3.id,
        "title": "秒杀",
        "per_user_limit": 1,
        "starts_at": a3.starts_at,
        "ends_at": a3.ends_at,
        "enabled": False,
        "skus": [{"sku_id": s.id, "flash_price": 500, "stock": 10} for s in p3.skus],
    }
    service.save_activity(data, seller_id=None, platform=True, activity=a3)
    commit()
    assert db.session.get(Setting, service.WINDOWS_SETTING).value == []


def test_the_job_is_registered(app):
    names = {j.name for r in app.extensions["jishi"].hook.periodic_jobs() for j in (r or [])}
    assert "flashsale_windows" in names
