"""Issue 17 "Promoters" (DS, seed 002 导购): with multistore, a merchant's
staff (admin or clerk) become promoters when they open the centre, whatever
the join mode (setting ``staff_promoters``, on by default); a plain buyer
still applies."""

from __future__ import annotations

import pytest

from .helpers import configure

pytestmark = pytest.mark.jishi_plugins("multistore", "distribution")


def test_clerk_is_a_promoter_buyer_applies(app, factory, api, ms):
    """Issue 17/Promoters (DS): in ``apply`` mode a clerk gets a code at once, a buyer does not."""
    configure(join_mode="apply")
    m = ms.merchant()
    clerk = ms.clerk(m)
    me = api.get("/distribution/me", user=clerk).json
    assert me["status"] == "active" and me["code"]
    assert api.get("/distribution/me", user=factory.user()).json["status"] == "none"
    configure(staff_promoters=False)
    assert api.get("/distribution/me", user=ms.clerk(m)).json["status"] == "none"
