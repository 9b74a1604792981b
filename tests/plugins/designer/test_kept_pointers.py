"""Issue 20: a page's live pointers are kept with the request's settings
(``jishi_designer.service.pointers``): the storefront home does not read
them on every request, and every path that moves them drops them (publish,
schedule, rollback, cancel, the scheduled-publish job, deleting a page); a
scheduled moment passing needs no write; another process sees a change
once its settings' copy ages (``JISHI_SETTINGS_TTL``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from jishi import settings
from jishi.db import db, utcnow
from jishi.testing import count_queries
from jishi_designer import service
from jishi_designer.models import DesignPage

from .helpers import published

pytestmark = pytest.mark.usefixtures("app")


def served(client, path: str = "/") -> tuple[int, str, int]:
    """``path`` served: (status, HTML, statements reading ``design_pages``)."""
    with count_queries(db.engine) as q:
        response = client.get(path)
    reads = [s for s in q.statements if "FROM design_pages" in s]
    return response.status_code, response.get_data(as_text=True), len(reads)


def kept(client, path: str, text: str) -> None:
    """``path`` shows ``text`` now (the first request after a change reads
    the settings and the pointers, and keeps them), then from the kept
    pointers."""
    status, html, _reads = served(client, path)
    assert status == 200 and text in html, (path, text)
    status, html, reads = served(client, path)
    assert status == 200 and text in html, (path, text)
    assert reads == 0


def edit(page, text: str) -> None:
    page = db.session.get(DesignPage, page.id)
    service.update_block(page, page.draft[0]["id"], {"text": text})


def test_every_change_of_the_pointers_shows_on_the_next_request(client, monkeypatch):
    """Issue 20: publish, schedule (and its moment passing, with no write),
    the scheduled-publish job, cancel and rollback each show on the very
    next request, the pointers being kept in between."""
    page = published([("designer.notice", {"text": "一版"})])
    kept(client, "/", "一版")
    edit(page, "二版")  # a draft saved: the live page is unchanged
    kept(client, "/", "一版")

    service.schedule(db.session.get(DesignPage, page.id), utcnow() + timedelta(hours=1), None)
    kept(client, "/", "一版")
    later = utcnow() + timedelta(hours=2)
    monkeypatch.setattr(service, "utcnow", lambda: later)  # the moment passes: nothing is written
    status, html, reads = served(client)
    assert "二版" in html and reads == 0
    assert service.publish_scheduled() == "1 scheduled pages published"
    kept(client, "/", "二版")
    monkeypatch.undo()

    edit(page, "三版")
    service.schedule(db.session.get(DesignPage, page.id), utcnow() + timedelta(hours=1), None)
    kept(client, "/", "二版")
    service.cancel_schedule(db.session.get(DesignPage, page.id))
    monkeypatch.setattr(service, "utcnow", lambda: later)  # the cancelled moment: still the live page
    kept(client, "/", "二版")
    monkeypatch.undo()

    first = service.history(db.session.get(DesignPage, page.id))[-1]
    service.rollback(db.session.get(DesignPage, page.id), first.id, None)
    kept(client, "/", "一版")
    service.publish(db.session.get(DesignPage, page.id), None)
    kept(client, "/", "三版")


def test_a_deleted_page_is_gone_on_the_next_request(client):
    """Issue 20: a custom page deleted answers 404 at once (its kept
    pointers dropped), and one published later shows at once."""
    page = published([("designer.notice", {"text": "促销"})], slug="sale")
    kept(client, "/p/sale", "促销")
    service.delete_page(db.session.get(DesignPage, page.id))
    assert served(client, "/p/sale")[0] == 404
    assert client.get("/p/sale").status_code == 404
    published([("designer.notice", {"text": "再促销"})], slug="sale")
    kept(client, "/p/sale", "再促销")


def test_another_process_sees_a_change_once_its_settings_age(app, client, monkeypatch):
    """Issue 20: a publish made by another process (this one's settings copy
    not dropped by it) shows here once the copy is older than
    ``JISHI_SETTINGS_TTL``, as any saved setting does; never later."""
    now = [1000.0]
    monkeypatch.setattr(settings, "_clock", lambda: now[0])
    page = published([("designer.notice", {"text": "旧"})])
    kept(client, "/", "旧")
    edit(page, "新")
    with monkeypatch.context() as m:  # the commit's hook is the other process's, not ours
        m.setattr(settings.SettingsCache, "invalidate", lambda self: None)
        service.publish(db.session.get(DesignPage, page.id), None)
    assert "旧" in served(client)[1]  # kept (as the shop name in the header would be)
    now[0] += app.config["JISHI_SETTINGS_TTL"] + 0.1
    status, html, reads = served(client)
    assert "新" in html and reads == 1


def test_pointers_written_by_every_path_are_a_setting(client):
    """Issue 20: each change writes ``designer.pages_version`` (a new value),
    the settings change that drops the kept pointers everywhere."""
    page = published([("designer.notice", {"text": "一"})])
    first = settings.get(service.PAGES_VERSION)
    assert first
    service.schedule(db.session.get(DesignPage, page.id), utcnow() + timedelta(hours=1), None)
    second = settings.get(service.PAGES_VERSION)
    service.cancel_schedule(db.session.get(DesignPage, page.id))
    third = settings.get(service.PAGES_VERSION)
    assert len({first, second, third}) == 3
