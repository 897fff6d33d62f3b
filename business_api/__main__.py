"""``python -m business_api``: serve the reference business API with uvicorn.

Settings come from ``BUSINESS_API_*`` (and ``DATABASE_URL``). A malformed setting prints one line
naming the variable and exits with status 78; when PostgreSQL cannot be reached it prints one
line naming the address and exits with status 2.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn

from business_api.app import create_app
from business_api.database import probe
from business_api.errors import DatabaseUnavailable
from business_api.settings import BusinessApiSettings
from runtime.settings import load_settings

EXIT_UNAVAILABLE = 2


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings(BusinessApiSettings, "business-api")
    try:
        asyncio.run(probe(settings))
    except DatabaseUnavailable as error:
        print(f"error: business-api: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    logging.getLogger("business_api").info(
        "business API on http://%s:%d (schema %s of %s)",
        settings.host,
        settings.port,
        settings.db_schema,
        settings.database_address,
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
