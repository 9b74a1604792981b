"""Issue 16 "Spending"/"Earning": the platform's points rules are a
settings panel (Platform console → Settings → Points); what is saved is what
checkout and earning read; out-of-range values are clamped, never a 500."""

from __future__ import annotations

from jishi.db import commit
from jishi_points import expiry, levels, service, window

from .helpers import panel_form


def test_panel_saves_the_rules(app, client, factory, login):
    """Issue 16: the panel shows in Chinese and saves rate, minimum, cap and earning."""
    login(factory.admin())
    page = client.get("/console/settings").get_data(as_text=True)
    assert "积分" in page and "下单时多少积分抵 1 元" in page
    resp = client.post(
        "/console/settings",
        data={
            **panel_form(),
            service.EARN_PER_YUAN: "3",
            service.RATE: "10",
            service.MIN_USE: "50",
            service.CAP_BP: "30",
            expiry.RULE: "none",
            expiry.DAYS: "365",
            window.RETURN_DAYS: "0",
            levels.GROWTH_PER_YUAN: "2",
        },
    )
    assert resp.status_code == 302
    assert levels.growth_per_yuan() == 2
    assert [service.setting(k) for k in (service.EARN_PER_YUAN, service.RATE, service.MIN_USE, service.CAP_BP)] == [
        3,
        10,
        50,
        3000,
    ]


def test_out_of_range_values_are_clamped(app):
    """Issue 16: a rate of 0 would divide by zero: read as 1; a negative minimum as 0."""
    from jishi import settings

    settings.set_many({service.RATE: 0, service.MIN_USE: -5, service.CAP_BP: 20000, service.EARN_PER_YUAN: "x"})
    commit()
    assert service.setting(service.RATE) == 1
    assert service.setting(service.MIN_USE) == 0
    assert service.setting(service.CAP_BP) == 10000
    assert service.setting(service.EARN_PER_YUAN) == 1
