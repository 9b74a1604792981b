"""MS7: merchant products through the JSON API — platform categories and tags
only, seller from the principal, product review, listing choice (with the
timed listing run by the kernel worker), merchant and platform management."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import g
from jishi import settings
from jishi.catalog.models import Product
from jishi.db import db, utcnow
from jishi.testing import principals
from jishi_multistore.models import ProductState
from sqlalchemy import func, select

P = "/merchant/products"
A = "/admin/multistore/products"


def set_settings(values: dict):
    settings.set_many(values)
    db.session.commit()
    g.pop("jishi_settings", None)


@pytest.fixture
def world(app, ms, factory):
    cat = factory.category("水果")
    from jishi.catalog.service import save_tag

    save_tag("新鲜")
    save_tag("热卖")
    m1, m2 = ms.merchant("一号店"), ms.merchant("二号店")
    return {
        "cat": cat,
        "m1": m1,
        "m2": m2,
        "a1": ms.admin_of(m1),
        "a2": ms.admin_of(m2),
        "clerk": ms.clerk(m1),
        "platform": factory.admin(),
        "buyer": factory.user(),
    }


def body(world, **kw):
    data = {
        "name": "苹果",
        "category_id": world["cat"].id,
        "tags": ["新鲜"],
        "params": [{"name": "产地", "value": "烟台"}],
        "specs": [{"name": "重量", "values": ["1kg", "2kg"]}],
        "skus": [
            {"spec_values": {"重量": "1kg"}, "price": 1000, "stock": 5},
            {"spec_values": {"重量": "2kg"}, "price": 1800, "stock": 5},
        ],
    }
    data.update(kw)
    return data


def product_count() -> int:
    db.session.expire_all()
    return db.session.execute(select(func.count(Product.id))).scalar_one()


def buyer_sees(api, buyer, product_id) -> bool:
    listed = [i["id"] for i in api.get("/products", user=buyer).json["items"]]
    detail = api.get(f"/products/{product_id}", user=buyer).status_code
    return product_id in listed and detail == 200


def test_create_with_review_waits_then_approval_lists(api, world):
    """MS7: with product review on (the default) the first submission waits;
    seller_id is the principal's merchant whatever the request says; the
    product is neither visible nor buyable until the platform approves it."""
    r = api.post(P, user=world["a1"], json=body(world, seller_id=world["m2"].id))
    assert r.status_code == 201, r.json
    p = r.json
    assert p["seller_id"] == world["m1"].id and p["merchant"]["name"] == "一号店"
    assert p["review_status"] == "pending" and p["on_shelf"] is False and p["listing"] == "on_approval"
    assert p["tags"] == ["新鲜"] and len(p["skus"]) == 2 and p["params"] == [{"name": "产地", "value": "烟台"}]
    state = db.session.get(ProductState, p["id"])
    assert state.merchant_id == world["m1"].id and state.review_status == "pending"

    assert not buyer_sees(api, world["buyer"], p["id"])
    sku = p["skus"][0]["id"]
    assert api.post("/cart/items", user=world["buyer"], json={"sku_id": sku, "quantity": 1}).status_code in (404, 409)
    # Named in a checkout, its SKU is an unknown SKU: nothing of it is told.
    for path in ("/checkout/preview", "/checkout/place"):
        r = api.post(
            path,
            user=world["buyer"],
            json={"items": [{"sku_id": sku, "quantity": 1}]},
            headers={"Idempotency-Key": "unreviewed"},
        )
        assert r.status_code == 422 and (r.json["code"], r.json["field"]) == ("not_found", "items"), r.json
        assert "苹果" not in r.get_data(as_text=True) and "1000" not in r.get_data(as_text=True)

    queue = api.get(f"{A}/pending", user=world["platform"]).json
    assert [(i["id"], i["merchant"]["name"]) for i in queue["items"]] == [(p["id"], "一号店")]
    r = api.post(f"{A}/{p['id']}/approve", user=world["platform"])
    assert r.status_code == 200 and r.json["review_status"] == "approved" and r.json["on_shelf"] is True
    assert api.post(f"{A}/{p['id']}/approve", user=world["platform"]).status_code == 409
    assert buyer_sees(api, world["buyer"], p["id"])
    assert api.post("/cart/items", user=world["buyer"], json={"sku_id": sku, "quantity": 1}).status_code in (200, 201)
    assert api.get(f"{A}/pending", user=world["platform"]).json["items"] == []


def test_platform_catalog_only_and_nothing_half_written(api, world):
    """MS7: merchants use the platform's categories, tags and parameters; bad
    input is a 4xx naming the field and writes nothing."""
    before = product_count()
    cases = [
        (body(world, tags=["新鲜", "自创标签"]), "tags"),
        (body(world, category_id=99999), "category_id"),
        ({k: v for k, v in body(world).items() if k != "category_id"}, "category_id"),
        (body(world, skus=[{"spec_values": {"重量": "1kg"}, "price": -1}]), "skus.0.price"),
        (body(world, listing="whenever"), "listing"),
        (body(world, listing="at_time"), "list_at"),
        (body(world, on_shelf=True), "on_shelf"),
    ]
    for data, field in cases:
        r = api.post(P, user=world["a1"], json=data)
        assert r.status_code == 422, (field, r.json)
        assert r.json["field"] == field, r.json
    set_settings({"multistore.product_params": "产地\n保质期"})
    r = api.post(
        P, user=world["a1"], json=body(world, params=[{"name": "产地", "value": "x"}, {"name": "颜色", "value": "红"}])
    )
    assert r.status_code == 422 and r.json["field"] == "params.1.name"
    assert product_count() == before
    assert db.session.execute(select(func.count()).select_from(ProductState)).scalar_one() == 0
    from jishi.catalog.models import Tag

    assert sorted(db.session.execute(select(Tag.name)).scalars()) == sorted(["新鲜", "热卖"])
    opts = api.get("/merchant/product-options", user=world["a1"]).json
    assert [c["name"] for c in opts["categories"]] == ["水果"] and {t["name"] for t in opts["tags"]} == {"新鲜", "热卖"}
    assert opts["params"] == ["产地", "保质期"] and opts["review_enabled"] is True


def test_review_off_approves_at_once_and_listing_choice(api, world):
    """MS7: with product review off, products are approved at once and the
    listing choice applies immediately (list / stay off)."""
    set_settings({"multistore.product_review": False})
    r = api.post(P, user=world["a1"], json=body(world))
    assert r.status_code == 201 and r.json["review_status"] == "approved" and r.json["on_shelf"] is True
    assert buyer_sees(api, world["buyer"], r.json["id"])
    r = api.post(P, user=world["a1"], json=body(world, name="梨", listing="stay_off"))
    assert r.json["review_status"] == "approved" and r.json["on_shelf"] is False
    assert not buyer_sees(api, world["buyer"], r.json["id"])


def test_stay_off_after_approval(api, world):
    """MS7: "stay off after approval" keeps an approved product off shelf
    until the merchant lists it."""
    pid = api.post(P, user=world["a1"], json=body(world, listing="stay_off")).json["id"]
    r = api.post(f"{A}/{pid}/approve", user=world["platform"])
    assert r.json["review_status"] == "approved" and r.json["on_shelf"] is False
    r = api.post(f"{P}/{pid}/shelf", user=world["a1"], json={"on_shelf": True})
    assert r.status_code == 200 and r.json["on_shelf"] is True


def run_listing_job(app):
    from jishi.cli.worker import collect_jobs, run_once

    db.session.commit()  # end the test's transaction: the job runs in its own app context and session
    jobs = collect_jobs(app)
    assert "multistore_list_due_products" in jobs
    [(name, summary, error)] = run_once(app, {"multistore_list_due_products": jobs["multistore_list_due_products"]})
    assert error is None, error
    db.session.expire_all()
    return summary


def test_timed_listing_runs_in_the_worker(app, api, world):
    """MS7: "list at a set time": approved before the time, the product goes
    on sale when the kernel worker's periodic job runs after it (idempotent);
    a time already past at approval lists on approval."""
    future = (utcnow() + timedelta(hours=2)).isoformat() + "Z"
    pid = api.post(P, user=world["a1"], json=body(world, listing="at_time", list_at=future)).json["id"]
    r = api.post(f"{A}/{pid}/approve", user=world["platform"])
    assert r.json["on_shelf"] is False and r.json["list_at"] is not None
    assert run_listing_job(app) == "0 listed"
    assert db.session.get(Product, pid).on_shelf is False
    # time passes
    db.session.execute(
        ProductState.__table__.update()
        .where(ProductState.product_id == pid)
        .values(list_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    assert run_listing_job(app) == "1 listed"
    assert db.session.get(Product, pid).on_shelf is True
    assert db.session.get(ProductState, pid).list_at is None
    # the merchant unlists it: the job does not put it back
    api.post(f"{P}/{pid}/shelf", user=world["a1"], json={"on_shelf": False})
    assert run_listing_job(app) == "0 listed"
    assert db.session.get(Product, pid).on_shelf is False

    past = (utcnow() - timedelta(hours=1)).isoformat() + "Z"
    pid2 = api.post(P, user=world["a1"], json=body(world, name="橙", listing="at_time", list_at=past)).json["id"]
    assert api.get(f"{P}/{pid2}", user=world["a1"]).json["on_shelf"] is False  # still awaiting review
    assert run_listing_job(app) == "0 listed"  # not approved: never listed
    assert db.session.get(Product, pid2).on_shelf is False
    assert api.post(f"{A}/{pid2}/approve", user=world["platform"]).json["on_shelf"] is True


def test_timed_listing_with_review_off(app, api, world):
    """MS7: review off and a future time: approved at once, listed by the job."""
    set_settings({"multistore.product_review": False})
    future = (utcnow() + timedelta(minutes=30)).isoformat() + "Z"
    pid = api.post(P, user=world["a1"], json=body(world, listing="at_time", list_at=future)).json["id"]
    assert db.session.get(Product, pid).on_shelf is False
    from jishi_multistore import products

    assert products.list_due_products(now=utcnow() + timedelta(minutes=10)) == "0 listed"
    assert products.list_due_products(now=utcnow() + timedelta(hours=1)) == "1 listed"
    assert products.list_due_products(now=utcnow() + timedelta(hours=2)) == "0 listed"
    db.session.expire_all()
    assert db.session.get(Product, pid).on_shelf is True


def test_reject_with_reason_then_resubmit_and_later_edits_not_reviewed(api, world):
    """MS7: the platform rejects with a reason the merchant sees; editing a
    rejected product resubmits it; once approved, edits are not reviewed."""
    pid = api.post(P, user=world["a1"], json=body(world)).json["id"]
    r = api.post(f"{A}/{pid}/reject", user=world["platform"], json={"reason": ""})
    assert r.status_code == 422 and r.json["field"] == "reason"
    r = api.post(f"{A}/{pid}/reject", user=world["platform"], json={"reason": "图片不清晰"})
    assert r.json["review_status"] == "rejected" and r.json["on_shelf"] is False
    got = api.get(f"{P}/{pid}", user=world["a1"]).json
    assert got["review_status"] == "rejected" and got["reject_reason"] == "图片不清晰"
    assert api.post(f"{P}/{pid}/shelf", user=world["a1"], json={"on_shelf": True}).status_code == 409
    assert api.post(f"{A}/{pid}/shelf", user=world["platform"], json={"on_shelf": True}).status_code == 409
    assert not buyer_sees(api, world["buyer"], pid)

    r = api.patch(f"{P}/{pid}", user=world["a1"], json={"images": ["https://img.example/a.jpg"]})
    assert r.status_code == 200 and r.json["review_status"] == "pending" and r.json["reject_reason"] == ""
    api.post(f"{A}/{pid}/approve", user=world["platform"])
    r = api.patch(f"{P}/{pid}", user=world["a1"], json={"name": "大苹果", "tags": ["热卖"]})
    assert r.status_code == 200 and r.json["review_status"] == "approved" and r.json["on_shelf"] is True
    assert r.json["name"] == "大苹果" and r.json["tags"] == ["热卖"]
    r = api.patch(f"{P}/{pid}", user=world["a1"], json={"tags": ["没有的"]})
    assert r.status_code == 422 and r.json["field"] == "tags"
    r = api.patch(f"{P}/{pid}", user=world["a1"], json={"listing": "stay_off"})
    assert r.status_code == 409 and r.json["field"] == "listing"
    assert db.session.get(Product, pid).name == "大苹果"


def test_merchant_list_filters_and_shelf(api, world, ms):
    """MS7: the merchant's list filters by review status and shelf; the
    merchant lists and unlists its own approved products."""
    pending = api.post(P, user=world["a1"], json=body(world, name="待审")).json["id"]
    approved = ms.product(world["m1"], name="已上架")
    off = ms.product(world["m1"], name="已下架", on_shelf=False)
    ms.product(world["m2"], name="别家")

    def names(**q):
        r = api.get(P, user=world["a1"], query_string=q)
        assert r.status_code == 200, r.json
        return sorted(i["name"] for i in r.json["items"])

    assert names() == sorted(["待审", "已上架", "已下架"])
    assert names(review_status="pending") == ["待审"]
    assert names(review_status="approved") == sorted(["已上架", "已下架"])
    assert names(on_shelf="true") == ["已上架"]
    assert names(review_status="approved", on_shelf="false") == ["已下架"]
    assert api.get(P, user=world["a1"], query_string={"review_status": "nope"}).status_code == 422
    assert api.get(P, user=world["a1"]).json["counts"] == {"pending": 1, "approved": 2, "rejected": 0}

    assert api.post(f"{P}/{off.id}/shelf", user=world["a1"], json={"on_shelf": True}).json["on_shelf"] is True
    assert api.post(f"{P}/{approved.id}/shelf", user=world["a1"], json={"on_shelf": False}).json["on_shelf"] is False
    r = api.post(f"{P}/{pending}/shelf", user=world["a1"], json={"on_shelf": True})
    assert r.status_code == 409 and r.json["field"] == "on_shelf"


def test_other_merchants_products_are_not_found(api, world, ms):
    """MS7, MS17: a merchant never sees or edits another merchant's product
    (404); clerks lack the products permission (403); buyers 403."""
    other = ms.product(world["m2"], name="别家")
    pending = api.post(P, user=world["a2"], json=body(world)).json["id"]
    for pid in (other.id, pending):
        assert api.get(f"{P}/{pid}", user=world["a1"]).status_code == 404
        assert api.patch(f"{P}/{pid}", user=world["a1"], json={"name": "抢"}).status_code == 404
        assert api.post(f"{P}/{pid}/shelf", user=world["a1"], json={"on_shelf": False}).status_code == 404
        assert api.delete(f"{P}/{pid}", user=world["a1"]).status_code == 404
    assert db.session.get(Product, other.id).name == "别家" and db.session.get(Product, other.id).on_shelf is True
    assert api.get(P, user=world["a1"]).json["items"] == []
    assert api.get(P, user=world["clerk"]).status_code == 403
    assert api.post(P, user=world["clerk"], json=body(world)).status_code == 403
    assert api.get(P, user=world["buyer"]).status_code == 403
    assert api.get(P).status_code == 401
    assert api.get(A, user=world["a1"]).status_code == 403
    assert api.get(f"{P}/99999999999", user=world["a1"]).status_code == 404


def test_platform_list_pin_unlist_delete(api, world, ms, factory):
    """MS7: the platform lists every merchant product with its merchant's
    name (filter by merchant and status), pinned first; it unlists, pins,
    unpins and deletes them. Self-operated products are not merchant products."""
    a = ms.product(world["m1"], name="A")
    b = ms.product(world["m2"], name="B")
    c = ms.product(world["m1"], name="C", review_status="pending", on_shelf=False)
    own = factory.product(name="自营")
    admin = world["platform"]

    items = api.get(A, user=admin).json["items"]
    assert [i["name"] for i in items] == ["C", "B", "A"]
    assert {i["name"]: i["merchant"]["name"] for i in items} == {"A": "一号店", "B": "二号店", "C": "一号店"}
    assert [i["name"] for i in api.get(A, user=admin, query_string={"merchant_id": world["m1"].id}).json["items"]] == [
        "C",
        "A",
    ]
    assert [i["name"] for i in api.get(A, user=admin, query_string={"review_status": "pending"}).json["items"]] == ["C"]

    assert api.post(f"{A}/{a.id}/pin", user=admin).json["pinned"] is True
    assert [i["name"] for i in api.get(A, user=admin).json["items"]] == ["A", "C", "B"]
    assert [i["name"] for i in api.get(A, user=admin, query_string={"pinned": "true"}).json["items"]] == ["A"]
    assert api.delete(f"{A}/{a.id}/pin", user=admin).json["pinned"] is False
    assert [i["name"] for i in api.get(A, user=admin).json["items"]] == ["C", "B", "A"]

    r = api.post(f"{A}/{b.id}/shelf", user=admin, json={"on_shelf": False})
    assert r.status_code == 200 and r.json["on_shelf"] is False
    assert not buyer_sees(api, world["buyer"], b.id)
    b_id = b.id  # the request deletes the row: the test's object is gone with it
    assert api.delete(f"{A}/{b_id}", user=admin).status_code == 204
    assert db.session.get(Product, b_id) is None and db.session.get(ProductState, b_id) is None

    for path in (f"{A}/{own.id}", f"{A}/{own.id}/pin"):
        assert api.get(path, user=admin).status_code in (404, 405)
    assert api.post(f"{A}/{own.id}/pin", user=admin).status_code == 404
    assert api.delete(f"{A}/{own.id}", user=admin).status_code == 404
    assert db.session.get(Product, own.id) is not None
    assert api.get(f"{A}/{c.id}", user=admin).json["merchant"]["name"] == "一号店"


def test_delete_ordered_product_is_a_conflict(api, world, ms, factory):
    """MS7: a product with orders cannot be deleted (409; unlist it instead)."""
    from tests.plugins.multistore.test_comments_api import make_order_line

    p = ms.product(world["m1"], name="卖过")
    make_order_line(world["buyer"], p)
    r = api.delete(f"{P}/{p.id}", user=world["a1"])
    assert r.status_code == 409 and r.json["code"] == "conflict"
    assert api.delete(f"{A}/{p.id}", user=world["platform"]).status_code == 409
    assert db.session.get(Product, p.id) is not None


def test_unapproved_product_put_on_shelf_elsewhere_stays_hidden(api, world, ms):
    """MS7: even if a kernel console puts a pending product on shelf, buyers
    neither see nor buy it (product_filters, purchase_blockers); adding its
    SKU to the cart answers exactly like an unknown SKU (no name, no hint
    that it exists), through the API and the web cart alike."""
    p = ms.product(world["m1"], name="偷跑", review_status="pending", on_shelf=True)
    assert not buyer_sees(api, world["buyer"], p.id)
    sku_id, unknown_id = p.skus[0].id, p.skus[0].id + 1000
    r = api.post("/cart/items", user=world["buyer"], json={"sku_id": sku_id, "quantity": 1})
    unknown = api.post("/cart/items", user=world["buyer"], json={"sku_id": unknown_id, "quantity": 1})
    assert r.status_code == unknown.status_code == 404 and r.json["code"] == "not_found"
    assert r.json == {**unknown.json, "message": unknown.json["message"].replace(str(unknown_id), str(sku_id))}
    assert "偷跑" not in r.get_data(as_text=True)
    client = principals.sign_in(api.client, world["buyer"])
    flashes = []
    for sid in (sku_id, unknown_id):
        assert client.post("/cart/add", data={"sku_id": sid, "quantity": 1}).status_code == 302
        with client.session_transaction() as sess:
            flashes.append(sess.pop("_flashes", []))
    assert flashes[0] and flashes[0] == [(c, m.replace(str(unknown_id), str(sku_id))) for c, m in flashes[1]]
    assert "偷跑" not in str(flashes[0])
    q = ms.product(world["m1"], name="正常")
    assert buyer_sees(api, world["buyer"], q.id)


def test_pinned_products_slot_on_the_shop_page(app, world, ms):
    """MS7: slot "multistore_shop_top" shows the merchant's pinned on-sale products."""
    from jishi.app import slot
    from jishi_multistore import products

    a = ms.product(world["m1"], name="置顶苹果")
    b = ms.product(world["m1"], name="置顶下架", on_shelf=False)
    ms.product(world["m1"], name="普通")
    c = ms.product(world["m2"], name="别家置顶")
    for p in (a, b, c):
        products.set_pinned(p, True)
    with app.test_request_context("/"):
        html = str(slot("multistore_shop_top", merchant=world["m1"]))
        assert html.lstrip().startswith('<section class="shop-pinned"')  # markup, not escaped text
        assert "置顶苹果" in html and "置顶下架" not in html and "普通" not in html and "别家置顶" not in html
        assert str(slot("multistore_shop_top", merchant=world["m2"])).count('href="/product/') == 1
        assert str(slot("multistore_shop_top", merchant=ms.merchant("三号店"))) == ""
