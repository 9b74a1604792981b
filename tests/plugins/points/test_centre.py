"""Issue 16 "Surfaces" (buyer): the points centre ``/account/points`` shows
the signed-in buyer's usable and frozen points and history, each entry's
kind and source in words, 20 a page; the account page links to it; the
web checkout shows points available, used and the money they take off,
and each merchant order's share of it."""

from __future__ import annotations

import re

import pytest
from jishi.db import commit
from jishi.testing import flows

from .helpers import balance, give


def _text(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def test_centre_balance_frozen_history_in_words(client, factory, login):
    """Issue 16/Surfaces: balance, frozen, and the history in words: an order's
    frozen points, points used on an order, a refund's return and claw-back,
    a platform adjustment with its reason; another buyer's points never show."""
    from jishi_points import service

    buyer, other = factory.user(), factory.user()
    service.adjust(other.id, 777, "别人的补偿")
    service.adjust(buyer.id, 1000, "活动补偿")
    from jishi.db import commit

    commit()
    sku = factory.product(price=4000, stock=5).skus[0]
    [payment] = flows.place(buyer, [(sku, 1)], factory.address(buyer), {"points": 500})
    flows.pay(payment)
    order = flows.fetch(payment.orders[0])
    flows.refund(order)
    usable, frozen = balance(buyer)
    login(buyer)
    html = _text(client.get("/account/points"))
    assert f'data-points-balance="{usable}"' in html and f'data-points-frozen="{frozen}"' in html
    # The other buyer's 777 must not show; order and payment numbers (long
    # digit runs with 8 random digits) may contain "777" by chance.
    assert "别人的补偿" not in html and "777" not in re.sub(r"\d{10,}", "", html)
    assert f"订单 #{order.number}" in html
    assert "付款赠送（冻结）" in html  # frozen at payment
    assert f"用于订单 #{order.number}" in html  # spent
    assert "退款退回" in html  # the refund returned the spent points
    assert "平台调整：活动补偿" in html
    kinds = re.findall(r'data-kind="(\w+)"', html)
    assert sorted(kinds) == ["adjusted", "clawed_back", "frozen", "refunded", "spent"]
    assert f'href="/orders/{order.id}"' in html


def test_centre_pages_twenty_at_a_time(client, factory, login):
    """Issue 16/Surfaces: 20 entries a page, newest first; "Older" leads to the rest, "Newest" back."""
    buyer = factory.user()
    for i in range(23):
        give(buyer, 100 + i)
    login(buyer)
    first = _text(client.get("/account/points"))
    assert first.count('data-kind="adjusted"') == 20
    assert "+122" in first and "+103" in first and "+102" not in first
    older = re.search(r'href="(/account/points\?before=\d+)" rel="next"', first).group(1)
    rest = _text(client.get(older))
    assert rest.count('data-kind="adjusted"') == 3 and "+102" in rest and "+100" in rest
    assert 'rel="next"' not in rest and 'href="/account/points"' in rest
    assert client.get("/account/points?before=garbage").status_code == 200  # ignored: the first page


def test_centre_empty_and_signed_out(client, factory, login):
    """Issue 16/Surfaces: a buyer without points sees zeros and a hint; signed out: the login page."""
    resp = client.get("/account/points")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    login(factory.user())
    html = _text(client.get("/account/points"))
    assert 'data-points-balance="0"' in html and "还没有积分" in html


def test_account_page_and_home_link_to_the_centre(client, factory, login):
    """Issue 16/Surfaces: "我的积分" on the account page (slot account_links) and the home page's entrances."""
    login(factory.user())
    assert 'href="/account/points"' in _text(client.get("/account"))
    assert 'href="/account/points"' in _text(client.get("/"))


def test_checkout_shows_points_available_used_and_money(client, factory, login):
    """Issue 16/Spending: the web checkout's toggle shows the points available;
    ticked (opt.points), the points used and the money they take off."""
    buyer = factory.user()
    factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    give(buyer, 5000)
    login(buyer)
    client.post("/cart/add", data={"sku_id": sku.id, "quantity": "1"})
    html = _text(client.get("/checkout"))
    assert 'name="opt.points"' in html and 'data-points-available="5000"' in html
    assert 'data-points-used="0"' in html
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    page = client.post(
        "/checkout", data={"idempotency_key": key, "action": "refresh", "opt.points": "on"}, follow_redirects=True
    )
    html = _text(page)
    assert 'data-points-used="1500" data-points-money="1500"' in html
    assert "使用 1500 积分，抵扣 ¥15.00" in html
    assert re.search(r'name="opt.points" value="on" checked', html)


def test_checkout_without_points_shows_no_toggle(client, factory, login):
    """Issue 16/Spending: a buyer with no points sees no toggle."""
    buyer = factory.user()
    factory.address(buyer)
    sku = factory.product(price=3000, stock=5).skus[0]
    login(buyer)
    client.post("/cart/add", data={"sku_id": sku.id, "quantity": "1"})
    assert 'name="opt.points"' not in _text(client.get("/checkout"))


@pytest.mark.jishi_plugins("multistore", "points")
def test_checkout_shows_each_merchant_orders_share(client, factory, login, ms):
    """Issue 16/Spending, seed 001 §4.3: each merchant order shows its share of the points' money
    (A ¥20, B ¥30, C ¥50, 1,000 points at 100 = ¥1 → ¥2, ¥3, ¥5)."""
    buyer = factory.user()
    factory.address(buyer)
    give(buyer, 1000)
    login(buyer)
    for price in (2000, 3000, 5000):
        sku = ms.product(ms.merchant(f"商户{price}"), price=price, stock=5).skus[0]
        client.post("/cart/add", data={"sku_id": sku.id, "quantity": "1"})
    html = _text(client.get("/checkout"))
    key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
    html = _text(
        client.post(
            "/checkout", data={"idempotency_key": key, "action": "refresh", "opt.points": "1000"}, follow_redirects=True
        )
    )
    shares = sorted(int(m) for m in re.findall(r'data-points-share="(\d+)"', html))
    assert shares == [200, 300, 500], shares


def test_the_centre_shows_sign_in_level_expiry_and_exchange(app, client, factory, login):
    """Issue 16/Surfaces: the centre shows today's sign-in (and signs in from
    it), the member level with its progress, what expires soon and the way
    to the points exchange, above the history."""
    from jishi import settings
    from jishi_points import expiry

    from .helpers import make_ladder

    make_ladder()
    settings.set_many({expiry.RULE: expiry.AFTER_DAYS, expiry.DAYS: 30})
    commit()
    buyer = factory.user()
    give(buyer, 7)
    login(buyer)
    html = _text(client.get("/account/points"))
    assert 'data-signed-today="no"' in html and "签到日历" in html
    assert "会员等级" in html and "成长值" in html
    assert "即将过期" in html and "积分商城" in html
    assert html.index("points-signin-card") < html.index('class="points-history"')
    resp = client.post("/account/points/signin", data={"csrf_token": "x"}, follow_redirects=False)
    assert resp.status_code in (302, 303)
    html = _text(client.get("/account/points"))
    assert 'data-signed-today="yes"' in html and "今日已签到" in html
