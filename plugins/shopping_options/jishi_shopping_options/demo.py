"""Demo data (issue 18): a product limited to 2 per buyer (限购 2) and a
product sold by Buy now only, so ``jishi demo`` shows both on their pages."""

from __future__ import annotations

from jishi.db import commit

from jishi_shopping_options import service


def demo_data(data: dict) -> str | None:
    products = [p for p in data.get("products") or [] if p.on_shelf and p.skus and not p.is_virtual]
    if len(products) < 2:
        return None
    # the second and third: the kernel's and other plugins' demo orders buy
    # the first, fourth, sixth, last and dearest ones
    limited, buy_now = (products[1], products[2]) if len(products) > 2 else (products[0], products[1])
    service.save(limited, {"max_per_buyer": 2})
    service.save(buy_now, {"buy_now_only": True})
    commit()
    data["shopping_options_products"] = [limited.id, buy_now.id]
    return "1 product limited to 2 per buyer, 1 sold by Buy now only"
