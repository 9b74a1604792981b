"""The Alipay plugin object (entry point ``alipay``).

Hooks: ``payment_gateways`` (:class:`jishi_alipay.gateway.AlipayGateway`),
``blueprints`` (the platform console's Alipay page), ``console_menu_items``.
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, hookimpl

from jishi_alipay.gateway import AlipayGateway
from jishi_alipay.views import admin

requires = ()


@hookimpl
def payment_gateways():
    return [AlipayGateway()]


@hookimpl
def blueprints():
    return [admin]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    return [
        MenuItem(
            _("Alipay"),
            "alipay_admin.settings",
            console="platform",
            icon="支",
            sort=70,
            permission="platform_admin",
            group="settings",
        )
    ]
