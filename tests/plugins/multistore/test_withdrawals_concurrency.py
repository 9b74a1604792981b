"""MS12: simultaneous withdrawal requests never take more than the
withdrawable balance (real concurrent transactions on PostgreSQL: each
request runs in its own thread, app context, session and connection; on
SQLite BEGIN IMMEDIATE serialises them, which must stay correct too)."""

from __future__ import annotations

import pytest
from jishi.db import db
from jishi.testing import parallel_config, run_parallel
from jishi_multistore import ledger, withdrawals
from jishi_multistore.models import Withdrawal
from sqlalchemy import func, select

from .finance_helpers import journal_sums
from .test_withdrawals_api import ALIPAY, earning


@pytest.fixture
def app_config():
    return parallel_config()


def _race(app, n, fn):
    return run_parallel(app, n, fn)


def _api_race(app, ms, m, amount, n):
    from jishi.testing import factories

    token = factories.token(ms.admin_of(m))
    db.session.commit()

    def request(i):
        client = app.test_client()
        r = client.post(
            "/api/v1/merchant/withdrawals", json={"amount": amount}, headers={"Authorization": f"Bearer {token}"}
        )
        return r.status_code, (r.get_json() or {}).get("code")

    return _race(app, n, request)


def _check_books(m):
    db.session.expire_all()
    bal = ledger.balances(m.id)
    assert bal[ledger.AVAILABLE] >= 0
    assert set(journal_sums().values()) == {0}
    taken = db.session.scalar(
        select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(Withdrawal.merchant_id == m.id)
    )
    assert bal[ledger.PAYOUT_PENDING] == taken
    return bal, taken


def test_eight_requests_of_sixty_percent_one_wins(app, factory, ms, monkeypatch):
    """MS12: 8 simultaneous requests of 60% of the balance: exactly one succeeds,
    the others are refused as insufficient (the interval rule is switched off
    here so that only the balance decides)."""
    monkeypatch.setattr(withdrawals, "next_allowed_day", lambda *a, **k: None)
    m = ms.merchant()
    earning(factory, ms, m, 10000)
    m.withdraw_account = {**ALIPAY, "bank": ""}
    db.session.commit()
    results, errors = _api_race(app, ms, m, 6000, 8)
    assert not errors, errors
    assert sorted(results) == [(201, None)] + [(409, "insufficient")] * 7, results
    bal, taken = _check_books(m)
    assert taken == 6000 and bal[ledger.AVAILABLE] == 4000


def test_many_small_requests_never_overdraw(app, factory, ms, monkeypatch):
    """MS12: 10 simultaneous requests of 30%: exactly three succeed."""
    monkeypatch.setattr(withdrawals, "next_allowed_day", lambda *a, **k: None)
    m = ms.merchant()
    earning(factory, ms, m, 10000)
    m.withdraw_account = {**ALIPAY, "bank": ""}
    db.session.commit()
    results, errors = _api_race(app, ms, m, 3000, 10)
    assert not errors, errors
    assert sum(1 for status, _code in results if status == 201) == 3, results
    bal, taken = _check_books(m)
    assert taken == 9000 and bal[ledger.AVAILABLE] == 1000


def test_interval_rule_holds_under_concurrency(app, factory, ms):
    """MS12: with the rules as configured (one per day), 6 simultaneous small
    requests give exactly one withdrawal."""
    m = ms.merchant()
    earning(factory, ms, m, 10000)
    m.withdraw_account = {**ALIPAY, "bank": ""}
    db.session.commit()
    results, errors = _api_race(app, ms, m, 1000, 6)
    assert not errors, errors
    assert sorted(results) == [(201, None)] + [(409, "too_soon")] * 5, results
    _check_books(m)
