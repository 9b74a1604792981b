"""C9: the platform console's home shows today's and the last 7 days'
figures (orders, paid amount in yuan, buyers) and to-do counts linking to
their pages; plugins add to-dos through ``console_todos``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask_login import login_user
from jishi.db import db, utcnow
from jishi.hookspecs import TodoItem, hookimpl
from jishi.orders.models import Order
from jishi.testing import flows


def _row(html: str, key: str) -> str:
    start = html.index(f'data-range="{key}"')
    return html[start : html.index("</tr>", start)]


def test_today_and_last_7_days_differ_when_the_data_differs(app, client, factory, login, queries):
    """C9: an order paid 3 days ago counts in the 7 days, not today; the
    amounts are yuan formatted from fen; the figures are one query."""
    from jishi.reports import service

    buyer, other = factory.user(), factory.user()
    tea = factory.product(name="茶", skus=[{"price": 1250, "stock": 10}])
    old = flows.place(other, [(tea.skus[0], 2)], factory.address(other))[0]
    flows.pay(old)
    new = flows.place(buyer, [(tea.skus[0], 1)], factory.address(buyer))[0]
    flows.pay(new)
    three_days_ago = utcnow() - timedelta(days=3)
    for order in old.orders:
        db.session.execute(
            db.update(Order).where(Order.id == order.id).values(created_at=three_days_ago, paid_at=three_days_ago)
        )
    db.session.commit()
    with queries() as q:
        figures = service.home_figures()
    assert q.count == 1
    assert figures["today"]["orders"] == 1 and figures["week"]["orders"] == 2
    assert figures["today"]["buyers"] == 1 and figures["week"]["buyers"] == 2
    assert figures["week"]["paid_amount"] - figures["today"]["paid_amount"] == old.amount
    login(factory.admin())
    html = client.get("/console/").get_data(as_text=True)
    assert 'data-figure="orders">1<' in _row(html, "today") and 'data-figure="orders">2<' in _row(html, "week")
    assert "¥" in _row(html, "week") and _row(html, "today") != _row(html, "week")


def test_platform_home_lists_todos_with_links(client, factory, login):
    """C9: 待发货 and 售后 counts link to the filtered lists."""
    buyer = factory.user()
    tea = factory.product(name="茶", skus=[{"price": 1000, "stock": 10}])
    flows.pay(flows.place(buyer, [(tea.skus[0], 1)], factory.address(buyer))[0])
    login(factory.admin())
    html = client.get("/console/").get_data(as_text=True)
    assert 'href="/console/orders?status=paid"' in html and 'href="/console/refunds?status=requested"' in html
    start = html.index('href="/console/orders?status=paid"')
    assert '<span class="todo-count">1</span> 待发货' in html[start : start + 200]


class Todos:
    @hookimpl
    def console_todos(self, console, principal):
        return [
            TodoItem("Admin todo", 3, "console.users", permission="platform_admin"),
            TodoItem("Merchant todo", 4, "console.orders", console="merchant"),
            TodoItem("Everyone todo", 0, "console.reports", {"start": "2026-01-01"}, sort=1),
        ]


@pytest.mark.parametrize("extra_plugins", [[Todos()]], ids=["plugin"])
def test_hook_console_todos(app, factory):
    """C9: plugin to-dos are collected, kept to their console and permission,
    sorted by ``sort``."""
    from jishi.web_helpers import console_todos

    def labels(user, console="platform"):
        with app.test_request_context("/"):
            login_user(user)
            return [str(t.label) for t in console_todos(console)]

    admin_view = labels(factory.admin())
    assert admin_view[0] == "Everyone todo" and "Admin todo" in admin_view and "Merchant todo" not in admin_view
    assert "Admin todo" not in labels(factory.user(role="platform_staff"))
    assert labels(factory.admin(), "merchant") == ["Merchant todo"]
