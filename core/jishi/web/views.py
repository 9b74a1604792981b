"""Storefront pages (blueprint "shop")."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("shop", __name__)


@bp.get("/")
def index():
    return render_template("shop/index.html")


@bp.get("/pay/return/<number>")
def payment_return(number: str):
    return render_template("shop/index.html")


@bp.get("/login")
def login():
    return render_template("shop/index.html")
