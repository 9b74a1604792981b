"""The promoter-centre entrance (``distribution.entrance``), a block of the
page designer (``page_block_types``; offered only while the distribution
plugin is enabled): a link to 推广中心 with a line of text. It needs no data
(no statements). Platform pages only.
"""

from __future__ import annotations

from jishi.hookspecs import BlockField, BlockType
from jishi.i18n import gettext as _


def block_types() -> list[BlockType]:
    return [
        BlockType(
            "distribution.entrance",
            _("Promoter centre entrance"),
            (
                BlockField("title", _("Title"), max_length=20),
                BlockField("text", _("Text"), max_length=60),
            ),
            template="distribution/blocks/entrance.html",
            icon="🤝",
            sort=270,
            sellers=False,
        )
    ]
