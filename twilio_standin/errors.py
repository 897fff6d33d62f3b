"""Twilio's error answers: the JSON body its REST APIs return, and the codes the stand-in uses.

Codes from https://www.twilio.com/docs/api/errors.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse

INVALID_PARAMETER, AUTHENTICATE, NOT_FOUND, METHOD_NOT_ALLOWED = 20001, 20003, 20404, 20004
TOO_MANY_REQUESTS, INTERNAL_ERROR = 20429, 20500
INVALID_TO, BODY_REQUIRED, FROM_REQUIRED, TO_REQUIRED, INVALID_CALLBACK = 21211, 21602, 21603, 21604, 21609
OPTED_OUT, BODY_TOO_LONG = 21610, 21617
INVALID_CONTENT_SID, INVALID_CONTENT_VARIABLES, PARAMETER_TOO_LONG = 21655, 21656, 21658
BLOCKED_BY_USER, OUTSIDE_WINDOW = 63014, 63016

DEFAULT_MESSAGES = {
    TOO_MANY_REQUESTS: "Too Many Requests",
    INTERNAL_ERROR: "An internal server error has occurred",
    INVALID_TO: "Invalid 'To' Phone Number",
    OPTED_OUT: "Attempt to send to unsubscribed recipient",
    BLOCKED_BY_USER: "Channel message blocked by user action",
    OUTSIDE_WINDOW: "Failed to send freeform message because you are outside the allowed window. "
    "If you are using WhatsApp, please use a Message Template.",
}
STATUS_OF_CODE = {TOO_MANY_REQUESTS: 429, INTERNAL_ERROR: 500, 20503: 503}


class TwilioError(Exception):
    """An error answered with Twilio's JSON error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message

    def response(self) -> JSONResponse:
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if self.status == 401 else None
        return JSONResponse(body, status_code=self.status, headers=headers)


def injected_error(code: int, status: int | None, message: str | None) -> TwilioError:
    """The error a test asks for: a Twilio `code` (its usual status unless given), or an HTTP status
    given as `code` (500 → 500 with Twilio's 20500, 429 → 20429)."""
    if status is None and 400 <= code <= 599:
        status, code = code, 20000 + code
    status = status or STATUS_OF_CODE.get(code, 400)
    return TwilioError(status, code, message or DEFAULT_MESSAGES.get(code, "Injected failure"))
