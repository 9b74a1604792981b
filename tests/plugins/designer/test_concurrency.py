"""PR-DZ under real concurrency (threads with their own connections; truly
concurrent on PostgreSQL, serialised on SQLite): a due schedule goes live
exactly once however many workers run the job at once; two editors saving
the same draft version: one wins, the other gets a 409 (no lost edit);
two publishes at once never share a revision number."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi.db import db, utcnow
from jishi.errors import DomainError
from jishi.testing import parallel_config, run_parallel
from jishi_designer import service
from jishi_designer.models import DesignPage, DesignRevision
from sqlalchemy import func, select

from .helpers import page_with, published


@pytest.fixture
def app_config():
    return parallel_config()


def test_scheduled_publish_runs_once_under_parallel_workers(app):
    """PR-DZ: eight workers run the scheduled-publish job at once: one of them
    publishes, the others find nothing to do."""
    page = published([("designer.notice", {"text": "旧"})])
    service.update_block(page, page.draft[0]["id"], {"text": "新"})
    rev = service.schedule(page, utcnow() + timedelta(hours=1), None)
    db.session.execute(db.update(DesignPage).values(scheduled_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()

    def job(_i):
        return service.publish_scheduled()

    results, errors = run_parallel(app, 8, job)
    assert not errors, errors
    assert sorted(results).count("1 scheduled pages published") == 1, results
    db.session.expire_all()
    assert db.session.get(DesignPage, page.id).published_revision_id == rev.id


def test_parallel_edits_of_one_draft_version_lose_nothing(app):
    """PR-DZ: six editors add a block on the same draft version at once: one
    succeeds, five get a 409; the draft holds exactly one new block."""
    page = page_with([("designer.spacer", {})])
    page_id, seen = page.id, page.draft_version

    def add(_i):
        mine = db.session.get(DesignPage, page_id)
        try:
            service.add_block(mine, "designer.spacer", seen)
        except DomainError as exc:
            return exc.status
        return 200

    results, errors = run_parallel(app, 6, add, request={"method": "POST"})
    assert not errors, errors
    assert sorted(results) == [200, 409, 409, 409, 409, 409]
    db.session.expire_all()
    assert len(db.session.get(DesignPage, page_id).draft) == 2


def test_parallel_publishes_get_distinct_numbers(app):
    """PR-DZ: four publishes at once all succeed, numbered 1 to 4 (the page row
    is locked while the next number is taken; the unique (page, number)
    would answer a 409, never a 5xx)."""
    page_id = page_with([("designer.spacer", {})]).id

    def publish(_i):
        try:
            return service.publish(db.session.get(DesignPage, page_id), None).number
        except DomainError as exc:
            return exc.status

    results, errors = run_parallel(app, 4, publish, request={"method": "POST"})
    assert not errors, errors
    numbers = sorted(results)
    assert numbers == [1, 2, 3, 4], results
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).select_from(DesignRevision))
    assert count == len(numbers)


def test_promo_counts_add_up_under_parallel_flushes(app):
    """PR-DZ (推广): eight flushes writing the same day and entry at once (the
    in-request writer and the job of several processes) add up exactly: the
    upsert adds to the row, it never overwrites another writer's counts."""
    from jishi_designer import promo
    from jishi_designer.models import PromoStat

    slot = promo.create_slot("par", "并发")
    ad_id = promo.add_entry(slot, {"image": "/a.png"}).id
    db.session.commit()

    def job(i):
        return promo.write({f"2026-12-04:{ad_id}:i": 10, f"2026-12-04:{ad_id}:c": i})

    results, errors = run_parallel(app, 8, job)
    assert not errors, errors
    row = db.session.get(PromoStat, ("2026-12-04", ad_id))
    assert (row.impressions, row.clicks) == (80, sum(range(8)))
