"""Issue 14 (concurrency, meaningful on PostgreSQL): the same new WeChat
user signing in from several requests at once gets one account; two fresh
WeChat accounts binding the same phone number at once never give two
accounts that number. Each call runs in its own thread, app context,
session and connection (``jishi.testing.run_parallel``)."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.testing import parallel_config, run_parallel
from jishi_wechat_login.models import WeChatIdentity
from sqlalchemy import func, select


@pytest.fixture
def app_config(wechat):
    return {
        **parallel_config(),
        "JISHI_WECHAT_LOGIN_API_BASE": wechat.url,
        "JISHI_WECHAT_LOGIN_OPEN_BASE": wechat.url,
        "JISHI_WECHAT_LOGIN_TIMEOUT": 3,  # (see conftest: a loaded CI machine)
    }


def test_same_new_openid_at_once_makes_one_account(app, wx):
    """Issue 14: 8 simultaneous first sign-ins of one openid: one account,
    one identity, every call answers that account."""
    from jishi.accounts.models import User
    from jishi_wechat_login import service

    def sign_in(_i):
        user, _new = service.sign_in_or_register(service.app("mp"), "o_race", None)
        return user.id

    results, errors = run_parallel(app, 8, sign_in, request={"method": "POST"})
    assert not errors, errors
    assert len(set(results)) == 1
    assert db.session.execute(select(func.count()).select_from(WeChatIdentity)).scalar_one() == 1
    assert db.session.execute(select(func.count()).select_from(User)).scalar_one() == 1


def test_two_accounts_bind_one_phone_at_once(app, wx):
    """Issue 14: two fresh WeChat accounts binding 13800138000 at once: one
    account ends with the number; the other either switched to it (merged)
    or was refused with a 409, never a 500, never two holders."""
    from jishi.accounts.models import User
    from jishi_wechat_login import service

    ids = []
    for n in range(2):
        user, _new = service.sign_in_or_register(service.app("mp"), f"o_phone_{n}", None)
        ids.append(user.id)

    def bind(i):
        try:
            user, switched = service.bind_phone(db.session.get(User, ids[i]), "13800138000")
        except service.WeChatLoginError as exc:
            db.session.rollback()
            return exc.status
        return ("switched" if switched else "bound", user.id)

    results, errors = run_parallel(app, 2, bind, request={"method": "POST"})
    assert not errors, errors
    db.session.expire_all()
    holders = db.session.execute(select(User).where(User.phone == "13800138000")).scalars().all()
    assert len(holders) == 1
    assert sorted(str(r[0]) if isinstance(r, tuple) else str(r) for r in results) in (
        ["409", "bound"],
        ["bound", "switched"],
    )
