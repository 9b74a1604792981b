"""Issue 20: the storefront's header, footer and tab bar are kept rendered
for visitors who are not signed in (``jishi.web.fragments``), keyed by the
template file, the language, the address and the query arguments, and
started over when the settings change; the footer's language switch is a
link for them (no CSRF token, so no session)."""

from __future__ import annotations

from pathlib import Path

import pytest
from jishi import settings
from jishi.db import db
from jishi.web import fragments


@pytest.fixture(autouse=True)
def _settings_kept(app, monkeypatch):
    """The settings (and the fragments kept with them) not read again by
    the clock during a test (a loaded machine: 2 s pass between requests)."""
    monkeypatch.setitem(app.config, "JISHI_SETTINGS_TTL", 3600)


def _kept(app) -> dict:
    with app.test_request_context("/"):
        return settings.derived(fragments._DERIVED, dict)


def _renders(monkeypatch) -> list:
    """The fragment templates rendered (not answered from the kept HTML)."""
    seen: list = []
    real = fragments._render

    def spy(template, variables):
        seen.append(template.name)
        return real(template, variables)

    monkeypatch.setattr(fragments, "_render", spy)
    return seen


def test_header_footer_tabbar_kept_for_anonymous_visitors(app, client, monkeypatch):
    """Rendered once, then answered as kept: the second page renders none of
    the three; the HTML is the same."""
    seen = _renders(monkeypatch)
    first = client.get("/").get_data(as_text=True)
    assert sorted(seen) == ["shop/_entrances.html", "shop/_footer.html", "shop/_header.html", "shop/_tabbar.html"]
    seen.clear()
    second = client.get("/").get_data(as_text=True)
    assert seen == []
    assert first == second and 'class="site-header"' in first and 'class="tabbar"' in first


def test_saving_a_setting_renders_them_again(app, client):
    """The kept HTML lives with the settings: a saved shop name shows in the
    header and the footer on the next page."""
    assert "老店名" not in client.get("/").get_data(as_text=True)
    with app.test_request_context("/"):
        settings.set_many({"shop.name": "老店名"})
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert page.count("老店名") >= 3  # title, logo, footer


def test_kept_per_language_and_query(app, client):
    """Each language and each search's words are their own entry."""
    zh = client.get("/").get_data(as_text=True)
    en = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "搜索" in zh and "Search" in en and "Search products" not in zh
    found = client.get("/search?q=%E8%8C%B6%E5%8F%B6").get_data(as_text=True)
    assert 'name="q" value="茶叶"' in found
    assert 'name="q" value=""' in client.get("/").get_data(as_text=True)


def test_signed_in_visitors_get_their_own_header(app, client, login, factory, monkeypatch):
    """Signed in: rendered every time (their name, the POST language form
    with its token); never answered from an anonymous visitor's copy."""
    client.get("/")
    buyer = factory.user(name="小李")
    login(buyer)
    seen = _renders(monkeypatch)
    page = client.get("/").get_data(as_text=True)
    page2 = client.get("/").get_data(as_text=True)
    assert seen.count("shop/_header.html") == 2
    assert "小李" in page and "小李" in page2
    assert 'name="csrf_token"' in page and 'method="post"' in page.split('class="site-footer"')[1]


def test_anonymous_page_needs_no_session(app, client):
    """The footer's language switch is links for an anonymous visitor: the
    home page sets no cookie (no CSRF token was made) and has no token."""
    resp = client.get("/")
    html = resp.get_data(as_text=True)
    cookies = resp.headers.getlist("Set-Cookie")
    assert not [c for c in cookies if c.startswith(app.config["SESSION_COOKIE_NAME"] + "=")], cookies
    assert "csrf_token" not in html
    assert 'href="/locale?locale=en"' in html


def test_locale_link_switches_the_session_only(app, client, login, factory):
    """GET /locale sets the session's language and goes back (a local
    Referer only); for a signed-in user it never writes the account (a link
    any site can make changes nothing stored); an unknown code is 400."""
    host = app.config.get("SERVER_NAME") or "localhost"
    resp = client.get("/locale?locale=en", headers={"Referer": f"http://{host}/search"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/search")
    assert "New arrivals" in client.get("/").get_data(as_text=True)
    resp = client.get("/locale?locale=zh_CN", headers={"Referer": "http://evil.example/"})
    assert resp.headers["Location"].endswith("/")
    assert "新品上架" in client.get("/").get_data(as_text=True)
    assert client.get("/locale?locale=fr").status_code == 400
    buyer = factory.user()
    login(buyer)
    client.get("/locale?locale=en")
    db.session.refresh(buyer)
    assert buyer.locale in (None, "")


@pytest.fixture
def app_config(tmp_path_factory):
    root = Path(tmp_path_factory.mktemp("fragthemes"))
    for name, header in {
        # reads request.path: answered, never kept
        "pathy": '<header class="site-header">at {{ request.path }}</header>',
        # a global outside the known ones: never kept
        "odd": '<header class="site-header">{{ seller_scope() }}</header>',
    }.items():
        folder = root / name
        (folder / "templates" / "shop").mkdir(parents=True)
        (folder / "static").mkdir()
        (folder / "theme.toml").write_text(f'name = "{name}"\ntitle = "{name}"\nparent = "default"\n', encoding="utf-8")
        (folder / "templates" / "shop" / "_header.html").write_text(header, encoding="utf-8")
    return {"JISHI_THEMES_DIRS": [str(root)]}


@pytest.mark.parametrize("theme", ["pathy", "odd"])
def test_a_theme_header_using_the_request_is_not_kept(app, client, theme):
    """A theme's header reading more of the request than its arguments, or
    calling a global the key does not cover, is rendered every time."""
    with app.test_request_context("/"):
        settings.set_many({"theme.active": theme})
        db.session.commit()
    first = client.get("/").get_data(as_text=True)
    product_page = client.get("/search").get_data(as_text=True)
    if theme == "pathy":
        assert "at /</header>" in first and "at /search</header>" in product_page
    kept = _kept(app)
    assert not [k for k in kept if k[0].endswith("_header.html")]
    assert [k for k in kept if k[0].endswith("_footer.html")]  # the kernel's footer still is
