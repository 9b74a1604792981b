"""The plugin's blueprints; each area module adds its views to them.

- ``shop``: storefront pages (apply, merchant list, shop page) at ``/``.
- ``merchant``: the merchant console at ``/merchant`` (see :mod:`.principal`).
- ``admin``: the platform's multistore pages at ``/console/multistore``
  (platform staff, like the kernel's console).
- ``api``: JSON API under ``/api/v1`` (buyer ``/shops``, ``/merchant/...``
  for merchant staff, ``/admin/multistore/...`` for the platform).
"""

from __future__ import annotations

from flask import Blueprint
from jishi.access import guard_platform
from jishi.api.common import Blueprint as ApiBlueprint

shop = Blueprint("multistore", __name__)
merchant = Blueprint("merchant", __name__, url_prefix="/merchant")
admin = Blueprint("multistore_admin", __name__, url_prefix="/console/multistore")
api = ApiBlueprint(
    "multistore_api",
    __name__,
    url_prefix="/api/v1",
    description="Multi-merchant mall (多商户): shops, merchant console, platform management.",
)


# Each page asks for its permission (jishi.access.requires): merchants,
# money, commission, products, orders, comments.
guard_platform(admin)
