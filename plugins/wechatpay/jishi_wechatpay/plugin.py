"""The wechatpay plugin object (entry point ``wechatpay``).

- :mod:`.gateway` the :class:`~jishi.gateways.PaymentGateway` for WeChat Pay API v3
- :mod:`.client`  signed calls to the API, verified answers
- :mod:`.crypto`  the v3 signatures, AEAD resources, RSA-OAEP fields
- :mod:`.config`  settings and config keys
- :mod:`.views`   the platform console's keys page (secrets masked)
- :mod:`.fake`    a local fake of the API (tests, demo)
- :mod:`.demo`    ``jishi demo``: WeChat Pay in test mode against a fake
"""

from __future__ import annotations

from jishi.hookspecs import MenuItem, SettingField, SettingsPanel, hookimpl

requires = ()


@hookimpl
def config_defaults():
    from jishi_wechatpay.config import CONFIG_DEFAULTS

    return dict(CONFIG_DEFAULTS)


@hookimpl
def payment_gateways():
    from jishi_wechatpay.gateway import WechatPay

    return [WechatPay()]


@hookimpl
def blueprints():
    from jishi_wechatpay import views

    return [views.admin]


@hookimpl
def settings_panels():
    from jishi.i18n import gettext as _

    from jishi_wechatpay import config

    return [
        SettingsPanel(
            key="wechatpay",
            title=_("WeChat Pay"),
            sort=40,
            fields=(
                SettingField(
                    config.ENABLED,
                    _("Offer WeChat Pay"),
                    "bool",
                    False,
                    help=_("Offered only once the keys are set too (WeChat Pay keys page)."),
                ),
                SettingField(config.MCHID, _("Merchant ID (mchid)"), "text", ""),
                SettingField(
                    config.SERIAL_NO,
                    _("Merchant API certificate serial number"),
                    "text",
                    "",
                    help=_("The serial number of the merchant API certificate whose private key signs requests."),
                ),
                SettingField(
                    config.APPID,
                    _("Official account / website AppID"),
                    "text",
                    "",
                    help=_("Used for JSAPI (inside WeChat), Native (QR code) and H5 payments."),
                ),
                SettingField(config.MINI_APPID, _("Mini-program AppID"), "text", ""),
                SettingField(
                    config.VERIFY_MODE,
                    _("How WeChat Pay's signatures are verified"),
                    "choice",
                    "public_key",
                    choices=(
                        ("public_key", _("WeChat Pay public key (new merchants)")),
                        ("certificate", _("Platform certificate")),
                    ),
                ),
                SettingField(
                    config.PLATFORM_KEY_ID,
                    _("Public key ID or platform certificate serial number"),
                    "text",
                    "",
                    help=_("PUB_KEY_ID_... for the public key; the certificate's serial number otherwise."),
                ),
                SettingField(
                    config.PROFIT_SHARING,
                    _("Mark WeChat Pay payments for profit sharing (分账)"),
                    "bool",
                    False,
                ),
            ),
        )
    ]


@hookimpl
def console_menu_items(console, principal):
    from jishi.i18n import gettext as _

    return [
        MenuItem(
            _("WeChat Pay keys"),
            "wechatpay_admin.keys",
            console="platform",
            icon="💳",
            sort=64,
            permission="platform_admin",
            group="settings",
        )
    ]


@hookimpl
def demo_data(data):
    from jishi_wechatpay import demo

    return demo.demo_data(data)
