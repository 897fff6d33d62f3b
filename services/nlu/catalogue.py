"""The business's package names, read once from its API so that `paquete` resolves to real names."""

from __future__ import annotations

import asyncio

import httpx

from runtime.errors import DependencyUnreachable


async def fetch_package_names(base_url: str, token: str, *, attempts: int = 5) -> list[str]:
    delay = 0.5
    async with httpx.AsyncClient(base_url=base_url, timeout=5.0,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = await client.get("/packages")
                response.raise_for_status()
                return [str(package["name"]) for package in response.json()["packages"]]
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                if attempt == attempts:
                    raise DependencyUnreachable("nlu", "the business API", f"{base_url}/packages", str(exc)) from exc
                await asyncio.sleep(delay)
                delay *= 2
    raise AssertionError("unreachable")
