"""The fault suite's shop and checks (issue 15 "Tests that prove it").

``seed_*`` write a shop into the topology's database from the test process
(the app factory on the same database URL, as a console would); the bursts
drive the topology's instances over HTTP through a
:class:`jishi.testing.deploy.RoundRobinClient`; :func:`consistency` reads
the database and answers every invariant that does not hold (empty: all
hold). Each fault case records a row of :data:`TABLE`, printed and written
to ``test-artifacts/fault-table.txt`` at the end of the module.
"""

from __future__ import annotations

import re
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from jishi.testing.deploy import RoundRobinClient

PLUGINS = "multistore,flashsale,coupons"
ROOT = Path(__file__).resolve().parents[2]


# -- the fault table -------------------------------------------------------------


@dataclass
class Row:
    fault: str
    injected: str = ""
    client: str = ""
    checks: list[str] = field(default_factory=list)  # failures; empty: every check held
    notes: str = ""

    @property
    def outcome(self) -> str:
        return "PASS" if not self.checks else "FAIL"


TABLE: list[Row] = []
EXPECTED_ROWS = [
    "kill -9 web workers (checkout+payment burst)",
    "kill -9 a job worker mid-pass",
    "Redis paused past the client timeout (flash burst)",
    "Redis restarted empty (flash burst)",
    "database connections dropped (checkout burst)",
]


def render_table(rows: list[Row]) -> str:
    recorded = {r.fault for r in rows}
    lines = ["fault | injected | the clients saw | outcome", "--- | --- | --- | ---"]
    for r in rows:
        outcome = r.outcome + ("" if not r.checks else ": " + "; ".join(r.checks))
        lines.append(f"{r.fault} | {r.injected} | {r.client} | {outcome}")
    for name in EXPECTED_ROWS:
        if name not in recorded:
            lines.append(f"{name} | - | - | NOT RUN")
    return "\n".join(lines) + "\n"


def write_table(rows: list[Row]) -> str:
    text = render_table(rows)
    out = ROOT / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "fault-table.txt").write_text(text, encoding="utf-8")
    return text


# -- the shop ---------------------------------------------------------------------


def app_for(url: str):
    from jishi.app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "deploy-test-secret",
            "JISHI_SANDBOX_SECRET": "jishi-tests-sandbox-secret",
            "JISHI_PLUGINS": PLUGINS,
            "JISHI_REDIS_URL": None,
        },
        instance_path=tempfile.mkdtemp(),
    )


@dataclass
class Shop:
    buyers: list[dict]  # user_id, token, address_id
    skus: dict[int, int]  # sku id -> initial stock (normal stock)
    platform_sku: int = 0
    merchant_sku: int = 0
    flash_sku_id: int = 0  # flashsale_skus.id
    flash_sale_sku: int = 0  # the product's sku id to buy
    flash_units: int = 0


def dispose(app) -> None:
    """Close the seeding app's pooled connections (the test process keeps none open)."""
    from jishi.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def seed_buyers(app, n: int, tag: str) -> list[dict]:
    from jishi.accounts.auth import issue_token
    from jishi.accounts.models import Address, User
    from jishi.db import db
    from jishi.testing import factories

    with app.app_context():
        pw = factories._hash("secret123")
        users = [User(phone=f"13{tag}{i:06d}"[:11], password_hash=pw, role="buyer", name=f"b{i}") for i in range(n)]
        db.session.add_all(users)
        db.session.flush()
        addresses = [
            Address(
                user_id=u.id,
                name="张三",
                phone="13800000000",
                province="浙江省",
                city="杭州市",
                district="西湖区",
                detail="文三路 1 号",
                is_default=True,
            )
            for u in users
        ]
        db.session.add_all(addresses)
        tokens = [issue_token(u) for u in users]
        db.session.commit()
        return [{"user_id": u.id, "token": t, "address_id": a.id} for u, t, a in zip(users, tokens, addresses)]


def seed_checkout(url: str, buyers: int, tag: str, stock: int = 500) -> Shop:
    """A platform product and a merchant's (multistore) product, ``stock``
    each, and ``buyers`` buyers with tokens and addresses."""
    from jishi.db import db
    from jishi.testing import factories
    from jishi_multistore import testing as ms

    app = app_for(url)
    people = seed_buyers(app, buyers, tag)
    with app.app_context():
        own = factories.product(name=f"平台商品{tag}", price=1990, stock=stock)
        merchant = ms.merchant(f"店铺{tag}")
        theirs = ms.product(merchant, name=f"店铺商品{tag}", price=2590, stock=stock)
        db.session.commit()
        a, b = own.skus[0].id, theirs.skus[0].id
    dispose(app)
    return Shop(buyers=people, skus={a: stock, b: stock}, platform_sku=a, merchant_sku=b)


def seed_flash(url: str, buyers: int, tag: str, units: int, normal_stock: int = 100) -> Shop:
    """A running flash sale of ``units`` units (limit 1 per buyer) and
    ``buyers`` buyers."""
    from jishi.db import db, utcnow
    from jishi.testing import factories
    from jishi_flashsale import service

    app = app_for(url)
    people = seed_buyers(app, buyers, tag)
    with app.app_context():
        product = factories.product(name=f"秒杀{tag}", price=10000, stock=normal_stock)
        now = utcnow()
        activity = service.save_activity(
            {
                "product_id": product.id,
                "title": f"fault {tag}",
                "per_user_limit": 1,
                "starts_at": now - timedelta(minutes=5),
                "ends_at": now + timedelta(hours=2),
                "skus": [{"sku_id": product.skus[0].id, "flash_price": 100, "stock": units}],
            },
            seller_id=None,
            platform=True,
        )
        db.session.commit()
        sku, flash_sku_id = product.skus[0].id, activity.skus[0].id
    dispose(app)
    return Shop(
        buyers=people, skus={sku: normal_stock}, flash_sku_id=flash_sku_id, flash_sale_sku=sku, flash_units=units
    )


# -- bursts ----------------------------------------------------------------------


def run_threads(n: int, target: Callable[[int], None], items: int) -> None:
    """``items`` jobs (0..items-1) over ``n`` threads."""
    it = iter(range(items))
    lock = threading.Lock()

    def loop():
        while True:
            with lock:
                i = next(it, None)
            if i is None:
                return
            target(i)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)


def _auth(buyer: dict, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {buyer['token']}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def _retrying(call: Callable[[], tuple[int, object]], attempts: int = 4) -> tuple[int, object]:
    """The client's policy for a clear server error or a lost connection:
    the same request again (same Idempotency-Key) after a moment."""
    status, body = call()
    for i in range(attempts):
        if status not in (-1, 500, 502, 503, 504):
            break
        time.sleep(0.3 * (i + 1))
        status, body = call()
    return status, body


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def checkout_and_pay(client: RoundRobinClient, shop: Shop, buyer: dict, key: str) -> dict:
    """One buyer's checkout (one unit of each product: two orders, one
    payment) and payment through the sandbox gateway's page, whose
    notification reaches the shop over HTTP. What happened, by step."""
    import requests

    out: dict = {"key": key, "placed": False, "paid_at_gateway": False}
    body = {
        "items": [{"sku_id": shop.platform_sku, "quantity": 1}, {"sku_id": shop.merchant_sku, "quantity": 1}],
        "address_id": buyer["address_id"],
    }
    status, placed = _retrying(lambda: client.request("POST", "/api/v1/checkout/place", body, _auth(buyer, key)))
    out["place"] = status
    if status not in (200, 201) or not isinstance(placed, dict):
        return out
    out["placed"] = True
    number = placed["payments"][0]["number"]
    status, started = _retrying(
        lambda: client.request("POST", f"/api/v1/payments/{number}/pay", {"method": "sandbox"}, _auth(buyer))
    )
    out["pay"] = status
    if status != 200 or not isinstance(started, dict) or not started.get("redirect_url"):
        return out
    path = "/" + started["redirect_url"].split("/", 3)[3]
    with requests.Session() as session:
        status, page = _retrying(lambda: client.request("GET", path, session=session))
        match = CSRF.search(page) if isinstance(page, str) else None
        if status != 200 or not match:
            out["gateway"] = status
            return out
        form = {"csrf_token": match.group(1), "action": "pay"}
        status, _ = _retrying(lambda: client.request("POST", path, form=form, session=session))
    out["gateway"] = status
    out["paid_at_gateway"] = status in (302, 303)
    return out


def flash_buy(client: RoundRobinClient, shop: Shop, buyer: dict, key: str) -> dict:
    """One buyer's flash purchase with one Idempotency-Key (retried with
    the same key on a clear 5xx or a lost connection); a 202 ticket is
    followed by :func:`settle_tickets`."""
    body = {"sku_id": shop.flash_sale_sku, "quantity": 1, "address_id": buyer["address_id"]}
    status, answer = _retrying(
        lambda: client.request("POST", "/api/v1/flashsale/buy", body, _auth(buyer, key)), attempts=6
    )
    out = {"key": key, "status": status, "user_id": buyer["user_id"], "buyer": buyer}
    if status in (200, 202) and isinstance(answer, dict) and answer.get("ticket"):
        out["ticket"] = answer.get("ticket")  # queued (202), or a retry answered with its ticket (200)
    if status in (200, 201) and isinstance(answer, dict) and answer.get("orders"):
        out["placed"] = True  # placed in the request (201), or a retry answered with that placement (200)
    return out


def settle_tickets(client: RoundRobinClient, results: list[dict], timeout: float = 60) -> dict[str, int]:
    """Poll every 202 ticket until it says placed or failed; counts by
    final status (``queued`` left: not settled in ``timeout``)."""
    deadline = time.monotonic() + timeout
    final: dict[str, str] = {}
    pending = [r for r in results if r.get("ticket")]
    while pending and time.monotonic() < deadline:
        still = []
        for r in pending:
            status, body = client.request("GET", f"/api/v1/flashsale/tickets/{r['ticket']}", headers=_auth(r["buyer"]))
            state = body.get("status") if status == 200 and isinstance(body, dict) else f"http {status}"
            if state in ("placed", "failed"):
                final[r["ticket"]] = state
            else:
                final[r["ticket"]] = state or "?"
                still.append(r)
        pending = still
        if pending:
            time.sleep(0.5)
    counts: dict[str, int] = {}
    for state in final.values():
        counts[state] = counts.get(state, 0) + 1
    return counts


def summarize(client: RoundRobinClient) -> str:
    parts = [f"{k}: {v}" for k, v in sorted(client.outcomes.items())]
    if client.retried:
        parts.append(f"{client.retried} lost connections retried")
    return ", ".join(parts)


# -- the checks ------------------------------------------------------------------


def consistency(url: str, shops: list[Shop], keys_by_user: dict[int, set[str]] | None = None) -> list[str]:
    """Every invariant of issue 15 that does not hold now (empty: all do):
    payments equal the sum of their orders; stock + sold = initial; flash
    sold = live reservations, never above the flash stock; each ledger
    journal balances; no buyer holds more payments than keys it sent, nor
    more than one flash order; a trade paid at the gateway is paid here;
    no durable flash ticket is still queued."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    bad: list[str] = []
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            rows = conn.execute(
                text(
                    "SELECT p.number, p.amount, coalesce(sum(o.pay_amount), 0) FROM payment_orders p "
                    "LEFT JOIN orders o ON o.payment_id = p.id GROUP BY p.id, p.number, p.amount "
                    "HAVING p.amount <> coalesce(sum(o.pay_amount), 0)"
                )
            ).all()
            if rows:
                bad.append(f"{len(rows)} payments differ from the sum of their orders, e.g. {tuple(rows[0])}")
            for shop in shops:
                for sku, initial in shop.skus.items():
                    stock = conn.execute(text("SELECT stock FROM skus WHERE id = :s"), {"s": sku}).scalar()
                    sold = conn.execute(
                        text(
                            "SELECT coalesce(sum(ol.quantity - ol.refunded_quantity), 0) FROM order_lines ol "
                            "JOIN orders o ON o.id = ol.order_id WHERE ol.sku_id = :s AND ol.stock_source = 'sku' "
                            "AND o.status <> 'closed'"
                        ),
                        {"s": sku},
                    ).scalar()
                    if stock + sold != initial:
                        bad.append(f"sku {sku}: stock {stock} + sold {sold} != initial {initial}")
            if "flashsale_skus" in tables:
                for fid, stock, sold, reserved, ordered in conn.execute(
                    text(
                        "SELECT f.id, f.stock, f.sold, "
                        "(SELECT coalesce(sum(r.quantity - r.released), 0) FROM flashsale_reservations r "
                        " WHERE r.flash_sku_id = f.id), "
                        "(SELECT coalesce(sum(ol.quantity), 0) FROM order_lines ol JOIN orders o ON o.id = ol.order_id "
                        " WHERE ol.sku_id = f.sku_id AND ol.stock_source = 'flashsale' AND o.status <> 'closed') "
                        "FROM flashsale_skus f"
                    )
                ).all():
                    if sold != reserved or sold != ordered or sold > stock:
                        bad.append(
                            f"flash sku {fid}: sold {sold}, reserved {reserved}, in live orders {ordered}, stock {stock}"
                        )
                top = conn.execute(
                    text(
                        "SELECT o.user_id, ol.sku_id, count(DISTINCT o.id) FROM orders o "
                        "JOIN order_lines ol ON ol.order_id = o.id WHERE ol.stock_source = 'flashsale' "
                        "GROUP BY o.user_id, ol.sku_id HAVING count(DISTINCT o.id) > 1"
                    )
                ).all()
                if top:
                    bad.append(
                        f"{len(top)} buyers hold two flash orders for one sale (one key each), e.g. {tuple(top[0])}"
                    )
            if "flashsale_tickets" in tables:
                queued = conn.execute(text("SELECT count(*) FROM flashsale_tickets WHERE status = 'queued'")).scalar()
                if queued:
                    bad.append(f"{queued} durable flash tickets still queued")
            if "multistore_entries" in tables:
                off = conn.execute(
                    text(
                        "SELECT journal_id, sum(amount) FROM multistore_entries GROUP BY journal_id HAVING sum(amount) <> 0"
                    )
                ).all()
                if off:
                    bad.append(f"{len(off)} ledger journals do not balance, e.g. {tuple(off[0])}")
            if keys_by_user:
                for user_id, n in conn.execute(
                    text(
                        "SELECT user_id, count(*) FROM payment_orders WHERE user_id = ANY(:u) "
                        "AND (idempotency_key IS NULL OR idempotency_key NOT LIKE 'fsq-%') GROUP BY user_id"
                    ),
                    {"u": list(keys_by_user)},
                ).all():
                    if n > len(keys_by_user[user_id]):
                        bad.append(f"buyer {user_id} holds {n} payments for {len(keys_by_user[user_id])} keys")
            unpaid = conn.execute(
                text(
                    "SELECT count(*) FROM sandbox_trades t JOIN payment_orders p "
                    "ON p.number = split_part(t.out_trade_no, '-', 1) WHERE t.status = 'paid' AND p.status <> 'paid'"
                )
            ).scalar()
            if unpaid:
                bad.append(f"{unpaid} trades paid at the gateway are not paid here")
    finally:
        engine.dispose()
    return bad


def paid_gap(url: str) -> int:
    """Trades the gateway took money for whose payment is not paid here yet."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM sandbox_trades t JOIN payment_orders p "
                        "ON p.number = split_part(t.out_trade_no, '-', 1) WHERE t.status = 'paid' AND p.status <> 'paid'"
                    )
                ).scalar()
                or 0
            )
    finally:
        engine.dispose()
