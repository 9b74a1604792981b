"""MS13: the buyers' merchant list, sorted by join time, name or distance (in SQL)."""

from __future__ import annotations

import math
from datetime import timedelta

from jishi.db import db


def _haversine(lat1, lng1, lat2, lng2):
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def _seed(ms):
    """Shops around West Lake, Hangzhou (30.25, 120.15), and one in Beijing."""
    spots = [("近店", 30.251, 120.151), ("中店", 30.30, 120.20), ("远店", 30.60, 120.50), ("北京店", 39.90, 116.40)]
    shops = {}
    for i, (name, lat, lng) in enumerate(spots):
        m = ms.merchant(name, lat=lat, lng=lng, avg_spend=2000 + i, hours="09:00-21:00", category="餐饮")
        m.approved_at = m.approved_at - timedelta(days=10 - i)  # joined in list order
        shops[name] = m
    shops["无坐标"] = ms.merchant("无坐标")
    shops["休息店"] = ms.merchant("休息店", status="resting", lat=30.2505, lng=120.1505)
    shops["关闭店"] = ms.merchant("关闭店", status="shut", lat=30.25, lng=120.15)
    shops["未审店"] = ms.merchant("未审店", approved=False, lat=30.25, lng=120.15)
    db.session.commit()
    return shops


def test_sorts_and_fields(api, ms):
    """MS13: join time (newest first), name, and distance with metres shown;
    shut and unapproved shops are not listed; resting ones are, with their label."""
    shops = _seed(ms)
    newest = api.get("/shops").json
    names = [i["name"] for i in newest["items"]]
    assert "关闭店" not in names and "未审店" not in names and "休息店" in names
    assert names.index("北京店") < names.index("远店") < names.index("中店") < names.index("近店")
    item = next(i for i in newest["items"] if i["name"] == "近店")
    assert (
        item["stars"] == 5
        and item["avg_spend"] == 2000
        and item["hours"] == "09:00-21:00"
        and item["category"] == "餐饮"
    )
    assert item["lat"] == 30.251 and item["distance_m"] is None and item["url"] == f"/shops/{shops['近店'].id}"
    assert next(i for i in newest["items"] if i["name"] == "休息店")["status"] == "resting"
    by_name = [i["name"] for i in api.get("/shops?sort=name").json["items"]]
    assert by_name == sorted(by_name)
    near = api.get("/shops?sort=distance&lat=30.25&lng=120.15").json["items"]
    # resting shops are listed (with their label); without a location, no place in the distance order
    assert [i["name"] for i in near] == ["休息店", "近店", "中店", "远店", "北京店"]
    for i in near:
        m = shops[i["name"]]
        assert abs(i["distance_m"] - _haversine(30.25, 120.15, m.lat, m.lng)) <= 1
    assert near[0]["distance_text"].endswith("m") and not near[0]["distance_text"].endswith("km")
    assert near[2]["distance_text"].endswith("km")
    assert api.get("/shops?sort=distance").json["field"] == "lat"
    assert api.get("/shops?sort=distance&lat=91&lng=0").json["field"] == "lat"
    assert api.get("/shops?sort=far").status_code == 422
    assert api.get("/shops?cursor=garbage").json["field"] == "cursor"
    assert [i["name"] for i in api.get("/shops?q=北京").json["items"]] == ["北京店"]


def test_distance_pagination_and_one_statement(api, ms, queries):
    """MS13: keyset pages of the distance order cover every shop once, in
    order; a page whose shops lie within the first radius is ONE statement."""
    shops = _seed(ms)
    seen, cursor = [], None
    while True:
        url = "/shops?sort=distance&lat=30.25&lng=120.15&limit=1" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(url).json
        seen += [(i["name"], i["distance_m"]) for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [n for n, _ in seen] == ["休息店", "近店", "中店", "远店", "北京店"]
    assert [d for _, d in seen] == sorted(d for _, d in seen)
    for sort in ("newest", "name"):
        names, cursor = [], None
        while True:
            page = api.get(f"/shops?sort={sort}&limit=2" + (f"&cursor={cursor}" if cursor else "")).json
            names += [i["name"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(names) == len(set(names)) == 6
    from jishi_multistore import merchants

    db.session.expire_all()
    with queries() as q:
        items, _ = merchants.list_shops(sort="distance", lat=30.25, lng=120.15, limit=1)
    assert q.count == 1 and items[0]["name"] == "休息店"
    assert shops


def test_shops_page(client, ms):
    """MS13 (page): the list shows shops with distance when the visitor gives a location."""
    _seed(ms)
    html = client.get("/shops").get_data(as_text=True)
    assert "近店" in html and "关闭店" not in html and "未审店" not in html
    html = client.get("/shops?sort=distance&lat=30.25&lng=120.15").get_data(as_text=True)
    assert html.index("近店") < html.index("中店") < html.index("北京店") and 'class="distance"' in html
    assert client.get("/shops?cursor=bad").status_code == 200
