"""C5: a ``percent`` setting is typed as a percentage (up to two decimals)
and stored as integer basis points, with a clear error naming the field."""

from __future__ import annotations

import pytest
from flask import g
from jishi import settings
from jishi.db import db
from jishi.hookspecs import SettingField, SettingsPanel, hookimpl
from webforms import page_form


class RatePanel:
    @hookimpl
    def settings_panels(self):
        return [SettingsPanel("rates", "Rates", (SettingField("test.rate", "Rate", "percent", 250),))]


@pytest.mark.parametrize("extra_plugins", [[RatePanel()]], ids=["plugin"])
def test_percent_setting_typed_in_percent_stored_in_basis_points(app, client, factory, login):
    login(factory.admin())
    page = client.get("/console/settings")
    assert 'name="test.rate" inputmode="decimal" value="2.5"' in page.get_data(as_text=True)
    token = page_form(page, "/console/settings").get("csrf_token", "")
    for bad in ("abc", "1.234", "101", "-2"):
        resp = client.post("/console/settings", data={"panel": "rates", "test.rate": bad, "csrf_token": token})
        assert resp.status_code == 422, bad
        assert "百分比" in resp.get_data(as_text=True)
    resp = client.post("/console/settings", data={"panel": "rates", "test.rate": "5.25", "csrf_token": token})
    assert resp.status_code == 302
    db.session.expire_all()
    g.pop("jishi_settings", None)
    assert settings.get("test.rate") == 525
