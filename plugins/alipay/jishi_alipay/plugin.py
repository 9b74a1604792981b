"""The Alipay plugin object (entry point ``alipay``).

Hooks: ``payment_gateways`` (:class:`jishi_alipay.gateway.AlipayGateway`),
``blueprints`` (the platform console's Alipay page), ``console_menu_items``,
``app_ready`` (the demo's fake Alipay, :mod:`jishi_alipay.demo`).
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


@hookimpl
def app_ready(app):
    """The demo (or ``JISHI_ALIPAY_FAKE``): a local fake Alipay, test mode."""
    from jishi_alipay import demo

    if demo.wanted(app):
        demo.point_at_fake(app)
