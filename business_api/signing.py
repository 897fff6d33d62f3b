"""HMAC-SHA256 signatures over a raw request body, written ``sha256=<hex>``.

One scheme for both directions: the payment provider signs ``POST /payments/webhook``
(``X-Payment-Signature``), and this API signs its notifications to the orchestrator
(``X-Business-Signature``). The signature covers the exact bytes sent, so the receiver checks it
before parsing anything.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The header value for `body`: ``sha256=`` and the hex HMAC-SHA256 with `secret`."""
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is ``sha256=<hex>`` signing `body` with `secret` (constant-time compare)."""
    given = header.strip()
    if not given.lower().startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(secret, body).encode(), (PREFIX + given[len(PREFIX) :].lower()).encode())
