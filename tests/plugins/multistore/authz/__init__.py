"""Rows of the multistore authorization matrix (MS17).

Every route the plugin adds has at least one :class:`Row` in one of the area
files here (``onboarding.py``, ``merchants.py``, ``products.py``,
``orders.py``, ``finance.py``); ``test_authz_matrix.py`` fails for a route
without one. Each row is tried as {anonymous, buyer, clerk of M1, admin of M1,
admin of M2, platform admin} × {M1's object, M2's object}.

``access`` says who may use the route:

- ``"public"``: everyone, signed in or not.
- ``"signed_in"``: any signed-in user.
- ``"merchant"``: staff (admin or clerk) of the object's merchant.
- ``"merchant:<permission>"``: staff of the object's merchant holding that
  permission (see ``jishi_multistore.principal.PERMISSIONS``; clerks hold
  ``orders``, ``aftersales`` and ``comments``).
- ``"platform"``: platform staff and admins.

``obj`` names the object substituted for ``{obj}`` in ``path``: one of
``merchant``, ``product``, ``pending_product``, ``order``, ``refund``, ``review``,
``withdrawal``, ``member`` (the clerk's membership), ``application_field``,
``announcement`` (platform-wide: "own/other" are just two of them) — or None for a route
without an object (then "own/other" does not apply).

A denied call must answer 401, 403 or 404 (a web page may redirect an
anonymous visitor to the login page), never data; an allowed one anything
but those (a 409 for a second shipment is fine) and never a 5xx.
"""

from __future__ import annotations

from jishi.testing.authz import Row

__all__ = ["Row"]
