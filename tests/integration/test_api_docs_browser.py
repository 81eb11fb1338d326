"""``/api/v1/docs`` as a person sees it: headless Debian Chromium renders Swagger UI with every
operation of the document, and asks nothing of any host (assets come from the bridge)."""

from __future__ import annotations

import threading
from pathlib import Path

from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.support.chromium import chromium
from tests.unit.test_invitations_api import Api


def test_swagger_ui_renders_every_operation_offline(tmp_path: Path) -> None:
    api = Api()
    server = make_server("127.0.0.1", 0, api.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    requested: list[str] = []
    try:
        with chromium(tmp_path / "profile") as context:
            page = context.new_page()
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{base}/api/v1/docs")
            expect(page.locator(".info .title")).to_contain_text(
                "Access bridge: invitations and lifecycle")
            document = api.http.get("/api/v1/openapi.json").get_json()
            operations = page.locator(".opblock")
            expect(operations).to_have_count(
                sum(len(item) for item in document["paths"].values()))
            expect(page.locator(".opblock-summary-path", has_text="/invitations/{id}/resend")
                   ).to_be_visible()
            expect(page.get_by_role("button", name="Authorize")).to_be_visible()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    # The page and the document it reads, both from the bridge: no CDN, no other host.
    assert {url.split("?")[0] for url in requested} == {
        f"{base}/api/v1/docs", f"{base}/api/v1/openapi.json"}
