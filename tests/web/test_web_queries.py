"""List pages load related rows in batches: their statement count does not
grow with the number of rows (no N+1)."""

import pytest


@pytest.fixture
def many(factory):
    return lambda n: [factory.product(name=f"商品{i}", price=100 + i) for i in range(n)]


def _count(queries, client, url):
    with queries() as q:
        assert client.get(url).status_code == 200
    return q.count


def test_storefront_and_console_lists_do_not_grow_per_row(app, client, factory, many, queries, buy, buyer):
    """K4, K8: home, search, buyer orders and console products / orders
    pages: the same number of statements for 2 rows and for 6 rows."""
    admin = factory.admin()
    admin_client = app.test_client()
    admin_client.post("/login", data={"phone": admin.phone, "password": "secret123"})
    buyer_client = app.test_client()
    buyer_client.post("/login", data={"phone": buyer.phone, "password": "secret123"})
    products = many(2)
    for p in products:
        buy(buyer_client, p.skus[0], pay=False)
    urls = {
        "/": client,
        "/search": client,
        "/orders": buyer_client,
        "/console/products": admin_client,
        "/console/orders": admin_client,
    }
    for url, c in urls.items():  # warm: what a page keeps between requests (the categories) is read once
        assert c.get(url).status_code == 200
    small = {url: _count(queries, c, url) for url, c in urls.items()}
    for p in many(4):
        buy(buyer_client, p.skus[0], pay=False)
    large = {url: _count(queries, c, url) for url, c in urls.items()}
    assert large == small
