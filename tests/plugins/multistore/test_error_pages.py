"""A3 for the multistore pages: a shut shop's product, a clerk opening the
finance (提现) page and a packing slip with nothing selected answer pages in
Chinese; the API equivalents still answer JSON."""

from __future__ import annotations

from jishi.db import db


def _page(resp, status: int) -> str:
    assert resp.status_code == status
    assert resp.mimetype == "text/html"
    text = resp.get_data(as_text=True)
    assert 'class="card result error-page"' in text
    return text


def test_shut_shops_product_is_a_404_page(client, api, ms):
    """A3: a shut merchant's product page is a Chinese 404 page; the API JSON."""
    m = ms.merchant("关门店")
    p = ms.product(m, name="关店茶")
    m.status = "shut"
    db.session.commit()
    text = _page(client.get(f"/product/{p.id}"), 404)
    assert "页面不存在" in text
    resp = api.get(f"/products/{p.id}")
    assert resp.status_code == 404 and resp.json["code"] == "not_found"


def test_clerk_opening_withdrawals_gets_a_403_page_with_the_console_home(client, api, ms, login):
    """A3: a clerk's 提现 page is a Chinese 403 page linking back to the
    merchant console's home; the API's withdrawals answer JSON 403."""
    m = ms.merchant("茶铺")
    clerk = ms.clerk(m)
    login(clerk)
    text = _page(client.get("/merchant/finance"), 403)
    assert "无权" in text and 'href="/merchant/"' in text
    resp = api.get("/merchant/withdrawals", user=clerk)
    assert resp.status_code == 403 and resp.mimetype == "application/json" and resp.json["code"] == "forbidden"


def test_packing_slip_with_nothing_selected_is_a_400_page(client, ms, login):
    """A3: printing packing slips with no order selected says so, as a page."""
    m = ms.merchant("茶铺")
    login(ms.admin_of(m))
    text = _page(client.get("/merchant/orders/packing-slip"), 400)
    assert "请至少选择一个订单" in text
