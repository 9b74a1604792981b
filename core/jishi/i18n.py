"""gettext for kernel and plugins: ``from jishi.i18n import gettext as _``.

Falls back to the untranslated text outside an app context (imports, CLI
help), so modules can mark strings at import time with ``lazy_gettext``.
"""

from __future__ import annotations

from flask import has_app_context
from flask_babel import gettext as _gettext
from flask_babel import lazy_gettext, ngettext  # noqa: F401 - re-exported


def gettext(string: str, **variables) -> str:
    if not has_app_context():
        return string % variables if variables else string
    return _gettext(string, **variables)


def N_(string: str) -> str:
    """Mark ``string`` for extraction without translating it now: for text
    stored in the database (order history notes) and translated when shown,
    so each reader sees it in their own language."""
    return string


_ = gettext
