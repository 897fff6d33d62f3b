"""``python -m openrouter_standin``: serve the OpenRouter stand-in on the configured host and port."""

from __future__ import annotations

import logging

import uvicorn

from openrouter_standin.app import create_app
from openrouter_standin.settings import StandinSettings
from runtime.settings import load_settings

logger = logging.getLogger("openrouter_standin")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings(StandinSettings, "openrouter-standin")
    logger.info("OpenRouter stand-in listening on http://%s:%d (point OPENROUTER_BASE_URL there), answering: %s",
                settings.host, settings.port, settings.answer)
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
