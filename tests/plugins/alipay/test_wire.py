"""Issue 14 (plugins/alipay): the RSA2 wire format against the official
examples, with no app or database.

Vectors from Alipay's own Node.js SDK tests (alipay/alipay-sdk-nodejs-all,
test/alipay.test.ts): a real asynchronous notification signed by Alipay
and the public key that verifies it; the raw response texts whose signed
object text is asserted there (``getSignStr``)."""

from __future__ import annotations

import json
from datetime import UTC

import pytest
from jishi_alipay import wire

# Alipay's public key of the app that received the notification below
# (public: the "notifyAlipayPublicKeyV1" of the SDK's test).
ALIPAY_PUBLIC_KEY_V1 = (
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXI"
    "ofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdP"
    "kO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/Fd"
    "cWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB"
)

REAL_NOTIFICATION = {
    "gmt_create": "2019-08-15 15:56:22",
    "charset": "utf-8",
    "seller_email": "z97-yuquerevenue@service.aliyun.com",
    "subject": "语雀空间 500人规模",
    "sign": "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwr"
    "VgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4E"
    "LNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0Y"
    "jCh4x7wVSov+lrmOQ==",
    "buyer_id": "2088102534368455",
    "invoice_amount": "0.10",
    "notify_id": "2019081500222155624068450559358070",
    "fund_bill_list": '[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]',
    "notify_type": "trade_status_sync",
    "trade_status": "TRADE_SUCCESS",
    "receipt_amount": "0.10",
    "buyer_pay_amount": "0.10",
    "sign_type": "RSA2",
    "app_id": "2019073166072302",
    "seller_id": "2088531891668739",
    "gmt_payment": "2019-08-15 15:56:24",
    "notify_time": "2019-08-15 15:56:25",
    "version": "1.0",
    "out_trade_no": "20190815155618536-564-57",
    "total_amount": "0.10",
    "trade_no": "2019081522001468450512505578",
    "auth_app_id": "2019073166072302",
    "buyer_logon_id": "xud***@126.com",
    "point_amount": "0.00",
}


def test_real_alipay_notification_verifies():
    """Issue 14 (alipay, official vector): a notification Alipay signed
    verifies over the sorted parameters without sign and sign_type; with
    sign_type or without it (it is not signed)."""
    key = wire.load_public_key(ALIPAY_PUBLIC_KEY_V1)  # bare base64, as Alipay's console shows it
    assert wire.verify_notification(key, REAL_NOTIFICATION)
    without = {k: v for k, v in REAL_NOTIFICATION.items() if k != "sign_type"}
    assert wire.verify_notification(key, without)


@pytest.mark.parametrize(
    "change",
    [
        {"total_amount": "0.11"},
        {"trade_status": "TRADE_CLOSED"},
        {"app_id": "2019073166072303"},
        {"out_trade_no": "20190815155618536-564-58"},
        {"extra": "added"},
        {"sign": REAL_NOTIFICATION["sign"][:-4] + "AAA="},
        {"sign": "not base64!"},
        {"sign": ""},
    ],
)
def test_real_notification_tampered_fails(change):
    """Issue 14 (alipay): any change to a signed notification, or a broken
    signature, fails verification."""
    key = wire.load_public_key(ALIPAY_PUBLIC_KEY_V1)
    assert not wire.verify_notification(key, {**REAL_NOTIFICATION, **change})


def test_notification_empty_values_are_signed():
    """Issue 14 (alipay): a notification is checked over every parameter it
    carries, empty ones too (as Alipay's SDKs do); a request drops them."""
    key = wire.new_key()
    params = {"a": "1", "passback_params": "", "b": "2"}
    signed = wire.sign_notification(key, params)
    assert wire.sign_content(signed, ("sign", "sign_type"), keep_empty=True) == "a=1&b=2&passback_params="
    assert wire.verify_notification(key.public_key(), signed)
    assert not wire.verify_notification(key.public_key(), {k: v for k, v in signed.items() if k != "passback_params"})
    assert wire.sign_content(params) == "a=1&b=2"


def test_response_object_text_is_the_raw_text():
    """Issue 14 (alipay, official vector): the signed text of a response is
    the raw object text as sent (escaped slashes, spaces, a "sign" inside
    the object), as the SDK's getSignStr test asserts."""
    obj = (
        '{"code":"10000","msg":"Success","image_id":"Zp1Nm6FDTZaEuSSniGd5awAAACMAAQED",'
        '"image_url":"http:\\/\\/oalipay-dl-django.alicdn.com\\/rest\\/1.0\\/image?fileIds=Zp1Nm6FDTZaEuSSniGd5awAAACMAAQED'
        '&zoom=original"}'
    )
    name = "alipay_offline_material_image_upload_response"
    assert wire.response_object_text('{"' + name + '":' + obj + ',"sign":"P8x"}', name) == obj
    spaced = '{"' + name + '"\n        :\n        ' + obj + ',\n\n          "sign"  :  "P8x"}'
    assert wire.response_object_text(spaced, name) == obj
    inner = obj.replace('"code":"10000",', '"code":"10000","sign":"xxx",')
    assert wire.response_object_text('{"' + name + '":' + inner + ',"sign":"P8x"}', name) == inner
    # the name inside a value is not the member; a brace inside a string does not end it
    tricky = '{"x":"\\"' + name + '\\":{}","' + name + '":{"msg":"a}b{"},"sign":"s"}'
    assert wire.response_object_text(tricky, name) == '{"msg":"a}b{"}'
    assert wire.response_object_text('{"error_response":{"code":"40002"}}', name) is None


def test_request_signing_round_trip():
    """Issue 14 (alipay): a request is signed over the sorted pairs without
    sign (sign_type included), empty values left out; the fake's check
    (the app's public key) accepts it and refuses any change."""
    key = wire.new_key()
    params = {
        "app_id": "2014072300007148",
        "method": "alipay.trade.query",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "timestamp": "2014-07-24 03:07:50",
        "version": "1.0",
        "notify_url": "",
        "biz_content": json.dumps({"out_trade_no": "P1"}),
    }
    assert wire.sign_content(params) == (
        'app_id=2014072300007148&biz_content={"out_trade_no": "P1"}&charset=utf-8'
        "&method=alipay.trade.query&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"
    )
    signed = wire.sign_request(key, params)
    assert "notify_url" not in signed
    public = key.public_key()
    assert wire.verify_request(public, signed)
    assert not wire.verify_request(public, {**signed, "sign_type": "RSA"})
    assert not wire.verify_request(public, {**signed, "biz_content": '{"out_trade_no": "P2"}'})


def test_signed_response_verifies_over_its_text():
    """Issue 14 (alipay): the fake signs the object text it sends (with
    Alipay's \\/ escapes) and that text verifies."""
    key = wire.new_key()
    raw = wire.signed_response(key, "alipay.trade.query", {"code": "10000", "url": "http://a/b"})
    text = wire.response_object_text(raw, "alipay_trade_query_response")
    assert text == '{"code":"10000","url":"http:\\/\\/a\\/b"}'
    assert wire.rsa2_verify(key.public_key(), text, json.loads(raw)["sign"])


def test_times_are_beijing_time():
    """Issue 14 (alipay): timestamps go out in Asia/Shanghai; times read back as naive UTC."""
    from datetime import datetime

    assert wire.now_text(datetime(2026, 1, 1, 16, 30, tzinfo=UTC)) == "2026-01-02 00:30:00"
    assert wire.parse_time("2026-01-02 00:30:00") == datetime(2026, 1, 1, 16, 30)
    assert wire.parse_time("2015-04-28 15:45:57.320") == datetime(2015, 4, 28, 7, 45, 57)
    assert wire.parse_time("yesterday") is None


@pytest.mark.parametrize("bad", ["", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----", "not a key"])
def test_bad_keys_are_refused(bad):
    """Issue 14 (alipay): unreadable keys are a clear error, not a crash."""
    with pytest.raises(wire.BadKey):
        wire.load_private_key(bad)
    with pytest.raises(wire.BadKey):
        wire.load_public_key(bad)


def test_short_keys_are_refused():
    """Issue 14 (alipay): RSA2 needs 2048-bit keys."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    short = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(wire.BadKey, match="2048"):
        wire.load_private_key(wire.private_pem(short))
