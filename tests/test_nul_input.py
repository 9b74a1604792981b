"""K14: a NUL character in any input is a 4xx naming the field, never a 500
(PostgreSQL refuses NUL in text) nor a silent truncation (SQLite)."""

from __future__ import annotations


def test_nul_in_query_form_and_json_is_refused(app, client, api, factory):
    buyer = factory.user()
    factory.product(name="龙井")
    resp = api.get("/products?q=%00")
    assert resp.status_code == 422 and resp.get_json()["field"] == "q"
    assert api.get("/products?q=%E9%BE%99%00").get_json()["field"] == "q"
    resp = api.post("/cart/items", user=buyer, json={"sku_id": 1, "quantity": 1, "note": "a\u0000b"})
    assert resp.status_code == 422 and resp.get_json()["code"] == "invalid"
    assert client.get("/search?q=%00").status_code == 422
    assert client.post("/login", data={"phone": "139\x00", "password": "x"}).status_code == 422
    # Ordinary input still works.
    assert api.get("/products?q=%E9%BE%99").status_code == 200


def _raw_json(api, path, user, text: str):
    """``text`` as the JSON body, exactly as written (``\\ud800`` escapes stay
    escapes); PATCH for ``/me``, else POST."""
    return api.client.open(
        "/api/v1" + path,
        method="PATCH" if path == "/me" else "POST",
        data=text.encode(),
        content_type="application/json",
        headers=api.headers(user),
    )


def test_nul_and_lone_surrogate_in_json_name_the_field(app, api, factory):
    """K14: a NUL or a lone surrogate (``"\\ud800x"``, text no UTF-8 holds: a 500
    from PostgreSQL's driver) in any JSON string is a 422 naming the field,
    nested ones by their path; the six characters ``\\u0000`` are text."""
    buyer = factory.user()
    address = factory.address(buyer)
    sku = factory.product(name="龙井", price=1000).skus[0].id
    cases = [
        ('{"sku_id": SKU, "quantity": 1, "note": "a\\u0000b"}', "/cart/items", "note"),
        ('{"name": "\\ud800x"}', "/me", "name"),
        ('{"name": "x\\udfff"}', "/me", "name"),
        (
            '{"items": [{"sku_id": SKU, "quantity": 1}], "address_id": ADDR, "options": {"messages": {"k": "\\ud800"}}}',
            "/checkout/preview",
            "options.messages.k",
        ),
        ('{"\\ud800": 1}', "/me", "\\ud800"),
    ]
    for body, path, field in cases:
        resp = _raw_json(api, path, buyer, body.replace("SKU", str(sku)).replace("ADDR", str(address.id)))
        assert resp.status_code == 422, (body, resp.status_code, resp.get_json())
        assert resp.get_json()["code"] == "invalid" and resp.get_json()["field"] == field, (body, resp.get_json())
    # the six characters backslash-u-0-0-0-0 are ordinary text, stored as typed
    resp = _raw_json(api, "/me", buyer, '{"name": "a\\\\u0000b"}')
    assert resp.status_code == 200, resp.get_json()
    assert api.get("/me", user=buyer).get_json()["name"] == "a\\u0000b"


def test_raw_body_bytes_that_may_hold_nul_are_walked(app, api, factory):
    """The body is parsed and walked only when its bytes may give a NUL or a
    lone surrogate (issue 20): a UTF-8-encoded surrogate, an upper-case
    ``\\uD800`` escape and a UTF-16 body are still refused naming the field."""
    buyer = factory.user()
    for data, field in (
        (b'{"name": "x\xed\xa0\x80"}', "name"),
        (b'{"name": "\\uD800"}', "name"),
        ('{"name": "a\\u0000b"}'.encode("utf-16"), "name"),
        ('{"name": "a\\u0000b"}'.encode("utf-16-be"), "name"),
    ):
        resp = api.client.open(
            "/api/v1/me", method="PATCH", data=data, content_type="application/json", headers=api.headers(buyer)
        )
        assert resp.status_code == 422 and resp.get_json()["field"] == field, (data, resp.get_json())
    resp = api.client.open(
        "/api/v1/me",
        method="PATCH",
        data='{"name": "龙井\\u4e2d"}'.encode(),
        content_type="application/json",
        headers=api.headers(buyer),
    )
    assert resp.status_code == 200 and resp.get_json()["name"] == "龙井中"


def test_bytes_check_never_skips_an_unstorable_body(app):
    """``_json_may_be_unstorable`` is False only for bodies whose parse holds
    no NUL and no lone surrogate: every escape, raw byte and encoding tried."""
    import itertools
    import json

    from jishi.app import _json_may_be_unstorable, _unstorable_text

    pieces = [
        "a",
        "龙",
        "\\u0000",
        "\\u0001",
        "\\uD800",
        "\\udfff",
        "\\ud83d\\ude00",
        "\\uDBFF\\uDFFF",
        "\\u00e9",
        "\\\\u0000",
        "\\\\",
        "\\u d800",
        "\\n",
        "\ud7ff",
        "\ue000",
        "한",
    ]
    raw = [b"", b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\x00", b"\xc3\xa9"]
    with app.test_request_context():
        checked = 0
        for a, b in itertools.product(pieces, repeat=2):
            for extra in raw:
                text = '{"k' + a + '": ["' + b + '"]}'
                for data in (text.encode("utf-8", "surrogatepass") + extra, text.encode("utf-16", "surrogatepass")):
                    for body in (data, data.replace(b"]", extra + b"]")):
                        try:
                            value = json.loads(body)
                        except ValueError:
                            continue
                        checked += 1
                        if _unstorable_text(value) is not None:
                            assert _json_may_be_unstorable(body), body
        assert checked > 500


def test_a_multipart_part_without_a_name_is_not_a_500(app, api, client, factory):
    """K14/K15: a multipart body may hold a part whose Content-Disposition
    has no name (werkzeug lists its value under the name None); the NUL
    check passed it to ``in`` and answered 500 (found by schemathesis on
    the demo's picture uploads). Such a part is ignored: the upload is
    made, a NUL in its value is still refused, a page's form alike."""
    buyer = factory.user()
    picture = factory.image_bytes("PNG")

    def body(nameless: bytes) -> bytes:
        return (
            b"--XX\r\nContent-Disposition: form-data\r\n\r\n" + nameless + b"\r\n"
            b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + picture + b"\r\n--XX--\r\n"
        )

    def post(path, data, headers=None):
        return client.post(path, data=data, content_type="multipart/form-data; boundary=XX", headers=headers or {})

    resp = post("/api/v1/reviews/images", body(b"true"), api.headers(buyer))
    assert resp.status_code == 201, resp.get_json()
    resp = post("/api/v1/reviews/images", body(b"a\x00b"), api.headers(buyer))
    assert resp.status_code == 422 and resp.get_json()["code"] == "invalid", resp.get_json()
    # a page's form (the sign-in page) answers as a page, not a 500
    assert post("/login", b"--XX\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XX--\r\n").status_code < 500
