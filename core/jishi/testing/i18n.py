"""Translation-catalog checks for a plugin's ``translations/`` folder.

A plugin ships English msgids with a ``zh_CN`` catalog (and an ``en`` one
that says each msgid again), each compiled to ``messages.mo``::

    import jishi_myplugin
    from jishi.testing.i18n import check_catalogs

    def test_catalogs():
        catalogs = check_catalogs(jishi_myplugin, min_messages=20)
        assert catalogs["zh_CN"]["Gift wrap"].string == "礼品包装"

:func:`check_catalogs` fails, naming the messages, when a ``zh_CN`` msgid
is untranslated or fuzzy (every plural form counts), an ``en`` msgstr is not
its msgid, a ``.mo`` file differs from its ``.po`` (run the compile step),
or a string the plugin's templates or code mark for translation is missing
from the catalog.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

#: Marker functions extracted besides gettext's defaults (as scripts/i18n.sh).
KEYWORDS = ("lazy_gettext", "_l")
#: Sources of a plugin's messages, as babel.cfg maps them.
METHOD_MAP = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def package_dir(package: ModuleType | str | Path) -> Path:
    """The folder of a package (a module, its import name, or a path)."""
    if isinstance(package, Path):
        return package
    if isinstance(package, str):
        import importlib

        package = importlib.import_module(package)
    assert package.__file__ is not None, f"{package.__name__} is a namespace package"
    return Path(package.__file__).resolve().parent


def read_catalog(package, locale: str, *, compiled: bool = False):
    """The ``messages.po`` (or, ``compiled``, ``messages.mo``) of ``locale``
    in ``package``'s ``translations`` folder, as a babel ``Catalog``."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    path = (
        package_dir(package) / "translations" / locale / "LC_MESSAGES" / ("messages.mo" if compiled else "messages.po")
    )
    with open(path, "rb") as fh:
        return read_mo(fh) if compiled else read_po(fh, locale=locale)


def _untranslated(catalog) -> list:
    def missing(m) -> bool:
        if isinstance(m.string, (tuple, list)):
            return not all(m.string)
        return not m.string

    return [m.id for m in catalog if m.id and (m.fuzzy or missing(m))]


def source_messages(package) -> set[str]:
    """Every msgid the package's templates and Python code mark for translation."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    keywords = dict(DEFAULT_KEYWORDS)
    keywords.update(dict.fromkeys(KEYWORDS))
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(package_dir(package)), METHOD_MAP, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def check_catalogs(package, *, locales=("zh_CN", "en"), min_messages: int = 1, sources: bool = True) -> dict:
    """Check ``package``'s catalogs (see the module doc); returns
    ``{locale: Catalog}`` for the suite's own wording checks.

    :param min_messages: the ``zh_CN`` catalog holds at least this many
        msgids (a guard against checking an empty or misplaced catalog).
    :param sources: also require every msgid the sources mark for
        translation to be in the ``zh_CN`` catalog.
    """
    catalogs = {locale: read_catalog(package, locale) for locale in locales}
    problems = []
    zh = catalogs.get("zh_CN")
    if zh is not None:
        untranslated = _untranslated(zh)
        if untranslated:
            problems.append(f"zh_CN: untranslated or fuzzy: {untranslated[:20]}")
        count = len([m for m in zh if m.id])
        if count < min_messages:
            problems.append(f"zh_CN: {count} messages, expected at least {min_messages}")
        if sources:
            known = {m.id if isinstance(m.id, str) else m.id[0] for m in zh if m.id}
            absent = sorted(source_messages(package) - known)
            if absent:
                problems.append(
                    f"zh_CN: marked in the sources but not in the catalog (run the extract step): {absent[:20]}"
                )
    en = catalogs.get("en")
    if en is not None:
        wrong = [m.id for m in en if m.id and isinstance(m.id, str) and m.string != m.id]
        if wrong:
            problems.append(f"en: msgstr differs from the msgid: {wrong[:20]}")
    for locale, catalog in catalogs.items():
        po = {m.id: m.string for m in catalog if m.id}
        mo = {m.id: m.string for m in read_catalog(package, locale, compiled=True) if m.id}
        if mo != po:
            stale = sorted(str(k) for k in set(po) ^ set(mo) | {k for k in po.keys() & mo.keys() if po[k] != mo[k]})
            problems.append(f"{locale}: messages.mo is out of date (compile the catalogs): {stale[:20]}")
    assert not problems, f"translation catalogs of {package_dir(package)}:\n" + "\n".join(problems)
    return catalogs
