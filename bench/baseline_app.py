"""The yardstick: a bare Flask + SQLAlchemy app running the same 20-row
indexed query as the product list, with no framework around it."""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["JISHI_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))

QUERY = text("SELECT id, name, price, image, sales FROM products WHERE on_shelf = :t ORDER BY id DESC LIMIT 20")


@app.get("/api/v1/ping")
def ping():
    return {"ok": True}


@app.get("/products")
def products():
    with engine.connect() as conn:
        rows = conn.execute(QUERY, {"t": True}).all()
    return jsonify(
        items=[{"id": r.id, "name": r.name, "price": r.price, "image": r.image, "sales": r.sales} for r in rows]
    )
