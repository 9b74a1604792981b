"""Reading an upload with Pillow and re-encoding it to the standard sizes.

The content decides, never the file's name: Pillow must open it as JPEG,
PNG, WebP or GIF (the first frame), its header may not claim more than
``max_pixels`` pixels (Pillow's own decompression-bomb check stays on too),
and it must decode completely (a truncated file is refused). The EXIF
orientation is applied, then every size is encoded afresh from the pixels
alone, so no metadata (EXIF, GPS, comments, ICC) survives.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
EXTENSIONS = {"WEBP": "webp", "JPEG": "jpg"}


class ImageRejected(Exception):
    """Why an upload is not an acceptable image (``code``: not_image,
    unsupported, too_many_pixels, broken)."""

    def __init__(self, code: str, detail: str = ""):
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}")


@dataclass(frozen=True)
class Rendition:
    label: str
    pixels: int
    width: int
    height: int
    data: bytes


@dataclass(frozen=True)
class Decoded:
    source_format: str
    width: int
    height: int
    renditions: tuple[Rendition, ...]


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(BytesIO(data), formats=FORMATS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels", str(exc)) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageRejected("not_image", str(exc)) from None
    if im.format not in FORMATS:  # pragma: no cover - formats= already limits it
        raise ImageRejected("unsupported", str(im.format))
    width, height = im.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageRejected("too_many_pixels", f"{width}x{height}")
    try:
        im.seek(0)
        im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected("too_many_pixels", str(exc)) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRejected("broken", str(exc)) from None
    return im


def _pixels(im: Image.Image, fmt: str) -> Image.Image:
    """``im`` upright, in a mode ``fmt`` can hold (transparency on white for JPEG)."""
    im = ImageOps.exif_transpose(im) or im
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        im = im.convert("RGBA")
        if fmt == "JPEG":
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            return flat
        return im
    return im.convert("RGB")


def decode(data: bytes, *, sizes: dict[str, int], fmt: str = "WEBP", max_pixels: int) -> Decoded:
    """``data`` read and re-encoded to each of ``sizes`` (label -> longest
    side; never enlarged) in ``fmt`` (WEBP or JPEG). Raises
    :class:`ImageRejected`."""
    fmt = fmt.upper()
    if fmt not in EXTENSIONS:
        raise ValueError(f"media format must be WEBP or JPEG, not {fmt!r}")
    im = _open(data, max_pixels)
    source_format = im.format or ""
    try:
        base = _pixels(im, fmt)
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRejected("broken", str(exc)) from None
    out = []
    for label, pixels in sizes.items():
        copy = base.copy()
        copy.thumbnail((pixels, pixels), Image.Resampling.LANCZOS)
        buf = BytesIO()
        if fmt == "WEBP":
            copy.save(buf, "WEBP", quality=82, method=4)
        else:
            copy.save(buf, "JPEG", quality=85, optimize=True, progressive=True)
        out.append(Rendition(label, pixels, copy.width, copy.height, buf.getvalue()))
    return Decoded(source_format, base.width, base.height, tuple(out))
