"""GB: the group state machine as data, and its moves (unit tests)."""

from __future__ import annotations

from jishi.db import db
from jishi_groupbuy import service
from jishi_groupbuy.models import Group

from . import helpers as gb


def test_transitions_table_is_the_documented_diagram():
    """GB: pending -open-> forming, pending -abandon-> cancelled, forming -succeed-> succeeded, forming -fail-> failed."""
    table = {name: (t.source, t.target) for name, t in service.TRANSITIONS.items()}
    assert table == {
        "open": (("pending",), "forming"),
        "abandon": (("pending",), "cancelled"),
        "succeed": (("forming",), "succeeded"),
        "fail": (("forming",), "failed"),
    }
    reachable = {t.target for t in service.TRANSITIONS.values()} | {"pending"}
    assert reachable == set(service.STATES)
    # final states have no way out
    assert not any(set(t.source) & set(service.FINAL_STATES) for t in service.TRANSITIONS.values())


def _group(factory, state="pending"):
    product = factory.product(price=1000)
    activity = gb.activity(product, size=2)
    u = factory.user()
    g = Group(activity_id=activity.id, token=f"t{activity.id}", leader_id=u.id, state=state, size=2, seats=1, paid=0)
    db.session.add(g)
    db.session.commit()
    return g


def test_move_only_from_its_sources(app, factory):
    """GB: a move from the wrong state changes nothing; each move wins once."""
    g = _group(factory)
    assert not service.move(g, "succeed")
    assert not service.move(g, "fail")
    assert service.move(g, "open", opened_at=service.now())
    assert g.state == "forming"
    assert not service.move(g, "open")
    assert not service.move(g, "abandon")
    assert service.move(g, "fail", finished_at=service.now())
    assert not service.move(g, "succeed")
    assert g.state == "failed"


def test_succeed_needs_every_seat_paid(app, factory):
    """GB: succeed is guarded by paid >= size."""
    g = _group(factory, state="forming")
    assert not service.move(g, "succeed", where=(Group.paid >= Group.size,))
    db.session.execute(db.update(Group).where(Group.id == g.id).values(paid=2, seats=2))
    assert service.move(g, "succeed", where=(Group.paid >= Group.size,))


def test_fail_is_guarded_by_the_deadline(app, factory):
    """GB: the job fails a group only past its deadline."""
    g = _group(factory, state="forming")
    db.session.execute(
        db.update(Group).where(Group.id == g.id).values(expires_at=service.now() + service.timedelta(minutes=5))
    )
    db.session.commit()
    assert service.expire_groups().startswith("0 groups failed")
    db.session.refresh(g)
    assert g.state == "forming"


def test_choice_parses_form_and_json_options():
    """GB: options.groupbuy from JSON or the web form; malformed ids become None."""
    assert service.choice({}) is None
    assert service.choice({"groupbuy": {"activity_id": 3}}) == {"activity_id": 3, "group_token": None}
    assert service.choice({"groupbuy": {"activity_id": "7", "group_token": "abc"}}) == {
        "activity_id": 7,
        "group_token": "abc",
    }
    assert service.choice({"groupbuy": {"activity_id": 2.5}})["activity_id"] is None
    assert service.choice({"groupbuy": {"activity_id": True}})["activity_id"] is None
    assert service.choice({"groupbuy": "x"}) == {"activity_id": None, "group_token": None}
