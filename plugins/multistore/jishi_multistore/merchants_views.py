"""Merchant management pages: the merchant console's home, the platform's
merchant pages (MS4–MS6, MS15)."""

from __future__ import annotations

from flask import render_template

from jishi_multistore.blueprints import merchant as merchant_bp
from jishi_multistore.principal import current_principal, merchant_page


@merchant_bp.get("/")
@merchant_page()
def dashboard():
    return render_template("multistore/merchant/dashboard.html", principal=current_principal())
