"""A merchant's own after-sales desk (refund and return requests of its
orders), on the kernel's after-sales service.

The merchant is always the signed-in principal's; another merchant's request
is "not found". Approving, rejecting and confirming a return go through
:mod:`jishi.aftersales.service`, so the money, the stock, the recorded
allocations and this plugin's ledger (``settle_refund`` → ``ledger.settle_refund``)
move exactly as when the platform decides. The platform keeps its own pages
and may still act on any request.
"""

from __future__ import annotations

from jishi.aftersales import service as kernel
from jishi.aftersales.models import Refund
from jishi.errors import DomainError
from jishi.i18n import gettext as _

STATUSES = kernel.STATUSES
ACTIONS = ("approve", "reject", "confirm-returned")


class RefundNotFound(DomainError):
    def __init__(self):
        super().__init__(
            "refund_id", _("Not found: %(what)s", what=_("after-sales request")), code="not_found", status=404
        )


def merchant_refund(merchant_id: int, refund_id: int) -> Refund:
    """The merchant's request, or 404."""
    refund = kernel.seller_refund(merchant_id, refund_id)
    if refund is None:
        raise RefundNotFound()
    return refund


def list_refunds(merchant_id: int, status: str | None = None, cursor: int | None = None, limit: int = 30):
    return kernel.list_refunds(
        seller_id=merchant_id, status=status if status in STATUSES else None, cursor=cursor, limit=limit
    )


def act(refund: Refund, action: str, *, actor, text: str = "") -> Refund:
    """One decision on the request (commits, or writes nothing)."""
    if action == "approve":
        return kernel.approve(refund, actor, (text or "").strip()[:200])
    if action == "reject":
        return kernel.reject(refund, actor, text)
    if action == "confirm-returned":
        if refund.kind != "return_refund":
            raise kernel.AfterSalesError(
                "kind", _("Nothing is sent back for a refund-only request."), status=409, code="conflict"
            )
        return kernel.confirm_returned(refund, actor, (text or "").strip()[:200])
    raise DomainError("action", _("Unknown action."), code="invalid", status=422)
