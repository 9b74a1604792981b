"""Issue 18: the demo has a product limited to 2 per buyer (限购 2) and one sold by Buy now only."""

from __future__ import annotations

from jishi_shopping_options import demo, service


def test_demo_limits_one_product_and_makes_one_buy_now_only(app, factory):
    """Issue 18: demo_data sets 限购 2 on one product and buy-now only on another."""
    products = [factory.product(price=1000, stock=10), factory.product(price=2000, stock=10)]
    assert demo.demo_data({"products": products})
    limited, buy_now = (service.options_for(p.id) for p in products)
    assert limited.max_per_buyer == 2 and not limited.buy_now_only
    assert buy_now.buy_now_only
