"""Flask extensions, created unbound and initialised in ``create_app``."""

from __future__ import annotations

from flask import request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "shop.login"
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def select_locale():
    """The request's locale as a Babel ``Locale`` named by its code.

    ``Locale.parse("zh_CN")`` expands to ``zh_Hans_CN`` and gettext would
    then look for ``translations/zh_Hans_CN``; dropping the implied script
    keeps the name ``zh_CN`` (the locale data stays zh_Hans_CN's).
    """
    from babel import Locale

    code = select_locale_code()
    locale = Locale.parse(code)
    if locale.script and locale.script not in code:
        locale.script = None
    return locale


def select_locale_code() -> str:
    """The user's choice (account, then session), then Accept-Language."""
    from flask import current_app, has_request_context
    from flask_login import current_user

    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    locales = current_app.config["JISHI_LOCALES"]
    user = getattr(current_user, "locale", None) if current_user else None
    chosen = user or session.get("locale")
    if chosen in locales:
        return chosen
    best = request.accept_languages.best_match(list(locales) + ["zh", "en-US", "zh-CN"])
    if best in ("zh", "zh-CN"):
        return "zh_CN"
    if best == "en-US":
        return "en"
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


babel = Babel()
