"""Issue 20: the categories are kept with the settings
(``jishi.catalog.service.category_rows``, ``category_tree(kept=True)``):
the home page's category shortcuts, the categories page, a category
listing's subtree and the designer's category lists cost no statement
while kept. A write is seen: through the ORM (the service, the console, a
factory) at its commit in this process; another process's (or a raw SQL)
write once this process's settings copy is older than
``JISHI_SETTINGS_TTL``; a transaction that wrote a category reads its own
write and keeps nothing of it."""

from __future__ import annotations

from pathlib import Path

import pytest
from jishi import settings
from jishi.catalog import service
from jishi.catalog.models import Category
from jishi.db import db
from sqlalchemy import update


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(settings, "_clock", lambda: now[0])
    return now


def _shortcuts(client) -> str:
    html = client.get("/").get_data(as_text=True)
    return html.split('class="cat-shortcuts"', 1)[1].split("</nav>", 1)[0] if "cat-shortcuts" in html else ""


def test_home_reads_the_categories_once_and_sees_every_write_at_once(app, client, factory, queries, clock):
    fruit = factory.category("水果")
    assert "水果" in _shortcuts(client)
    with queries() as q:
        assert "水果" in _shortcuts(client)
    assert not [s for s in q.statements if "FROM categories" in s]  # kept: no statement

    tea = factory.category("茶")  # an ORM insert: seen at once
    assert "茶" in _shortcuts(client)
    service.save_category({"name": "鲜果"}, fruit)  # the service's update
    html = _shortcuts(client)
    assert "鲜果" in html and "水果" not in html
    service.delete_category(tea)  # a delete
    assert "茶" not in _shortcuts(client)
    assert "鲜果" in client.get("/categories").get_data(as_text=True)


def test_a_category_listing_uses_the_kept_subtree(app, client, factory, clock):
    fruit = factory.category("水果")
    citrus = factory.category("柑橘", parent=fruit)
    other = factory.category("茶")
    factory.product(name="橙子", category=citrus)
    assert "橙子" in client.get(f"/category/{fruit.id}").get_data(as_text=True)
    assert "橙子" not in client.get(f"/category/{other.id}").get_data(as_text=True)
    citrus.parent_id, citrus.path = other.id, f"{other.path}{citrus.id}/"  # moved under 茶
    db.session.commit()
    assert "橙子" not in client.get(f"/category/{fruit.id}").get_data(as_text=True)
    assert "橙子" in client.get(f"/category/{other.id}").get_data(as_text=True)


def test_another_process_write_shows_once_the_settings_age(app, client, factory, clock):
    fruit_id = factory.category("水果").id
    assert "水果" in _shortcuts(client)
    db.session.close()  # (the test's own read transaction: SQLite would lock the write out)
    with db.engine.begin() as conn:  # behind this process's back: no session, no mark
        conn.execute(update(Category).where(Category.id == fruit_id).values(name="鲜果"))
    assert "水果" in _shortcuts(client)  # still this process's copy (at most JISHI_SETTINGS_TTL)
    clock[0] += app.config.get("JISHI_SETTINGS_TTL", 2) + 0.01
    assert "鲜果" in _shortcuts(client)


def test_a_transaction_reads_its_own_category_write_and_keeps_nothing_of_it(app, factory, clock):
    factory.category("水果")
    with app.test_request_context("/"):
        assert [r.name for r in service.category_rows()] == ["水果"]
        db.session.add(Category(name="未提交", path="/"))
        db.session.flush()
        assert [r.name for r in service.category_rows()] == ["水果", "未提交"]  # its own write
        assert [n["name"] for n in service.category_tree(kept=True)] == ["水果", "未提交"]
        db.session.rollback()
        db.session.remove()
    with app.test_request_context("/"):
        assert [r.name for r in service.category_rows()] == ["水果"]  # nothing of it was kept
        db.session.remove()


@pytest.fixture
def app_config(tmp_path_factory):
    """A theme whose shortcuts read the request's path (not kept)."""
    root = Path(tmp_path_factory.mktemp("catthemes"))
    folder = root / "pathy"
    (folder / "templates" / "shop").mkdir(parents=True)
    (folder / "static").mkdir()
    (folder / "theme.toml").write_text('name = "pathy"\ntitle = "pathy"\nparent = "default"\n', encoding="utf-8")
    (folder / "templates" / "shop" / "_category_shortcuts.html").write_text(
        "<nav>{{ request.path }}{% for cat in categories %}[{{ cat.name }}]{% endfor %}</nav>", encoding="utf-8"
    )
    return {"JISHI_THEMES_DIRS": [str(root)]}


def test_shortcuts_are_the_template_rendered_and_an_impure_override_is_not_kept(app, client, factory, clock):
    factory.category("水果")
    factory.category("茶")
    html = client.get("/").get_data(as_text=True)
    with app.test_request_context("/"):
        tree = service.category_tree(kept=True)
        expected = app.jinja_env.get_template("shop/_category_shortcuts.html").render(categories=tree)
        assert [k for k in service.kept_categories() if k[0] == "html"]  # kept
        db.session.remove()
    assert expected.startswith('<nav class="cat-shortcuts"') and expected in html
    with app.test_request_context("/"):
        settings.set_many({"theme.active": "pathy"})
        db.session.commit()
    assert "<nav>/[水果][茶]</nav>" in client.get("/").get_data(as_text=True)
    factory.category("咖啡")
    assert "<nav>/[水果][茶][咖啡]</nav>" in client.get("/").get_data(as_text=True)
    with app.test_request_context("/"):
        assert not [k for k in service.kept_categories() if k[0] == "html"]  # rendered every time
        db.session.remove()
