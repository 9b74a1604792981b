"""Issue 13 B (authorization): every route of the media library (pages,
API, served files) × {anonymous, a buyer, clerk of M1, admin of M1, admin of
M2, platform admin} × {the shop's, M1's, M2's media}, with multistore on and
off. The library is a seller page (permission ``products``): a merchant's
staff reach their own media only, the platform its own; files are public.
:func:`test_every_route_has_a_row` fails for a media route without a row.
"""

from __future__ import annotations

import pytest
from jishi import media
from jishi.testing import authz, principals
from jishi.testing.authz import Row

PRINCIPALS = ("anonymous", "other_buyer", "clerk1", "admin1", "admin2", "platform")
BLUEPRINTS = ("media", "media_api")

ROWS = [
    Row("GET", "/api/v1/seller/media", "seller:products"),
    # a JSON body has no file: an allowed caller gets 422 (past authorization)
    Row("POST", "/api/v1/seller/media", "seller:products", json={}),
    Row("GET", "/seller/media", "seller:products"),
    Row("POST", "/seller/media", "seller:products", data={}),
    Row("POST", "/seller/media/{obj}/delete", "seller:products", "media"),
    Row("GET", "/media/{obj}", "public", "file"),
]


class World(authz.World):
    def seller_of(self) -> dict:
        return {"platform": "shop", **(principals.MERCHANT_OF if self.values["multistore"] else {})}

    @property
    def owners(self) -> tuple:
        return ("shop", "m1", "m2") if self.values["multistore"] else ("shop",)


def build_world(factory, multistore: bool) -> World:
    who = principals.standard(factory, multistore=multistore)
    sellers = {"shop": None, **{key: m.id for key, m in who.merchants.items()}}
    objects = {}
    for n, (key, seller_id) in enumerate(sellers.items()):
        asset = media.upload(factory.image_bytes("PNG", color=(n * 60, 10, 10)), media.owner_of(seller_id))
        objects[("media", key)] = asset.id
        objects[("file", key)] = asset.files["medium"]
    return World(who.users, objects, {"multistore": multistore})


def library_scoped(case, resp, expected):
    """An allowed list shows the caller's own media only."""
    if expected is True and case.row.method == "GET" and case.row.path == "/api/v1/seller/media":
        owner = case.world.seller_of()[case.who]
        return (
            []
            if [i["id"] for i in resp.json["items"]] == [case.world.objects[("media", owner)]]
            else [f"{case.who} sees {resp.json['items']}"]
        )
    return []


@pytest.mark.parametrize("app_plugins", [[], ["multistore"]], ids=["single", "multistore"])
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(app, app_plugins, client, api, factory, row: Row):
    """B: who may use the media library, on own and other sellers' media."""
    world = build_world(factory, "multistore" in app_plugins)
    authz.assert_row(
        row,
        world,
        client=client,
        api=api,
        principals=PRINCIPALS,
        owners=world.owners,
        allowed=lambda r, who, owner: authz.standard_access(r, who, owner, merchant_of=world.seller_of()),
        check=library_scoped,
    )


def test_every_route_has_a_row(app):
    """B: a media route without a row above fails here."""
    covered = authz.assert_every_route_has_a_row(app, ROWS, blueprints=BLUEPRINTS)
    assert len(covered) == len(ROWS)
