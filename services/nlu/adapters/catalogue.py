"""The business's package names, read once from its API so that `paquete` resolves to real names."""

from __future__ import annotations

import httpx

from runtime.errors import DependencyUnreachable
from runtime.resilience import retry


async def fetch_package_names(base_url: str, token: str, *, attempts: int = 5) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0,
                                 headers={"Authorization": f"Bearer {token}"}) as client:

        async def fetch() -> list[str]:
            response = await client.get("/packages")
            response.raise_for_status()
            return [str(package["name"]) for package in response.json()["packages"]]

        try:
            return await retry(fetch, attempts=attempts, retry_on=(httpx.HTTPError, KeyError, ValueError),
                               base_s=0.5, max_s=4.0, jitter="none")
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise DependencyUnreachable("nlu", "the business API", f"{base_url}/packages", str(exc)) from exc
