"""The API's docs work offline: Swagger UI and ReDoc load every asset from the app itself
(the installed ``fastapi-offline`` package), never from a CDN."""

import re

import pytest

from tests.conftest import Stack


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_every_asset_from_the_app_itself(stack: Stack, page: str) -> None:
    response = await stack.api.get(page)
    assert response.status_code == 200, response.text
    html = response.text
    assert "cdn." not in html and "unpkg" not in html
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assets += re.findall(r"""(?:url: *|spec-url=)["']([^"']+)["']""", html)  # the spec
    assert "/openapi.json" in assets, f"{page} loads no spec"
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts, f"no script on {page}"
    for asset in assets:
        assert not asset.startswith(("http://", "https://", "//")), asset
        loaded = await stack.api.get(asset)
        assert loaded.status_code == 200, f"{page}: {asset} answered {loaded.status_code}"
        assert loaded.content, asset
