"""Headless Debian Chromium, driven by Playwright, for tests that look at pages as a person does.

The browser is the distribution's ``chromium`` package (``./dev test`` installs it when
missing); Playwright only drives it (``executable_path``), it never downloads a browser.
Each use gets a fresh profile directory, every wait is bounded, only loopback is reachable,
and the browser is closed on the way out, whatever happened.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Locator, Page, Route, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")
STEP_TIMEOUT_MS = 30_000  # any one navigation, click or wait
LAUNCH_TIMEOUT_MS = 60_000
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _loopback_only(route: Route) -> None:
    """Nothing but this machine's loopback services: a page asking further is refused."""
    if urlsplit(route.request.url).hostname in _LOOPBACK:
        route.fallback()
    else:
        route.abort("blockedbyclient")


@contextmanager
def chromium(profile_dir: Path, *, locale: str = "en-US") -> Iterator[BrowserContext]:
    """A browser context of headless Chromium on a fresh profile in ``profile_dir``."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium package "
                           "(./dev test does it when run as root)")
    profile_dir.mkdir(parents=True, exist_ok=False)  # fresh: never a profile reused
    expect.set_options(timeout=STEP_TIMEOUT_MS)  # expect() waits as long as a step may take
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir), executable_path=str(CHROMIUM), headless=True, args=list(FLAGS),
            timeout=LAUNCH_TIMEOUT_MS, locale=locale)
        try:
            context.set_default_timeout(STEP_TIMEOUT_MS)
            context.set_default_navigation_timeout(STEP_TIMEOUT_MS)
            context.route("**/*", _loopback_only)
            yield context
        finally:
            context.close()


@contextmanager
def portal_stand_in() -> Iterator[list[str]]:
    """A stand-in for the client application on a free loopback port: every URL Chromium
    lands on there (the redirect with the authorization code) is appended to the list it
    yields, and the browser is shown a page whose heading is "Portal". Its base URL is
    ``portal.url`` on the returned list's ``server`` (see :class:`_Portal`)."""
    portal = _Portal(("127.0.0.1", 0), _PortalPage)
    thread = threading.Thread(target=portal.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield portal.landed
    finally:
        portal.shutdown()
        portal.server_close()
        thread.join(timeout=5)


class _Portal(ThreadingHTTPServer):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.landed = _Landed(f"http://127.0.0.1:{self.server_address[1]}")


class _Landed(list[str]):
    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url


class _PortalPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        assert isinstance(self.server, _Portal)
        if self.path == "/favicon.ico":  # the browser's own fetch, not a page a person opened
            self.send_error(404)
            return
        self.server.landed.append(self.server.landed.url + self.path)
        body = b"<!doctype html><title>Portal</title><h1>Portal</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the URL carries a code: keep it out of the test log


def heading(page: Page, text: str) -> Locator:
    """The page's main heading (``<h1>``) reading ``text``: assert on it with ``expect``,
    which waits for the page a click led to, instead of reading the one being left."""
    return page.get_by_role("heading", level=1, name=text, exact=True)


def field(page: Page, label: str) -> Locator:
    """The input a person would type into under the visible label ``label`` (a trailing
    "*" for required fields aside). Labels whose ``for`` names no input (Keycloak's OTP
    set-up page) are matched by the form group they head, as the eye does. Lazy, like any
    locator: filling it waits for the page that has it."""
    caption = page.locator("label").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))
    grouped = caption.locator(
        "xpath=ancestor::*[.//input[not(@type='hidden')]][1]//input[not(@type='hidden')]")
    return page.get_by_label(label, exact=True).or_(grouped).first
