"""Default delivery: the shop's flat-rate delivery with a free threshold, and
"no delivery needed" for virtual goods; how an order no delivery plugin
claims is fulfilled (``order_fulfilment``). The flat rate steps aside when a
delivery plugin is enabled (``JISHI_DEFAULT_DELIVERY = "auto"``, the
default), or by ``JISHI_DEFAULT_DELIVERY = False``."""

from __future__ import annotations

from jishi import settings
from jishi.flaskctx import current_app_object
from jishi.hookspecs import DeliveryOption, Fulfilment, hookimpl
from jishi.i18n import gettext as _


@hookimpl(tryfirst=True)  # listed, and so preselected, before plugins' ways
def delivery_options(group, address, checkout):
    if all(line.is_virtual for line in group.lines):
        return [DeliveryOption(code="virtual", label=_("No delivery needed"), fee=0, needs_address=False)]
    if not current_app_object().extensions["jishi"].default_delivery:
        return None
    fee = int(settings.get("delivery.flat_fee", 1000))
    free_over = int(settings.get("delivery.free_over", 9900))
    if free_over and group.goods_amount >= free_over:
        fee = 0
    return [DeliveryOption(code="standard", label=_("Standard delivery"), fee=fee)]


@hookimpl(trylast=True)  # a delivery plugin answers for its own orders first
def order_fulfilment(order):
    """Virtual goods (or no address): shipped with nothing to track; any
    other order: a parcel with a carrier and a tracking number."""
    if order.is_virtual or order.address is None:
        return Fulfilment("plain", order.delivery_label or _("No delivery needed"))
    return Fulfilment("parcel", order.delivery_label or _("Standard delivery"))
