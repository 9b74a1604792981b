"""MS2, MS3: onboarding rules, applications and their review (API and pages)."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi_multistore.models import Merchant, MerchantMember
from sqlalchemy import select


@pytest.fixture
def platform(factory):
    return factory.admin()


def _field(api, platform, **kw):
    body = {"key": "license", "label": "营业执照", "kind": "image", "required": True, "editable": False, "sort": 1}
    body.update(kw)
    resp = api.post("/admin/multistore/application-fields", user=platform, json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def test_rules_and_fields_crud(api, platform):
    """MS2: agreement, review switch and the application fields (CRUD, strict)."""
    resp = api.put("/admin/multistore/onboarding", user=platform, json={"agreement": "入驻协议正文", "review": False})
    assert resp.status_code == 200 and resp.json["agreement"] == "入驻协议正文" and resp.json["review"] is False
    assert api.put("/admin/multistore/onboarding", user=platform, json={"review": "yes"}).json["field"] == "review"
    f = _field(api, platform)
    assert f["required"] is True and f["editable"] is False
    _field(api, platform, key="contact", label="联系电话", kind="phone", required=False, editable=True, sort=0)
    keys = [x["key"] for x in api.get("/admin/multistore/application-fields", user=platform).json["items"]]
    assert keys == ["contact", "license"]  # by sort
    dup = api.post("/admin/multistore/application-fields", user=platform, json={"key": "license", "label": "x"})
    assert dup.status_code == 409 and dup.json["field"] == "key"
    bad = api.post("/admin/multistore/application-fields", user=platform, json={"key": "Bad Key", "label": "x"})
    assert bad.status_code == 422 and bad.json["field"] == "key"
    extra = api.post(
        "/admin/multistore/application-fields", user=platform, json={"key": "a", "label": "x", "color": "red"}
    )
    assert extra.status_code == 422 and extra.json["field"] == "color"
    patched = api.patch(
        f"/admin/multistore/application-fields/{f['id']}", user=platform, json={"required": False, "label": "执照"}
    )
    assert patched.status_code == 200 and patched.json["required"] is False and patched.json["label"] == "执照"
    assert api.delete(f"/admin/multistore/application-fields/{f['id']}", user=platform).status_code == 204
    assert api.delete(f"/admin/multistore/application-fields/{f['id']}", user=platform).status_code == 404
    rules = api.get("/admin/multistore/onboarding", user=platform).json
    assert [x["key"] for x in rules["fields"]] == ["contact"]


def test_apply_review_approve(api, platform, factory):
    """MS3: required fields and the agreement are enforced; the platform
    approves; the applicant becomes the admin and sees the console link."""
    _field(api, platform)
    member = factory.user()
    mine = api.get("/shops/application", user=member).json
    assert mine["application"] is None and mine["can_apply"] is True and mine["rules"]["review"] is True
    missing = api.post("/shops/application", user=member, json={"name": "一号店", "agree": True})
    assert missing.status_code == 422 and missing.json["field"] == "fields.license"
    no_agree = api.post(
        "/shops/application",
        user=member,
        json={"name": "一号店", "agree": False, "fields": {"license": "http://x/l.png"}},
    )
    assert no_agree.status_code == 422 and no_agree.json["field"] == "agree"
    unknown = api.post(
        "/shops/application",
        user=member,
        json={"name": "一号店", "agree": True, "fields": {"license": "x", "nope": "1"}},
    )
    assert unknown.status_code == 422 and unknown.json["field"] == "fields.nope"
    assert db.session.execute(select(Merchant)).first() is None  # nothing half-written
    resp = api.post(
        "/shops/application",
        user=member,
        json={"name": "一号店", "category": "餐饮", "agree": True, "fields": {"license": "http://x/l.png"}},
    )
    assert resp.status_code == 201 and resp.json["status"] == "pending" and resp.json["console_url"] is None
    again = api.post(
        "/shops/application", user=member, json={"name": "二号店", "agree": True, "fields": {"license": "x"}}
    )
    assert again.status_code == 409
    assert api.get("/merchant/dashboard", user=member).status_code == 403
    listed = api.get("/admin/multistore/applications?status=pending", user=platform).json["items"]
    assert [a["name"] for a in listed] == ["一号店"] and listed[0]["fields"] == {"license": "http://x/l.png"}
    ok = api.post(f"/admin/multistore/applications/{resp.json['id']}/approve", user=platform)
    assert ok.status_code == 200 and ok.json["status"] == "approved" and ok.json["approved_at"]
    assert api.post(f"/admin/multistore/applications/{resp.json['id']}/approve", user=platform).status_code == 409
    mine = api.get("/shops/application", user=member).json
    assert (
        mine["application"]["status"] == "approved"
        and mine["application"]["console_url"] == "/merchant/"
        and mine["can_apply"] is False
    )
    dash = api.get("/merchant/dashboard", user=member)
    assert dash.status_code == 200 and dash.json["role"] == "admin" and dash.json["merchant"]["name"] == "一号店"
    assert dash.json["merchant"]["stars"] == 5 and dash.json["merchant"]["status"] == "open"
    member_row = db.session.execute(select(MerchantMember).where(MerchantMember.user_id == member.id)).scalar_one()
    assert member_row.role == "admin"
    assert (
        api.post(
            "/shops/application", user=member, json={"name": "三号店", "agree": True, "fields": {"license": "x"}}
        ).status_code
        == 409
    )


def test_reject_then_reapply(api, platform, factory):
    """MS3: rejected with a reason the applicant sees; may apply again."""
    member = factory.user()
    app_id = api.post("/shops/application", user=member, json={"name": "小店", "agree": True}).json["id"]
    no_reason = api.post(f"/admin/multistore/applications/{app_id}/reject", user=platform, json={"reason": ""})
    assert no_reason.status_code == 422 and no_reason.json["field"] == "reason"
    rej = api.post(f"/admin/multistore/applications/{app_id}/reject", user=platform, json={"reason": "资料不全"})
    assert rej.status_code == 200 and rej.json["status"] == "rejected"
    mine = api.get("/shops/application", user=member).json
    assert mine["application"]["reject_reason"] == "资料不全" and mine["can_apply"] is True
    assert api.get("/merchant/dashboard", user=member).status_code == 403
    again = api.post("/shops/application", user=member, json={"name": "小店2", "agree": True})
    assert (
        again.status_code == 201
        and again.json["id"] == app_id
        and again.json["status"] == "pending"
        and again.json["reject_reason"] == ""
    )
    assert db.session.execute(select(Merchant).where(Merchant.owner_id == member.id)).scalars().all().__len__() == 1


def test_review_off_approves_at_once(api, platform, factory):
    """MS2/MS3: with review off an application is approved immediately."""
    api.put("/admin/multistore/onboarding", user=platform, json={"review": False})
    member = factory.user()
    resp = api.post("/shops/application", user=member, json={"name": "快店", "agree": True})
    assert resp.status_code == 201 and resp.json["status"] == "approved" and resp.json["approved_at"]
    assert api.get("/merchant/dashboard", user=member).status_code == 200


def test_one_merchant_per_user(api, platform, factory, ms):
    """MS3/MS17: a clerk of one merchant cannot open another; a shop name is unique."""
    m = ms.merchant("老店")
    clerk = ms.clerk(m)
    resp = api.post("/shops/application", user=clerk, json={"name": "新店", "agree": True})
    assert resp.status_code == 409
    other = factory.user()
    taken = api.post("/shops/application", user=other, json={"name": "老店", "agree": True})
    assert taken.status_code == 409 and taken.json["field"] == "name"
    assert api.post("/shops/application", user=platform, json={"name": "平台店", "agree": True}).status_code == 409


def test_applicant_became_clerk_cannot_be_approved(api, platform, factory, ms):
    """MS3: approval refuses an applicant who meanwhile works in another shop."""
    member = factory.user()
    app_id = api.post("/shops/application", user=member, json={"name": "申请店", "agree": True}).json["id"]
    ms.clerk(ms.merchant("别家"), member)
    resp = api.post(f"/admin/multistore/applications/{app_id}/approve", user=platform)
    assert resp.status_code == 409
    assert db.session.get(Merchant, app_id).review_status == "pending"


def test_apply_web_flow(client, login, factory, platform):
    """MS3 (pages): the account page links to the application; the member
    applies, the platform approves in the console, the page links to the console."""
    from jishi_multistore import onboarding

    onboarding.save_field({"key": "contact", "label": "联系电话", "kind": "phone", "required": True, "editable": True})
    db.session.commit()
    member = factory.user()
    login(member)
    account = client.get("/account").get_data(as_text=True)
    assert "/shops/apply" in account
    page = client.get("/shops/apply")
    assert page.status_code == 200 and 'name="field_contact"' in page.get_data(as_text=True)
    bad = client.post("/shops/apply", data={"name": "网店", "agree": "1", "field_contact": ""})
    assert bad.status_code == 422 and 'data-field="fields.contact"' in bad.get_data(as_text=True)
    no_agree = client.post("/shops/apply", data={"name": "网店", "field_contact": "13800000000"})
    assert no_agree.status_code == 422 and 'data-field="agree"' in no_agree.get_data(as_text=True)
    ok = client.post("/shops/apply", data={"name": "网店", "agree": "1", "field_contact": "13800000000"})
    assert ok.status_code == 302
    assert 'data-status="pending"' in client.get("/shops/apply").get_data(as_text=True)
    m = db.session.execute(select(Merchant).where(Merchant.owner_id == member.id)).scalar_one()
    login(platform)
    listing = client.get("/console/multistore/applications").get_data(as_text=True)
    assert "网店" in listing
    assert "13800000000" in client.get(f"/console/multistore/applications/{m.id}").get_data(as_text=True)
    assert client.post(f"/console/multistore/applications/{m.id}/approve").status_code == 302
    db.session.expire_all()
    assert db.session.get(Merchant, m.id).review_status == "approved"
    login(member)
    page = client.get("/shops/apply").get_data(as_text=True)
    assert 'data-status="approved"' in page and "/merchant/" in page
    assert client.get("/merchant/").status_code == 200


def test_reject_web_and_rules_page(client, login, factory, platform):
    """MS2/MS3 (pages): rules page saves the switch, agreement and fields; reject shows the reason."""
    login(platform)
    assert client.get("/console/multistore/onboarding").status_code == 200
    client.post("/console/multistore/onboarding", data={"agreement": "协议A", "review": "1"})
    client.post(
        "/console/multistore/onboarding/fields",
        data={"key": "wx", "label": "微信", "kind": "text", "editable": "1", "sort": "2"},
    )
    from jishi_multistore import onboarding

    assert onboarding.agreement() == "协议A" and onboarding.review_enabled() is True
    (field,) = onboarding.fields()
    assert field.key == "wx" and field.editable and not field.required and field.sort == 2
    client.post(
        f"/console/multistore/onboarding/fields/{field.id}",
        data={"key": "wx", "label": "微信号", "kind": "text", "required": "1", "sort": "3"},
    )
    db.session.expire_all()
    assert (
        onboarding.fields()[0].label == "微信号"
        and onboarding.fields()[0].required
        and not onboarding.fields()[0].editable
    )
    member = factory.user()
    login(member)
    assert "协议A" in client.get("/shops/apply").get_data(as_text=True)
    client.post("/shops/apply", data={"name": "拒店", "agree": "1", "field_wx": "abc"})
    m = db.session.execute(select(Merchant).where(Merchant.owner_id == member.id)).scalar_one()
    login(platform)
    client.post(f"/console/multistore/applications/{m.id}/reject", data={"reason": "名称不合规"})
    client.post(f"/console/multistore/onboarding/fields/{field.id}/delete")
    db.session.expire_all()
    assert onboarding.fields() == []
    login(member)
    page = client.get("/shops/apply").get_data(as_text=True)
    assert 'data-status="rejected"' in page and "名称不合规" in page and 'name="name"' in page
