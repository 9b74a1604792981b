"""What the promoter centre shows (web and API alike), always for the
signed-in user only: the summary, the team, commission records and orders."""

from __future__ import annotations

from flask import url_for
from jishi.db import db, utcnow
from sqlalchemy import func, or_, select

from jishi_distribution import ledger, service
from jishi_distribution.models import Binding, Commission

PAGE = 20


def _live():
    return or_(Binding.expires_at.is_(None), Binding.expires_at > utcnow())


def team_ids(user_id: int, level: int) -> list[int]:
    first = list(db.session.scalars(select(Binding.user_id).where(Binding.promoter_id == user_id, _live())))
    if level == 1:
        return first
    if not first:
        return []
    return list(db.session.scalars(select(Binding.user_id).where(Binding.promoter_id.in_(first), _live())))


def team_counts(user_id: int) -> dict[str, int]:
    first = team_ids(user_id, 1)
    second = (
        int(
            db.session.scalar(select(func.count()).select_from(Binding).where(Binding.promoter_id.in_(first), _live()))
            or 0
        )
        if first
        else 0
    )
    return {"level1": len(first), "level2": second}


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"


def team(user_id: int, level: int, before: int | None = None) -> list[dict]:
    from jishi.accounts.models import User

    ids = team_ids(user_id, level)
    if not ids:
        return []
    q = (
        select(User.id, User.name, User.phone, Binding.bound_at, Binding.promoter_id)
        .join(Binding, Binding.user_id == User.id)
        .where(User.id.in_(ids))
        .order_by(User.id.desc())
        .limit(PAGE + 1)
    )
    if before:
        q = q.where(User.id < before)
    earned = dict(
        db.session.execute(
            select(Commission.buyer_id, func.sum(Commission.amount - Commission.reversed))
            .where(Commission.promoter_id == user_id, Commission.buyer_id.in_(ids))
            .group_by(Commission.buyer_id)
        ).all()
    )
    return [
        {
            "user_id": uid,
            "name": name or mask(phone),
            "bound_at": bound_at,
            "via": via,
            "commission": int(earned.get(uid, 0) or 0),
        }
        for uid, name, phone, bound_at, via in db.session.execute(q).all()
    ]


def summary(user_id: int) -> dict:
    p = service.promoter(user_id)
    b = service.current_binding(user_id)
    totals = dict(
        db.session.execute(
            select(Commission.status, func.sum(Commission.amount - Commission.reversed))
            .where(Commission.promoter_id == user_id)
            .group_by(Commission.status)
        ).all()
    )
    return {
        "status": p.status if p else "none",
        "join_mode": service.setting(service.JOIN_MODE),
        "apply_fields": service.apply_fields(),
        "code": p.code if p and p.status == "active" else None,
        "link": url_for("shop.index", ref=p.code, _external=True) if p and p.status == "active" else None,
        "balances": ledger.balances(user_id),
        "earned_total": int(sum(int(v or 0) for k, v in totals.items() if k in ("frozen", "released"))),
        "team": team_counts(user_id),
        "my_promoter_id": b.promoter_id if b else None,
    }


def commissions(user_id: int | None, *, status: str | None = None, before: int | None = None, limit: int = PAGE):
    q = select(Commission).order_by(Commission.id.desc()).limit(limit)
    if user_id is not None:
        q = q.where(Commission.promoter_id == user_id)
    if status:
        q = q.where(Commission.status == status)
    if before:
        q = q.where(Commission.id < before)
    return service.with_states(db.session.scalars(q))


def orders(user_id: int, before: int | None = None) -> list[dict]:
    """The promoter's commissions grouped by order, newest first."""
    from jishi.orders.models import Order

    q = (
        select(
            Order.id,
            Order.number,
            Order.pay_amount,
            Order.status,
            Order.created_at,
            func.sum(Commission.amount),
            func.sum(Commission.reversed),
            func.min(Commission.level),
        )
        .join(Commission, Commission.order_id == Order.id)
        .where(Commission.promoter_id == user_id)
        .group_by(Order.id, Order.number, Order.pay_amount, Order.status, Order.created_at)
        .order_by(Order.id.desc())
        .limit(PAGE)
    )
    if before:
        q = q.where(Order.id < before)
    return [
        {
            "order_id": oid,
            "number": number,
            "pay_amount": pay,
            "status": status,
            "created_at": created,
            "commission": int(amount or 0) - int(rev or 0),
            "reversed": int(rev or 0),
            "level": int(level),
        }
        for oid, number, pay, status, created, amount, rev, level in db.session.execute(q).all()
    ]


def report(limit: int = 10) -> dict:
    """The platform's distribution report: sales through distribution (what
    the distributing lines paid, each line once), commission cost (net of
    reversals, cancelled excluded) by status, and the top promoters."""
    from jishi.accounts.models import User

    lines = select(Commission.order_line_id, func.max(Commission.base).label("base")).group_by(Commission.order_line_id)
    sub = lines.subquery()
    sales = int(db.session.scalar(select(func.coalesce(func.sum(sub.c.base), 0))) or 0)
    orders_n = int(db.session.scalar(select(func.count(func.distinct(Commission.order_id)))) or 0)
    by_status = {
        status: int(total or 0)
        for status, total in db.session.execute(
            select(Commission.status, func.sum(Commission.amount - Commission.reversed)).group_by(Commission.status)
        ).all()
    }
    net = func.sum(Commission.amount - Commission.reversed)
    top = db.session.execute(
        select(Commission.promoter_id, User.name, User.phone, net.label("net"), func.count(Commission.id))
        .join(User, User.id == Commission.promoter_id)
        .where(Commission.status != "cancelled")
        .group_by(Commission.promoter_id, User.name, User.phone)
        .order_by(net.desc(), Commission.promoter_id)
        .limit(limit)
    ).all()
    return {
        "sales": sales,
        "orders": orders_n,
        "cost": sum(v for k, v in by_status.items() if k != "cancelled"),
        "by_status": by_status,
        "top": [
            {"user_id": uid, "name": name or mask(phone), "commission": int(total or 0), "records": n}
            for uid, name, phone, total, n in top
        ],
    }
