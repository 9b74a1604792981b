"""favorites (商品收藏): a buyer keeps products and finds them again, over
the API (K14) and the storefront's pages; keeping is idempotent, limited,
and only for products the buyer can open (K4's visibility)."""

from __future__ import annotations

from jishi.db import commit, db
from jishi.testing.principals import sign_in_form


def test_keep_list_and_let_go_over_the_api(api, factory):
    buyer, other = factory.user(), factory.user()
    tea, cup, pot = factory.product(name="龙井", price=5000), factory.product(name="茶杯"), factory.product(name="茶壶")
    assert api.get(f"/favorites/products/{tea.id}", user=buyer).json == {"kept": False}
    r = api.put(f"/favorites/products/{tea.id}", user=buyer)
    assert r.status_code == 201 and r.json == {"kept": True, "added": True}
    r = api.put(f"/favorites/products/{tea.id}", user=buyer)  # again: kept already, one row
    assert r.status_code == 200 and r.json == {"kept": True, "added": False}
    for p in (cup, pot):
        assert api.put(f"/favorites/products/{p.id}", user=buyer).status_code == 201
    page = api.get("/favorites?limit=2", user=buyer).json
    assert [i["product_id"] for i in page["items"]] == [pot.id, cup.id] and page["total"] == 3
    rest = api.get(f"/favorites?limit=2&before={page['next_before']}", user=buyer).json
    assert [i["product_id"] for i in rest["items"]] == [tea.id] and rest["next_before"] is None
    item = rest["items"][0]
    assert (item["name"], item["price"], item["available"]) == ("龙井", 5000, True) and item["kept_at"].endswith(
        "+00:00"
    )
    assert api.get("/favorites", user=other).json == {
        "items": [],
        "next_before": None,
        "total": 0,
    }  # the principal's own
    assert api.get(f"/favorites/products/{tea.id}", user=other).json == {"kept": False}
    assert api.delete(f"/favorites/products/{tea.id}", user=other).status_code == 204  # not other's: nothing changes
    assert api.get(f"/favorites/products/{tea.id}", user=buyer).json == {"kept": True}
    assert api.delete(f"/favorites/products/{tea.id}", user=buyer).status_code == 204
    assert api.delete(f"/favorites/products/{tea.id}", user=buyer).status_code == 204
    assert api.get("/favorites", user=buyer).json["total"] == 2


def test_signed_out_is_401(api, factory):
    tea = factory.product()
    for method, path in (("get", "/favorites"), ("get", f"/favorites/products/{tea.id}")):
        assert getattr(api, method)(path).status_code == 401
    assert api.put(f"/favorites/products/{tea.id}").status_code == 401
    assert api.delete(f"/favorites/products/{tea.id}").status_code == 401


def test_only_what_a_buyer_can_open_is_kept(api, factory):
    """K4: an off-shelf or missing product is a 404 naming product_id; a kept
    product taken off the shelf stays listed, not available, not linked."""
    buyer = factory.user()
    hidden = factory.product(name="下架茶", on_shelf=False)
    for pid in (hidden.id, 999999, 2**31 - 1):
        r = api.put(f"/favorites/products/{pid}", user=buyer)
        assert r.status_code == 404 and r.json["field"] == "product_id", r.json
    for method in ("get", "put", "delete"):  # no product has id 0 (schemathesis: GET answered {"kept": false})
        r = getattr(api, method)("/favorites/products/0", user=buyer)
        assert r.status_code == 404 and r.json["field"] == "product_id", (method, r.json)
    tea = factory.product(name="龙井")
    api.put(f"/favorites/products/{tea.id}", user=buyer)
    tea.on_shelf = False
    commit()
    [item] = api.get("/favorites", user=buyer).json["items"]
    assert (item["product_id"], item["available"]) == (tea.id, False)
    assert api.get("/favorites?before=0", user=buyer).status_code == 422
    assert api.get("/favorites?limit=101", user=buyer).status_code == 422


def test_a_deleted_product_leaves_the_list(api, factory):
    from jishi.catalog.models import Product

    buyer = factory.user()
    tea = factory.product()
    api.put(f"/favorites/products/{tea.id}", user=buyer)
    db.session.delete(db.session.get(Product, tea.id))
    commit()
    assert api.get("/favorites", user=buyer).json["total"] == 0


def test_at_most_max_favorites(api, factory, monkeypatch):
    from jishi_favorites import service

    monkeypatch.setattr(service, "MAX_FAVORITES", 2)
    buyer = factory.user()
    a, b, c = (factory.product() for _ in range(3))
    for p in (a, b):
        assert api.put(f"/favorites/products/{p.id}", user=buyer).status_code == 201
    r = api.put(f"/favorites/products/{c.id}", user=buyer)
    assert r.status_code == 409 and r.json["code"] == "favorites_full" and "2" in r.json["message"]
    assert api.put(f"/favorites/products/{a.id}", user=buyer).status_code == 200  # kept already: not refused
    api.delete(f"/favorites/products/{a.id}", user=buyer)
    assert api.put(f"/favorites/products/{c.id}", user=buyer).status_code == 201


def test_the_heart_and_my_favorites_pages(client, factory):
    buyer = factory.user(phone="13900000401")
    tea = factory.product(name="龙井", price=5000)
    html = client.get(f"/product/{tea.id}").get_data(as_text=True)
    assert 'data-favorite="sign-in">♡ 收藏' in html and f"/login?next=/product/{tea.id}" in html
    sign_in_form(client, buyer)
    html = client.get(f"/product/{tea.id}").get_data(as_text=True)
    assert 'data-favorite="not-kept"' in html and "收藏" in html
    r = client.post(f"/favorites/products/{tea.id}", data={"action": "keep", "next": f"/product/{tea.id}"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/product/{tea.id}")
    html = client.get(f"/product/{tea.id}").get_data(as_text=True)
    assert 'data-favorite="kept"' in html and "已收藏" in html and "已加入收藏。" in html
    assert '/favorites">我的收藏</a>' in client.get("/account").get_data(as_text=True)
    page = client.get("/favorites").get_data(as_text=True)
    assert "我的收藏" in page and "龙井" in page and "¥50.00" in page and "共 1 件" in page
    r = client.post(f"/favorites/products/{tea.id}", data={"action": "let_go", "next": "https://evil.example/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/favorites")  # never another site
    assert "还没有收藏" in client.get("/favorites").get_data(as_text=True)
    assert client.post(f"/favorites/products/{tea.id}", data={"action": "x"}).status_code == 400
    hidden = factory.product(on_shelf=False)
    r = client.post(f"/favorites/products/{hidden.id}", data={"action": "keep"})
    assert r.status_code == 404 and "该商品不存在" in r.get_data(as_text=True)  # a page, not JSON
    assert client.get("/favorites?before=x").status_code == 404


def test_signed_out_pages_send_to_sign_in(client, factory):
    tea = factory.product()
    r = client.get("/favorites")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post(f"/favorites/products/{tea.id}", data={"action": "keep"}).status_code in (302, 401)


def test_the_heart_costs_no_statement_and_the_api_detail_reads_none(api, client, factory, queries):
    """Issue 20: the buyer's row comes with the product page's one statement
    (``product_page_loaders``); the product detail API renders no heart and
    does not read it."""
    buyer = factory.user()
    tea = factory.product()
    api.put(f"/favorites/products/{tea.id}", user=buyer)
    api.get(f"/products/{tea.id}", user=buyer)  # the settings' copy read
    with queries() as q:
        assert api.get(f"/products/{tea.id}", user=buyer).status_code == 200
    assert not any("favorites_products" in s for s in q.statements), q.statements
    sign_in_form(client, buyer)
    client.get(f"/product/{tea.id}")
    with queries() as q:
        page = client.get(f"/product/{tea.id}").get_data(as_text=True)
    assert 'data-favorite="kept"' in page
    [read] = [s for s in q.statements if "favorites_products" in s]
    assert "product_images" in read  # within the page's loaders' one statement
