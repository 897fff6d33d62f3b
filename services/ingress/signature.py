"""Twilio's request signature, checked with the `twilio` library against the URL Twilio signed."""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator


class FormParams(dict[str, str]):
    """Form fields as a mapping (last value wins) that also gives every value of a repeated field.

    `RequestValidator` signs every value of every field (`getall`), so a field repeated by an
    attacker after signing breaks the signature even though parsing only reads one value.
    """

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._all: dict[str, list[str]] = {}
        for key, value in pairs:
            self._all.setdefault(key, []).append(value)

    def getall(self, name: str) -> list[str]:
        return self._all.get(name, [])


def signed_url(*, public_url: str | None, trust_forwarded: bool, headers: Mapping[str, str], scheme: str,
               host: str, path: str, query: str) -> str:
    """The URL Twilio requested: the configured public base URL, else the trusted proxy's, else ours."""
    if public_url:
        base = public_url.rstrip("/")
    elif trust_forwarded and headers.get("x-forwarded-host"):
        proto = headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        forwarded_host = headers["x-forwarded-host"].split(",")[0].strip()
        base = f"{proto}://{forwarded_host}"
    else:
        base = f"{scheme}://{host}"
    return base + path + (f"?{query}" if query else "")


def valid_signature(validator: RequestValidator, url: str, params: FormParams, signature: str) -> bool:
    """True when `signature` signs `url` and every received parameter (with or without the port).

    The URL exactly as requested is one of the two forms the library accepts, and the one Twilio
    almost always signed: one HMAC for it first, then the library's full check (both forms).
    """
    if not signature:
        return False
    exact = validator.compute_signature(url, params)
    return hmac.compare_digest(exact.encode(), signature.encode()) or bool(validator.validate(url, params, signature))
