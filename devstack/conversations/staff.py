"""The staff's side of a conversation: ingress's admin API, as a person of the team uses it to answer a
customer whose conversation was handed to them and to hand it back to the bot (services/ingress/admin.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx

from devstack.conversations.channel import Target


@dataclass(frozen=True)
class StaffAnswer:
    """What the admin API answered: 202 with the `staff.acted` event id, which names the chain of the
    message responder sends (its `?correlation_id=`); any other status is a refusal, with its text."""

    status: int
    event_id: str | None
    text: str

    @property
    def accepted(self) -> bool:
        return self.status == 202 and self.event_id is not None


class Staff:
    def __init__(self, target: Target, http: httpx.AsyncClient) -> None:
        self.base = target.ingress_url.rstrip("/") + "/admin/conversations"
        self.http = http
        self.headers = {"Authorization": f"Bearer {target.admin_token}"}

    async def say(self, customer: str, text: str, *, name: str) -> StaffAnswer:
        """Send `text` to the customer as `name` of the staff (`POST .../messages`)."""
        return await self._post(f"/{quote(customer, safe='')}/messages", {"text": text, "staff": name})

    async def hand_back(self, customer: str) -> StaffAnswer:
        """Give the conversation back to the bot (`POST .../hand-back`)."""
        return await self._post(f"/{quote(customer, safe='')}/hand-back", None)

    async def _post(self, path: str, body: dict[str, str] | None) -> StaffAnswer:
        response = await self.http.post(self.base + path, json=body, headers=self.headers)
        event_id = None
        if response.status_code == 202:
            try:
                event_id = str(response.json()["event_id"])
            except (ValueError, KeyError, TypeError):
                event_id = None
        return StaffAnswer(response.status_code, event_id, response.text[:300])
