"""The coupons demo (``jishi demo``): a live platform coupon 满100减10 and a
9折 one, a merchant coupon of the first open multistore merchant (if any), a
platform 满减 activity (满200减15 / 满400减40); the demo buyer has claimed
满100减10 (after the other plugins' demo orders, so it is unused)."""

from __future__ import annotations

from datetime import timedelta

from jishi.db import utcnow

from jishi_coupons import service


def demo_data(data: dict) -> str:
    now = utcnow()
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=60)}
    admin = data.get("admin")
    platform = service.create_template(
        None,
        {
            "name": "满100减10",
            "kind": "fixed",
            "threshold": 10000,
            "amount": 1000,
            "scope": "all",
            "total_quantity": 1000,
            "per_user_limit": 1,
            **window,
        },
        admin,
    )
    service.create_template(
        None,
        {
            "name": "9折券 最高减20元",
            "kind": "percent",
            "percent_off": 1000,
            "max_discount": 2000,
            "threshold": 0,
            "scope": "all",
            "valid_days": 7,
            "total_quantity": 500,
            "per_user_limit": 2,
            **window,
        },
        admin,
    )
    service.create_activity(
        None, {"name": "满200减15", "tiers": [[20000, 1500], [40000, 4000]], "scope": "all", **window}, admin
    )
    made = ["2 platform coupons", "1 activity"]
    merchants = [
        m
        for m in (data.get("merchants") or {}).values()
        if getattr(m, "review_status", "approved") == "approved"
        and getattr(m, "status", "open") == "open"
        and getattr(m, "deleted_at", None) is None
    ]
    if merchants:
        m = merchants[0]
        service.create_template(
            m.id,
            {
                "name": f"{m.name} 满50减5",
                "kind": "fixed",
                "threshold": 5000,
                "amount": 500,
                "scope": "all",
                "total_quantity": 200,
                "per_user_limit": 1,
                **window,
            },
            None,
        )
        made.append(f"a coupon of {m.name}")
    data["coupons_demo_template"] = platform.id
    return ", ".join(made)


def demo_orders(data: dict) -> str | None:
    """After every plugin's demo orders (so they are placed as without the
    plugin): the demo buyer claims 满100减10 and finds it under my coupons."""
    buyer, tid = data.get("buyer"), data.get("coupons_demo_template")
    if buyer is None or tid is None:
        return None
    service.claim(buyer, tid)
    return "the demo buyer holds 满100减10"
