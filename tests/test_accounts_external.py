"""K5 (issue 14): ``jishi.accounts.external``, what a sign-in plugin (WeChat,
SMS) uses instead of writing ``users`` itself: accounts without a phone,
verified phones, merging one account into another."""

from __future__ import annotations

import pytest
from jishi.accounts import external
from jishi.accounts.models import Address, User
from jishi.cart.models import CartLine
from jishi.db import commit, db
from sqlalchemy import select


def test_account_without_phone_never_signs_in_with_a_password(app, client):
    """K5: the account has no phone (``has_phone`` False) and no usable
    password: the phone + password login refuses it."""
    user = external.create_account("微信用户")
    commit()
    assert not external.has_phone(user) and user.phone.startswith(external.NO_PHONE_PREFIX)
    resp = client.post("/api/v1/auth/login", json={"phone": user.phone, "password": "!no-password"})
    assert resp.status_code == 401


def test_set_phone_one_account_per_number(app, factory):
    """K5: a verified phone is bound once; another account's number is a
    conflict naming ``phone``; not a mobile number is refused."""
    factory.user(phone="13800000001")
    user = external.create_account()
    with pytest.raises(external.AccountError) as exc:
        external.set_phone(user, "13800000001")
    assert exc.value.field == "phone" and exc.value.status == 409
    with pytest.raises(external.AccountError):
        external.set_phone(user, "12345")
    external.set_phone(user, "13800000002")
    commit()
    assert external.has_phone(user) and external.find_by_phone("13800000002").id == user.id


def test_token_answer_and_retire(app, client):
    """K5: ``token_answer`` is what /auth/login answers; ``retire`` revokes
    every token and session and makes the account inactive."""
    user = external.create_account()
    answer = external.token_answer(user)
    commit()
    data = external.TokenSchema().dump(answer)
    assert data["user"]["id"] == user.id
    headers = {"Authorization": f"Bearer {answer['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    external.retire(user)
    commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert db.session.get(User, user.id).is_active is False


def test_carry_over_moves_cart_and_addresses(app, factory):
    """K5: the cart lines move (the same SKU's quantities added), the
    addresses move and never take the target's default away."""
    source, target = external.create_account(), factory.user()
    a, b = factory.product(stock=10), factory.product(stock=10)
    db.session.add_all(
        [
            CartLine(user_id=source.id, sku_id=a.skus[0].id, quantity=2),
            CartLine(user_id=source.id, sku_id=b.skus[0].id, quantity=1),
            CartLine(user_id=target.id, sku_id=a.skus[0].id, quantity=3),
        ]
    )
    factory.address(target)
    factory.address(source)
    commit()
    assert external.carry_over(source, target) == 3
    commit()
    lines = {(line.user_id, line.sku_id): line.quantity for line in db.session.execute(select(CartLine)).scalars()}
    assert lines == {(target.id, a.skus[0].id): 5, (target.id, b.skus[0].id): 1}
    addresses = db.session.execute(select(Address).where(Address.user_id == target.id)).scalars().all()
    assert len(addresses) == 2 and sum(x.is_default for x in addresses) == 1


def test_member_levels_for_a_plugin_driving_them(app, factory):
    """K5 (issue 16 member levels): a plugin creates, renames and deletes a
    member level and sets a user's, in its own transaction (nothing is
    committed for it: a rollback undoes it); bad input names its field; a
    level a user holds is not deleted."""
    from jishi.accounts.models import MemberLevel
    from jishi.db import rollback

    level = external.save_member_level(" 银卡 ", 2)
    user = factory.user()  # commits the level too
    assert (level.name, level.rank) == ("银卡", 2)
    external.set_member_level(user, level.id)
    rollback()
    assert db.session.get(User, user.id).member_level_id is None
    external.set_member_level(user, level.id)
    external.save_member_level("白银", 3, level)
    commit()
    db.session.expire_all()
    assert db.session.get(User, user.id).member_level.name == "白银"
    for args, field in ((("", 1), "name"), (("x" * 41, 1), "name"), (("金卡", 1001), "rank"), (("金卡", True), "rank")):
        with pytest.raises(external.AccountError) as exc:
            external.save_member_level(*args)
        assert exc.value.field == field
    with pytest.raises(external.AccountError) as exc:
        external.set_member_level(user, 999999)
    assert exc.value.field == "member_level_id"
    with pytest.raises(external.AccountError) as exc:
        external.delete_member_level(level)
    assert exc.value.code == "conflict"
    external.set_member_level(user, None)
    external.delete_member_level(level)
    commit()
    assert db.session.get(MemberLevel, level.id) is None
