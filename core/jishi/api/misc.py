"""Small endpoints: health check."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("misc", __name__, url_prefix="/api/v1", description="Health")


@blp.get("/ping")
def ping():
    """A trivial endpoint (the benchmarks' baseline): no database access."""
    return {"ok": True}
