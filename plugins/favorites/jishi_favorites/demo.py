"""Demo data: the demo buyer keeps three products, so ``jishi demo`` shows
我的收藏 and a filled heart."""

from __future__ import annotations

from jishi.db import commit

from jishi_favorites import service


def demo_data(data: dict) -> str | None:
    buyer = data.get("buyer")
    products = [p for p in data.get("products") or [] if p.on_shelf]
    if buyer is None or len(products) < 3:
        return None
    for product in products[:3]:
        service.keep(buyer, product.id)
    commit()
    return "the demo buyer keeps 3 products"
