"""DE-TPL: the platform makes delivery templates (API and console);
DE-CHOICE: sellers choose templates and point products to them."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.errors import DomainError
from jishi_delivery_express.models import ExpressProductTemplate, ExpressTemplate

from .helpers import PIECE, WEIGHT, login

BODY = {
    **WEIGHT,
    "free_over_amount": 9900,
    "free_over_pieces": 2,
    "regions": [
        {"province": "浙江", "first_units": 1000, "first_fee": 600, "additional_units": 500, "additional_fee": 200},
        {"province": "新疆", "served": False},
        {"province": "四川", "city": "甘孜", "served": False},
    ],
}


def test_platform_api_crud(api, factory):
    """DE-TPL: create, read, replace, make default, delete; the first
    template becomes the platform's default."""
    admin = factory.admin()
    r = api.post("/admin/express/templates", user=admin, json=BODY)
    assert r.status_code == 201, r.json
    t1 = r.json
    assert t1["is_default"] and t1["free_over_amount"] == 9900 and len(t1["regions"]) == 3
    assert t1["regions"][1] == {
        "province": "新疆",
        "city": "",
        "served": False,
        "first_units": None,
        "first_fee": None,
        "additional_units": None,
        "additional_fee": None,
    }
    r = api.post("/admin/express/templates", user=admin, json=PIECE)
    t2 = r.json
    assert not t2["is_default"]
    r = api.put(f"/admin/express/templates/{t1['id']}", user=admin, json={**PIECE, "name": "改名"})
    assert r.status_code == 200 and r.json["name"] == "改名" and r.json["regions"] == []
    r = api.post(f"/admin/express/templates/{t2['id']}/default", user=admin)
    assert r.status_code == 200 and r.json["is_default"]
    assert [t["is_default"] for t in api.get("/admin/express/templates", user=admin).json["items"]] == [False, True]
    assert api.delete(f"/admin/express/templates/{t2['id']}", user=admin).status_code == 204
    assert api.get(f"/admin/express/templates/{t2['id']}", user=admin).status_code == 404
    assert [t["id"] for t in api.get("/admin/express/templates", user=admin).json["items"]] == [t1["id"]]


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"name": ""}, "name"),
        ({"charge_by": "volume"}, "charge_by"),
        ({"first_units": 0}, "first_units"),
        ({"first_fee": -1}, "first_fee"),
        ({"first_fee": 12.5}, "first_fee"),
        ({"first_fee": "800"}, "first_fee"),
        ({"additional_units": 0}, "additional_units"),
        ({"free_over_pieces": -2}, "free_over_pieces"),
        ({"regions": [{"province": ""}]}, "regions.0.province"),
        (
            {"regions": [{"province": "浙江", "first_units": 1, "first_fee": 1, "additional_units": 1}]},
            "regions.0.additional_fee",
        ),
        (
            {"regions": [{"province": "浙江", "served": False}, {"province": "浙江省", "served": False}]},
            "regions.1.province",
        ),
    ],
)
def test_platform_api_bad_input(api, factory, patch, field):
    """DE-TPL: bad input is a 422 naming the field; nothing is written."""
    r = api.post("/admin/express/templates", user=factory.admin(), json={**PIECE, **patch})
    assert r.status_code == 422, r.json
    assert r.json["field"] == field
    assert db.session.query(ExpressTemplate).count() == 0


def test_bad_input_names_the_field_in_words(api, factory, svc):
    """DE-TPL, A4: the message calls a field what the merchant reads
    ("续费"), not its key ("regions.0.additional_fee 必填。")."""
    region = {"province": "浙江", "first_units": 1, "first_fee": 1, "additional_units": 1}
    r = api.post("/admin/express/templates", user=factory.admin(), json={**PIECE, "regions": [region]})
    assert r.status_code == 422 and r.json["message"] == "第 1 个地区的续费 必填。", r.json
    with pytest.raises(DomainError) as exc:
        svc.clean_template({**PIECE, "first_units": "x"})
    assert (exc.value.field, exc.value.message) == ("first_units", "首件数 / 首重（克） 须为整数。")


def test_console_range_says_money_in_yuan(client, factory, svc):
    """DE-TPL, A4: the console takes yuan, so a fee out of range is told in
    money ("¥0.00 到 ¥1000000.00"), not in fen ("0 到 100000000"); units
    keep their plain numbers."""
    login(client, factory.admin())
    form = {
        "name": "太贵",
        "charge_by": "piece",
        "first_units": "1",
        "first_fee": "2000000",
        "additional_units": "1",
        "additional_fee": "0",
    }
    r = client.post("/console/express/templates/new", data=form)
    assert r.status_code == 422
    assert "First fee must be between ¥0.00 and ¥1000000.00." in r.get_data(as_text=True)
    assert db.session.query(ExpressTemplate).count() == 0
    with pytest.raises(DomainError) as exc:
        svc.clean_template({**PIECE, "first_fee": 10**8 + 1})
    assert exc.value.message == "首费 须在 ¥0.00 到 ¥1000000.00 之间。"
    with pytest.raises(DomainError) as exc:
        svc.clean_template({**PIECE, "first_units": 10**9})
    assert exc.value.message == f"首件数 / 首重（克） 须在 1 到 {svc.MAX_UNITS} 之间。"


def test_platform_console_pages(client, factory):
    """DE-TPL: the console form takes yuan, stores fen, with region rows."""
    admin = factory.admin()
    login(client, admin)
    assert client.get("/console/express/templates").status_code == 200
    assert client.get("/console/express/templates/new").status_code == 200
    form = {
        "name": "表单模板",
        "charge_by": "weight",
        "first_units": "1000",
        "first_fee": "12.5",
        "additional_units": "500",
        "additional_fee": "4",
        "free_over_amount": "99",
        "free_over_pieces": "",
        "region-0-province": "西藏",
        "region-0-served": "0",
        "region-1-province": "浙江",
        "region-1-city": "杭州",
        "region-1-served": "1",
        "region-1-first_units": "1000",
        "region-1-first_fee": "6",
        "region-1-additional_units": "500",
        "region-1-additional_fee": "2",
        "region-2-province": "",
    }
    r = client.post("/console/express/templates/new", data=form)
    assert r.status_code == 302
    t = db.session.query(ExpressTemplate).one()
    assert (t.first_fee, t.additional_fee, t.free_over_amount, t.free_over_pieces) == (1250, 400, 9900, 0)
    assert [(r.province, r.city, r.served, r.first_fee) for r in t.regions] == [
        ("西藏", "", False, None),
        ("浙江", "杭州", True, 600),
    ]
    r = client.post("/console/express/templates/new", data={**form, "first_fee": "1.234"})
    assert r.status_code == 422 and "first_fee" in r.get_data(as_text=True)
    r = client.post(f"/console/express/templates/{t.id}", data={**form, "name": "改过"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ExpressTemplate, t.id).name == "改过"
    html = client.get(f"/console/express/templates/{t.id}").get_data(as_text=True)
    assert "12.50" in html and "杭州" in html
    assert client.post(f"/console/express/templates/{t.id}/default").status_code == 302
    assert client.post(f"/console/express/templates/{t.id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(ExpressTemplate, t.id).deleted
    assert client.get("/console/express/templates/999").status_code == 404


def test_seller_chooses_templates_api(api, factory, svc):
    """DE-CHOICE: the shop (platform admin, seller None) chooses templates
    and its default; it cannot create them; unknown ids are 422."""
    admin = factory.admin()
    a = svc.save_template(PIECE)
    b = svc.save_template(WEIGHT)
    r = api.get("/seller/express/templates", user=admin)
    assert r.status_code == 200 and r.json["platform_default_id"] == a.id
    assert [t["chosen"] for t in r.json["items"]] == [False, False]
    r = api.put("/seller/express/templates", user=admin, json={"template_ids": [a.id, b.id], "default_id": b.id})
    assert r.status_code == 200
    assert [(t["chosen"], t["seller_default"]) for t in r.json["items"]] == [(True, False), (True, True)]
    r = api.put("/seller/express/templates", user=admin, json={"template_ids": [a.id], "default_id": b.id})
    assert r.status_code == 422 and r.json["field"] == "default_id"
    r = api.put("/seller/express/templates", user=admin, json={"template_ids": [a.id, 9999]})
    assert r.status_code == 422 and r.json["field"] == "template_ids"
    # sellers cannot create templates: the platform API is admin-only
    staff = factory.user(role="platform_staff")
    assert api.post("/admin/express/templates", user=staff, json=PIECE).status_code == 403


def test_seller_products_api(api, factory, svc):
    """DE-CHOICE: the seller lists its products with their template and
    points one to a chosen template; a template it did not choose is 422;
    another seller's product is 404."""
    admin = factory.admin()
    a = svc.save_template(PIECE)
    b = svc.save_template(WEIGHT)
    svc.choose_templates(None, [a.id])
    p = factory.product(name="茶")
    other = factory.product(name="别家", seller_id=55)
    r = api.get("/seller/express/products", user=admin)
    assert r.json["items"] == [{"product_id": p.id, "name": "茶", "template_id": None}]
    r = api.put(f"/seller/express/products/{p.id}", user=admin, json={"template_id": a.id})
    assert r.status_code == 200 and r.json["template_id"] == a.id
    assert db.session.get(ExpressProductTemplate, p.id).template_id == a.id
    r = api.put(f"/seller/express/products/{p.id}", user=admin, json={"template_id": b.id})
    assert r.status_code == 422 and r.json["field"] == "template_id"
    assert api.put(f"/seller/express/products/{other.id}", user=admin, json={"template_id": a.id}).status_code == 404
    r = api.put(f"/seller/express/products/{p.id}", user=admin, json={"template_id": None})
    assert r.status_code == 200 and db.session.get(ExpressProductTemplate, p.id) is None


def test_seller_products_api_pages(api, factory):
    """DE-CHOICE, K14: the next page of the seller's products is
    ``?after=<the last id>`` (a query string's number is text: the strict
    integer the argument had refused every value, so no second page)."""
    admin = factory.admin()
    first, second = factory.product(name="茶"), factory.product(name="咖啡")
    r = api.get(f"/seller/express/products?after={first.id}", user=admin)
    assert r.status_code == 200 and [i["product_id"] for i in r.json["items"]] == [second.id]
    assert api.get(f"/seller/express/products?after={second.id}", user=admin).json["items"] == []
    for bad in ("x", "-1", "1.5", str(2**31)):
        r = api.get(f"/seller/express/products?after={bad}", user=admin)
        assert r.status_code == 422 and r.json["field"] == "after", (bad, r.json)


def test_seller_console_pages(client, factory, svc):
    """DE-CHOICE: the seller console's settings and products pages."""
    admin = factory.admin()
    a = svc.save_template(PIECE)
    b = svc.save_template(WEIGHT)
    p = factory.product(name="茶")
    login(client, admin)
    html = client.get("/seller/express/settings").get_data(as_text=True)
    assert PIECE["name"] in html and "the platform's default" in html
    r = client.post("/seller/express/settings", data={"template_id": [str(a.id), str(b.id)], "default_id": str(b.id)})
    assert r.status_code == 302
    assert {(c.template_id, c.is_default) for c in svc.seller_choices(None)} == {(a.id, False), (b.id, True)}
    html = client.get("/seller/express/products").get_data(as_text=True)
    assert "茶" in html and f'name="template-{p.id}"' in html
    assert client.post("/seller/express/products", data={f"template-{p.id}": str(a.id)}).status_code == 302
    assert db.session.get(ExpressProductTemplate, p.id).template_id == a.id
    other = factory.product(seller_id=55)
    assert client.post("/seller/express/products", data={f"template-{other.id}": str(a.id)}).status_code == 404
    # one bad row (template b, which the seller gave up): nothing of the form is written
    q = factory.product(name="杯")
    svc.choose_templates(None, [a.id, b.id], a.id)
    svc.set_product_template(None, p, b.id)
    svc.choose_templates(None, [a.id], a.id)  # b given up: p falls back
    r = client.post("/seller/express/products", data={f"template-{p.id}": str(a.id), f"template-{q.id}": str(b.id)})
    assert r.status_code == 302
    assert db.session.get(ExpressProductTemplate, p.id) is None and db.session.get(ExpressProductTemplate, q.id) is None
