"""jishi-wechat-login: sign in with WeChat (微信登录).

Mini-program buyers exchange a ``wx.login`` code (``jscode2session``) and
bind their phone number (``getuserphonenumber``); website visitors scan a
QR code (OAuth2 ``qrconnect``), buyers on the storefront login page and
merchant staff entering their console (seed 001 §3.2). Enabled with
``JISHI_PLUGINS=wechat_login``. See ``docs/plugins/wechat_login.md``.
"""
