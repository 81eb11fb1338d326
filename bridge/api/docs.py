"""Swagger UI for ``/api/v1`` (served at ``/api/v1/docs``), from a pip package, offline.

The page inlines Swagger UI 5 (which renders OpenAPI 3.1) from the ``swagger-ui-bundle-v2``
distribution: nothing is fetched from a CDN, so the page works on a machine without internet,
and it is one route wherever the blueprint is mounted. It reads ``openapi.json`` beside it;
"Authorize" takes a bearer token for "Try it out".
"""

from __future__ import annotations

import html
import re
from functools import cache

from swagger_ui_bundle import swagger_ui_path

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script>{js}</script>
<script>
window.ui = SwaggerUIBundle({{url: "openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, persistAuthorization: false}});
</script>
</body>
</html>
"""


def _asset(name: str) -> str:
    text = (swagger_ui_path / name).read_text(encoding="utf-8")
    text = re.sub(r"/[*/]# sourceMappingURL=\S+", "", text)  # the maps are not served
    return text.replace("</script", "<\\/script").replace("</style", "<\\/style")


@cache
def page(title: str) -> str:
    """The whole page (about 1.7 MB, built once per process)."""
    return _PAGE.format(title=html.escape(title), css=_asset("swagger-ui.css"),
                        js=_asset("swagger-ui-bundle.js"))
