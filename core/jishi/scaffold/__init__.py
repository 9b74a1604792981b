"""``jishi plugin new``: the skeleton of a working plugin distribution.

The files under ``plugin/`` are copied with their ``.tmpl`` suffix dropped;
in paths ``PACKAGE`` becomes ``jishi_<name>`` and ``NAME`` the plugin's name,
and in contents ``@@name@@``, ``@@package@@``, ``@@dist@@``, ``@@title@@``
and ``@@date@@`` are replaced (no Jinja: the skeleton's own templates are
Jinja). The kernel's ``script.py.mako`` is copied into the migrations folder
so ``jishi db revision --plugin <name>`` works from the start, and each
``translations/<locale>/LC_MESSAGES/messages.po`` is compiled to its ``.mo``
(the plugin's own translation domain).

``tests/test_scaffold.py`` installs a generated plugin with pip, runs its
tests and ``jishi db check``: the skeleton's migration must match its model.
"""

from __future__ import annotations

import keyword
import re
import shutil
from datetime import datetime
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "plugin"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: keeps ``<name>_0001`` within Alembic's 32-character version column and
#: constraint names within PostgreSQL's 63 characters
MAX_NAME = 24


class ScaffoldError(ValueError):
    """A name or destination the skeleton cannot use (the message says why)."""


def check_name(name: str) -> None:
    """Raise :class:`ScaffoldError` unless ``name`` can be a plugin's name."""
    if not NAME_RE.match(name or ""):
        raise ScaffoldError(
            f"{name!r} is not a valid plugin name: use lowercase letters, digits and "
            "underscores, starting with a letter (e.g. buy_n_get_m)"
        )
    if keyword.iskeyword(name) or not name.isidentifier():
        raise ScaffoldError(f"{name!r} is not a valid plugin name: it is a Python keyword")
    if len(name) > MAX_NAME:
        raise ScaffoldError(f"{name!r} is too long: at most {MAX_NAME} characters")
    if name.endswith("_") or "__" in name:
        raise ScaffoldError(f"{name!r} is not a valid plugin name: no trailing or double underscores")


def names(name: str) -> dict[str, str]:
    return {
        "name": name,
        "package": f"jishi_{name}",
        "dist": "jishi-" + name.replace("_", "-"),
        "title": " ".join(part.capitalize() for part in name.split("_")),
        "date": datetime.now().isoformat(sep=" ", timespec="seconds"),
    }


def render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    return text


def compile_catalog(po: Path) -> Path:
    """Write the ``messages.mo`` next to a ``messages.po`` (the plugin's own
    translation domain ships compiled, as ``pybabel compile`` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh)
    mo = po.with_suffix(".mo")
    with mo.open("wb") as fh:
        write_mo(fh, catalog)
    return mo


def create(name: str, dest: Path) -> list[Path]:
    """Write the skeleton of plugin ``name`` into the new folder ``dest``.

    :returns: the files written. Raises :class:`ScaffoldError` for a bad
    name or an existing ``dest``; writes nothing then.
    """
    check_name(name)
    dest = Path(dest)
    if dest.exists():
        raise ScaffoldError(f"{dest} already exists; choose another name or --dir")
    values = names(name)
    plan: list[tuple[Path, str]] = []
    for src in sorted(TEMPLATE_DIR.rglob("*.tmpl")):
        rel = src.relative_to(TEMPLATE_DIR).with_suffix("")  # drop .tmpl
        parts = [values["package"] if p == "PACKAGE" else p.replace("NAME", name) for p in rel.parts]
        plan.append((dest.joinpath(*parts), render(src.read_text(encoding="utf-8"), values)))
    written = []
    try:
        for path, text in plan:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        for po in [p for p in written if p.name == "messages.po"]:
            written.append(compile_catalog(po))
        mako = dest / values["package"] / "migrations" / "script.py.mako"
        shutil.copy(Path(__file__).parent.parent / "migrations" / "script.py.mako", mako)
        written.append(mako)
    except OSError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return written
