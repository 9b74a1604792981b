"""K4, K12 (issue 20): product cards rendered as a list (``product_cards``,
jishi.web.cards) are exactly what an include of the theme's card per
product renders, links included, under every built-in theme and under a
site served below a path."""

from __future__ import annotations

import pytest
from flask import g, render_template_string, url_for
from jishi import settings
from jishi.db import db
from jishi.web.cards import UrlTemplates

INCLUDED = '{% for product in products %}<li>{% include "shop/_product_card.html" %}</li>{% endfor %}'
LISTED = "{% for card in product_cards(products) %}<li>{{ card }}</li>{% endfor %}"


@pytest.mark.parametrize("theme", ["default", "jade"])
@pytest.mark.parametrize("root", ["", "/shop"])
def test_cards_render_as_the_include_did(app, factory, theme, root):
    """K4, K12: the same HTML for products with and without an image, a
    subtitle and an original price, under both built-in themes, with and
    without a script root (links built from the served address)."""
    products = [
        factory.product(name="有图", price=1990),
        factory.product(name="无图", price=500),
        factory.product(name="划线", price=800),
    ]
    products[0].image = "https://img.example/a.png"
    products[1].image = ""
    products[2].original_price = 1200
    products[2].subtitle = "副标题"
    settings.set_many({"theme.active": theme})
    db.session.commit()
    for p in products:
        db.session.refresh(p)
    # a fresh app context, as a server serves a request (its own g and settings)
    with app.app_context(), app.test_request_context("/", base_url=f"http://shop.example{root}"):
        assert g.get("jishi_settings") is None
        included = render_template_string(INCLUDED, products=products)
        listed = render_template_string(LISTED, products=products)
        assert listed == included
        for p in products:
            assert f'href="{url_for("shop.product", product_id=p.id)}"' in listed
        assert f'href="{root}/product/' in listed
        if theme == "jade":
            assert "product-card jade" in listed


def test_url_templates_answer_as_url_for(app):
    """Issue 20: the per-list URL templates give url_for's own answer for a
    one-int route, and leave every other call to url_for (strings, several
    arguments, options such as _external)."""
    with app.test_request_context("/", base_url="http://shop.example/sub"):
        fast = UrlTemplates(url_for)
        for pid in (0, 7, 123456789):
            assert fast("shop.product", product_id=pid) == url_for("shop.product", product_id=pid)
        assert fast("shop.category", category_id=3) == url_for("shop.category", category_id=3)
        assert fast("shop.product", product_id=5, _external=True) == url_for(
            "shop.product", product_id=5, _external=True
        )
        assert fast("shop.search", sort="sales") == url_for("shop.search", sort="sales")
        assert fast("shop.index") == url_for("shop.index")
        assert ("shop.product", "product_id") in fast.templates
        assert ("shop.search", "sort") not in fast.templates
