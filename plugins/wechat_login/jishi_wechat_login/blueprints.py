"""The plugin's blueprints.

- ``web``: ``/wechat/login`` (start the website's QR sign-in),
  ``/wechat/callback`` (WeChat sends the visitor back here), ``/wechat/account``
  (the signed-in account's bindings: bind, unbind).
- ``api``: ``/api/v1/wechat/login`` (a mini-program's ``wx.login`` code) and
  ``/api/v1/wechat/phone`` (its ``getPhoneNumber`` code).
"""

from __future__ import annotations

from flask import Blueprint
from jishi.api.common import Blueprint as ApiBlueprint

web = Blueprint("wechat_login", __name__)
api = ApiBlueprint(
    "wechat_login_api",
    __name__,
    url_prefix="/api/v1",
    description="WeChat sign-in (微信登录) for mini-programs: wx.login and getPhoneNumber codes.",
)
