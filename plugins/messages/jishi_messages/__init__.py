"""jishi-messages: buyer ↔ shop messages (在线客服 / 留言, seed 004 §4).

Enabled with ``JISHI_PLUGINS=messages`` (entry point ``jishi_messages.plugin``);
works in a single-store shop (every conversation is with the shop) and with
multistore (a merchant's staff answer their merchant's conversations, the
platform's staff the self-operated ones and, in a dispute, read any). See
``docs/plugins/messages.md``.
"""
