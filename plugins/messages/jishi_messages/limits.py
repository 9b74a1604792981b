"""The posting rate limit (the kernel's limiter): messages and picture
uploads counted per signed-in user, pages and API together, over every
thread (``JISHI_MESSAGES_RATE_LIMIT``, default 20 per minute)."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user
from jishi.access import rate_limit

DEFAULT = "20 per minute"


def _limit() -> str:
    return current_app.config["JISHI_MESSAGES_RATE_LIMIT"]


def _key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else "anonymous"


post_limit = rate_limit(_limit, scope="messages-post", key_func=_key, methods=["POST"])
