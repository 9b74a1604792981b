"""Member levels API: ``GET /api/v1/points/level`` answers the signed-in
buyer's growth, level, the next level and the growth still needed, the
progress towards it, the benefits, and the whole ladder. The buyer comes
from the principal, never the request."""

from __future__ import annotations

from flask_login import current_user
from jishi.api.common import Blueprint, login_required
from marshmallow import Schema, fields

from jishi_points import levels

blp = Blueprint(
    "points_levels_api",
    __name__,
    url_prefix="/api/v1",
    description="Member growth levels (会员等级): the buyer's growth, level and the ladder.",
)


class LevelSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    threshold = fields.Integer(metadata={"description": "the growth that reaches this level"})
    discount_bp = fields.Integer(metadata={"description": "member discount off every price, basis points (500 = 5%)"})
    member_price = fields.Boolean(metadata={"description": "the products' member price applies"})
    points_percent = fields.Integer(metadata={"description": "points earned, percent of the usual (150 = 1.5×)"})


class MyLevelSchema(Schema):
    growth = fields.Integer(metadata={"description": "the buyer's growth value (成长值)"})
    level = fields.Nested(LevelSchema, allow_none=True, metadata={"description": "the level reached (its benefits)"})
    next = fields.Nested(LevelSchema, allow_none=True, metadata={"description": "the next level up, if any"})
    needed = fields.Integer(metadata={"description": "growth still needed for the next level (0 at the top)"})
    progress_bp = fields.Integer(metadata={"description": "progress from this level to the next, basis points"})
    ladder = fields.List(fields.Nested(LevelSchema), metadata={"description": "every level, lowest first"})


@blp.after_request
def _private(resp):
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


@blp.get("/points/level")
@login_required
@blp.response(200, MyLevelSchema)
def my_level():
    """The signed-in buyer's growth, level, next level and the ladder."""
    return levels.level_for(current_user.id)
