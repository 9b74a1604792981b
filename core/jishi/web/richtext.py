"""Product descriptions as safe HTML: a small allow-list (paragraphs, line
breaks, lists, emphasis, headings, images by http(s) URL); every other tag
is dropped and all text and attribute values are escaped. Descriptions are
written by the platform and, with the multistore plugin, by merchants, so
they are never rendered as given."""

from __future__ import annotations

from html.parser import HTMLParser

from markupsafe import Markup, escape

ALLOWED = {"p", "br", "ul", "ol", "li", "strong", "b", "em", "i", "h3", "h4", "blockquote"}
VOID = {"br", "img"}


class _Cleaner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skip = 0  # inside <script> / <style>: drop the text too

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            if src.startswith(("https://", "http://", "/")) and not src.startswith("//"):
                alt = dict(attrs).get("alt") or ""
                self.out.append(f'<img src="{escape(src)}" alt="{escape(alt)}" loading="lazy">')
        elif tag in ALLOWED:
            self.out.append(f"<{tag}>")
            if tag not in VOID:
                self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.open:
            while self.open:
                top = self.open.pop()
                self.out.append(f"</{top}>")
                if top == tag:
                    break

    def handle_data(self, data):
        if not self.skip:
            self.out.append(str(escape(data)))


def rich_text(value: str | None) -> Markup:
    if not value:
        return Markup("")
    cleaner = _Cleaner()
    cleaner.feed(str(value))
    cleaner.close()
    html = "".join(cleaner.out) + "".join(f"</{t}>" for t in reversed(cleaner.open))
    return Markup(html)
