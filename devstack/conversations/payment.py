"""The customer on a payment link's page: the page is read and its form posted with the button pressed,
as a browser would (the demo checkout of the reference business API, `GET/POST /pay/{token}`).

Nothing here knows the page's URL scheme: the link is the one the bot sent, the form's `action` (or
the page itself) is where the button posts, and the button is found by its value (`paid`, `failed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin

import httpx

# A payment link as the bot writes it in a message: the demo checkout's `<base>/pay/<token>`.
PAYMENT_LINK = re.compile(r"https?://[^\s<>\"'«»]+/pay/[A-Za-z0-9_-]+")


class PaymentPageError(RuntimeError):
    """The payment page could not be read or its button pressed; says what the page answered."""


@dataclass(frozen=True)
class Button:
    """A submit button of a form: pressing it posts `name=value` to `action` with `method`."""

    action: str
    method: str
    name: str
    value: str


class _Buttons(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.buttons: list[Button] = []
        self._form: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = values
        elif self._form is not None and (tag == "button" or (tag == "input" and values.get("type") == "submit")):
            if values.get("type", "submit") == "submit" and values.get("name"):
                self.buttons.append(Button(self._form.get("action", ""), self._form.get("method", "get").lower(),
                                           values["name"], values.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None


def buttons(html: str) -> list[Button]:
    """The submit buttons of the page's forms, in order."""
    parser = _Buttons()
    parser.feed(html)
    parser.close()
    return parser.buttons


def last_payment_link(bodies: list[str]) -> str | None:
    """The last payment link among messages' bodies (oldest first), or None."""
    for body in reversed(bodies):
        found = PAYMENT_LINK.findall(body)
        if found:
            return str(found[-1])
    return None


async def press(http: httpx.AsyncClient, link: str, outcome: str) -> httpx.Response:
    """Open `link` and press the button whose value is `outcome`; the page that answers."""
    try:
        page = await http.get(link)
    except httpx.HTTPError as error:
        raise PaymentPageError(f"opening {link} failed: {error}") from None
    if page.status_code != 200:
        raise PaymentPageError(f"opening {link} answered {page.status_code}: {_text(page)}")
    button = next((b for b in buttons(page.text) if b.value == outcome), None)
    if button is None:
        found = ", ".join(f"{b.name}={b.value}" for b in buttons(page.text)) or "none"
        raise PaymentPageError(f"the page at {link} has no button {outcome!r} (buttons: {found}): {_text(page)}")
    target = urljoin(str(page.url), button.action) if button.action else str(page.url)
    form: dict[str, Any] = {button.name: button.value}
    try:
        if button.method == "post":
            response = await http.post(target, data=form)
        else:
            response = await http.get(target, params=form)
    except httpx.HTTPError as error:
        raise PaymentPageError(f"pressing {outcome!r} on {link} failed: {error}") from None
    if response.status_code != 200:
        raise PaymentPageError(f"pressing {outcome!r} on {link} answered {response.status_code}: {_text(response)}")
    return response


def _text(response: httpx.Response) -> str:
    """The page's text without its tags, short."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.text).split())[:200]
