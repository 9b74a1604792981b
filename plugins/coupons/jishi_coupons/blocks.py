"""The coupon block (``coupons.coupons``), a block of the page designer
(``page_block_types``): coupons a buyer may claim now, claimed in place
(the claim form returns to the page). All coupon blocks of a page are read
in one statement (and one more for what a signed-in buyer already holds).
On a merchant's shop page only the merchant's own coupons show; picked ids
that can no longer be claimed are listed in ``skipped`` (``ended``).
"""

from __future__ import annotations

from collections.abc import Sequence

from jishi.db import utcnow
from jishi.hookspecs import BlockContext, BlockField, BlockType, PageBlock
from jishi.i18n import gettext as _

from jishi_coupons import service


def block_types() -> list[BlockType]:
    return [
        BlockType(
            "coupons.coupons",
            _("Coupons to claim"),
            (
                BlockField("title", _("Title"), max_length=20),
                BlockField("count", _("How many"), kind="int", min=1, max=20, default=3),
                BlockField("coupons", _("Coupon ids (empty: any claimable)"), kind="ids", max_items=20),
            ),
            resolve=resolve,
            template="coupons/blocks/coupons.html",
            icon="🎟",
            sort=220,
        )
    ]


def resolve(blocks: Sequence[PageBlock], context: BlockContext) -> list[dict]:
    now = context.now or utcnow()
    owner = context.seller_id if context.seller_id is not None else ...
    rows = service.claimable(now, seller_id=owner, limit=200)
    by_id = {t.id: t for t in rows}
    mine = service.claimed_counts(context.user, list(by_id)) if context.user is not None else {}
    out = []
    for block in blocks:
        ids = block.settings.get("coupons") or []
        picked = [by_id[i] for i in ids if i in by_id] if ids else rows[: block.settings.get("count") or 3]
        skipped = [{"id": i, "reason": "ended"} for i in ids if i not in by_id]
        items = [
            {
                "id": t.id,
                "name": t.name,
                "rule": service.describe(t),
                "seller_id": t.seller_id,
                "ends_at": t.ends_at.isoformat() + "Z",
                "per_user_limit": t.per_user_limit,
                "claimed": mine.get(t.id, 0),
            }
            for t in picked
        ]
        out.append({"items": items, "skipped": skipped})
    return out
