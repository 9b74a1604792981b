"""Share posters: a PNG drawn server-side (Pillow) with the product's (or
the shop's) name, the price and a QR code (segno) of the promoter's link."""

from __future__ import annotations

import io

import segno
from flask import url_for
from jishi.db import db
from jishi.errors import DomainError
from jishi.i18n import gettext as _
from jishi.money import format_fen
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 600, 860


def _font(size: int):
    for name in ("NotoSansCJK-Regular.ttc", "wqy-microhei.ttc", "DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default(size)


def link_for(promoter, product_id: int | None) -> str:
    if product_id is None:
        return url_for("shop.index", ref=promoter.code, _external=True)
    return url_for("shop.product", product_id=product_id, ref=promoter.code, _external=True)


def render(promoter, product_id: int | None) -> bytes:
    from jishi.catalog.models import Product
    from jishi.settings import get

    title, price = str(get("shop.name", "") or _("Our shop")), None
    if product_id is not None:
        product = db.session.get(Product, product_id)
        if product is None or not product.on_shelf:
            raise DomainError("product_id", _("No such product."), status=404, code="not_found")
        title, price = product.name, product.price
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 120), fill=(230, 57, 70))
    draw.text((30, 40), title[:24], fill="white", font=_font(36))
    if price is not None:
        draw.text((30, 150), format_fen(price), fill=(230, 57, 70), font=_font(48))
    qr = segno.make(link_for(promoter, product_id), error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=10, border=2)
    buf.seek(0)
    code = Image.open(buf).convert("RGB").resize((360, 360))
    image.paste(code, ((WIDTH - 360) // 2, 260))
    draw.text((30, 660), _("Scan to shop · code %(code)s", code=promoter.code), fill="black", font=_font(26))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
