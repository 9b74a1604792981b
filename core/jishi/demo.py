"""Demo data for ``jishi demo``: a small grocery and gadget shop.

Two levels of categories, about twenty products with Chinese names (some
with specs and several SKUs, member prices, parameters and tags), a member
level, a platform admin, a buyer with an address, and a couple of orders:
one paid, one waiting for payment.

Every product gets a picture drawn at build time (:mod:`jishi.media.pictures`)
and stored in the platform's media library: no download, no network.

Public API for plugins (see docs/writing-plugins.md): :func:`pay`,
:func:`picture` and :func:`show_pictures`, for a plugin's ``demo_data`` hook.
"""

from __future__ import annotations

from sqlalchemy import func, select

from jishi.accounts.models import MemberLevel, User
from jishi.catalog.models import Category, Product, ProductImage, ProductParam, ProductSpec, Tag
from jishi.db import db
from jishi.money import format_fen

ADMIN = ("13800000000", "admin1234")
BUYER = ("13800000001", "demo1234")
DEMO_LOGINS = {"platform admin": ADMIN, "buyer": BUYER}  # plugins add theirs (demo_data hook)

# (top category, sub category, [(name, subtitle, price fen, stock, specs or None)])
CATALOG: list[tuple[str, str, list[tuple[str, str, int, int, dict[str, list[str]] | None]]]] = [
    (
        "生鲜水果",
        "时令水果",
        [
            ("云南高原蓝莓 125g×4盒", "果粉完整 酸甜多汁", 5990, 200, None),
            ("海南贵妃芒 5斤装", "香甜软糯 产地直发", 3990, 150, None),
            ("赣南脐橙", "果园现摘", 2990, 300, {"规格": ["5斤装", "10斤装"]}),
        ],
    ),
    (
        "生鲜水果",
        "新鲜蔬菜",
        [
            ("有机小番茄 500g", "沙瓤多汁", 1590, 120, None),
            ("山东大葱 2斤", "葱白长 香味足", 990, 80, None),
        ],
    ),
    (
        "粮油副食",
        "米面粮油",
        [
            ("五常大米 5kg", "稻花香2号 当季新米", 6990, 100, None),
            ("压榨花生油 5L", "一级压榨 浓香型", 8990, 60, None),
            ("手工挂面", "鸡蛋面 细圆", 1290, 200, {"口味": ["原味", "鸡蛋", "菠菜"]}),
        ],
    ),
    (
        "粮油副食",
        "休闲零食",
        [
            ("每日坚果 30袋", "7种坚果果干", 9990, 90, None),
            ("麻辣牛肉干 200g", "四川风味", 3590, 150, {"口味": ["麻辣", "五香"]}),
            ("手工芝麻糖", "老字号 传统工艺", 1990, 70, None),
        ],
    ),
    (
        "数码家电",
        "手机配件",
        [
            ("氮化镓快充充电器 65W", "三口快充 折叠插脚", 12900, 50, {"颜色": ["白色", "黑色"]}),
            ("磁吸无线充电宝 10000mAh", "轻薄便携", 14900, 40, None),
            ("编织数据线 1.5m", "Type-C 耐折", 2900, 300, {"长度": ["1m", "1.5m", "2m"]}),
        ],
    ),
    (
        "数码家电",
        "生活电器",
        [
            ("便携榨汁杯", "无线充电 350ml", 9900, 60, {"颜色": ["粉色", "绿色"]}),
            ("电热水壶 1.7L", "304不锈钢 自动断电", 8900, 45, None),
            ("迷你加湿器", "静音 夜灯", 5900, 0, None),
        ],
    ),
    (
        "服饰鞋包",
        "男装",
        [
            ("纯棉圆领T恤", "精梳棉 不易变形", 6900, 100, {"颜色": ["白色", "黑色"], "尺码": ["M", "L", "XL"]}),
        ],
    ),
    (
        "服饰鞋包",
        "女装",
        [
            ("针织开衫", "软糯亲肤", 15900, 40, {"颜色": ["米白", "雾蓝"], "尺码": ["S", "M", "L"]}),
            ("帆布托特包", "大容量 通勤", 7900, 80, None),
        ],
    ),
]


#: the object drawn on a demo product's picture, by sub category (jishi.media.pictures.MOTIFS)
MOTIF_OF_CATEGORY = {
    "时令水果": "fruit",
    "新鲜蔬菜": "fruit",
    "米面粮油": "bag",
    "休闲零食": "packet",
    "手机配件": "device",
    "生活电器": "bottle",
    "男装": "shirt",
    "女装": "shirt",
}


def motif_for(name: str, category: str = "") -> str:
    """The picture motif of a demo product: by its name's words, else its category."""
    for word, motif in (("油", "bottle"), ("壶", "bottle"), ("杯", "bottle"), ("包", "bag"), ("茶", "packet")):
        if word in name:
            return motif
    return MOTIF_OF_CATEGORY.get(category, "packet")


def picture(name: str, seller_id: int | None, *, motif: str = "packet", caption: str = "") -> str:
    """Draw a demo picture for ``name`` (a product or a shop), store it in
    ``seller_id``'s media library (None: the platform's) and answer its
    large image's address. ``caption`` is drawn instead of the name where no
    CJK font is installed."""
    from jishi import media
    from jishi.media.pictures import picture as draw

    data = draw(name, motif=motif, caption=caption or "JISHI")
    asset = media.upload(data, media.owner_of(seller_id), filename=f"{name}.png")
    return media.asset_url(asset, "large")


def show_pictures(product: Product, urls: list[str]) -> None:
    """Set a demo product's images (the first is its main image); commits."""
    product.images = [ProductImage(url=u, sort=i) for i, u in enumerate(urls)]
    product.image = urls[0] if urls else ""
    db.session.commit()


def _skus(price: int, stock: int, specs: dict | None) -> list[dict]:
    if not specs:
        return [{"price": price, "stock": stock, "member_price": price * 95 // 100, "original_price": price * 12 // 10}]
    combos: list[dict] = [{}]
    for name, values in specs.items():
        combos = [{**c, name: v} for c in combos for v in values]
    out = []
    for i, combo in enumerate(combos):
        p = price + 500 * i
        out.append(
            {
                "spec_values": combo,
                "price": p,
                "stock": stock,
                "member_price": p * 95 // 100,
                "original_price": p * 12 // 10,
                "code": f"D{i + 1:03d}",
            }
        )
    return out


def load_demo(logins: dict | None = None) -> str:
    """Fill an empty database; returns a one-line summary. ``logins``, when
    given, receives every demo account (role -> (phone, password)),
    plugins' included."""
    from jishi.testing import factories

    if db.session.execute(select(func.count(User.id))).scalar():
        raise RuntimeError("the demo data goes into an empty database")
    level = MemberLevel(name="黄金会员", rank=2)
    db.session.add(level)
    db.session.commit()
    factories.user(phone=ADMIN[0], password=ADMIN[1], role="platform_admin", name="平台管理员")
    buyer = factories.user(phone=BUYER[0], password=BUYER[1], name="演示买家", member_level_id=level.id)
    address = factories.address(buyer, name="李四", phone=BUYER[0])

    tags = {name: Tag(name=name) for name in ("新品", "热卖", "包邮")}
    db.session.add_all(tags.values())
    db.session.commit()

    tops: dict = {}
    products = []
    for n, (top_name, sub_name, items) in enumerate(CATALOG):
        if top_name not in tops:
            tops[top_name] = factories.category(top_name)
        sub = factories.category(sub_name, parent=tops[top_name])
        for i, (name, subtitle, price, stock, specs) in enumerate(items):
            product = factories.product(
                name=name,
                subtitle=subtitle,
                description=f"<p>{name}：{subtitle}。</p>",
                category=sub,
                skus=_skus(price, stock, specs),
                specs=[ProductSpec(name=k, values=list(v), sort=j) for j, (k, v) in enumerate((specs or {}).items())],
                params=[ProductParam(name="产地", value="中国"), ProductParam(name="保质期", value="见包装")],
                tags=[tags["热卖"]] if i == 0 else ([tags["新品"], tags["包邮"]] if (n + i) % 3 == 0 else []),
                original_price=price * 12 // 10,
            )
            products.append(product)
            url = picture(
                name,
                None,
                motif=motif_for(name, sub_name),
                caption=f"JISHI No.{len(products):02d}  {format_fen(price)}",
            )
            show_pictures(product, [url])

    if logins is not None:
        logins.update(DEMO_LOGINS)
    summary = f"{len(products)} products, {len(tops)} top categories"
    from flask import current_app

    categories = {c.name: c for c in db.session.execute(select(Category)).scalars()}
    data = {
        "admin": db.session.execute(select(User).where(User.phone == ADMIN[0])).scalar_one(),
        "buyer": buyer,
        "address": address,
        "categories": categories,
        "tags": tags,
        "products": products,
        "logins": logins if logins is not None else dict(DEMO_LOGINS),
    }
    hook = current_app.extensions["jishi"].hook
    for part in hook.demo_data(data=data):
        if part:
            summary += "; " + part
    # Orders last, once every plugin has set up (delivery methods...).
    for part in hook.demo_orders(data=data):
        if part:
            summary += "; " + part
    from jishi.reports import aggregate

    # Report history (issue 19): 60 past days of aggregates so the charts have shape.
    summary += f"; {aggregate.seed_history(60)} days of report history"
    return summary


def pay(payment) -> str:
    """Pay a payment order through the sandbox gateway's real, signed
    notification (signature, amount check, idempotency, the orders'
    transitions), as a buyer paying would: for demo and test data. Needs a
    request context; answers the gateway's reply (``"success"``)."""
    from jishi.payments import sandbox
    from jishi.payments.service import handle_notification

    trade = sandbox.trade_for(payment)
    trade.status = "paid"
    db.session.commit()
    return handle_notification("sandbox", sandbox.notification_for(trade))


def kernel_demo_orders(data: dict) -> str:
    """The kernel's part of ``demo_orders``."""
    return f"{_demo_orders(data['buyer'], data['address'], data['products'])} orders"


def _demo_orders(buyer, address, products) -> int:
    """One paid order and one waiting for payment, through the real pipeline."""
    from flask import current_app

    from jishi.checkout.service import place_order

    with current_app.test_request_context("/"):
        paid = place_order(
            buyer, [(products[0].skus[0].id, 2), (products[5].skus[0].id, 1)], address.id, idempotency_key="demo-1"
        )[0]
        pay(paid)
        place_order(buyer, [(products[3].skus[0].id, 3)], address.id, idempotency_key="demo-2")
    return 2
