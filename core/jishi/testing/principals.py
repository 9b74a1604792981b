"""Signing in as a principal, and the standard principals of an
authorization test.

- :func:`sign_in`: a web session for a user on a test client (Flask-Login's
  session keys, as ``/login`` stores them; no password check, so no argon2
  per call). ``None`` signs the client out.
- :func:`sign_in_form`: the real login form (when the form itself matters).
- :func:`bearer`: API headers with a bearer token (the ``api`` fixture's
  ``user=`` does this per call).
- :func:`standard`: the users (and, with multistore, the merchants) of an
  authorization matrix, under the names of :data:`STANDARD`.

Fixtures (``jishi.testing.pytest_plugin``): ``login(user)`` signs ``user``
in on ``client``; ``principals`` is :func:`standard` for the test's app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The principals of an authorization matrix:
#: ``anonymous`` (signed out); ``buyer`` (the buyer the test's objects belong
#: to: orders, coupons...); ``other_buyer`` (a signed-in buyer owning none of
#: them); ``platform`` (a platform admin); with multistore, ``admin1`` and
#: ``clerk1`` (the owner and a clerk of merchant ``m1``) and ``admin2`` (the
#: owner of merchant ``m2``).
STANDARD = ("anonymous", "buyer", "other_buyer", "clerk1", "admin1", "admin2", "platform")
#: The merchant each multistore principal works for.
MERCHANT_OF = {"clerk1": "m1", "admin1": "m1", "admin2": "m2"}
#: What a clerk holds (``jishi_multistore.principal``); admins hold everything.
CLERK_PERMISSIONS = frozenset({"orders", "aftersales", "comments"})
PASSWORD = "secret123"


def sign_in(client, user):
    """Sign ``user`` in on the web test ``client`` (``None``: signed out);
    returns the client."""
    with client.session_transaction() as sess:
        sess.clear()
        if user is not None:
            sess["_user_id"] = user.get_id()
            sess["_fresh"] = True
    return client


def sign_in_form(client, user, password: str = PASSWORD):
    """Sign in through the ``/login`` form (``user``: a User or a phone
    number); asserts the redirect that means success, returns the client."""
    phone = user if isinstance(user, str) else user.phone
    resp = client.post("/login", data={"phone": phone, "password": password})
    assert resp.status_code in (302, 303), (resp.status_code, resp.get_data(as_text=True)[:500])
    return client


def bearer(user) -> dict:
    """``Authorization`` headers with a fresh API token of ``user``."""
    from jishi.testing import factories

    return {"Authorization": f"Bearer {factories.token(user)}"}


@dataclass
class Principals:
    """Who is who in a test: ``users[name]`` (``anonymous`` is ``None``),
    ``merchants["m1"]`` / ``["m2"]`` with multistore."""

    users: dict = field(default_factory=dict)
    merchants: dict = field(default_factory=dict)

    def __getitem__(self, name):
        return self.users.get(name)

    @property
    def multistore(self) -> bool:
        return bool(self.merchants)

    def merchant_id(self, owner: str | None):
        """The seller id of ``owner`` ("m1"/"m2"; "shop" or None: the shop)."""
        m = self.merchants.get(owner) if owner else None
        return m.id if m is not None else None


def standard(
    factory, *, multistore: bool | None = None, addresses: bool = False, merchant_options: dict | None = None
) -> Principals:
    """Create the :data:`STANDARD` principals. ``multistore``: create
    merchants ``m1`` and ``m2`` with their staff (default: when the current
    app has the multistore plugin enabled); without it ``admin1``,
    ``clerk1`` and ``admin2`` are plain buyers (they hold nothing).
    ``addresses``: give every signed-in principal a default address.
    ``merchant_options``: ``{"m1": {...}}``, more arguments of
    ``jishi_multistore.testing.merchant`` (a location, a status...)."""
    if multistore is None:
        multistore = "multistore" in enabled_plugins()
    users = {
        "anonymous": None,
        "buyer": factory.user(name="买家"),
        "other_buyer": factory.user(name="别的买家"),
        "platform": factory.admin(),
    }
    merchants = {}
    if multistore:
        from jishi_multistore import testing as ms

        for key in ("m1", "m2"):
            m = merchants[key] = ms.merchant(f"商户{key}", **(merchant_options or {}).get(key, {}))
            if key == "m1":
                users["admin1"], users["clerk1"] = ms.admin_of(m), ms.clerk(m)
            else:
                users["admin2"] = ms.admin_of(m)
    else:
        users.update(admin1=factory.user(), clerk1=factory.user(), admin2=factory.user())
    if addresses:
        for u in users.values():
            if u is not None:
                factory.address(u)
    return Principals(users, merchants)


def enabled_plugins() -> set[str]:
    """Names of the plugins enabled in the current app."""
    from flask import current_app

    return {info.name for info in current_app.extensions["jishi"].plugins if info.enabled}
