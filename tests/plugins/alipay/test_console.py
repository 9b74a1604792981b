"""Issue 14 (plugins/alipay): the platform console's Alipay page — who may
open it (the authorization matrix), the private key never shown back (an
empty submit keeps it), bad input refused naming the field with nothing
saved."""

from __future__ import annotations

import pytest
from jishi import settings
from jishi.testing import authz, principals
from jishi.testing.authz import Row
from jishi_alipay import config, wire

ROWS = [
    Row("GET", "/console/alipay/", "platform"),
    Row("POST", "/console/alipay/", "platform", data={"app_id": "x"}),
]


@pytest.mark.jishi_plugins("multistore", "alipay")
@pytest.mark.parametrize("row", ROWS, ids=authz.label)
def test_matrix(client, api, factory, row):
    """Issue 14 (alipay, AUTHZ): only the platform admin opens or posts the
    Alipay page; buyers and merchants' staff are refused."""
    who = principals.standard(factory, multistore=True)
    authz.assert_row(
        row,
        authz.World(who.users, {}),
        client=client,
        api=api,
        principals=principals.STANDARD,
        allowed=authz.standard_access,
    )


def test_every_route_has_a_row(app):
    """Issue 14 (alipay, AUTHZ): a route of the plugin without a row fails."""
    assert len(authz.assert_every_route_has_a_row(app, ROWS, blueprints=("alipay_admin",))) == len(ROWS)


def _form(fake, key_pem="", **changes):
    data = {
        "enabled": "1",
        "app_id": "2021000000000001",
        "app_private_key": key_pem,
        "alipay_public_key": fake.alipay_public_pem,
        "seller_id": "2088000000000001",
        "mini_program_app_id": "",
        "gateway_url": fake.gateway_url,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_configure_and_secret_never_shown(client, factory, login, fake, app_key_pem):
    """Issue 14 (alipay): the admin configures Alipay; the private key is
    never shown back (a fingerprint of its public half instead); an empty
    submit keeps it; Alipay is then offered, labelled test mode."""
    from jishi.gateways import gateway

    login(factory.admin())
    page = client.get("/console/alipay/")
    assert page.status_code == 200 and 'id="alipay-settings"' in page.get_data(as_text=True)
    r = client.post("/console/alipay/", data=_form(fake, app_key_pem))
    assert r.status_code == 302
    assert settings.get(config.PRIVATE_KEY) == app_key_pem.strip()
    assert gateway("alipay").available("pc") and gateway("alipay").test_mode
    html = client.get("/console/alipay/").get_data(as_text=True)
    body = "".join(app_key_pem.splitlines()[1:-1])
    assert body[:40] not in html and body[-40:] not in html and "PRIVATE KEY-----\n" not in html
    assert config.masked(config.PRIVATE_KEY).split()[-1] in html
    # saved again without a key: the stored one stays
    assert client.post("/console/alipay/", data=_form(fake, "", seller_id="")).status_code == 302
    assert settings.get(config.PRIVATE_KEY) == app_key_pem.strip() and settings.get(config.SELLER_ID) == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_id", "abc"),
        ("app_private_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
        ("alipay_public_key", "not a key"),
        ("seller_id", "1234"),
        ("mini_program_app_id", "x1"),
        ("gateway_url", "javascript:alert(1)"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(client, factory, login, fake, app_key_pem, field, value):
    """Issue 14 (alipay): bad input → 422 naming the field, nothing saved,
    the typed private key not echoed back."""
    login(factory.admin())
    r = client.post("/console/alipay/", data=_form(fake, app_key_pem, **{field: value}))
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'role="alert"' in html and f'id="f-{field}"' in html
    assert settings.get(config.APP_ID) is None and settings.get(config.PRIVATE_KEY) is None
    assert "".join(app_key_pem.splitlines()[1:-1])[:40] not in html


def test_turning_on_needs_the_keys(client, factory, login, fake):
    """Issue 14 (alipay): enabling without a private key is refused (422)."""
    login(factory.admin())
    r = client.post("/console/alipay/", data=_form(fake, ""))
    assert r.status_code == 422 and not settings.get(config.ENABLED)


def test_menu_item_for_the_platform_admin(client, factory, login):
    """Issue 14 (alipay): the settings menu links the page."""
    login(factory.admin())
    html = client.get("/console/").get_data(as_text=True)
    assert "/console/alipay/" in html


def test_bare_base64_keys_are_accepted(client, factory, login, fake, app_key_pem):
    """Issue 14 (alipay): keys pasted as Alipay's tool writes them (bare
    base64, no PEM lines) are read."""
    login(factory.admin())
    bare_private = "".join(app_key_pem.strip().splitlines()[1:-1])
    bare_public = "".join(fake.alipay_public_pem.strip().splitlines()[1:-1])
    r = client.post("/console/alipay/", data=_form(fake, bare_private, alipay_public_key=bare_public))
    assert r.status_code == 302
    assert config.current() is not None
    assert wire.load_public_key(bare_public)
