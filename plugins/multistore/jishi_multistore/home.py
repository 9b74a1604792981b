"""The consoles' homes (C9): multistore's to-do counts for the platform
(applications, products to review, withdrawals) and a merchant (orders to
ship, products in review, its withdrawals in progress), each console's in
one query."""

from __future__ import annotations

from jishi.aftersales.models import Refund
from jishi.db import db
from jishi.hookspecs import TodoItem, hookimpl
from jishi.i18n import gettext as _
from jishi.orders import state
from jishi.orders.models import Order
from jishi.sellers import current_scope
from sqlalchemy import func, select

from jishi_multistore.models import REVIEW_PENDING, Merchant, ProductState, Withdrawal


def _count(stmt):
    return stmt.with_only_columns(func.count()).scalar_subquery()


@hookimpl
def console_todos(console, principal):
    if console == "platform":
        applications, products, payouts = db.session.execute(
            select(
                _count(select(Merchant).where(Merchant.review_status == REVIEW_PENDING, Merchant.deleted_at.is_(None))),
                _count(select(ProductState).where(ProductState.review_status == REVIEW_PENDING)),
                _count(select(Withdrawal).where(Withdrawal.status == "pending")),
            )
        ).one()
        return [
            TodoItem(
                _("Merchants to review"),
                int(applications),
                "multistore_admin.applications",
                {"status": "pending"},
                permission="merchants",
                sort=20,
            ),
            TodoItem(
                _("Products to review"), int(products), "multistore_admin.product_queue", permission="products", sort=30
            ),
            TodoItem(
                _("Withdrawals to review"),
                int(payouts),
                "multistore_admin.withdrawals",
                {"status": "pending"},
                permission="money",
                sort=50,
            ),
        ]
    scope = current_scope("console")
    if console != "merchant" or scope is None or scope.console != "merchant" or scope.seller_id is None:
        return None
    mid = scope.seller_id
    to_ship, requests, products, payouts = db.session.execute(
        select(
            _count(select(Order).where(Order.seller_id == mid, Order.status == state.PAID)),
            _count(select(Refund).where(Refund.seller_id == mid, Refund.status == "requested")),
            _count(
                select(ProductState).where(
                    ProductState.merchant_id == mid, ProductState.review_status == REVIEW_PENDING
                )
            ),
            _count(
                select(Withdrawal).where(Withdrawal.merchant_id == mid, Withdrawal.status.in_(("pending", "approved")))
            ),
        )
    ).one()
    return [
        TodoItem(_("To ship"), int(to_ship), "merchant.orders", {"status": state.PAID}, "merchant", "orders", sort=10),
        TodoItem(
            _("After-sales requests"),
            int(requests),
            "merchant.refunds",
            {"status": "requested"},
            "merchant",
            "aftersales",
            sort=20,
        ),
        TodoItem(
            _("Products in review"),
            int(products),
            "merchant.products",
            {"status": REVIEW_PENDING},
            "merchant",
            "products",
            sort=30,
        ),
        TodoItem(_("Withdrawals in progress"), int(payouts), "merchant.finance", {}, "merchant", "money", sort=50),
    ]
