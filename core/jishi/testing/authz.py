"""The authorization-matrix harness: every route of a plugin × every
principal × the own and another seller's object, and a check that no route
of the plugin goes without a row.

A suite writes its rows and who may use them, builds a world (users and
objects) and runs each row::

    from jishi.testing import authz, principals

    ROWS = [
        authz.Row("GET", "/api/v1/seller/gifts", "seller:products"),
        authz.Row("POST", "/api/v1/seller/gifts/{obj}/stop", "seller:products", obj="gift"),
        authz.Row("GET", "/gifts", "public"),
    ]
    PRINCIPALS = ("anonymous", "other_buyer", "clerk1", "admin1", "admin2", "platform")

    def build_world(factory):
        who = principals.standard(factory, multistore=True)
        objects = {("gift", key): make_gift(m.id).id for key, m in who.merchants.items()}
        return authz.World(who.users, objects)

    @pytest.mark.jishi_plugins("multistore", "gifts")
    @pytest.mark.parametrize("row", ROWS, ids=authz.label)
    def test_matrix(client, api, factory, row):
        authz.assert_row(row, build_world(factory), client=client, api=api,
                         principals=PRINCIPALS, allowed=authz.standard_access)

    @pytest.mark.jishi_plugins("multistore", "gifts")
    def test_every_route_has_a_row(app):
        authz.assert_every_route_has_a_row(app, ROWS, blueprints=("gifts", "gifts_api"))

A **row** is a route and method, the access rule (a string the suite's
``allowed`` function reads) and, when the path names an object, its kind:
``{obj}`` in the path (and in ``json``/``data``, keys or values) becomes
that kind's id of the owner being tried; other ``{name}`` placeholders come
from ``World.values``. ``json``/``data`` may also be a function of the
:class:`Case` (a body that depends on who calls).

``allowed(row, who, owner)`` says what is expected: ``True`` (anything but
401/403/404 and never a 5xx), ``False`` (401, 403 or 404; a web page may
send an anonymous visitor to the login page) or an exact status code.
Denied cases run first, since allowed ones may change the world. Web calls
sign in with :func:`jishi.testing.principals.sign_in`, API calls with a
bearer token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jishi.testing.principals import CLERK_PERMISSIONS, MERCHANT_OF, sign_in

DENIED = (401, 403, 404)
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    access: str
    obj: str | None = None
    json: Any = None
    data: Any = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


def label(row: Row) -> str:
    """A row's test id: ``METHOD /path``."""
    return f"{row.method} {row.path}"


@dataclass
class World:
    """The principals' users (``anonymous``: None) and the objects rows
    name: ``objects[(kind, owner)]`` (an id or any value for ``{obj}``);
    ``values``: other placeholders of paths and bodies."""

    users: dict
    objects: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


@dataclass
class Case:
    """One call of a row: ``who`` on ``owner``'s object ``obj``."""

    row: Row
    who: str
    owner: str | None
    obj: Any
    world: World

    @property
    def user(self):
        return self.world.users.get(self.who)

    def describe(self) -> str:
        return f"{self.who} on {self.owner}'s object" if self.owner else self.who


def fill(value, mapping: dict):
    """``value`` with each ``{name}`` of ``mapping`` replaced, in strings,
    dict keys and values, lists (unknown names stay as they are)."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: str(mapping[m[1]]) if m[1] in mapping else m[0], value)
    if isinstance(value, dict):
        return {fill(k, mapping): fill(v, mapping) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(fill(v, mapping) for v in value)
    return value


def denied(resp, row: Row, who: str) -> bool:
    """401/403/404, or a web page sending an anonymous visitor to sign in."""
    if resp.status_code in DENIED:
        return True
    if not row.is_api and who == "anonymous" and resp.status_code in (302, 303):
        return "/login" in resp.headers.get("Location", "")
    return False


def call(case: Case, *, client, api, headers: dict | None = None):
    """Make ``case``'s request: the API with the user's bearer token, a page
    on ``client`` signed in as the user (signed out for ``anonymous``)."""
    row = case.row
    mapping = {**case.world.values, "obj": case.obj}
    path = fill(row.path, mapping)
    body = row.json if row.is_api else row.data
    body = body(case) if callable(body) else fill(body, mapping)
    if row.is_api:
        return api.call(row.method, path, user=case.user, json=body, headers=headers)
    sign_in(client, case.user)
    if row.method == "GET":
        return client.get(path, headers=headers)
    return client.open(path, method=row.method, data=body or {}, headers=headers)


def run_row(
    row: Row,
    world: World,
    *,
    client,
    api,
    principals: Iterable[str],
    allowed: Callable,
    owners: Iterable[str] = ("m1", "m2"),
    check: Callable | None = None,
    headers: Callable | None = None,
    strict: bool = False,
) -> list[str]:
    """Try ``row`` as each principal on each owner's object (a row without
    ``obj``: once each); returns the failures (empty: as expected).

    :param allowed: ``allowed(row, who, owner)`` → True, False or a status.
    :param check: ``check(case, resp, expected)`` for the suite's own
        assertions (raise, or return failure strings).
    :param headers: ``headers(case)`` → extra request headers.
    :param strict: also require an allowed call to answer below 400, a
        denied anonymous one 401 (API) or a 302 to the login page (web), a
        denied signed-in one 403 or 404.
    """
    from jishi.db import db

    tried: tuple[str | None, ...] = tuple(owners) if row.obj else (None,)
    cases = [(who, owner) for who in principals for owner in tried]
    cases.sort(key=lambda c: allowed(row, *c) is True)  # denied first: allowed calls may change the world
    failures = []
    for who, owner in cases:
        case = Case(row, who, owner, world.objects[(row.obj, owner)] if row.obj else None, world)
        resp = call(case, client=client, api=api, headers=headers(case) if headers else None)
        db.session.rollback()  # forget what the request's writes left in the test's session
        expected = allowed(row, who, owner)
        status = resp.status_code
        if status >= 500 and expected != status:
            failures.append(f"{case.describe()}: {status}")
        elif expected is True and denied(resp, row, who):
            failures.append(f"{case.describe()}: expected access, got {status}")
        elif expected is False and not denied(resp, row, who):
            failures.append(f"{case.describe()}: expected 401/403/404, got {status}")
        elif not isinstance(expected, bool) and status != expected:
            failures.append(f"{case.describe()}: expected {expected}, got {status}")
        elif strict and expected is True and status >= 400:
            failures.append(f"{case.describe()}: expected success, got {status}")
        elif strict and expected is False and who == "anonymous" and status != (401 if row.is_api else 302):
            failures.append(f"{case.describe()}: expected {401 if row.is_api else 302}, got {status}")
        elif strict and expected is False and who != "anonymous" and status not in (403, 404):
            failures.append(f"{case.describe()}: expected 403/404, got {status}")
        if check is not None:
            failures.extend(check(case, resp, expected) or ())
    return failures


def no_data_leaked(case: Case, resp, expected) -> list[str]:
    """A ``check`` for :func:`run_row`: a denied API call answered no data
    (a denied call's 2xx JSON body would be someone else's)."""
    if expected is False and case.row.is_api and resp.is_json and resp.status_code < 300:
        return [f"{case.describe()}: data leaked"]
    return []


def assert_row(row: Row, world: World, **kw) -> None:
    """:func:`run_row`, failing with every unexpected answer listed."""
    failures = run_row(row, world, **kw)
    assert not failures, f"{label(row)} ({row.access}):\n" + "\n".join(failures)


def standard_access(
    row: Row,
    who: str,
    owner: str | None,
    *,
    merchant_of: dict = MERCHANT_OF,
    clerk_permissions: Iterable[str] = CLERK_PERMISSIONS,
    access: str | None = None,
) -> bool:
    """The common access rules, by ``row.access``:

    - ``public``: everyone; ``signed_in``: every signed-in principal;
    - ``platform``: the platform admin only; ``buyer``: the buyer the
      objects belong to;
    - ``merchant`` / ``merchant:<permission>``: staff of the object's
      merchant (``merchant_of``) holding the permission (clerks hold
      ``clerk_permissions``); without an object, any merchant's staff;
    - ``seller`` / ``seller:<permission>``: as ``merchant``, and the
      platform admin acting for the shop itself (its own objects, owner
      ``"shop"``, or no object).

    Pass ``merchant_of={}`` for a shop without multistore; ``access``
    overrides ``row.access`` (a suite mapping its own words to these).
    """
    access, _, permission = (access or row.access).partition(":")
    if access == "public":
        return True
    if access == "signed_in":
        return who != "anonymous"
    if access == "platform":
        return who == "platform"
    if access == "buyer":
        return who == "buyer"
    if access in ("merchant", "seller"):
        if who == "platform":
            return access == "seller" and owner in (None, "shop")
        if who not in merchant_of:
            return False
        if permission and who.startswith("clerk") and permission not in clerk_permissions:
            return False
        return owner is None or merchant_of[who] == owner
    raise AssertionError(f"unknown access {row.access!r} in {row}")


def route_of(row) -> tuple[str, str]:
    """``(method, path)`` of a row (any object with ``method`` and ``path``)
    with placeholders as ``1`` and without the query string."""
    path = _PLACEHOLDER.sub("1", row.path).split("?")[0]
    return row.method, path


def assert_every_route_has_a_row(app, rows: Iterable, *, blueprints: Iterable[str]) -> set:
    """Fail, naming each one, for a route of ``blueprints`` (names; their
    endpoints start ``<name>.``) that no row reaches (a row reaches a route
    when its path and method match the rule). Returns the rules covered as
    ``{(rule, method)}`` (a suite may compare it with its row count to find
    two rows of one route)."""
    adapter = app.url_map.bind(app.config.get("SERVER_NAME") or "localhost")
    covered = set()
    for row in rows:
        method, path = route_of(row)
        rule, _args = adapter.match(path, method=method, return_rule=True)
        covered.add((rule.rule, method))
    prefixes = tuple(f"{name}." for name in blueprints)
    missing = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(prefixes)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        if (rule.rule, method) not in covered
    ]
    assert not missing, "routes without an authorization row:\n" + "\n".join(missing)
    return covered
