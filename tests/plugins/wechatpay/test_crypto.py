"""WXP-CRYPTO: the v3 signature strings, signatures, AEAD resources and
RSA-OAEP fields, with the official documentation's examples as vectors."""

from __future__ import annotations

import base64

import pytest
from jishi_wechatpay import crypto
from jishi_wechatpay.fake import new_key


@pytest.fixture(scope="module")
def key():
    return new_key()


def test_request_message_is_the_documented_example():
    """The signature string of the official "签名生成" example (GET of
    /v3/certificates): five lines, each ending in \\n, an empty body."""
    assert crypto.request_message("GET", "/v3/certificates", "1554208460", "593BEC0C930BF1AFEB40B4A08C8FB242", "") == (
        "GET\n/v3/certificates\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n\n"
    )


def test_pay_sign_covers_the_documented_string(key):
    """JSAPI 调起支付's example: appId, timeStamp, nonceStr, package, one a
    line; paySign is SHA256-RSA of exactly that with the merchant key."""
    message = (
        "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ2502SI8ZNMTM67VS\n"
        "prepay_id=wx201410272009395522657a690389285100\n"
    )
    sig = crypto.pay_sign(
        key,
        "wx8888888888888888",
        "1414561699",
        "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
        "prepay_id=wx201410272009395522657a690389285100",
    )
    assert crypto.verify(key.public_key(), message, sig)
    assert not crypto.verify(key.public_key(), message.replace("1414561699", "1414561700"), sig)


def test_authorization_header_round_trip(key):
    """WXP-SIGN: the Authorization header names mchid, nonce, timestamp,
    serial and a signature the merchant's public key verifies."""
    header = crypto.authorization(
        key,
        "1900009191",
        "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB",
        "POST",
        "/v3/pay/transactions/native",
        '{"a":1}',
        "1554208460",
        "NONCE1",
    )
    assert header.startswith('WECHATPAY2-SHA256-RSA2048 mchid="1900009191",nonce_str="NONCE1",signature="')
    params = crypto.parse_authorization(header)
    assert params["serial_no"] == "408B07E79B8269FEC3D5D3E6AB8ED163A6A380DB" and params["timestamp"] == "1554208460"
    message = crypto.request_message("POST", "/v3/pay/transactions/native", "1554208460", "NONCE1", '{"a":1}')
    assert crypto.verify(key.public_key(), message, params["signature"])
    assert not crypto.verify(key.public_key(), message.replace('"a":1', '"a":2'), params["signature"])
    assert crypto.parse_authorization("Bearer x") == {}


def test_response_message_and_bad_signatures(key):
    body = '{"prepay_id":"wx1"}'
    sig = crypto.sign(key, crypto.response_message("1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", body).decode())
    assert crypto.verify(
        key.public_key(), crypto.response_message("1554209980", "c5ac7061fccab6bf3e254dcf98995b8c", body), sig
    )
    for bad in ("", "not base64!", base64.b64encode(b"x" * 256).decode()):
        assert not crypto.verify(key.public_key(), b"x", bad)


def test_aead_resource_round_trip_and_tampering():
    """WXP-AEAD: AEAD_AES_256_GCM with the 32-byte APIv3 key, the resource's
    nonce and associated_data; any change to them or the ciphertext fails."""
    apiv3 = "a" * 32
    text = crypto.aead_encrypt(apiv3, "fdasflkja484w", b'{"out_trade_no":"P1"}', "transaction")
    assert crypto.aead_decrypt(apiv3, "fdasflkja484w", text, "transaction") == b'{"out_trade_no":"P1"}'
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    for args in (
        ("b" * 32, "fdasflkja484w", text, "transaction"),
        (apiv3, "fdasflkja484x", text, "transaction"),
        (apiv3, "fdasflkja484w", text, "refund"),
        (apiv3, "fdasflkja484w", base64.b64encode(bytes(raw)).decode(), "transaction"),
        (apiv3, "fdasflkja484w", "%%%", "transaction"),
        ("short", "fdasflkja484w", text, "transaction"),
    ):
        with pytest.raises(crypto.CryptoError):
            crypto.aead_decrypt(*args)


def test_oaep_round_trip(key):
    """A receiver's name goes out RSA-OAEP encrypted with the platform key."""
    assert crypto.oaep_decrypt(key, crypto.oaep_encrypt(key.public_key(), "深圳分店有限公司")) == "深圳分店有限公司"


def test_keys_load_or_refuse(key):
    assert crypto.load_private_key(crypto.private_pem(key)).key_size == 2048
    assert crypto.load_public_key(crypto.public_pem(key)).key_size == 2048
    with pytest.raises(crypto.CryptoError):
        crypto.load_private_key("-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----")
    with pytest.raises(crypto.CryptoError):
        crypto.load_public_key("garbage")
