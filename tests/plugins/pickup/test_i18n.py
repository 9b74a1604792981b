"""PU/i18n: the plugin's catalogs (English msgids, zh_CN translated, both
compiled) and its pages in Chinese by default, English on request."""

import jishi_pickup
from jishi.testing.i18n import check_catalogs, source_messages


def test_catalogs_complete_and_compiled():
    """PU/i18n: every msgid has a zh_CN translation; en says the msgid; the
    .mo match the .po; every string the plugin marks is in the catalog."""
    check_catalogs(jishi_pickup, min_messages=60)
    assert len(source_messages(jishi_pickup)) > 50


def test_pages_in_chinese_and_english(app, client, factory, pk, login):
    """PU/i18n: the verification page and a refusal in Chinese by default, English on request."""
    login(factory.admin())
    html = client.get("/seller/pickup/verify").get_data(as_text=True)
    assert "自提核销" in html and "提货码" in html
    bad = client.post("/seller/pickup/verify", data={"code": "000000000000"})
    assert "提货码错误" in bad.get_data(as_text=True)
    en = client.get("/seller/pickup/verify", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Pickup verification" in en


def test_a_paid_pickup_order_reads_awaiting_pickup(app, client, factory, pk, login):
    """Issue 13 A4 (order_status_label hook): a paid pickup order reads 待自提
    in the buyer's order list and page and in the console, not 待发货; an
    order delivered the kernel's way still reads 待发货."""
    from jishi.testing import flows

    buyer = factory.user()
    order, _code = pk.paid_pickup_order(factory, buyer=buyer)
    shipped_way = factory.product(price=900, stock=5)
    [payment] = flows.place(buyer, [(shipped_way.skus[0].id, 1)], factory.address(buyer))
    flows.pay(payment)
    other = payment.orders[0]
    login(buyer)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert '<span class="status">待自提</span>' in page and "待发货" not in page
    listing = client.get("/orders").get_data(as_text=True)
    assert '<span class="status">待自提</span>' in listing and '<span class="status">待发货</span>' in listing
    assert '<span class="status">待发货</span>' in client.get(f"/orders/{other.id}").get_data(as_text=True)
    login(factory.admin())
    console = client.get(f"/console/orders/{order.id}").get_data(as_text=True)
    assert '<span class="status">待自提</span>' in console
    english = client.get(f"/console/orders/{order.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<span class="status">Awaiting pickup</span>' in english
