"""Demo data: the demo buyer opened five products today and yesterday, so
``jishi demo`` shows 我的足迹 with two days."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import utcnow
from jishi.hookspecs import ProductView

from jishi_footprints import service


def demo_data(data: dict) -> str | None:
    buyer = data.get("buyer")
    products = [p for p in data.get("products") or [] if p.on_shelf]
    if buyer is None or len(products) < 5:
        return None
    now = utcnow().replace(microsecond=0)
    ago = (
        timedelta(minutes=5),
        timedelta(minutes=40),
        timedelta(hours=2),
        timedelta(days=1),
        timedelta(days=1, hours=3),
    )
    service.record([ProductView(buyer.id, p.id, now - d) for p, d in zip(products[-5:], ago)])
    return "the demo buyer opened 5 products"
