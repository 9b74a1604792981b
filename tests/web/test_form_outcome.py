"""The web views' shared form handling: a DomainError rolls back and is
flashed; success commits and flashes the message (K15 web side)."""

from flask import get_flashed_messages
from jishi.catalog.models import Category
from jishi.db import db
from jishi.errors import DomainError
from jishi.web.common import form_outcome


def test_error_rolls_back_and_flashes(app):
    with app.test_request_context("/"):
        with form_outcome("Done."):
            db.session.add(Category(name="临时", path="/"))
            db.session.flush()
            raise DomainError("name", "名称重复")
        assert db.session.execute(db.select(Category)).first() is None
        assert get_flashed_messages(with_categories=True) == [("error", "名称重复")]


def test_success_commits_and_flashes_callable_message(app):
    with app.test_request_context("/"):
        made = {}
        with form_outcome(lambda: f"saved {made['c'].name}"):
            made["c"] = Category(name="茶", path="/")
            db.session.add(made["c"])
        db.session.rollback()  # nothing pending: the block committed
        assert db.session.execute(db.select(Category.name)).scalar_one() == "茶"
        assert get_flashed_messages(with_categories=True) == [("success", "saved 茶")]
