"""C7: a product's delivery and its stock of card codes in the seller
console: kind codes or link/text, codes uploaded one per line (deduplicated,
counted), bad input answered as a page naming the field, nothing written."""

from __future__ import annotations

from jishi.db import db


def test_upload_dedupes_and_counts(app, factory, vg, login, client):
    """C7: codes one per line; blanks skipped; repeats in the upload and
    codes already stored are added once; the page shows the count left."""
    product = vg.card(codes=("X-1",))
    login(factory.admin())
    resp = client.post(f"/seller/virtual/products/{product.id}/codes", data={"codes": "X-1\n\n X-2 \nX-3\nX-2\n"})
    assert resp.status_code == 302
    assert sorted(vg.free_codes(product)) == ["X-1", "X-2", "X-3"]
    page = client.get(f"/seller/virtual/products/{product.id}").get_data(as_text=True)
    assert f'data-free="{product.skus[0].id}">3<' in page
    listing = client.get("/seller/virtual/").get_data(as_text=True)
    assert product.name in listing and "X-1" not in listing


def test_bad_input_names_the_field(app, factory, vg, login, client):
    """C7: an empty upload, a line too long, another product's SKU, an
    unknown kind, a link kind without text: a 4xx page naming the field."""
    product = vg.card(codes=())
    other = vg.card(codes=(), name="别的卡")
    login(factory.admin())
    url = f"/seller/virtual/products/{product.id}"
    cases = [
        (url + "/codes", {"codes": ""}, "codes"),
        (url + "/codes", {"codes": "x" * 256}, "codes"),
        (url + "/codes", {"codes": "A", "sku_id": str(other.skus[0].id)}, "sku_id"),
        (url, {"kind": "mail"}, "kind"),
        (url, {"kind": "text", "content": "  "}, "content"),
    ]
    for path, data, field in cases:
        resp = client.post(path, data=data)
        assert resp.status_code == 422, (data, resp.status_code)
        assert f'data-field="{field}"' in resp.get_data(as_text=True), data
    assert vg.free_codes(product) == []


def test_physical_product_cannot_be_set_up(app, factory, login, client):
    """C7: a product to ship has no virtual delivery (409 naming it)."""
    from jishi_virtual.models import VirtualGood

    product = factory.product(name="茶叶")
    login(factory.admin())
    resp = client.post(f"/seller/virtual/products/{product.id}", data={"kind": "codes"})
    assert resp.status_code == 409 and "请先将商品设为虚拟商品" in resp.get_data(as_text=True)
    assert db.session.execute(db.select(VirtualGood)).first() is None


def test_remove_unused_codes_keeps_given_ones(app, factory, vg, login, client):
    """C7: removing unused codes leaves the codes already held by orders."""
    from jishi.testing import flows

    product = vg.card(codes=("R-1", "R-2", "R-3"))
    flows.place(factory.user(), [(product.skus[0], 1)])
    login(factory.admin())
    resp = client.post(f"/seller/virtual/products/{product.id}/codes/clear", data={"sku_id": product.skus[0].id})
    assert resp.status_code == 302
    assert vg.free_codes(product) == []
    from jishi_virtual.models import VirtualCode

    assert [c for (c,) in db.session.execute(db.select(VirtualCode.code)).all()] == ["R-1"]


def test_products_page_queries_do_not_grow(app, factory, vg, login, client, queries):
    """C7: the virtual goods page costs the same statements for 1 or 6 products."""
    login(factory.admin())
    vg.card(codes=("S-1",), name="卡1")
    client.get("/seller/virtual/")  # a first request may read what a process caches (settings)
    with queries() as one:
        assert client.get("/seller/virtual/").status_code == 200
    for i in range(5):
        vg.card(codes=(f"S-{i + 2}",), name=f"卡{i + 2}")
    with queries() as six:
        assert client.get("/seller/virtual/").status_code == 200
    assert six.count == one.count
