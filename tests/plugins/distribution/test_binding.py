"""Issue 17 "Referral binding" (DS): bindings durable in the database with an
audit row for every change; first binding wins or last click wins, with a
protection period; permanent or N days; on visit or on first order; no
self-binding, no cycle along the full ancestor chain; ``?ref=CODE`` on any
storefront URL and ``POST /api/v1/distribution/bind``."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import commit, db, utcnow
from jishi.errors import DomainError
from jishi_distribution import service
from jishi_distribution.models import Binding, BindingLog
from sqlalchemy import select, update

from .helpers import buy, code, configure, promoter


def _log(user):
    return db.session.execute(
        select(BindingLog.old_promoter_id, BindingLog.new_promoter_id, BindingLog.reason)
        .where(BindingLog.user_id == user.id)
        .order_by(BindingLog.id)
    ).all()


def test_first_binding_wins_and_is_audited(app, factory):
    """Issue 17/Binding (DS): with "first binding wins" a second code never
    rebinds; the binding and its audit row are in the database."""
    a, b = promoter(factory), promoter(factory)
    buyer = factory.user()
    service.visit(buyer.id, code(a), "link")
    service.visit(buyer.id, code(b), "link")
    commit()
    assert service.parent(buyer.id) == a.id
    assert _log(buyer) == [(None, a.id, "link")]


def test_last_click_wins_after_the_protection_period(app, factory):
    """Issue 17/Binding (DS): "last click wins" rebinds only once the
    protection period has passed; the audit shows old -> new."""
    configure(bind_rule="last", protect_days=3)
    a, b = promoter(factory), promoter(factory)
    buyer = factory.user()
    service.visit(buyer.id, code(a), "link")
    commit()
    service.visit(buyer.id, code(b), "link")  # within protection: kept
    commit()
    assert service.parent(buyer.id) == a.id
    db.session.execute(update(Binding).values(bound_at=utcnow() - timedelta(days=4)))
    commit()
    service.visit(buyer.id, code(b), "api")
    commit()
    assert service.parent(buyer.id) == b.id
    assert _log(buyer) == [(None, a.id, "link"), (a.id, b.id, "api")]


def test_binding_for_n_days_lapses(app, factory):
    """Issue 17/Binding (DS): a binding for N days lapses; then another code binds."""
    configure(bind_days=10)
    a, b = promoter(factory), promoter(factory)
    buyer = factory.user()
    service.visit(buyer.id, code(a), "link")
    commit()
    assert db.session.get(Binding, buyer.id).expires_at is not None
    db.session.execute(update(Binding).values(expires_at=utcnow() - timedelta(seconds=1)))
    commit()
    assert service.parent(buyer.id) is None
    service.visit(buyer.id, code(b), "link")
    commit()
    assert service.parent(buyer.id) == b.id
    assert _log(buyer)[-1] == (a.id, b.id, "link:lapsed")


def test_self_binding_and_cycles_refused_along_the_full_chain(app, factory):
    """Issue 17/Binding (DS): nobody binds to their own code; A <- B <- C <- D:
    A may not bind to D (a cycle four deep, not only one step)."""
    a = promoter(factory)
    b = promoter(factory, upline=a)
    c = promoter(factory, upline=b)
    d = promoter(factory, upline=c)
    with pytest.raises(DomainError) as own:
        service.visit(a.id, code(a), "link")
    assert own.value.field == "code"
    with pytest.raises(DomainError) as cycle:
        service.visit(a.id, code(d), "link")
    assert cycle.value.field == "code"
    db.session.rollback()
    assert service.parent(a.id) is None
    assert service.ancestors(d.id) == [c.id, b.id, a.id]


def test_inactive_or_unknown_code_refused(app, factory):
    """Issue 17/Binding (DS): a frozen promoter's code, or garbage, binds nobody (422 on ``code``)."""
    a = promoter(factory)
    service.freeze(a.id, None)
    commit()
    buyer = factory.user()
    for bad in (code(a), "NOPE", ""):
        with pytest.raises(DomainError) as exc:
            service.visit(buyer.id, bad, "link")
        assert exc.value.field == "code"


def test_ref_link_on_any_page_binds_after_sign_in(app, client, factory, login):
    """Issue 17/Binding (DS): ``?ref=CODE`` on a storefront URL is kept in the
    session while anonymous and binds once the visitor is signed in."""
    a = promoter(factory)
    product = factory.product()
    buyer = factory.user()
    assert client.get(f"/product/{product.id}?ref={code(a)}").status_code == 200
    assert service.parent(buyer.id) is None
    login(buyer, form=True)  # the real sign-in keeps the session's code
    client.get("/")
    db.session.expire_all()
    assert service.parent(buyer.id) == a.id


def test_bind_on_first_order(app, factory, api):
    """Issue 17/Binding (DS): with "bind on first order" the API call only
    remembers the code; placing an order binds."""
    configure(bind_on="order")
    a = promoter(factory)
    buyer = factory.user()
    r = api.post("/distribution/bind", user=buyer, json={"code": code(a)})
    assert r.status_code == 200 and r.json == {"bound": False, "promoter_id": None}
    buy(factory, buyer, [(factory.product(), 1)], pay=False)
    assert service.parent(buyer.id) == a.id
    assert _log(buyer) == [(None, a.id, "order")]


def test_bind_api_names_the_field(app, factory, api):
    """Issue 17/Binding (DS): a bad code is a 422 naming ``code``; the buyer is never bound to themselves."""
    a = promoter(factory)
    r = api.post("/distribution/bind", user=a, json={"code": code(a)})
    assert r.status_code == 422 and r.json["field"] == "code"
    r = api.post("/distribution/bind", user=factory.user(), json={"code": code(a)})
    assert r.status_code == 200 and r.json["bound"] is True and r.json["promoter_id"] == a.id
