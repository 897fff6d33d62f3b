"""``python -m twilio_standin``: serve the Twilio stand-in on the configured host and port."""

from __future__ import annotations

import logging

import uvicorn

from runtime.settings import load_settings
from twilio_standin.app import create_app
from twilio_standin.settings import StandinSettings

logger = logging.getLogger("twilio_standin")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings(StandinSettings, "twilio-standin")
    logger.info(
        "Twilio stand-in for account %s listening on http://%s:%d (point client.api.base_url there)",
        settings.account_sid,
        settings.host,
        settings.port,
    )
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
