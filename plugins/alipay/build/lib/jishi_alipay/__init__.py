"""Jishi Alipay (支付宝) payment gateway plugin."""
