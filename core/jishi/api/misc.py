"""Small endpoints: health check."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

blp = Blueprint("misc", __name__, url_prefix="/api/v1", description="Health")


class PingSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "always true: the app answers"})


@blp.get("/ping")
@blp.response(200, PingSchema)
def ping():
    """A trivial endpoint (the benchmarks' baseline): no database access."""
    return {"ok": True}
