"""Default payment methods: the sandbox gateway and cash on delivery."""

from __future__ import annotations

from jishi import settings
from jishi.hookspecs import PaymentMethod, hookimpl
from jishi.i18n import lazy_gettext as _l


@hookimpl
def payment_methods():
    from jishi.payments import service

    methods = [
        PaymentMethod(
            code="sandbox", label=_l("Online payment (sandbox)"), start=service.start_sandbox, online=True, sort=10
        )
    ]
    methods.append(
        PaymentMethod(code="cod", label=_l("Cash on delivery"), start=_cod_if_enabled, online=False, sort=90)
    )
    return methods


def _cod_if_enabled(payment):
    from jishi.i18n import gettext as _
    from jishi.payments import service

    if not settings.get("payment.cod_enabled", True):
        raise service.PaymentError(_("Cash on delivery is turned off."), field="method")
    return service.start_cod(payment)
