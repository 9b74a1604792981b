"""Write the plugin's catalogs from the extracted template and the zh_CN
translations below (the kernel's scripts/i18n.sh rewrites every catalog;
this touches only this plugin's).

    pybabel extract -F babel.cfg -k lazy_gettext -k _l -o /tmp/wechatpay.pot \\
        --no-location --sort-output -w 120 plugins/wechatpay/jishi_wechatpay
    python plugins/wechatpay/scripts/catalogs.py /tmp/wechatpay.pot
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ZH = {
    "APIv3 key": "APIv3 密钥",
    "An AppID": "AppID",
    "How WeChat Pay's signatures are verified": "微信支付签名的验证方式",
    "Mark WeChat Pay payments for profit sharing (分账)": "支付时标记为可分账（微信支付分账）",
    "Merchant API certificate serial number": "商户 API 证书序列号",
    "Merchant ID (mchid)": "商户号（mchid）",
    "Merchant ID, AppIDs and the key ID are in the WeChat Pay panel of the settings page.": "商户号、AppID 和公钥 ID 在设置页的“微信支付”面板中。",
    "Merchant private key": "商户 API 私钥",
    "Mini-program AppID": "小程序 AppID",
    "Missing: %(what)s.": "缺少：%(what)s。",
    "Not a WeChat Pay public key or platform certificate in PEM form.": "不是 PEM 格式的微信支付公钥或平台证书。",
    "Not an RSA private key in PEM form (apiclient_key.pem).": "不是 PEM 格式的 RSA 私钥（apiclient_key.pem）。",
    "Not set.": "未设置。",
    "Offer WeChat Pay": "启用微信支付",
    "Offered only once the keys are set too (WeChat Pay keys page).": "还需在“微信支付密钥”页设置密钥后才会提供。",
    "Official account / website AppID": "公众号 / 网站应用 AppID",
    "PUB_KEY_ID_... for the public key; the certificate's serial number otherwise.": "使用微信支付公钥时填 PUB_KEY_ID_...，否则填平台证书序列号。",
    "Platform certificate": "平台证书",
    "Public key ID or platform certificate serial number": "微信支付公钥 ID 或平台证书序列号",
    "Public: shown in full. New merchants have the WeChat Pay public key (pub_key.pem, ID PUB_KEY_ID_...); older ones the platform certificate.": "公开内容，完整显示。新商户使用微信支付公钥（pub_key.pem，ID 为 PUB_KEY_ID_...），老商户使用平台证书。",
    "Save": "保存",
    "Saved.": "已保存。",
    "Settings": "设置",
    "Stored: %(hint)s. Leave empty to keep it.": "已保存：%(hint)s。留空则保持不变。",
    "Test mode: WeChat Pay calls go to %(base)s, not to WeChat Pay.": "测试模式：微信支付请求发往 %(base)s，而不是微信支付。",
    "The APIv3 key is 32 characters long.": "APIv3 密钥长度为 32 个字符。",
    "The serial number of the merchant API certificate whose private key signs requests.": "用于签名请求的商户 API 证书的序列号。",
    "Used for JSAPI (inside WeChat), Native (QR code) and H5 payments.": "用于 JSAPI（微信内）、Native（扫码）和 H5 支付。",
    "WeChat Pay": "微信支付",
    "WeChat Pay H5 needs the buyer's IP address.": "微信 H5 支付需要买家的 IP 地址。",
    "WeChat Pay cannot be reached now, please try again.": "暂时无法连接微信支付，请稍后再试。",
    "WeChat Pay is configured and offered.": "微信支付已配置并已提供给买家。",
    "WeChat Pay is not offered on this client.": "此客户端不支持微信支付。",
    "WeChat Pay is not offered yet:": "微信支付尚未提供：",
    "WeChat Pay is turned off in the settings.": "微信支付在设置中已关闭。",
    "WeChat Pay keys": "微信支付密钥",
    "WeChat Pay needs the buyer's WeChat identity (openid).": "微信支付需要买家的微信身份（openid）。",
    "WeChat Pay public key (new merchants)": "微信支付公钥（新商户）",
    "WeChat Pay public key or platform certificate": "微信支付公钥或平台证书",
    "WeChat Pay refused the payment: %(message)s": "微信支付拒绝了此次支付：%(message)s",
}


def main(pot_path: str) -> None:
    root = Path(__file__).resolve().parent.parent / "jishi_wechatpay" / "translations"
    for locale in ("zh_CN", "en"):
        with open(pot_path, "rb") as fh:
            cat = read_po(fh, locale=locale)
        cat.project, cat.copyright_holder = "Jishi", "Jishi contributors"
        missing = []
        for msg in cat:
            if not msg.id:
                continue
            if locale == "en":
                msg.string = msg.id
            elif msg.id in ZH:
                msg.string = ZH[msg.id]
            else:
                missing.append(msg.id)
        if missing:
            sys.exit(f"zh_CN lacks: {missing}")
        out = root / locale / "LC_MESSAGES"
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "messages.po", "wb") as fh:
            write_po(fh, cat, sort_output=True, no_location=True, width=120)
        with open(out / "messages.mo", "wb") as fh:
            write_mo(fh, cat)


if __name__ == "__main__":
    main(sys.argv[1])
