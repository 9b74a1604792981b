"""Product pictures drawn with Pillow for the demo shop (no files, no network).

Each picture is a studio-like shot: a soft two-tone background, a shadow and
an object whose shape follows the product's kind (fruit, bottle, bag,
packet, device, shirt, shop sign), in a colour taken from the product's
name. The name is written on it when a CJK font is installed (the usual
Noto / WenQuanYi paths); otherwise a short Latin caption is drawn with
Pillow's built-in font, so nothing depends on a font being present.
"""

from __future__ import annotations

import hashlib
from io import BytesIO
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIZE = 600
CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
#: the object drawn for a kind of product
MOTIFS = ("fruit", "bottle", "bag", "packet", "device", "shirt", "sign")


def _palette(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]:
    h = hashlib.sha256(seed.encode()).digest()
    hue = h[0] / 255
    import colorsys

    def rgb(hh, s, v):
        return tuple(int(c * 255) for c in colorsys.hsv_to_rgb(hh % 1, s, v))

    return rgb(hue, 0.12, 0.98), rgb(hue + 0.05, 0.25, 0.9), rgb(hue + 0.5, 0.65, 0.85)


def _font(size: int):
    for path in CJK_FONTS:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size), True
            except OSError:  # pragma: no cover - a broken font file
                continue
    try:
        return ImageFont.load_default(size=size), False
    except TypeError:  # pragma: no cover - Pillow < 10.1
        return ImageFont.load_default(), False


def _object(draw: ImageDraw.ImageDraw, motif: str, color, accent) -> None:
    c = SIZE // 2
    dark = tuple(max(0, v - 60) for v in color)
    light = tuple(min(255, v + 70) for v in color)
    if motif == "fruit":
        for dx, dy, r in ((-70, 20, 95), (75, 35, 85), (0, -40, 100)):
            draw.ellipse((c + dx - r, c + dy - r, c + dx + r, c + dy + r), fill=color, outline=dark, width=4)
            draw.ellipse((c + dx - r // 2, c + dy - r // 2 - 20, c + dx - r // 6, c + dy - r // 6 - 20), fill=light)
        draw.polygon([(c, c - 140), (c + 60, c - 185), (c + 20, c - 130)], fill=(60, 150, 70))
    elif motif == "bottle":
        draw.rounded_rectangle((c - 90, c - 110, c + 90, c + 190), 40, fill=color, outline=dark, width=4)
        draw.rectangle((c - 35, c - 190, c + 35, c - 100), fill=color, outline=dark, width=4)
        draw.rectangle((c - 45, c - 215, c + 45, c - 185), fill=accent)
        draw.rectangle((c - 90, c - 10, c + 90, c + 90), fill=light)
    elif motif == "bag":
        draw.polygon([(c - 150, c - 120), (c + 150, c - 120), (c + 175, c + 190), (c - 175, c + 190)], fill=color)
        draw.arc((c - 90, c - 230, c + 90, c - 40), 180, 360, fill=dark, width=14)
        draw.rectangle((c - 110, c - 20, c + 110, c + 100), fill=light)
    elif motif == "packet":
        draw.polygon([(c - 140, c - 170), (c + 140, c - 170), (c + 125, c + 190), (c - 125, c + 190)], fill=color)
        for y in range(c - 160, c - 120, 10):
            draw.line((c - 140, y, c + 140, y), fill=dark, width=3)
        draw.ellipse((c - 80, c - 60, c + 80, c + 100), fill=light, outline=accent, width=6)
    elif motif == "device":
        draw.rounded_rectangle((c - 120, c - 190, c + 120, c + 190), 36, fill=(40, 40, 48), outline=dark, width=4)
        draw.rounded_rectangle((c - 100, c - 160, c + 100, c + 140), 18, fill=color)
        draw.ellipse((c - 14, c + 152, c + 14, c + 180), fill=accent)
    elif motif == "shirt":
        draw.polygon(
            [
                (c - 80, c - 180),
                (c - 200, c - 110),
                (c - 150, c - 30),
                (c - 110, c - 60),
                (c - 110, c + 190),
                (c + 110, c + 190),
                (c + 110, c - 60),
                (c + 150, c - 30),
                (c + 200, c - 110),
                (c + 80, c - 180),
                (c + 40, c - 150),
                (c - 40, c - 150),
            ],
            fill=color,
            outline=dark,
        )
    else:  # sign: a shop front
        draw.rectangle((c - 200, c - 60, c + 200, c + 190), fill=light, outline=dark, width=4)
        draw.polygon([(c - 230, c - 60), (c + 230, c - 60), (c + 200, c - 180), (c - 200, c - 180)], fill=color)
        for x in range(c - 200, c + 200, 50):
            draw.rectangle((x, c - 60, x + 25, c - 30), fill=accent)
        draw.rectangle((c - 50, c + 60, c + 50, c + 190), fill=dark)


def picture(text: str, *, motif: str = "packet", caption: str = "") -> bytes:
    """A PNG product picture (600×600) for ``text`` (a product or shop
    name): ``motif`` one of :data:`MOTIFS`; ``caption`` is written when no
    CJK font can write ``text``."""
    back, back2, color = _palette(text)
    accent = _palette(text[::-1])[2]
    im = Image.new("RGB", (SIZE, SIZE), back)
    draw = ImageDraw.Draw(im)
    for y in range(SIZE // 2, SIZE):  # the table the object stands on
        t = (y - SIZE // 2) / (SIZE // 2)
        draw.line((0, y, SIZE, y), fill=tuple(int(a + (b - a) * t) for a, b in zip(back, back2, strict=True)))
    shadow = Image.new("L", (SIZE, SIZE), 0)
    ImageDraw.Draw(shadow).ellipse((SIZE // 2 - 190, SIZE - 120, SIZE // 2 + 190, SIZE - 70), fill=110)
    im.paste((60, 60, 60), mask=shadow.filter(ImageFilter.GaussianBlur(18)))
    draw = ImageDraw.Draw(im)
    _object(draw, motif if motif in MOTIFS else "packet", color, accent)
    font, cjk = _font(34)
    label = text if cjk else (caption or "JISHI")
    box = draw.textbbox((0, 0), label, font=font)
    w = box[2] - box[0]
    draw.rounded_rectangle((20, 20, 20 + w + 32, 20 + (box[3] - box[1]) + 28), 12, fill=(255, 255, 255))
    draw.text((36, 34 - box[1]), label, font=font, fill=(50, 50, 50))
    buf = BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
