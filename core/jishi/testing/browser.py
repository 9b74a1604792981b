"""Helpers for browser tests driven by Playwright (headless Chromium): a
form submit that waits for the next page, and signing in through the login
form, and the Chromium the shared ``browser`` fixture (``jishi.testing``'s
pytest plugin: one per test process, for the kernel's and every plugin's
browser tests) launches. Playwright is imported by your tests, not here."""

from __future__ import annotations

import os
from typing import Any

#: The password of users the factories create.
PASSWORD = "secret123"

#: Debian's Chromium (``JISHI_CHROMIUM`` names another executable).
CHROMIUM = os.environ.get("JISHI_CHROMIUM", "/usr/bin/chromium")


def submit(page: Any, selector: str, *, confirm: bool = False) -> None:
    """Click ``selector`` (a submit button or link) and wait for the page it
    leads to. ``confirm``: accept the question the button asks first
    (``data-confirm``, such as 确认收货); Playwright dismisses unanswered
    questions, which would leave the page where it is."""
    if confirm:
        page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click(selector)


def sign_in(page: Any, base: str, phone: str, password: str = PASSWORD) -> Any:
    """Sign in on ``page`` (or a new page of a browser context) through the
    storefront's login form at ``base``; returns the page."""
    if not hasattr(page, "goto"):  # a BrowserContext
        page = page.new_page()
    page.goto(base + "/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    submit(page, "form.form button[type=submit]")
    return page
