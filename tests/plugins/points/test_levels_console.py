"""Issue 16 "Surfaces" (platform console → levels): the platform lists,
creates, edits and deletes member levels at ``/console/points/levels``; a
bad form is a 422 page naming the field (thresholds strictly increasing,
names unique, benefits in range) and writes nothing; every change keeps the
linked kernel member level in step (C7: in Chinese by default)."""

from __future__ import annotations

import pytest
from jishi.accounts.models import MemberLevel
from jishi.db import db
from jishi_points import levels
from jishi_points.models import PointsLevel
from sqlalchemy import func, select

from .helpers import make_ladder

URL = "/console/points/levels"


def _form(**kw) -> dict:
    return {"name": "银卡", "threshold": "1000", "discount": "5", "points_percent": "120", **kw}


def _counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(PointsLevel.id))),
        db.session.scalar(select(func.count(MemberLevel.id))),
    )


def test_create_edit_delete(client, factory, login):
    """Issue 16/Levels: create (its kernel member level with it), list,
    edit (the kernel level renamed), delete (the kernel level gone)."""
    login(factory.admin())
    page = client.get(URL)
    assert page.status_code == 200 and "会员等级" in page.get_data(as_text=True)
    assert client.get(URL + "/new").status_code == 200
    resp = client.post(URL + "/new", data=_form(member_price="1"))
    assert resp.status_code == 302 and resp.headers["Location"].endswith(URL)
    [level] = levels.ladder()
    assert (level.name, level.threshold, level.discount_bp, level.member_price, level.points_percent) == (
        "银卡",
        1000,
        500,
        True,
        120,
    )
    assert db.session.get(MemberLevel, level.member_level_id).name == "银卡"
    listing = client.get(URL).get_data(as_text=True)
    assert "银卡" in listing and "120%" in listing and "5%" in listing
    edit = client.get(f"{URL}/{level.id}")
    assert edit.status_code == 200 and 'value="4.5"' not in edit.get_data(as_text=True)
    resp = client.post(f"{URL}/{level.id}", data=_form(name="白银", discount="4.5"))
    assert resp.status_code == 302
    db.session.expire_all()
    level = db.session.get(PointsLevel, level.id)
    assert (level.name, level.discount_bp, level.member_price) == ("白银", 450, False)
    assert db.session.get(MemberLevel, level.member_level_id).name == "白银"
    assert 'value="4.5"' in client.get(f"{URL}/{level.id}").get_data(as_text=True)
    kernel_id, level_id = level.member_level_id, level.id
    assert client.post(f"{URL}/{level_id}/delete").status_code == 302
    db.session.expire_all()
    assert levels.ladder() == [] and db.session.get(MemberLevel, kernel_id) is None
    assert client.get(f"{URL}/{level_id}").status_code == 404
    assert client.post(f"{URL}/{level_id}/delete").status_code == 404


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        (_form(name="普通会员"), "name", "已有同名的等级"),
        (_form(name=" "), "name", "请填写等级名称"),
        (_form(name="x" * 41), "name", "请填写等级名称"),
        (_form(threshold="0"), "threshold", "门槛须严格越高"),
        (_form(threshold="-1"), "threshold", "成长值门槛须为"),
        (_form(threshold="abc"), "threshold", "成长值门槛须为"),
        (_form(threshold="1000000001"), "threshold", "成长值门槛须为"),
        (_form(discount="95"), "discount", "会员折扣的减免比例须在"),
        (_form(discount="-1"), "discount", "会员折扣的减免比例须在"),
        (_form(discount="1.234"), "discount", "请输入百分比"),
        (_form(discount="abc"), "discount", "请输入百分比"),
        (_form(points_percent="99"), "points_percent", "积分倍数须在"),
        (_form(points_percent="1001"), "points_percent", "积分倍数须在"),
        (_form(points_percent="1.5"), "points_percent", "积分倍数须在"),
    ],
)
def test_bad_forms_name_the_field_and_write_nothing(client, factory, login, form, field, message):
    """Issue 16/Levels: thresholds strictly increase (no two levels at the
    same growth), names are unique, benefits in range: a 422 page naming the
    field, in Chinese; nothing written."""
    make_ladder(("普通会员", 0, 0, False, 100))
    login(factory.admin())
    before = _counts()
    resp = client.post(URL + "/new", data=form)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f'data-field="{field}"' in text and message in text, text[:2000]
    assert _counts() == before


def test_edit_refused_keeps_the_level(client, factory, login):
    """Issue 16/Levels: moving a level onto another's threshold is refused; the level is unchanged."""
    bottom, silver, _gold = make_ladder()
    login(factory.admin())
    resp = client.post(f"{URL}/{silver.id}", data=_form(threshold="5000"))
    assert resp.status_code == 422 and 'data-field="threshold"' in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(PointsLevel, silver.id).threshold == 1000


def test_console_in_english(client, factory, login):
    """C7/i18n: the console pages in English on request."""
    make_ladder()
    login(factory.admin())
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(URL).get_data(as_text=True)
    assert "Member levels" in page and "Growth threshold" in page
    bad = client.post(URL + "/new", data=_form(name="银卡")).get_data(as_text=True)
    assert "Another level already has this name." in bad


def test_menu_item_for_marketing(client, factory, login):
    """Issue 16/Surfaces: the platform console menu links the ladder."""
    login(factory.admin())
    assert URL in client.get("/console/").get_data(as_text=True)
