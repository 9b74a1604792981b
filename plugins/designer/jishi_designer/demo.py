"""Demo data: the demo's home page, designed and published: a search bar,
a banner of two pictures drawn into the platform's media library, a
navigation grid (categories and the enabled plugins' entrances), a
promotion slot ``home-ads`` with two entries (demo media pictures linking to
a product and to the search page) shown by an ad-slot block, the other
plugins' blocks that are enabled (a flash-sale strip...) and two product
lists (hand-picked and newest)."""

from __future__ import annotations

from jishi.db import commit
from jishi.errors import DomainError

from jishi_designer import service


def demo_data(data: dict) -> str | None:
    from jishi.demo import picture

    products = [p for p in data.get("products") or [] if p.on_shelf]
    if not products:
        return None
    page = service.home_page()
    if page.published_revision_id:
        return None
    slides = [
        {"image": picture("春季上新", None, motif="bag", caption="NEW"), "title": "春季上新", "link": None},
        {"image": picture("限时特惠", None, motif="fruit", caption="SALE"), "title": "限时特惠", "link": None},
    ]
    categories = list((data.get("categories") or {}).values())
    tops = [c for c in categories if c.parent_id is None][:6]
    icons = [
        {
            "label": c.name[:10],
            "image": c.image or _category_picture(c, categories, products),
            "link": {"kind": "category", "value": str(c.id)},
        }
        for c in tops
    ]
    # the storefront's own home entrances, in their order (秒杀 first)
    from jishi_designer.links import entrances

    home = sorted(
        (link for link in entrances() if "home" in link.places), key=lambda link: (link.sort, str(link.label))
    )
    for link in home[:4]:
        icons.append({"label": str(link.label)[:10], "image": "", "link": {"kind": "activity", "value": link.endpoint}})
    slides[0]["link"] = {"kind": "product", "value": str(products[0].id)}
    slot_code = _demo_slot(products, picture)
    plan: list[tuple[str, dict]] = [
        ("designer.search", {"placeholder": "搜索商品"}),
        ("designer.banner", {"slides": slides, "interval": 5}),
        ("designer.nav", {"icons": icons[:10], "columns": "5"}),
        ("designer.notice", {"text": "新人下单立享优惠，满 99 元包邮", "color": "#fff7e6"}),
        ("designer.ad_slot", {"slot": slot_code, "title": "热门推荐", "style": "list", "count": 4}),
    ]
    types = service.block_types()
    for code in sorted(types):
        if not code.startswith("designer."):
            # another plugin's block (flash-sale strip, coupons...) with its defaults
            plan.append((code, {}))
    plan += [
        (
            "designer.products",
            {"title": "精选好物", "mode": "hand", "products": [p.id for p in products[:4]], "style": "grid2"},
        ),
        ("designer.products", {"title": "新品上架", "mode": "rule", "sort": "newest", "count": 6, "style": "grid3"}),
    ]
    for code, settings in plan:
        if code not in types:
            continue
        block = service.add_block(page, code)
        merged = {**(block.get("settings") or {}), **settings}
        try:
            service.update_block(page, block["id"], merged)
        except DomainError:  # a plugin block whose defaults need more: leave it out
            from jishi.db import rollback

            rollback()
            db_page = service.owned_page(page.id, None)
            assert db_page is not None
            service.remove_block(db_page, block["id"])
    service.publish(page, data.get("admin"))
    commit()
    return f"a designed home page ({len(page.draft or [])} blocks)"


def _category_picture(top, categories, products) -> str:
    """A top category's icon in the demo's navigation: the picture of its
    first product with one (in it or one of its sub categories), so the
    demo draws nothing more; "" when it has none (the block then shows the
    label's first character)."""
    ids = {top.id} | {c.id for c in categories if c.parent_id == top.id}
    return next((p.image for p in products if p.category_id in ids and p.image), "")


def _demo_slot(products, picture) -> str:
    """The demo's promotion slot ``home-ads``: two ads with pictures of the
    platform's media library (one to the first product, one to a search)."""
    from jishi.db import db
    from sqlalchemy import select

    from jishi_designer import promo
    from jishi_designer.models import PromoSlot

    code = "home-ads"
    slot = db.session.scalar(select(PromoSlot).where(PromoSlot.code == code))
    if slot is None:
        slot = promo.create_slot(code, "首页推荐位")
        promo.add_entry(
            slot,
            {
                "title": "今日爆款",
                "image": picture("今日爆款", None, motif="fruit", caption="HOT"),
                "link": {"kind": "product", "value": str(products[0].id)},
                "sort": 1,
            },
        )
        promo.add_entry(
            slot,
            {
                "title": "好茶专区",
                "image": picture("好茶专区", None, motif="packet", caption="TEA"),
                "link": {"kind": "url", "value": "/search?q=茶"},
                "sort": 2,
            },
        )
        commit()
    return code
