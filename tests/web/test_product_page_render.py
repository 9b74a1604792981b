"""Issue 20, the product page's rendering: an anonymous visitor's page makes
no CSRF token (so no session and no cookie) and their add-to-cart post is
still sent to sign in; the locale is chosen as before from a cheaper path;
the app's Jinja template and context classes answer as Jinja's own."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from jinja2 import Environment, pass_context, pass_environment, pass_eval_context
from jishi import extensions


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _session_cookies(app, resp) -> list[str]:
    name = app.config["SESSION_COOKIE_NAME"] + "="
    return [c for c in resp.headers.getlist("Set-Cookie") if c.startswith(name)]


def test_anonymous_product_page_needs_no_session(app, client, factory):
    """Not signed in: no token in the add-to-cart form, no session cookie;
    the form, its SKU picker and the sign-in link are all there."""
    product = factory.product(name="龙井", price=1200, stock=5)
    resp = client.get(f"/product/{product.id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert not _session_cookies(app, resp)
    assert "csrf_token" not in html
    assert 'class="add-to-cart" action="/cart/add" method="post"' in html
    assert 'name="sku_id"' in html and f'href="/login?next=/product/{product.id}"' in html


def test_anonymous_add_to_cart_post_is_sent_to_sign_in(app, client, factory):
    """The form posted without a token by a visitor not signed in (an Enter
    in the quantity field) goes to the sign-in page as before, not to the
    "form expired" error; nothing is added."""
    product = factory.product(name="龙井", price=1200, stock=5)
    sku = product.skus[0]
    resp = client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_signed_in_add_to_cart_still_needs_the_token(app, client, login, factory):
    """Signed in: the product page carries the token; a post without it is
    refused (400), with it the SKU goes in the cart. Other forms of a
    visitor not signed in are checked as always."""
    product = factory.product(name="龙井", price=1200, stock=5)
    sku = product.skus[0]
    assert client.post("/login", data={"phone": "13800000000", "password": "x"}).status_code == 400
    buyer = factory.user()
    login(buyer)
    page = client.get(f"/product/{product.id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1}).status_code == 400
    resp = client.post("/cart/add", data={"sku_id": sku.id, "quantity": 1, "csrf_token": token})
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
    from jishi.cart import service

    assert service.count(buyer) == 1


def test_exemption_is_off_while_login_is_disabled(app, client, factory, monkeypatch):
    """With ``LOGIN_DISABLED`` (``login_required`` lets anyone in) the
    anonymous post is checked like any other."""
    product = factory.product(name="龙井", price=1200, stock=5)
    monkeypatch.setitem(app.config, "LOGIN_DISABLED", True)
    assert client.post("/cart/add", data={"sku_id": product.skus[0].id}).status_code == 400


def _reference_locale_code(app, user_locale, session_locale, accept) -> str:
    """select_locale_code as it was written before (issue 20)."""
    from werkzeug.datastructures import LanguageAccept
    from werkzeug.http import parse_accept_header

    locales = app.config["JISHI_LOCALES"]
    chosen = user_locale or session_locale
    if chosen in locales:
        return chosen
    best = parse_accept_header(accept, LanguageAccept).best_match(list(locales) + ["zh", "en-US", "zh-CN"])
    if best in ("zh", "zh-CN"):
        return "zh_CN"
    if best == "en-US":
        return "en"
    return best or app.config["BABEL_DEFAULT_LOCALE"]


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "en",
        "en-US,en;q=0.9",
        "en-GB,en;q=0.8",
        "zh-CN,zh;q=0.9,en;q=0.8",
        "zh-TW,zh;q=0.9",
        "zh",
        "fr-FR,fr;q=0.9",
        "fr,en;q=0.1",
        "*",
        "en;q=0, zh;q=0.5",
        "garbage;;q=x",
    ],
)
def test_locale_choice_unchanged(app, factory, accept):
    """The account's language, then the session's, then Accept-Language
    (each header decided once per process, the same answer every time),
    then the default; one ``Locale`` per code, named by its code."""
    from flask import session
    from flask_babel import get_locale, refresh
    from flask_login import login_user

    user = factory.user()
    for user_locale in (None, "en", "zh_CN", "xx"):
        for session_locale in (None, "en", "zh_CN", "de"):
            expected = _reference_locale_code(app, user_locale, session_locale, accept)
            for _twice in range(2):
                headers = {"Accept-Language": accept} if accept is not None else {}
                with app.test_request_context("/", headers=headers):
                    user.locale = user_locale
                    if user_locale is not None:
                        login_user(user)
                    if session_locale is not None:
                        session["locale"] = session_locale
                    assert extensions.select_locale_code() == expected, (user_locale, session_locale, accept)
                    refresh()  # (the fixture's app context outlives each request context)
                    locale = get_locale()
                    assert str(locale) == expected
                    assert locale is extensions.select_locale()


def test_jinja_context_is_jinja_s(app):
    """``JishiTemplate.new_context`` makes the dict Jinja makes (same names,
    order and values: the template's own globals over the environment's,
    the variables over both); ``globals_keys`` as Jinja's; a function
    taking the context still gets it (derived in a block with variables);
    a StopIteration from a call is Jinja's undefined."""
    env = app.jinja_env
    plain = Environment()
    template = env.from_string("{{ x }}", globals={"own": 1, "url_for": "mine"})
    ours = template.new_context({"x": 2, "own": 3})
    theirs = plain.context_class(
        env, dict(template.globals, **{"x": 2, "own": 3}), template.name, template.blocks, globals=template.globals
    )
    assert list(ours.parent.items()) == list(theirs.parent.items())
    assert ours.globals_keys == theirs.globals_keys == set(template.globals)

    @pass_context
    def seen(ctx):
        return ctx.get("inner")

    def stop():
        raise StopIteration

    def plain_fn(a, b=0):
        return a + b

    @pass_eval_context
    def escaping(eval_ctx, text):
        return f"{eval_ctx.autoescape}:{text}"

    @pass_environment
    def which_env(environment):
        return environment is env

    with app.test_request_context("/"):
        html = render_template_string(
            "{% macro twice(x) %}{{ x }}{{ x }}{{ caller() if caller else '' }}{% endmacro %}"
            "{% set inner = 'in' %}{{ seen() }}|{{ plain_fn(1, b=2) }}|{{ stop() is undefined }}"
            "|{% for i in [1] %}{% set inner = 'loop' %}{{ seen() }}{{ twice(i) }}{% endfor %}"
            "|{{ escaping('<b>') }}|{{ which_env() }}|{% call twice('a') %}c{% endcall %}",
            seen=seen,
            stop=stop,
            plain_fn=plain_fn,
            escaping=escaping,
            which_env=which_env,
        )
    assert html == "in|3|True|loop11|True:&lt;b&gt;|True|aac"


def test_jinja_import_with_own_globals_gets_its_own_module(app):
    """An import whose importer has a global the imported template lacks
    gets a module made with it (Jinja's rule); otherwise the cached one."""
    from jinja2 import DictLoader

    env = app.jinja_env.overlay(loader=DictLoader({"m.html": "{% macro show() %}{{ extra }}{% endmacro %}"}))
    with app.test_request_context("/"):
        plain = env.from_string('{% from "m.html" import show %}{{ show() }}')
        assert plain.render() == ""
        own = env.from_string('{% from "m.html" import show %}{{ show() }}', globals={"extra": "E"})
        assert own.render() == "E"
        assert plain.render() == ""


def test_anonymous_user_load_as_flask_login(app, client, factory, login):
    """A visitor with no session: anonymous, the session read (``Vary:
    Cookie``) as Flask-Login's own load does; a remember cookie, a
    ``user_accessed`` receiver or a signed-in session take Flask-Login's
    path and load the user."""
    from flask_login import user_accessed

    product = factory.product(name="龙井", price=1200, stock=5)
    resp = client.get(f"/product/{product.id}")
    assert "Cookie" in resp.headers.get("Vary", "")
    assert "登录后购买" in resp.get_data(as_text=True)
    seen = []

    def receiver(sender, **kw):
        seen.append(sender)

    user_accessed.connect(receiver)
    try:
        client.get(f"/product/{product.id}")
    finally:
        user_accessed.disconnect(receiver)
    assert seen
    buyer = factory.user(name="小王")
    login(buyer)
    assert "加入购物车" in client.get(f"/product/{product.id}").get_data(as_text=True)


def _reviews_of(factory, product, buyers):
    """One visible review per buyer of ``buyers`` (a buyer listed twice
    reviews two order lines), written directly with its order line."""
    from jishi.db import db
    from jishi.reviews.models import Review

    for n, buyer in enumerate(buyers):
        line = factory.received_line(buyer, product)
        images = ["/static/r.jpg"] if n == 0 else []
        db.session.add(
            Review(
                order_line_id=line.id,
                product_id=product.id,
                user_id=buyer.id,
                rating=5 - n % 2,
                content=f"评价{n}",
                is_anonymous=n == 2,
                images=images,
                image_count=len(images),
            )
        )
    db.session.commit()


def _review_values(reviews):
    from sqlalchemy import inspect

    out = []
    for r in reviews:
        state = inspect(r)
        assert state.persistent and not state.modified and "user" not in state.unloaded
        user = r.user
        level = user.member_level if user is not None else None
        out.append(
            (
                {c.key: getattr(r, c.key) for c in state.mapper.column_attrs},
                None if user is None else {c.key: getattr(user, c.key) for c in inspect(user).mapper.column_attrs},
                None if level is None else (level.id, level.name, level.rank),
            )
        )
    return out


@pytest.mark.parametrize("with_pictures", [False, True])
def test_product_reviews_read_as_the_orm_reads_them(app, factory, queries, with_pictures):
    """The product page's reviews (held SQL, instances made from its rows)
    are the ORM's: same reviews in the same order, each with its user and
    the user's member level loaded, a user reviewing twice one instance; the
    same rating figures; one statement. An instance the session already
    holds loaded (the signed-in reviewer, their level) is used as it is, as
    the ORM does, still in one statement; one it holds expired is read by
    the ORM (its values loaded into it)."""
    from jishi.accounts.models import MemberLevel, User
    from jishi.db import db
    from jishi.reviews import service

    level = MemberLevel(name="金卡", rank=2)
    db.session.add(level)
    db.session.commit()
    gold = factory.user(name="金卡买家", member_level_id=level.id)
    plain = factory.user(name="普通买家")
    product = factory.product(name="龙井", price=1200, stock=5)
    _reviews_of(factory, product, [gold, plain, gold, plain])
    pid, gold_id, level_id = product.id, gold.id, level.id

    db.session.expunge_all()
    with queries() as q:
        held, rating = service.product_reviews_rated(pid, limit=10, with_pictures=with_pictures)
    assert q.count == 1
    assert len({id(r.user) for r in held}) == (1 if with_pictures else 2)
    got = _review_values(held)
    db.session.expunge_all()
    rows = db.session.execute(service._rated_statement(with_pictures), {"product_id": pid, "limit": 10}).all()
    orm = [r[0] for r in rows if not with_pictures or r[0].image_count]
    assert got == _review_values(orm)
    assert rating == (45, 4, 1)
    assert [v[0]["content"] for v in got] == (["评价0"] if with_pictures else ["评价3", "评价2", "评价1", "评价0"])

    db.session.expunge_all()
    holder = db.session.get(User, gold_id)  # the session holds a reviewer (and their level, joined)
    held_level = holder.member_level
    with queries() as q:
        again, rating_again = service.product_reviews_rated(pid, limit=10, with_pictures=with_pictures)
    assert q.count == 1
    assert _review_values(again) == got and rating_again == rating
    assert all(r.user is holder for r in again if r.user_id == gold_id)
    assert held_level is not None and held_level.id == level_id

    db.session.expunge_all()
    expired = db.session.get(User, gold_id)
    db.session.expire(expired)
    third, _rating = service.product_reviews_rated(pid, limit=10, with_pictures=with_pictures)
    assert _review_values(third) == got
    assert all(r.user is expired for r in third if r.user_id == gold_id)


def test_product_reviews_read_by_the_orm_when_a_listener_watches(app, factory):
    """A ``do_orm_execute`` listener on the session sees the reviews read
    (it is made through the ORM then), with the same reviews."""
    from jishi.db import db
    from jishi.reviews import service
    from sqlalchemy import event

    buyer = factory.user(name="买家")
    product = factory.product(name="龙井", price=1200, stock=5)
    _reviews_of(factory, product, [buyer])
    pid = product.id
    seen = []

    def watch(state):
        seen.append(state.statement)

    session = db.session()
    event.listen(session, "do_orm_execute", watch)
    try:
        reviews, rating = service.product_reviews_rated(pid, limit=10)
    finally:
        event.remove(session, "do_orm_execute", watch)
    assert len(seen) == 1
    assert [r.content for r in reviews] == ["评价0"] and rating == (50, 1, 1)


def test_product_page_reviews_render(client, factory):
    """The page shows each reviewer (anonymous ones as such), the rating
    and the picture filter's counts."""
    gold = factory.user(name="金卡买家")
    plain = factory.user(name="普通买家")
    product = factory.product(name="龙井", price=1200, stock=5)
    _reviews_of(factory, product, [gold, plain, plain])
    page = client.get(f"/product/{product.id}").get_data(as_text=True)
    for text in ("评价0", "评价1", "评价2", "金卡买家", "普通买家", "(3)", "(1)", "4.7 / 5"):
        assert text in page, text
