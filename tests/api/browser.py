"""Headless Debian Chromium through Playwright (no browser download) for the tests of pages,
and what every such test checks: no request leaves the server's origin, no console error.

Tests that need it call :func:`require_browser`, which skips without ``/usr/bin/chromium``
(or the npm files a page needs) unless ``STAGEGRAPH_REQUIRE_BROWSER=1`` (set by ``.ci/run``),
which makes that a failure."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE_BROWSER = os.environ.get("STAGEGRAPH_REQUIRE_BROWSER") == "1"


def require_browser(*missing_files: str) -> None:
    """Skip (or fail, with STAGEGRAPH_REQUIRE_BROWSER=1) without Chromium, or when one of
    ``missing_files`` (reasons) is given."""
    missing = list(missing_files)
    if not CHROMIUM.is_file():
        missing.insert(0, f"no {CHROMIUM} (apt-get install chromium)")
    if not missing:
        return
    reason = "; ".join(missing)
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason}; STAGEGRAPH_REQUIRE_BROWSER=1 makes this a failure", pytrace=False)
    pytest.skip(f"{reason} (STAGEGRAPH_REQUIRE_BROWSER=1 to fail)")


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@dataclass
class Watched:
    """A page and what it did: every request's URL, every console error."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def off_origin(self, base: str) -> list[str]:
        origin = urlsplit(base)
        return [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:"))
            and (urlsplit(url).hostname, urlsplit(url).port) != (origin.hostname, origin.port)
        ]


@contextmanager
def watched_page(
    browser: Browser, *, init_script: str | None = None, width: int = 1280, height: int = 800
) -> Iterator[Watched]:
    """A fresh browser context and page that records requests and console errors."""
    context = browser.new_context(viewport={"width": width, "height": height})
    if init_script:
        context.add_init_script(init_script)
    page = context.new_page()
    watched = Watched(page)
    page.on("request", lambda request: watched.requests.append(request.url))

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    page.on("console", console)
    page.on("pageerror", lambda error: watched.errors.append(f"uncaught: {error}"))
    try:
        yield watched
    finally:
        context.close()
