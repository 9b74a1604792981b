"""Demo data: a running group buy on a demo product, and one open group
(paid by the demo buyer) so ``jishi demo`` shows a group to join."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import commit, db, utcnow
from jishi.demo import pay
from sqlalchemy import select

from jishi_groupbuy import service
from jishi_groupbuy.models import Activity, Group


def _product(data: dict):
    products = [p for p in data.get("products") or [] if p.on_shelf and p.skus and not p.is_virtual]
    return products[0] if products else None


def demo_data(data: dict) -> str | None:
    product = _product(data)
    if product is None:
        return None
    now = utcnow()
    skus = [{"sku_id": s.id, "group_price": max(1, s.price * 8 // 10)} for s in product.skus if s.is_active]
    activity = service.save_activity(
        {
            "product_id": product.id,
            "title": "3 人团 · " + product.name[:40],
            "group_size": 3,
            "time_limit_minutes": 24 * 60,
            "per_user_limit": 5,
            "starts_at": now - timedelta(days=45),  # its past groups: demo_orders
            "ends_at": now + timedelta(days=30),
            "skus": skus,
        },
        seller_id=product.seller_id,
        platform=True,
    )
    commit()
    data["groupbuy_activity_id"] = activity.id
    return "1 group-buy activity"


def demo_orders(data: dict) -> str | None:
    from flask import current_app
    from jishi.checkout.entry import place_order

    aid = data.get("groupbuy_activity_id")
    buyer, address = data.get("buyer"), data.get("address")
    if not aid or buyer is None:
        return None
    activity = db.session.get(Activity, aid)
    sku_id = activity.skus[0].sku_id
    items, address_id = [(sku_id, 1)], getattr(address, "id", None)
    options = {
        service.OPTION: {"activity_id": aid},
        "delivery": _delivery_choice(buyer, items, address_id, {service.OPTION: {"activity_id": aid}}),
    }
    succeeded, failed = _history(data, aid, sku_id)  # first: it fails its past lonely groups
    with current_app.test_request_context("/", method="POST"):
        payment = place_order(buyer, items, address_id, options, idempotency_key="demo-groupbuy-1")[0]
        pay(payment)
    return f"1 open group; {succeeded} groups succeeded and {failed} failed in the last 60 days"


def _history(data: dict, aid: int, sku_id: int) -> tuple[int, int]:
    """Issue 19: groups of the shoppers in the past (:func:`jishi.demo.backdated`):
    three of them fill a group on a day; another opens one that nobody
    joins, which fails a day later and is refunded."""
    import random

    from flask import current_app
    from jishi.checkout.entry import place_order
    from jishi.checkout.errors import CheckoutError
    from jishi.demo import at_day, backdated

    shoppers = data.get("shoppers") or []
    rng = random.Random(23)
    succeeded = failed = 0
    if not data.get("history", True) or len(shoppers) < 3:
        return 0, 0
    groups: list[tuple] = [(g, back, aid, sku_id, 3) for g, back in enumerate((40, 26, 15, 8))]
    shop = next(iter((data.get("merchants") or {}).values()), None)
    if shop is not None:  # multistore: a merchant's own group buy, 16 days ago, one group filled
        from jishi.catalog.models import Product

        product = next(
            (
                p
                for p in db.session.execute(select(Product).where(Product.seller_id == shop.id).order_by(Product.id))
                .scalars()
                .all()
                if p.skus and p.on_shelf
            ),
            None,
        )
        if product is not None:  # made in its group's block (it must run then)
            groups.append((4, 16, None, product, 2))
    for g, back, aid, sku_id, size in groups:
        members = shoppers[g * 3 % len(shoppers) :][:3] if len(shoppers) >= 3 else []
        if len(members) < 3:
            break
        with current_app.test_request_context("/", method="POST"), backdated(at_day(back, rng)):
            token = None
            alone = g in (1, 3)
            if aid is None:  # the merchant's activity, for a week from then
                now, product = utcnow(), sku_id
                sku_id = product.skus[0].id
                aid = service.save_activity(
                    {
                        "product_id": product.id,
                        "title": "2 人团 · " + product.name[:40],
                        "group_size": size,
                        "time_limit_minutes": 24 * 60,
                        "per_user_limit": 5,
                        "starts_at": now - timedelta(minutes=5),
                        "ends_at": now + timedelta(days=7),
                        "skus": [{"sku_id": sku_id, "group_price": max(1, product.skus[0].price * 8 // 10)}],
                    },
                    seller_id=product.seller_id,
                    platform=False,
                ).id
                commit()
            for n, (user, address, _rhythm) in enumerate(members[:1] if alone else members[:size]):
                items = [(sku_id, 1)]
                choice = {"activity_id": aid, **({"group_token": token} if token else {})}
                opts = {service.OPTION: choice, "coupons": []}
                opts["delivery"] = _delivery_choice(user, items, address.id, opts)
                try:
                    payment = place_order(user, items, address.id, opts, idempotency_key=f"demo-group-{g}-{n}")[0]
                except CheckoutError:
                    db.session.rollback()
                    break
                pay(payment)
                member = service.member_of_order(payment.orders[0].id)
                token = db.session.get(Group, member.group_id).token if member else None
            if alone:
                service.expire_groups(at=utcnow() + timedelta(days=2))
                failed += 1
            else:
                succeeded += 1
    return succeeded, failed


def _delivery_choice(buyer, items, address_id, options) -> dict:
    """The first delivery option (of whatever delivery plugins are on) with
    which the checkout has no problem: a pickup point or a time slot may
    need choices the demo does not make."""
    from jishi.checkout.entry import build_checkout
    from jishi.db import rollback

    co = build_checkout(buyer, items, address_id, options)
    group = co.groups[0]
    for option in group.delivery_options:
        if not option.available:
            continue
        tried = build_checkout(buyer, items, address_id, {**options, "delivery": {group.key: option.code}})
        if not tried.problems:
            rollback()
            return {group.key: option.code}
    rollback()
    return {}
