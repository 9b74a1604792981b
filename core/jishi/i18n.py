"""gettext for kernel and plugins: ``from jishi.i18n import gettext as _``.

Each plugin translates in its own domain: its package's
``translations/<locale>/LC_MESSAGES/messages.mo``, then the kernel's catalog
for a msgid it does not have. Which domain a call uses is decided by where
the calling code lives: a module of a plugin's package, or a template file
shipped in its ``templates/`` (or a theme's override of one of its templates,
``<theme>/templates/<plugin folder>/...``), is in the plugin's domain;
everything else (kernel modules and templates, theme templates) in the
kernel's. So no plugin can change what a kernel string, or another plugin's,
reads: each plugin may say "Open" or "Categories" the way its own pages mean
it.

Falls back to the untranslated text outside an app context (imports, CLI
help), so modules can mark strings at import time with ``lazy_gettext``
(its domain is the one of the module that called it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from flask.globals import _cv_app

if TYPE_CHECKING:
    from babel.support import NullTranslations

#: The kernel's domain (its catalogs are ``jishi/translations``).
KERNEL = "jishi"

_THIS_FILE = os.path.normcase(os.path.abspath(__file__))
#: this module and the app's Jinja context (``jishi.web.jinja``: its ``call``
#: stands between a template and its ``_()``)
_SKIPPED_FILES = (_THIS_FILE, os.path.normcase(os.path.join(os.path.dirname(_THIS_FILE), "web", "jinja.py")))
_SKIPPED_DIRS: tuple[str, ...] = ()


def _skipped_dirs() -> tuple[str, ...]:
    """Code between a ``_()`` and the code that wrote it: Jinja's i18n
    extension and runtime (a template's ``_()`` calls through them)."""
    global _SKIPPED_DIRS
    if not _SKIPPED_DIRS:
        import jinja2

        _SKIPPED_DIRS = (os.path.normcase(os.path.dirname(os.path.abspath(jinja2.__file__))) + os.sep,)
    return _SKIPPED_DIRS


def _caller_file(depth: int = 2) -> str:
    """The file of the code that asked for a translation: the first frame
    above ``depth`` that is neither this module nor Jinja's machinery (nor
    the app's Jinja context, :mod:`jishi.web.jinja`)."""
    frame: FrameType | None = sys._getframe(depth)
    machinery = _MACHINERY
    while frame is not None:
        code = frame.f_code
        skip = machinery.get(code)
        if skip is None:
            if len(machinery) > 20000:  # templates recompiled again and again (auto_reload): start over
                machinery.clear()
            norm = os.path.normcase(code.co_filename)
            skip = machinery[code] = norm in _SKIPPED_FILES or norm.startswith(_skipped_dirs())
        if not skip:
            return code.co_filename
        frame = frame.f_back
    return ""


#: code object -> whether it is this module's or Jinja's (decided once per code object)
_MACHINERY: dict = {}


class Domains:
    """The translation domains of one app (``app.extensions["jishi"].i18n``):
    the kernel's and one per enabled plugin that ships ``translations/``."""

    def __init__(self, kernel_dir: Path, plugins: list[tuple[str, Path]], theme_dirs: Iterable[Path] = ()):
        #: plugin name -> its package folder (the one holding ``translations/``)
        self.plugins = {name: Path(path) for name, path in plugins}
        self.kernel_dir = Path(kernel_dir)
        self._roots = sorted(
            ((os.path.normcase(str(path.resolve())) + os.sep, name) for name, path in self.plugins.items()),
            key=lambda r: -len(r[0]),
        )
        self._theme_dirs = [os.path.normcase(str(Path(d).resolve())) + os.sep for d in theme_dirs]
        # A theme's override of a plugin's template: the plugin's top template folders.
        self._template_folders: dict[str, str] = {}
        for name, path in self.plugins.items():
            templates = path / "templates"
            if templates.is_dir():
                for child in templates.iterdir():
                    if child.is_dir():
                        self._template_folders.setdefault(child.name, name)
        self._by_file: dict[str, str] = {}
        #: (file, locale code) -> its catalog, for :func:`_catalog`
        self.by_file_locale: dict[tuple[str, str], NullTranslations] = {}
        self._translations: dict[tuple[str, str], NullTranslations] = {}

    def domain_of_file(self, filename: str) -> str:
        found = self._by_file.get(filename)
        if found is None:
            found = self._by_file[filename] = self._find_domain(filename)
        return found

    def _find_domain(self, filename: str) -> str:
        if not filename or filename.startswith("<"):
            return KERNEL
        norm = os.path.normcase(os.path.realpath(filename))
        for root, name in self._roots:
            if norm.startswith(root):
                return name
        for root in self._theme_dirs:
            if norm.startswith(root):
                first = norm[len(root) :].split(os.sep, 1)[0]
                return self._template_folders.get(first, KERNEL)
        return KERNEL

    def translations(self, domain: str, locale) -> NullTranslations:
        """The catalog of ``domain`` for ``locale`` (a plugin's falls back to
        the kernel's, never the other way round)."""
        key = (domain, str(locale))
        found = self._translations.get(key)
        if found is not None:
            return found
        from babel import support
        from babel.support import Translations

        kernel = self._translations.get((KERNEL, str(locale)))
        if kernel is None:
            kernel = Translations.load(str(self.kernel_dir), [locale]) if locale else support.NullTranslations()
            self._translations[(KERNEL, str(locale))] = kernel
        if domain == KERNEL or domain not in self.plugins or not locale:
            found = kernel
        else:
            own = Translations.load(str(self.plugins[domain] / "translations"), [locale])
            if isinstance(own, Translations):
                own.add_fallback(kernel)
                found = own
            else:
                found = kernel
        self._translations[key] = found
        return found

    def for_file(self, filename: str):
        from flask_babel import get_locale

        return self.translations(self.domain_of_file(filename), get_locale())


def _domains() -> Domains | None:
    ext = current_app.extensions.get("jishi")
    return getattr(ext, "i18n", None)


def _babel_locale(ctx_globals: dict):
    """The locale Flask-Babel chose for this app context, when it has chosen
    (its per-context cache, ``g._flask_babel.babel_locale``), else None."""
    state = ctx_globals.get("_flask_babel")
    return getattr(state, "babel_locale", None) if state is not None else None


def _catalog(filename: str):
    """The catalog for code in ``filename`` in the current locale. Memoised
    per app context (a request's) by file, for the locale Flask-Babel holds:
    a page asks for some thirty strings, and the domain, the locale and the
    catalog were looked up again for each (about a tenth of a page's time).
    When the locale changes within the context (``force_locale``,
    ``refresh``), the object Flask-Babel holds is another one and the memo
    starts over."""
    app_ctx = _cv_app.get(None)
    memo: tuple[object, dict[str, Any]] | None = None
    ctx_globals: dict[str, Any] = {}
    if app_ctx is not None:
        ctx_globals = app_ctx.g.__dict__
        memo = ctx_globals.get("_jishi_catalogs")
        if memo is not None and memo[0] is _babel_locale(ctx_globals):
            found = memo[1].get(filename)
            if found is not None:
                return found
    domains = _domains()
    if domains is None:
        from flask_babel import get_translations

        return get_translations()
    locale = _babel_locale(ctx_globals)
    if locale is not None:
        # the file's catalog in this locale: decided once per app (asking
        # Flask-Babel for the locale and the file's domain cost more)
        key = (filename, str(locale))
        found = domains.by_file_locale.get(key)
        if found is None:
            found = domains.by_file_locale[key] = domains.for_file(filename)
    else:
        found = domains.for_file(filename)  # asks Flask-Babel for the locale: now it holds it
    if app_ctx is not None:
        locale = _babel_locale(ctx_globals)
        if locale is not None:
            if memo is None or memo[0] is not locale:
                memo = ctx_globals["_jishi_catalogs"] = (locale, {})
            memo[1][filename] = found
    return found


def gettext(string: str, **variables) -> str:
    """``string`` translated in the caller's domain (see the module's doc),
    ``%(name)s`` filled from ``variables``."""
    if not has_app_context():
        return string % variables if variables else string
    text = _catalog(_caller_file()).ugettext(string)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, **variables) -> str:
    """The singular or plural of a message for ``num`` (``%(num)d`` is filled)."""
    variables.setdefault("num", num)
    if not has_app_context():
        return (singular if num == 1 else plural) % variables
    return _catalog(_caller_file()).ungettext(singular, plural, num) % variables


def pgettext(context: str, string: str, **variables) -> str:
    """``string`` in a context: the same English for two meanings
    (``pgettext("merchant status", "Open")``) translated apart."""
    if not has_app_context():
        return string % variables if variables else string
    text = _catalog(_caller_file()).upgettext(context, string)
    return text % variables if variables else text


def lazy_gettext(string: str, **variables):
    """A string translated when it is used (in the caller's domain, and the
    locale of the request that shows it): for text defined at import time."""
    from flask_babel.speaklater import LazyString

    filename = _caller_file()

    def translate():
        if not has_app_context():
            return string % variables if variables else string
        text = _catalog(filename).ugettext(string)
        return text % variables if variables else text

    return LazyString(translate)


def note_text(text: str) -> str:
    """Text stored marked with :func:`N_` (an order's history notes), in the
    reader's language: the kernel's catalog, then each enabled plugin's, so
    a note a plugin wrote reads as that plugin translates it."""
    if not text or not has_app_context():
        return text
    domains = _domains()
    if domains is None:
        from flask_babel import get_translations

        return get_translations().ugettext(text)
    from flask_babel import get_locale

    locale = get_locale()
    for domain in (KERNEL, *domains.plugins):
        catalog = domains.translations(domain, locale)
        own = getattr(catalog, "_catalog", {})
        if text in own:
            return own[text]
    return text


def gettext_in(locale: str, string: str) -> str:
    """``string`` in ``locale`` (not the request's: no user is loaded to
    choose it), from the calling plugin's catalog then the kernel's; for an
    answer built before the request's locale is known (a sold-out gate)."""
    domains = _domains() if has_app_context() else None
    if domains is None:
        return string
    return domains.translations(domains.domain_of_file(_caller_file()), locale).gettext(string)


def install_jinja(app) -> None:
    """Templates translate in the domain of the file they are written in.

    Jinja's own newstyle callables (``install_gettext_callables``) wrap each
    function twice (``_`` is an alias that resolves ``gettext`` and calls it
    through the context, which calls ours through the context again); a page
    asks for some thirty strings, so ``_``, ``gettext``, ``ngettext``,
    ``pgettext`` and ``npgettext`` are installed here as one context function
    each with the same newstyle behaviour: the text is always a ``%`` format
    (``%%`` is a percent sign), filled from the keyword arguments (``num``
    and ``context`` set as Jinja sets them), and ``Markup`` under autoescape."""
    from jinja2 import pass_eval_context
    from markupsafe import Markup

    def t_gettext(string):
        return _catalog(_caller_file()).ugettext(string)

    def t_ngettext(singular, plural, num):
        return _catalog(_caller_file()).ungettext(singular, plural, num)

    def t_pgettext(context, string):
        return _catalog(_caller_file()).upgettext(context, string)

    def t_npgettext(context, singular, plural, num):
        return _catalog(_caller_file()).unpgettext(context, singular, plural, num)

    # newstyle: compiles {% trans %} blocks for the callables below
    app.jinja_env.install_gettext_callables(
        gettext=t_gettext, ngettext=t_ngettext, pgettext=t_pgettext, npgettext=t_npgettext, newstyle=True
    )

    # The frames above each function below: the context's call (Jinja's
    # Context.call or jishi.web.jinja's, skipped by _caller_file), then the
    # template's code. Each takes the evaluation
    # context (all it reads: autoescape), not the template context: Jinja
    # derives a new context (a copy of every name) for a function that takes
    # it in a block or loop with variables of its own ({% set %}).
    @pass_eval_context
    def gettext(__eval_ctx, __string, **variables):
        rv = _catalog(_caller_file()).ugettext(__string)
        if __eval_ctx.autoescape:
            rv = Markup(rv)
        if not variables and "%" not in rv:
            return rv  # what ``rv % {}`` gives, without Markup's escaping pass over an empty mapping
        return rv % variables

    @pass_eval_context
    def ngettext(__eval_ctx, __singular, __plural, __num, **variables):
        variables.setdefault("num", __num)
        rv = _catalog(_caller_file()).ungettext(__singular, __plural, __num)
        if __eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    @pass_eval_context
    def pgettext(__eval_ctx, __string_ctx, __string, **variables):
        variables.setdefault("context", __string_ctx)
        rv = _catalog(_caller_file()).upgettext(__string_ctx, __string)
        if __eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    @pass_eval_context
    def npgettext(__eval_ctx, __string_ctx, __singular, __plural, __num, **variables):
        variables.setdefault("context", __string_ctx)
        variables.setdefault("num", __num)
        rv = _catalog(_caller_file()).unpgettext(__string_ctx, __singular, __plural, __num)
        if __eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    app.jinja_env.globals.update(
        _=gettext, gettext=gettext, ngettext=ngettext, pgettext=pgettext, npgettext=npgettext, note_text=note_text
    )


def N_(string: str) -> str:
    """Mark ``string`` for extraction without translating it now: for text
    stored in the database (order history notes) and translated when shown
    with :func:`note_text`, so each reader sees it in their own language."""
    return string


_ = gettext


# --- The shop's time zone ----------------------------------------------------
# Times are stored as naive UTC. People type and read them in the shop's time
# zone (BABEL_DEFAULT_TIMEZONE, Asia/Shanghai by default): sale windows,
# delivery slots, "today's" withdrawals. These helpers are the one place that
# converts, for the kernel and every plugin.


def shop_timezone():
    """The shop's time zone (``BABEL_DEFAULT_TIMEZONE``) as a ``ZoneInfo``."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    name = current_app.config.get("BABEL_DEFAULT_TIMEZONE") if has_app_context() else None
    return ZoneInfo(name or "Asia/Shanghai")


def to_shop_time(moment):
    """A stored (naive UTC) time as the shop's aware local time; None stays None."""
    from datetime import UTC

    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(shop_timezone())


def shop_today(now=None):
    """The shop's calendar day now (or at ``now``, a stored naive UTC time):
    the day every "today" default of a report, an export or a filter means.
    Never ``date.today()``, the server's own day, which is the shop's only
    when the server runs in the shop's time zone (from 16:00 UTC the
    Shanghai shop is already in the next day)."""
    from jishi.db import utcnow

    return to_shop_time(now or utcnow()).date()


#: The moments a shop stores (naive UTC), first and past the last: years 1000
#: to 9998, so that every stored time can still be shown in any time zone and
#: moved by days (near year 1 or 9999 an offset leaves the calendar).
MIN_MOMENT = datetime(1000, 1, 1)
MAX_MOMENT = datetime(9999, 1, 1)


def naive_utc(moment):
    """``moment`` as stored (naive UTC): an aware one is converted, a naive
    one is taken as UTC already. Raises ``ValueError`` for a time outside
    :data:`MIN_MOMENT` .. :data:`MAX_MOMENT` (``0001-01-01T00:00:00+01:01``
    is no moment the calendar has); callers answer it naming their field."""
    from datetime import UTC

    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise ValueError("date and time out of range") from None
    if not MIN_MOMENT <= moment < MAX_MOMENT:
        raise ValueError("date and time out of range")
    return moment


def from_shop_time(moment):
    """A time as stored (naive UTC): a naive ``moment`` is read as the shop's
    local wall-clock time, an aware one keeps its offset. Raises
    ``ValueError`` out of range (:func:`naive_utc`)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=shop_timezone())
    return naive_utc(moment)


def shop_day_bounds(start=None, end=None):
    """The stored (naive UTC) bounds of the shop's calendar days ``start``
    to ``end`` inclusive (``date`` objects, either may be None): the
    moment ``start`` begins and the moment the day after ``end`` begins, in
    the shop's time zone, for ``start_at <= column < end_at``. A missing
    bound is None; a day beyond the stored calendar is ``datetime.min`` /
    ``datetime.max``. Every "from day ... to day" filter uses it, so a
    day means the shop's day everywhere."""
    from datetime import time, timedelta

    def begins(day):
        try:
            return from_shop_time(datetime.combine(day, time()))
        except (ValueError, OverflowError):
            return datetime.min if day.year < 5000 else datetime.max

    start_at = begins(start) if start is not None else None
    end_at = None
    if end is not None:
        end_at = datetime.max if end.year >= MAX_MOMENT.year else begins(end + timedelta(days=1))
    return start_at, end_at


def parse_shop_time(text):
    """ISO text typed in a form ("2026-05-01 14:30", offset optional, read as
    shop time without one) -> naive UTC; "" -> None. Raises ``ValueError``
    for anything else."""
    from datetime import datetime

    text = (text or "").strip()
    if not text:
        return None
    return from_shop_time(datetime.fromisoformat(text))


def locale_code() -> str:
    """The request's language as its code (``"zh_CN"``): what
    ``str(flask_babel.get_locale())`` gives — the account's choice, then
    the session's, then Accept-Language, else the default — without making
    Babel's ``Locale`` (a job recording the language a buyer asked in)."""
    from jishi.extensions import select_locale_code

    return select_locale_code()
