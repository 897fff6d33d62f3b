"""Twilio's Content API as the stand-in speaks it: the Content resource, its validation, and rendering
a Content with a message's ``ContentVariables``.

Types understood: ``twilio/text``, ``twilio/quick-reply`` and ``twilio/list-picker``. The limits
checked at creation are WhatsApp's in a session (Content needing no approval): a quick reply takes
1-3 buttons (Twilio's API accepts up to 10 and WhatsApp refuses more than 3 unapproved; the
stand-in refuses them up front), titles up to 20 characters; a list 1-10 items, titles up to 24,
descriptions up to 72, a button label up to 20; bodies up to 1,024. Characters are counted as
UTF-16 code units, as Twilio's services count them (an emoji outside the BMP counts 2). A refusal
is a 400 with Twilio's error body: 21658 for a value over its length limit, 20001 for anything else.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from twilio_standin.errors import (
    INVALID_CONTENT_SID,
    INVALID_CONTENT_VARIABLES,
    INVALID_PARAMETER,
    PARAMETER_TOO_LONG,
    TwilioError,
)
from twilio_standin.store import ContentChoice, utc_now

TEXT, QUICK_REPLY, LIST_PICKER = "twilio/text", "twilio/quick-reply", "twilio/list-picker"
TEXT_BODY_MAX, INTERACTIVE_BODY_MAX = 1600, 1024
QUICK_REPLY_MAX, QUICK_REPLY_TITLE_MAX = 3, 20
LIST_MAX, LIST_TITLE_MAX, LIST_DESCRIPTION_MAX, LIST_BUTTON_MAX = 10, 24, 72, 20
CHOICE_ID_MAX = 200
VARIABLE_MAX = 1600
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def twilio_length(text: str) -> int:
    """UTF-16 code units: what Twilio's length limits count."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


@dataclass(frozen=True, slots=True)
class ContentRecord:
    """A Content resource (its ``types`` as created)."""

    sid: str
    account_sid: str
    friendly_name: str
    language: str
    variables: Mapping[str, str]
    types: Mapping[str, Any]
    date_created: datetime = field(default_factory=utc_now)


@dataclass(frozen=True, slots=True)
class Rendered:
    """A Content filled for one message: what the recipient sees and can tap."""

    body: str
    content_type: str
    choices: tuple[ContentChoice, ...] = ()
    button: str | None = None


def new_content_sid() -> str:
    return "HX" + secrets.token_hex(16)


class ContentStore:
    """Content resources by SID, oldest first. Synchronous: each call runs without awaiting."""

    def __init__(self) -> None:
        self._contents: dict[str, ContentRecord] = {}

    def add(self, record: ContentRecord) -> None:
        self._contents[record.sid] = record

    def get(self, sid: str) -> ContentRecord | None:
        return self._contents.get(sid)

    def all(self, account_sid: str) -> list[ContentRecord]:
        return [record for record in self._contents.values() if record.account_sid == account_sid]


def content_from_request(account_sid: str, payload: object) -> ContentRecord:
    """Validate a ``POST /v1/Content`` JSON body as Twilio does and build the resource."""
    if not isinstance(payload, dict):
        raise _invalid("The request body must be a JSON object")
    language = payload.get("language")
    if not isinstance(language, str) or not language:
        raise _invalid("Missing required parameter language")
    friendly_name = payload.get("friendly_name", "")
    if not isinstance(friendly_name, str):
        raise _invalid("friendly_name must be a string")
    variables = payload.get("variables") or {}
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise _invalid("variables must be an object of strings")
    types = payload.get("types")
    if not isinstance(types, dict) or not types:
        raise _invalid("Missing required parameter types")
    for name, data in types.items():
        if not isinstance(data, dict):
            raise _invalid(f"types.{name} must be an object")
        _validate_type(name, data)
    return ContentRecord(sid=new_content_sid(), account_sid=account_sid, friendly_name=friendly_name,
                         language=language, variables=dict(variables), types=types)


def _validate_type(name: str, data: dict[str, Any]) -> None:
    if name == TEXT:
        _text(data, "body", f"types.{name}.body", TEXT_BODY_MAX)
    elif name == QUICK_REPLY:
        _text(data, "body", f"types.{name}.body", INTERACTIVE_BODY_MAX)
        actions = _list(data, "actions", f"types.{name}.actions", QUICK_REPLY_MAX)
        for n, action in enumerate(actions):
            where = f"types.{name}.actions[{n}]"
            _text(action, "title", f"{where}.title", QUICK_REPLY_TITLE_MAX)
            _text(action, "id", f"{where}.id", CHOICE_ID_MAX)
    elif name == LIST_PICKER:
        _text(data, "body", f"types.{name}.body", INTERACTIVE_BODY_MAX)
        _text(data, "button", f"types.{name}.button", LIST_BUTTON_MAX)
        items = _list(data, "items", f"types.{name}.items", LIST_MAX)
        for n, item in enumerate(items):
            where = f"types.{name}.items[{n}]"
            _text(item, "item", f"{where}.item", LIST_TITLE_MAX)
            _text(item, "id", f"{where}.id", CHOICE_ID_MAX)
            _text(item, "description", f"{where}.description", LIST_DESCRIPTION_MAX, required=False)
    else:
        raise _invalid(f"Content type {name} is not supported by the stand-in")


def _text(data: object, key: str, where: str, most: int, *, required: bool = True) -> None:
    value = data.get(key) if isinstance(data, dict) else None
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value):
        raise _invalid(f"Missing required parameter {where}")
    if twilio_length(value) > most:
        raise TwilioError(400, PARAMETER_TOO_LONG,
                          f"{where} exceeds the maximum length of {most} characters ({twilio_length(value)})")


def _list(data: dict[str, Any], key: str, where: str, most: int) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise _invalid(f"Missing required parameter {where}")
    if len(value) > most:
        raise _invalid(f"{where} accepts at most {most} entries, got {len(value)}")
    return value


def _invalid(message: str) -> TwilioError:
    return TwilioError(400, INVALID_PARAMETER, message)


def render(content: ContentRecord | None, content_sid: str, raw_variables: str | None) -> Rendered:
    """``content`` filled with a message's ``ContentVariables`` (its defaults for those not given)."""
    if content is None or not CONTENT_SID.match(content_sid):
        raise TwilioError(400, INVALID_CONTENT_SID, "The ContentSid is Invalid")
    values = dict(content.variables)
    if raw_variables:
        try:
            given = json.loads(raw_variables)
        except ValueError:
            given = None
        if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
            raise TwilioError(400, INVALID_CONTENT_VARIABLES, "The ContentVariables Parameter is invalid")
        for value in given.values():
            if twilio_length(value) > VARIABLE_MAX:
                message = f"A ContentVariables value exceeds {VARIABLE_MAX} characters"
                raise TwilioError(400, PARAMETER_TOO_LONG, message)
        values.update({str(key): value for key, value in given.items()})

    def fill(text: str) -> str:
        return VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), text)

    types = content.types
    if QUICK_REPLY in types:
        data = types[QUICK_REPLY]
        choices = tuple(ContentChoice(fill(a["id"]), fill(a["title"])) for a in data["actions"])
        return Rendered(fill(data["body"]), QUICK_REPLY, choices)
    if LIST_PICKER in types:
        data = types[LIST_PICKER]
        choices = tuple(ContentChoice(fill(i["id"]), fill(i["item"]), fill(i.get("description", "")))
                        for i in data["items"])
        return Rendered(fill(data["body"]), LIST_PICKER, choices, fill(data["button"]))
    return Rendered(fill(types[TEXT]["body"]), TEXT)


def content_json(record: ContentRecord, base_url: str) -> dict[str, Any]:
    """A Content resource as Twilio renders it."""
    url = f"{base_url.rstrip('/')}/v1/Content/{record.sid}"
    stamp = record.date_created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "sid": record.sid,
        "account_sid": record.account_sid,
        "friendly_name": record.friendly_name,
        "language": record.language,
        "variables": dict(record.variables),
        "types": dict(record.types),
        "url": url,
        "date_created": stamp,
        "date_updated": stamp,
        "links": {"approval_create": f"{url}/ApprovalRequests/whatsapp", "approval_fetch": f"{url}/ApprovalRequests"},
    }
