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


class RangePanel:
    """A panel whose two fields are checked together (``SettingsPanel.validate``)."""

    @hookimpl
    def settings_panels(self):
        def validate(values):
            if values["test.low"] > values["test.high"]:
                return {"test.low": "low above high"}
            return {}

        fields = (SettingField("test.low", "Low", "int", 1), SettingField("test.high", "High", "int", 5))
        return [SettingsPanel("range", "Range", fields, validate=validate)]

    @hookimpl
    def template_slot(self, slot, context):
        if slot == "console_product_row_actions":
            return f'<a class="row-probe" href="/probe/{context["product"].id}">probe</a>'
        return None


@pytest.mark.parametrize("extra_plugins", [[RangePanel()]], ids=["plugin"])
def test_panel_validate_refuses_the_whole_save_naming_the_field(app, client, factory, login):
    """K (issue 18): a settings panel's ``validate`` checks its fields together:
    a refusal is 422 with the message next to the field it names, nothing
    saved; a consistent save goes through. The console product list offers
    each row to the ``console_product_row_actions`` slot."""
    login(factory.admin())
    page = client.get("/console/settings")
    token = page_form(page, "/console/settings").get("csrf_token", "")
    resp = client.post(
        "/console/settings", data={"panel": "range", "test.low": "9", "test.high": "3", "csrf_token": token}
    )
    assert resp.status_code == 422 and "low above high" in resp.get_data(as_text=True)
    db.session.expire_all()
    g.pop("jishi_settings", None)
    assert (settings.get("test.low"), settings.get("test.high")) == (1, 5)
    resp = client.post(
        "/console/settings", data={"panel": "range", "test.low": "2", "test.high": "3", "csrf_token": token}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    g.pop("jishi_settings", None)
    assert (settings.get("test.low"), settings.get("test.high")) == (2, 3)
    p = factory.product(name="探针")
    assert f'href="/probe/{p.id}"' in client.get("/console/products").get_data(as_text=True)
