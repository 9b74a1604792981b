"""The mall's demo data for ``jishi demo`` (``demo_data`` hook).

Built through the plugin's own services, so the demo walks the real paths:
members apply and are approved, merchants add products that the platform
approves, a buyer checks out across two shops and pays (once, or per shop in the
per-store payment mode), one merchant
ships and completes its order (its money becomes withdrawable) and asks for
a withdrawal. Merchants end in every business state, plus one application
waiting for review.
"""

from __future__ import annotations

from flask import current_app
from jishi import demo, settings
from jishi.db import commit, db
from jishi.hookspecs import hookimpl
from jishi.money import format_fen
from jishi.testing import factories

from jishi_multistore import merchants, onboarding, products, withdrawals
from jishi_multistore.models import CLOSED_TODAY, OPEN, RESTING, SHUT, MerchantMember

PASSWORD = "demo1234"

# name, owner phone, category name in the kernel demo, state, stars, lat, lng,
# avg spend (fen), [(product, price fen, stock)]
SHOPS = [
    (
        "鲜果多多",
        "13800000010",
        "时令水果",
        OPEN,
        5,
        30.2741,
        120.1551,
        3500,
        [("丹东草莓 3斤装", 8990, 80), ("阳光玫瑰葡萄 2斤", 5990, 60), ("四川耙耙柑 5斤", 4590, 100)],
    ),
    (
        "零食小铺",
        "13800000011",
        "休闲零食",
        OPEN,
        4,
        30.2592,
        120.1303,
        2500,
        [("原味猪肉脯 200g", 2990, 120), ("蜂蜜黄油薯片", 1290, 200)],
    ),
    ("数码优选", "13800000012", "手机配件", RESTING, 5, 30.2873, 120.1618, 9900, [("蓝牙降噪耳机", 29900, 30)]),
    (
        "老街茶馆",
        "13800000013",
        "休闲零食",
        CLOSED_TODAY,
        5,
        30.2455,
        120.1697,
        6800,
        [("西湖龙井 明前 50g", 12800, 40)],
    ),
    ("旧货铺", "13800000014", "生活电器", SHUT, 3, 30.3011, 120.1102, 5000, [("复古收音机", 19900, 5)]),
]
APPLICANT = ("13800000015", "花艺工坊")
CLERK = "13800000016"


@hookimpl(tryfirst=True)  # merchants first: other plugins' demo data set them up
def demo_data(data: dict) -> str:
    admin = data["admin"]
    categories = data["categories"]
    from jishi_multistore import ledger

    settings.set_many({ledger.COMMISSION_SETTING: 500})  # the platform keeps 5%
    commit()
    made = []
    for name, phone, category, status, stars, lat, lng, avg, items in SHOPS:
        owner = factories.user(phone=phone, password=PASSWORD, name=f"{name}店主")
        shop = onboarding.apply(owner, {"name": name, "category": category, "agree": True})
        commit()
        if shop.review_status != "approved":
            onboarding.approve(shop, admin)
        logo = demo.picture(name, shop.id, motif="sign", caption=f"SHOP {len(made) + 1}")
        merchants.update_profile(
            shop,
            {
                "logo": logo,
                "images": [logo],
                "intro": f"{name}:杭州本地好店。",
                "address": "浙江省杭州市西湖区",
                "lat": lat,
                "lng": lng,
                "avg_spend": avg,
                "service_phone": phone,
                "announcement": "新店开业,全场包邮。",
            },
        )
        for product_name, price, stock in items:
            product = products.create_product(
                shop,
                {
                    "name": product_name,
                    "category_id": categories[category].id,
                    "skus": [{"price": price, "stock": stock}],
                    "description": f"<p>{product_name}</p>",
                },
            )
            caption = f"SHOP {len(made) + 1}  {format_fen(price)}"
            url = demo.picture(product_name, shop.id, motif=demo.motif_for(product_name, category), caption=caption)
            demo.show_pictures(product, [url])
            if products.state_of(product).review_status != "approved":
                products.approve(product)
        merchants.set_state(shop, status=OPEN, stars=stars)
        made.append((shop, status))
    commit()

    fruit = made[0][0]
    clerk = factories.user(phone=CLERK, password=PASSWORD, name="鲜果多多店员")
    db.session.add(MerchantMember(merchant_id=fruit.id, user_id=clerk.id, role="clerk"))
    commit()
    # Other plugins' demo data set these shops up (delivery, coupons...);
    # their business states are set after the demo orders (demo_orders).
    data["merchants"] = {shop.name: shop for shop, _status in made}
    data["multistore_states"] = [(shop.id, status) for shop, status in made]
    applicant = factories.user(phone=APPLICANT[0], password=PASSWORD, name="花艺工坊店主")
    onboarding.set_rules(review=True)
    onboarding.apply(applicant, {"name": APPLICANT[1], "category": "鲜花", "agree": True})
    merchants.save_announcement(
        {"title": "双十二招商活动报名开始", "body": "参与活动的商户请在 12 月 5 日前联系平台运营。"}
    )
    commit()
    data["logins"].update(
        {
            "merchant (鲜果多多)": (SHOPS[0][1], PASSWORD),
            "merchant clerk (鲜果多多)": (CLERK, PASSWORD),
            "merchant (零食小铺)": (SHOPS[1][1], PASSWORD),
            "member with an application": (APPLICANT[0], PASSWORD),
        }
    )
    return f"{len(made)} merchants (open, resting, closed for the day, shut), 1 application"


@hookimpl
def demo_orders(data: dict) -> str:
    """Once every plugin has set up: the cross-store checkout, then the
    shops' business states (a resting, closed or shut shop could not sell)."""
    from jishi_multistore.models import Merchant

    shops = data["merchants"]
    settled = _cross_store_order(data, shops[SHOPS[0][0]], shops[SHOPS[1][0]])
    # 60 days of the shoppers buying at the two open shops (issue 19: the
    # merchants' data pages, the platform's income and statements).
    skus = [
        product.skus[0].id
        for shop in (shops[SHOPS[0][0]], shops[SHOPS[1][0]])
        for product, _state, _shop in products.list_products(merchant_id=shop.id)[0]
    ]
    placed, refunded = demo.past_orders(data.get("shoppers") or [], skus, key="demo-mall-history", seed=20)
    for shop_id, status in data["multistore_states"]:
        merchants.set_state(db.session.get(Merchant, shop_id), status=status)
    commit()
    past = f"; {placed} past orders at the shops, {refunded} refunded" if placed else ""
    return f"1 cross-store checkout, {settled} withdrawable{past}"


def _cross_store_order(data: dict, fruit, snacks) -> str:
    """The buyer buys from two shops at once and pays (once, or once per
    shop in the per-store payment mode); 鲜果多多 ships,
    the order completes and 鲜果多多 asks for a withdrawal."""
    from jishi.checkout.entry import place_order
    from jishi.demo import pay
    from jishi.money import format_fen
    from jishi.orders import state

    from jishi_multistore import ledger

    buyer, address = data["buyer"], data["address"]
    fruit_sku = products.list_products(merchant_id=fruit.id)[0][0][0].skus[0].id
    snack_sku = products.list_products(merchant_id=snacks.id)[0][0][0].skus[0].id
    with current_app.test_request_context("/"):
        # One payment for both shops (combined), or one per shop (per_order).
        payments = place_order(
            buyer, [(fruit_sku, 2), (snack_sku, 3)], address.id, {"messages": {}}, idempotency_key="demo-mall-1"
        )
        for payment in payments:
            pay(payment)
        order = next(o for payment in payments for o in payment.orders if o.seller_id == fruit.id)
        order = db.session.get(type(order), order.id)
        order.carrier, order.tracking_no = "顺丰速运", "SF1000200030"
        state.transition(order, "ship", actor_kind="seller", note="")
        state.transition(order, "receive", actor_kind="buyer")
        state.transition(order, "complete", actor_kind="system")
        commit()
    available = ledger.balance(fruit.id, ledger.AVAILABLE)
    if available >= 1000:
        owner = db.session.get(type(buyer), fruit.owner_id)
        withdrawals.request_withdrawal(
            fruit,
            owner,
            available // 2,
            method="alipay",
            account={"name": "鲜果多多", "account": "fruit@example.com"},
            agree=True,
        )
        commit()
    return format_fen(available)
