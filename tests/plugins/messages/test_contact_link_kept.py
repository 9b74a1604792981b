"""Issue 20: the product page's 联系商家 link is kept between requests
(with the settings' version), keyed by the template file, the language, the
address and the product's or order's id; the kept link is the one the
template renders, per product, under the site's script root."""

from __future__ import annotations

import pytest
from flask import url_for
from jishi import settings
from jishi.web.cards import _KEPT_RENDERINGS
from jishi_messages import views


@pytest.fixture(autouse=True)
def _settings_kept(app, monkeypatch):
    monkeypatch.setitem(app.config, "JISHI_SETTINGS_TTL", 3600)


def link(app, root: str = "", **args):
    with app.app_context(), app.test_request_context("/", base_url=f"http://shop.example{root}"):
        html = views._contact_link(args)
        expected = url_for("messages.contact", **args)
        return html, expected, settings.derived(_KEPT_RENDERINGS, dict)


def test_contact_link_kept_per_product_and_address(app):
    first, url1, kept = link(app, product_id=1)
    assert f'href="{url1}"' in first and "联系商家" in first
    assert len(kept) == 1
    (key,) = kept
    kept[key] = "<i>kept</i>"
    assert link(app, product_id=1)[0] == "<i>kept</i>"  # answered from the kept link
    second, url2, kept = link(app, product_id=2)
    assert f'href="{url2}"' in second and url2 != url1
    shop, url3, kept = link(app, "/shop", product_id=1)
    assert url3.startswith("/shop/") and f'href="{url3}"' in shop
    order, url4, kept = link(app, order_id=1)
    assert f'href="{url4}"' in order and "order_id=1" in url4
    assert len(kept) == 4


def test_contact_link_not_kept_in_debug(app, monkeypatch):
    monkeypatch.setattr(app, "debug", True)
    html, url, kept = link(app, product_id=3)
    assert f'href="{url}"' in html and not kept
