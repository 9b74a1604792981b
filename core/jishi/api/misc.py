"""Small endpoints: the API's liveness answer."""

from __future__ import annotations

from marshmallow import Schema, fields

from jishi.api.common import Blueprint

blp = Blueprint("misc", __name__, url_prefix="/api/v1", description="Health")


class PingSchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "always true: the process answers"})


@blp.get("/ping")
@blp.response(200, PingSchema)
def ping():
    """Liveness: 200 while the process serves requests; it touches no
    database (the benchmarks' baseline). Readiness (the database, Redis)
    is ``GET /readyz``, outside the API (docs/operations.md#health)."""
    return {"ok": True}
