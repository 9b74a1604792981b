"""Issue 20: product cards kept between requests (``jishi.web.cards``): a
card is kept only when its HTML is exactly a function of its key (the
card template's file, the language, the address, the row's fields, values
and their types, the settings' version), so a changed price or name shows
at once; anything else (ORM instances, other value types, a card reading
the buyer or an impure filter, a caller shadowing a global) is rendered
every time."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from flask import render_template_string
from jishi import settings
from jishi.catalog import service as catalog
from jishi.db import db
from jishi.web import cards
from markupsafe import Markup

LISTED = "{% for card in product_cards(products) %}<li>{{ card }}</li>{% endfor %}"
INCLUDED = '{% for product in products %}<li>{% include "shop/_product_card.html" %}</li>{% endfor %}'
MARK = Markup("<i>kept</i>")


@pytest.fixture(autouse=True)
def _settings_kept(app, monkeypatch):
    """The settings (and the cards kept with them) not read again by the
    clock during a test."""
    monkeypatch.setitem(app.config, "JISHI_SETTINGS_TTL", 3600)


@pytest.fixture
def app_config(tmp_path_factory):
    root = Path(tmp_path_factory.mktemp("cardthemes"))
    for name, card in {
        # reads the buyer: never kept
        "buyer": '<a class="product-card">{{ product.name }} {{ current_user.is_authenticated }}</a>',
        # a filter whose answer changes: never kept
        "dice": '<a class="product-card">{{ product.name }} {{ [1, 2, 3]|random }}</a>',
        # includes another template: never kept
        "nested": '<a class="product-card">{% include "_flashes.html" %}{{ product.name }}</a>',
        # the shop's name from the settings: kept with the settings' version
        "named": '<a class="product-card">{{ product.name }} @ {{ setting("shop.name") }}</a>',
    }.items():
        folder = root / name
        (folder / "templates" / "shop").mkdir(parents=True)
        (folder / "static").mkdir()
        (folder / "theme.toml").write_text(f'name = "{name}"\ntitle = "{name}"\nparent = "default"\n', encoding="utf-8")
        (folder / "templates" / "shop" / "_product_card.html").write_text(card, encoding="utf-8")
    return {"JISHI_THEMES_DIRS": [str(root)]}


def render(app, products, source: str = LISTED, **context) -> str:
    """``source`` rendered in a fresh request (its own settings' read)."""
    with app.app_context(), app.test_request_context("/"):
        return render_template_string(source, products=products, **context)


def kept(app) -> dict:
    with app.app_context(), app.test_request_context("/"):
        return settings.derived(cards._DERIVED, dict)


def rows(limit: int = 10):
    with db.session.no_autoflush:
        return catalog.list_products(sort="newest", limit=limit)[0]


def use_theme(theme: str) -> None:
    settings.set_many({"theme.active": theme})
    db.session.commit()


def test_listing_rows_are_kept_and_never_stale(app, factory):
    """Issue 20: the catalog's rows are kept by their values (the same HTML
    as an include renders); a changed price is another key, shown at once."""
    products = [factory.product(name=f"卡{i}", price=100 + i) for i in range(3)]
    db.session.commit()
    first = render(app, rows())
    assert first == render(app, rows(), INCLUDED)
    store = kept(app)
    assert len(store) == 3
    for key in store:
        store[key] = MARK
    assert render(app, rows()).count(str(MARK)) == 3  # answered from the kept cards
    products[1].price = 9999
    db.session.commit()
    again = render(app, rows())
    assert again.count(str(MARK)) == 2 and "¥99.99" in again
    assert len(kept(app)) == 4


def test_dict_items_kept_with_their_types(app, factory):
    """Issue 20: the designer's items (dicts of plain values) are kept too,
    ``1`` and ``True`` told apart; other value types, ORM instances and a
    caller shadowing a global the card reads are rendered every time."""
    p = factory.product(name="字典")
    db.session.commit()
    item = {"id": p.id, "name": "字典", "subtitle": "", "image": "", "price": 100, "original_price": None}
    render(app, [{**item, "sales": 1}, {**item, "sales": True}])
    assert len(kept(app)) == 2
    assert "已售 True" in render(app, [{**item, "sales": True}]) and "已售 1<" in render(app, [{**item, "sales": 1}])
    render(app, [{**item, "price": Decimal("1.00"), "sales": 0}])
    render(app, [p])
    render(app, [{**item, "sales": 2}], _=lambda text, **kw: "X")
    assert len(kept(app)) == 2


def test_not_kept_in_debug_or_when_turned_off(app, factory, monkeypatch):
    factory.product(name="关")
    db.session.commit()
    monkeypatch.setitem(app.config, "JISHI_FRAGMENT_CACHE", False)
    render(app, rows())
    assert not kept(app)
    monkeypatch.setitem(app.config, "JISHI_FRAGMENT_CACHE", True)
    monkeypatch.setattr(app, "debug", True)
    render(app, rows())
    assert not kept(app)


@pytest.mark.parametrize("theme", ["buyer", "dice", "nested"])
def test_a_theme_card_reading_more_is_not_kept(app, factory, theme):
    """Issue 20: a theme's card reading the buyer, using an impure filter or
    another template is rendered every time (and renders as it says)."""
    factory.product(name="主题")
    db.session.commit()
    use_theme(theme)
    html = render(app, rows())
    assert "主题" in html
    assert not kept(app)


def test_a_card_reading_the_settings_follows_them(app, factory):
    """Issue 20: a card showing a setting is kept with the settings'
    version: saving the setting renders it again."""
    factory.product(name="店名")
    use_theme("named")
    settings.set_many({"shop.name": "甲店"})
    db.session.commit()
    assert "店名 @ 甲店" in render(app, rows())
    assert len(kept(app)) == 1
    settings.set_many({"shop.name": "乙店"})
    db.session.commit()
    assert "店名 @ 乙店" in render(app, rows())
