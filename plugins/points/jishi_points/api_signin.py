"""Sign-in (签到) API, for the signed-in buyer (from the principal, never
the request):

- ``POST /api/v1/points/signin``: sign in for today (the shop's day). 201
  with ``created: true``, the points given and the streak the first time
  today; 200 with ``created: false`` and today's sign-in when already
  signed in (a double tap is no error: the answer shows the same day).
  409 ``signin_off`` while the platform has sign-in turned off.
- ``GET /api/v1/points/signin?month=YYYY-MM``: the calendar: the days of
  the month signed in (with their points and streak), today's state, the
  current streak and what today and tomorrow give.
"""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import Blueprint, login_required
from jishi.db import commit, rollback
from jishi.errors import DomainError
from marshmallow import Schema, fields, validate

from jishi_points import signin

blp = Blueprint(
    "points_signin_api",
    __name__,
    url_prefix="/api/v1",
    description="Points daily sign-in (签到): sign in once per shop day, the streak and the calendar.",
)


class MonthArgs(Schema):
    month = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^\d{4}-\d{2}$"),
        metadata={"description": "YYYY-MM (the shop's calendar); default this month"},
    )


class SigninDaySchema(Schema):
    day = fields.Date(metadata={"description": "the shop's calendar day"})
    points = fields.Integer()
    streak = fields.Integer(metadata={"description": "consecutive days signed in up to this one"})


class CalendarSchema(Schema):
    month = fields.String(attribute="month_key", metadata={"description": "YYYY-MM"})
    today = fields.Date(metadata={"description": "the shop's day today"})
    enabled = fields.Boolean(metadata={"description": "false while the platform has sign-in turned off"})
    signed_today = fields.Boolean()
    streak = fields.Integer(metadata={"description": "the current streak (0 after a missed day)"})
    today_points = fields.Integer(metadata={"description": "what today's sign-in gives (or gave)"})
    tomorrow_points = fields.Integer(metadata={"description": "what tomorrow's sign-in gives when the streak is kept"})
    days = fields.List(fields.Nested(SigninDaySchema), metadata={"description": "the month's sign-ins, by day"})


class SignedInSchema(Schema):
    created = fields.Boolean(metadata={"description": "true: signed in by this request; false: already today"})
    day = fields.Date()
    points = fields.Integer(metadata={"description": "the points today's sign-in gave"})
    streak = fields.Integer()
    tomorrow_points = fields.Integer()


@blp.after_request
def _private(resp):
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@blp.post("/points/signin")
@login_required
@blp.response(201, SignedInSchema, description="Signed in for today (the points are given).")
@blp.alt_response(200, schema=SignedInSchema, description="Already signed in today: nothing more is given.")
def sign_in():
    """Sign in for today: once per shop day (UNIQUE user and day)."""
    try:
        row, created = signin.sign_in(current_user.id)
    except DomainError:
        rollback()
        raise
    commit()
    body = {
        "created": created,
        "day": row.day,
        "points": row.points,
        "streak": row.streak,
        "tomorrow_points": signin.points_for(row.streak + 1),
    }
    return body, 201 if created else 200


@blp.get("/points/signin")
@login_required
@blp.arguments(MonthArgs, location="query")
@blp.response(200, CalendarSchema)
def calendar(args):
    """The signed-in buyer's sign-in calendar of a month and today's state."""
    year, month = signin.parse_month(args["month"])
    return signin.calendar(current_user.id, year, month)
