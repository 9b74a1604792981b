"""The platform console (blueprint "console", /console)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.get("/")
def dashboard():
    return render_template("console/dashboard.html")
