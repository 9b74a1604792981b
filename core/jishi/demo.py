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

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Date, DateTime, bindparam, event, func, or_, select, update

from jishi.accounts.models import MemberLevel, User
from jishi.catalog.models import Category, Product, ProductImage, ProductParam, ProductSpec, Tag
from jishi.db import db, utcnow
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


def load_demo(logins: dict | None = None, *, history: bool = True) -> str:
    """Fill an empty database; returns a one-line summary. ``logins``, when
    given, receives every demo account (role -> (phone, password)),
    plugins' included. ``history`` False: no past orders (``data["history"]``
    tells the plugins' ``demo_orders``), for tests of today's demo only."""
    from jishi.testing import factories

    if db.session.execute(select(func.count(User.id))).scalar():
        raise RuntimeError("the demo data goes into an empty database")
    level = MemberLevel(name="黄金会员", rank=2)
    silver = MemberLevel(name="白银会员", rank=1)
    db.session.add_all([level, silver])
    db.session.commit()
    factories.user(phone=ADMIN[0], password=ADMIN[1], role="platform_admin", name="平台管理员")
    buyer = factories.user(phone=BUYER[0], password=BUYER[1], name="演示买家", member_level_id=level.id)
    address = factories.address(buyer, name="李四", phone=BUYER[0])

    from jishi import settings

    settings.set_many({"search.hot_words": "\n".join(("脐橙", "大米", "坚果", "充电宝", "数据线"))})
    db.session.commit()

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
        "shoppers": _shoppers(buyer, [level, silver]) if history else [],
        "history": history,
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
    from jishi.i18n import to_shop_time
    from jishi.reports import aggregate

    # Report history (issue 19): 60 past days of aggregates so the charts have shape.
    summary += f"; {aggregate.seed_history(60)} days of report history"
    today = to_shop_time(utcnow()).date()
    for day in (today - timedelta(days=1), today):  # what the aggregation job would write
        aggregate.aggregate_day(day)
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
    """The kernel's part of ``demo_orders``: today's two orders, then the
    shoppers' 60 days of history (:func:`kernel_history`)."""
    n = _demo_orders(data["buyer"], data["address"], data["products"])
    if not data.get("history", True):
        return f"{n} orders"
    placed, refunded = kernel_history(data)
    return f"{n} orders; {placed} past orders, {refunded} refunded"


#: the demo's shoppers besides the demo buyer: (phone, name, how they buy)
SHOPPERS = [
    ("13800000101", "张伟", "loyal"),
    ("13800000102", "王芳", "loyal"),
    ("13800000103", "李娜", "regular"),
    ("13800000104", "刘洋", "regular"),
    ("13800000105", "陈静", "regular"),
    ("13800000106", "杨磊", "lapsed"),
    ("13800000107", "赵敏", "lapsed"),
    ("13800000108", "黄涛", "new"),
    ("13800000109", "周丽", "new"),
    ("13800000110", "吴强", "once"),
    ("13800000111", "徐婷", "once"),
    ("13800000112", "孙浩", "once"),
]
#: shop days back of a shopper's orders, by how they buy (None: drawn at random)
RHYTHMS = {
    "loyal": (55, 47, 38, 30, 21, 12, 5),
    "regular": (None, None, None),
    "lapsed": (58, 52, 44),
    "new": (9, 4),
    "once": (None,),
}


def _shoppers(buyer: User, levels: list[MemberLevel]) -> list[tuple[User, object, str]]:
    """The demo's shoppers, each with an address and (most) a member level;
    they sign in with the demo buyer's password (hashed once: a hash is
    slow on purpose)."""
    from jishi.testing import factories

    users = []
    for i, (phone, name, _rhythm) in enumerate(SHOPPERS):
        level = levels[i % (len(levels) + 1)].id if i % (len(levels) + 1) < len(levels) else None
        users.append(User(phone=phone, password_hash=buyer.password_hash, name=name, member_level_id=level))
    db.session.add_all(users)
    db.session.commit()
    return [
        (user, factories.address(user, name=name, phone=phone), rhythm)
        for user, (phone, name, rhythm) in zip(users, SHOPPERS, strict=True)
    ]


def at_day(back: int, rng) -> datetime:
    """A moment of the shop day ``back`` days ago, during opening hours (naive UTC)."""
    from jishi.i18n import shop_day_bounds, to_shop_time

    day = to_shop_time(utcnow()).date() - timedelta(days=back)
    start, _end = shop_day_bounds(day, day)
    return start + timedelta(hours=9 + rng.randint(0, 11), minutes=rng.randint(0, 59))


def kernel_history(data: dict) -> tuple[int, int]:
    """60 days of the shoppers' orders of the platform's own goods (issue 19):
    :func:`past_orders` of the platform's products."""
    skus = [p.skus[0].id for p in data["products"] if p.seller_id is None and p.skus and p.skus[0].stock >= 40]
    return past_orders(data.get("shoppers") or [], skus, key="demo-history", seed=19)


def past_orders(
    shoppers: list, skus: list[int], *, key: str, seed: int, options: dict | None = None, refund_every: int = 5
) -> tuple[int, int]:
    """Demo history (issue 19): the shoppers (``(user, address, rhythm)``,
    ``data["shoppers"]``) buy ``skus`` over the last 60 days, through the
    real checkout, payment and after-sales, :func:`backdated`: by their
    rhythm (:data:`RHYTHMS`: loyal shoppers buy every week or so, some
    lapsed a month ago, some are new, some bought once); most orders are
    delivered, one in ``refund_every`` refunded before shipping a few days
    after it was paid. Seeded: the same every time. ``options``: the
    checkout's (default no coupon). Returns (orders placed, refunded)."""
    import random

    from flask import current_app

    from jishi.aftersales import service as aftersales
    from jishi.checkout.entry import place_order
    from jishi.checkout.errors import CheckoutError
    from jishi.orders import service as orders
    from jishi.orders.models import Order

    rng = random.Random(seed)
    plan: dict[int, list] = {}
    for n, (user, address, rhythm) in enumerate(shoppers):
        for back in RHYTHMS[rhythm]:
            day = back if back is not None else rng.randint(3, 58)
            plan.setdefault(day, []).append((user, address, n))
    placed, refunds = 0, []
    if not skus:
        return 0, 0
    with current_app.test_request_context("/"):
        for back in sorted(plan, reverse=True):
            with backdated(at_day(back, rng)):
                for user, address, n in plan[back]:
                    items = [(sku, rng.randint(1, 2)) for sku in rng.sample(skus, min(len(skus), rng.randint(1, 2)))]
                    try:
                        payments = place_order(
                            user, items, address.id, options or {"coupons": []}, idempotency_key=f"{key}-{n}-{back}"
                        )
                    except CheckoutError:  # a plugin's rule (a purchase limit...) refuses it: not bought
                        db.session.rollback()
                        continue
                    ids = [o.id for payment in payments for o in payment.orders]
                    for payment in payments:
                        pay(payment)
                    for order_id in ids:
                        placed += 1
                        order = db.session.get_one(Order, order_id)
                        db.session.refresh(order)
                        if placed % refund_every == 2 and back > 6:  # refunded before it shipped, days later
                            refunds.append((back - rng.randint(1, 3), user, order.id))
                            continue
                        orders.ship(order, carrier="顺丰速运", tracking_no=f"SF{order.id:010d}")
                        orders.receive(order)
                        orders.complete(order, actor_kind="buyer")
        for back, user, order_id in refunds:
            with backdated(at_day(back, rng)):
                order = db.session.get_one(Order, order_id)
                request = aftersales.request_refund(
                    user, order, "refund_only", [(line.id, line.quantity) for line in order.lines], "不想要了"
                )
                aftersales.approve(request)
    return placed, len(refunds)


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


_WRITES = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE)\s+\"?(\w+)\"?", re.IGNORECASE)


@contextmanager
def backdated(moment: datetime) -> Iterator[None]:
    """Demo history (issue 19): what the block writes happens at ``moment``
    (naive UTC) instead of now.

    The block uses the real services (checkout, payment, after-sales, a
    plugin's own), at today's clock; on leaving, every row it wrote is moved
    back in time by the same amount: in each table the block inserted into
    or updated, the timestamps it set (those between the block's start and
    end) move, and a row it created moves whole (its deadlines and windows
    too, its date columns by as many days), so ledgers, refunds and their
    orders stay consistent with each other. Commits. For demo and test data
    only: it rewrites history."""
    written: set[str] = set()

    def record(conn, cursor, statement, parameters, context, executemany):
        match = _WRITES.match(statement)
        if match:
            written.add(match.group(1))

    db.session.commit()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    start = utcnow()
    try:
        yield
        db.session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    stop = utcnow()
    _shift(written, start, stop, moment - start)


def _shift(tables: set[str], start: datetime, stop: datetime, delta: timedelta) -> None:
    days = timedelta(days=round(delta.total_seconds() / 86400))
    for name in sorted(tables):
        table = db.metadata.tables.get(name)
        if table is None:
            continue
        stamps = [c for c in table.columns if isinstance(c.type, DateTime)]
        dates = [c for c in table.columns if isinstance(c.type, Date) and not isinstance(c.type, DateTime)]
        keys = list(table.primary_key.columns)
        if not stamps or not keys:
            continue
        touched = or_(*(c.between(start, stop) for c in stamps))
        rows = db.session.execute(select(*keys, *stamps, *dates).where(touched)).all()
        if not rows:
            continue
        created = table.columns.get("created_at")
        changes = []
        for row in rows:
            values = row._mapping
            new = created is not None and values[created] is not None and start <= values[created] <= stop
            change = {}
            for c in stamps:
                v = values[c]
                if v is not None and (new or start <= v <= stop):
                    change[c.name] = v + delta
            if new:
                change.update({c.name: values[c] + days for c in dates if values[c] is not None})
            if change:
                changes.append(({k.name: values[k] for k in keys}, change))
        batches: dict[tuple[str, ...], list[dict]] = {}
        for pk, change in changes:  # one executemany per set of moved columns
            params = {f"k_{name}": v for name, v in pk.items()} | {f"v_{name}": v for name, v in change.items()}
            batches.setdefault(tuple(sorted(change)), []).append(params)
        for names, rows_params in batches.items():
            statement = (
                update(table)
                .where(*(k == bindparam(f"k_{k.name}") for k in keys))
                .values({name: bindparam(f"v_{name}") for name in names})
            )
            db.session.connection().execute(statement, rows_params)
    db.session.commit()
