"""The multistore plugin module (entry point ``multistore``).

Each area module implements its hooks as ``@hookimpl`` functions named after
the hook, next to their logic; ``modules`` below declares them, and the
kernel registers each as ``multistore.<area>``:

- :mod:`.onboarding`  application rules, applications, review (MS2, MS3)
- :mod:`.merchants`   management, states, shop profile, shop list, announcements (MS4–MS6, MS13, MS15)
- :mod:`.products`    merchant products, product review, listing, comments (MS7, MS14)
- :mod:`.orders`      cross-store split, checkout checks, merchant orders (MS8–MS10)
- :mod:`.finance`     commission, ledger, withdrawals, merchant data (MS11, MS12, MS16)
- :mod:`.sharing`     profit sharing (分账) through the payment gateways (issue 14)
- :mod:`.blocks`      the page designer's merchant list block (seed 001 §2.6, issue 18)
- :mod:`.demo`        the mall's demo data for ``jishi demo``

An area's pages and API live in ``<area>_views.py`` and ``<area>_api.py``,
registered on the shared blueprints of :mod:`.blueprints` when imported here.
"""

from __future__ import annotations

from jishi.hookspecs import hookimpl

from jishi_multistore import blueprints as bps
from jishi_multistore import models  # noqa: F401 - the plugin's tables

# Importing an area's pages and API registers them on the shared blueprints,
# in area order (the order of the URL map and the OpenAPI document).
# isort: off
from jishi_multistore import onboarding_views, onboarding_api  # noqa: F401
from jishi_multistore import merchants_views, merchants_api  # noqa: F401
from jishi_multistore import products_views, products_api  # noqa: F401
from jishi_multistore import orders_views, orders_api  # noqa: F401
from jishi_multistore import aftersales_views, aftersales_api  # noqa: F401
from jishi_multistore import finance_views, finance_api  # noqa: F401
from jishi_multistore import sharing_views, sharing_api  # noqa: F401
# isort: on

requires = ()
modules = ("onboarding", "merchants", "products", "orders", "finance", "sharing", "home", "blocks", "demo")


@hookimpl
def blueprints():
    return [bps.shop, bps.merchant, bps.admin]


@hookimpl
def api_blueprints():
    return [bps.api]


@hookimpl
def app_ready(app):
    from jishi_multistore import merchants, ratings
    from jishi_multistore.principal import current_principal

    app.jinja_env.globals["ms_principal"] = current_principal
    app.jinja_env.globals["ms_rating"] = merchants.rating_text
    ratings.connect()
