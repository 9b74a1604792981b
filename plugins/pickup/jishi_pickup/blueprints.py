"""The plugin's blueprints.

- ``web``: seller console pages at ``/seller/pickup/...`` (points, the
  verification page) and the buyer's QR image ``/orders/<id>/pickup/qr.svg``.
- ``api``: ``/api/v1/seller/pickup/...`` (points, verify) and
  ``/api/v1/orders/<id>/pickup`` (the buyer's code).
"""

from __future__ import annotations

from flask import Blueprint
from jishi.api.common import Blueprint as ApiBlueprint

web = Blueprint("pickup", __name__)
api = ApiBlueprint(
    "pickup_api",
    __name__,
    url_prefix="/api/v1",
    description="Pickup at the store (到店自提): pickup points, pickup codes, verification.",
)
