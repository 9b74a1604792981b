"""Small factories for tests and the demo: users, categories, products."""

from __future__ import annotations

from itertools import count

from jishi.accounts.auth import hash_password, issue_token
from jishi.accounts.models import Address, User
from jishi.catalog.models import Category, Product, Sku
from jishi.db import db

_seq = count(1)
_FAST_HASH = None


def _hash(password: str) -> str:
    # argon2 is deliberately slow; tests reuse one hash of the common password.
    global _FAST_HASH
    if password == "secret123":
        if _FAST_HASH is None:
            _FAST_HASH = hash_password(password)
        return _FAST_HASH
    return hash_password(password)


def user(phone: str | None = None, password: str = "secret123", role: str = "buyer", name: str = "", **kw) -> User:
    phone = phone or f"139{next(_seq):08d}"
    u = User(phone=phone, password_hash=_hash(password), role=role, name=name, **kw)
    db.session.add(u)
    db.session.commit()
    return u


def admin(**kw) -> User:
    return user(role="platform_admin", name=kw.pop("name", "管理员"), **kw)


def token(u: User) -> str:
    t = issue_token(u)
    db.session.commit()
    return t


def category(name: str = "默认分类", parent: Category | None = None) -> Category:
    c = Category(name=name, parent_id=parent.id if parent else None)
    db.session.add(c)
    db.session.flush()
    c.path = (parent.path if parent else "/") + f"{c.id}/"
    db.session.commit()
    return c


def product(
    name: str | None = None,
    price: int = 1000,
    stock: int = 100,
    category: Category | None = None,
    seller_id: int | None = None,
    on_shelf: bool = True,
    skus: list[dict] | None = None,
    **kw,
) -> Product:
    """A product with one SKU (``price``, ``stock``) or the given ``skus``."""
    from jishi.catalog.service import refresh_product

    p = Product(
        name=name or f"商品{next(_seq)}",
        category_id=category.id if category else None,
        seller_id=seller_id,
        on_shelf=on_shelf,
        **kw,
    )
    for spec in skus or [{"price": price, "stock": stock}]:
        p.skus.append(Sku(**spec))
    db.session.add(p)
    db.session.flush()
    refresh_product(p)
    db.session.commit()
    return p


def address(u: User, **kw) -> Address:
    data = {
        "name": "张三",
        "phone": "13800000000",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "detail": "文三路 1 号",
        "is_default": True,
    }
    data.update(kw)
    a = Address(user_id=u.id, **data)
    db.session.add(a)
    db.session.commit()
    return a


def received_line(buyer: User, product: Product, reviewed: bool = True):
    """A received order line of one unit of ``product`` bought by
    ``buyer`` (its payment and order written directly, flushed, not
    committed), ``reviewed`` or not: what a review hangs on, for tests of
    reviews and the product page that do not test checkout."""
    from jishi.db import utcnow
    from jishi.orders.models import Order, OrderLine, PaymentOrder

    n = next(_seq)
    pay = PaymentOrder(number=f"PRL{n}", user_id=buyer.id, amount=product.price, status="paid")
    db.session.add(pay)
    db.session.flush()
    order = Order(
        number=f"ORL{n}",
        payment_id=pay.id,
        user_id=buyer.id,
        seller_id=product.seller_id,
        status="received",
        goods_amount=product.price,
        pay_amount=product.price,
        received_at=utcnow(),
    )
    db.session.add(order)
    db.session.flush()
    line = OrderLine(
        order_id=order.id,
        product_id=product.id,
        sku_id=product.skus[0].id,
        name=product.name,
        base_price=product.price,
        unit_price=product.price,
        quantity=1,
        goods_amount=product.price,
        pay_amount=product.price,
        reviewed=reviewed,
    )
    db.session.add(line)
    db.session.flush()
    return line


def pay(payment) -> None:
    """Pay a payment order through the sandbox gateway's real notification
    path (signature, amount check, idempotency, order transitions):
    :func:`jishi.testing.flows.pay`."""
    from jishi.testing import flows

    flows.pay(payment)


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (64, 48), color=(200, 30, 30), *, orientation: int | None = None
) -> bytes:
    """An image file's bytes drawn with Pillow (``fmt``: PNG, JPEG, WEBP,
    GIF): a ``color`` field with a white top-left quarter, so a rotation
    shows; ``orientation`` writes that EXIF orientation (JPEG) along with a
    camera make and GPS tag."""
    from io import BytesIO

    from PIL import Image

    im = Image.new("RGB", size, color)
    im.paste((255, 255, 255), (0, 0, size[0] // 2, size[1] // 2))
    buf = BytesIO()
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation  # Orientation
        exif[0x010F] = "JishiCam"  # Make
        exif[0x8825] = {1: "N", 2: (30.0, 16.0, 0.0)}  # GPSInfo
        kwargs["exif"] = exif.tobytes()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()
