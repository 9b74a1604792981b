"""The plugin's blueprints.

- ``web``: seller console pages at ``/seller/virtual/...`` (a product's
  delivery, its card codes, a retried delivery).
- ``api``: ``/api/v1/orders/<id>/virtual`` (the buyer's delivery) and
  ``/api/v1/seller/virtual/orders/<id>`` (the seller's view of it).
"""

from __future__ import annotations

from flask import Blueprint
from jishi.api.common import Blueprint as ApiBlueprint

web = Blueprint("virtual", __name__)
api = ApiBlueprint(
    "virtual_api",
    __name__,
    url_prefix="/api/v1",
    description="Virtual goods (虚拟商品): card codes or a link handed over on payment.",
)
