"""The unmodified twilio client against the stand-in, over real loopback HTTP."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from pydantic import SecretStr
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from twilio_standin.app import create_app
from twilio_standin.settings import StandinSettings

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "integration-test-token-000000000"
SENDER = "whatsapp:+14155238886"


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture(scope="module")
def standin_url() -> Iterator[str]:
    settings = StandinSettings(account_sid=ACCOUNT_SID, auth_token=SecretStr(AUTH_TOKEN), port=0, callback_delay_s=0.01)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, what="the stand-in to start")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def standin(standin_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=standin_url, trust_env=False) as http:
        assert http.delete("/_standin/messages").status_code == 204
        yield http


@pytest.fixture
def client(standin_url: str) -> Client:
    twilio = Client(ACCOUNT_SID, AUTH_TOKEN)
    twilio.api.base_url = standin_url
    return twilio


class CallbackReceiver:
    """A real HTTP endpoint recording the status callbacks it receives."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[str, dict[str, str], dict[str, str]]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                received.put((self.path, dict(self.headers.items()), dict(parse_qsl(body))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next(self) -> tuple[str, dict[str, str], dict[str, str]]:
        try:
            return self.received.get(timeout=10)
        except queue.Empty:
            pytest.fail("no status callback arrived within 10s")


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_create_returns_twilio_shaped_message_and_fetch_reads_it(client: Client, standin: httpx.Client) -> None:
    created = client.messages.create(to="whatsapp:+34600000001", from_=SENDER, body="Hola")

    assert created.sid.startswith("SM") and len(created.sid) == 34
    assert (created.status, created.direction, created.body) == ("queued", "outbound-api", "Hola")
    assert (created.to, created.from_, created.account_sid) == ("whatsapp:+34600000001", SENDER, ACCOUNT_SID)
    assert created.date_created is not None and created.date_created.tzinfo is not None
    assert abs(time.time() - created.date_created.timestamp()) < 60
    fetched = client.messages(created.sid).fetch()
    assert (fetched.sid, fetched.body, fetched.uri) == (created.sid, "Hola", created.uri)
    recorded = standin.get("/_standin/messages").json()
    assert [message["sid"] for message in recorded] == [created.sid]


def test_raw_wire_format_matches_twilio(standin: httpx.Client) -> None:
    response = standin.post(
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data={
            "To": "+34600000002",
            "From": "+14155550000",
            "MediaUrl": ["https://e.x/a.png", "https://e.x/b.png"],
        },
        auth=(ACCOUNT_SID, AUTH_TOKEN),
    )

    assert response.status_code == 201
    message = response.json()
    assert message["date_created"].endswith(" +0000") and message["date_created"][3:5] == ", "
    assert (message["num_media"], message["price"], message["error_code"]) == ("2", None, None)
    assert message["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{message['sid']}.json"
    assert message["subresource_uris"]["media"].endswith(f"/Messages/{message['sid']}/Media.json")


def test_list_filters_by_to_and_from_and_pages_newest_first(client: Client, standin: httpx.Client) -> None:
    to, other_sender = "whatsapp:+34600000100", "whatsapp:+14155550001"
    sids = [client.messages.create(to=to, from_=SENDER, body=f"m{i}").sid for i in range(125)]
    other = client.messages.create(to=to, from_=other_sender, body="from elsewhere").sid
    client.messages.create(to="whatsapp:+34600000999", from_=SENDER, body="someone else")

    listed = client.messages.list(to=to, from_=SENDER, limit=120, page_size=50)
    assert [message.sid for message in listed] == list(reversed(sids))[:120]
    assert [message.sid for message in client.messages.list(from_=other_sender)] == [other]

    page = client.messages.page(to=to, page_size=50)
    page_sizes = []
    while page is not None:
        page_sizes.append(len(list(page)))
        page = page.next_page()
    assert page_sizes == [50, 50, 26]


def test_wrong_token_is_rejected_with_20003(standin_url: str, standin: httpx.Client) -> None:
    intruder = Client(ACCOUNT_SID, "not-the-token")
    intruder.api.base_url = standin_url

    with pytest.raises(TwilioRestException) as raised:
        intruder.messages.create(to="whatsapp:+34600000003", from_=SENDER, body="x")

    assert (raised.value.status, raised.value.code) == (401, 20003)
    assert standin.get("/_standin/messages").json() == []


def test_other_account_in_path_is_forbidden(client: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.api.v2010.accounts("AC" + "6" * 32).messages.create(to="+34600000008", from_=SENDER, body="x")

    assert (raised.value.status, raised.value.code) == (403, 20003)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"from_": SENDER, "body": "no recipient"}, 21604),
        ({"to": "whatsapp:+34600000004", "from_": SENDER}, 21602),
        ({"to": "whatsapp:600 000", "from_": SENDER, "body": "x"}, 21211),
        ({"to": "whatsapp:+34600000004", "body": "x"}, 21603),
    ],
)
def test_invalid_create_answers_twilio_error(client: Client, fields: dict[str, str], code: int) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(**{"to": "", **fields})

    assert (raised.value.status, raised.value.code) == (400, code)


def test_unknown_message_is_404_20404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as raised:
        client.messages("SM" + "0" * 32).fetch()

    assert (raised.value.status, raised.value.code) == (404, 20404)


def test_injected_failures_answer_the_next_creates(client: Client, standin: httpx.Client) -> None:
    injected = standin.post("/_standin/failures", json={"count": 1, "status": 500, "code": 20500})
    assert injected.status_code == 202
    standin.post("/_standin/failures", json={"count": 1, "status": 429, "code": 20429})

    statuses = []
    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to="whatsapp:+34600000005", from_=SENDER, body="x")
        statuses.append((raised.value.status, raised.value.code))
    created = client.messages.create(to="whatsapp:+34600000005", from_=SENDER, body="x")

    assert statuses == [(500, 20500), (429, 20429)]
    assert [message["sid"] for message in standin.get("/_standin/messages").json()] == [created.sid]


def test_status_callbacks_arrive_signed_and_in_order(client: Client, receiver: CallbackReceiver) -> None:
    callback_url = f"{receiver.url}/twilio/status?tenant=demo"
    created = client.messages.create(
        to="whatsapp:+34600000006", from_=SENDER, body="track me", status_callback=callback_url
    )

    callbacks = [receiver.next() for _ in range(3)]

    assert [params["MessageStatus"] for _, _, params in callbacks] == ["sent", "delivered", "read"]
    for path, headers, params in callbacks:
        assert path == "/twilio/status?tenant=demo"
        assert (params["MessageSid"], params["AccountSid"]) == (created.sid, ACCOUNT_SID)
        assert (params["To"], params["From"]) == ("whatsapp:+34600000006", SENDER)
        signature = headers["X-Twilio-Signature"]
        assert RequestValidator(AUTH_TOKEN).validate(callback_url, params, signature)
        assert not RequestValidator("another-token").validate(callback_url, params, signature)
    assert client.messages(created.sid).fetch().status == "read"


def test_status_callbacks_go_to_the_exact_url_given(client: Client, receiver: CallbackReceiver) -> None:
    query = "tenant=demo&correlation_id=6f1c2a7e-4b7d-5d2f-9a54-3c1e0b8f2d11&note=a+b%2Fc%C3%B1"
    callback_url = f"{receiver.url}/twilio/status?{query}"
    client.messages.create(to="whatsapp:+34600000009", from_=SENDER, body="x", status_callback=callback_url)

    for path, headers, params in [receiver.next() for _ in range(3)]:
        assert path == f"/twilio/status?{query}", "called back with the query exactly as given"
        assert RequestValidator(AUTH_TOKEN).validate(callback_url, params, headers["X-Twilio-Signature"])


def test_unreachable_callback_url_does_not_stop_delivery(client: Client, standin: httpx.Client) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{unused.getsockname()[1]}/status"
    created = client.messages.create(to="whatsapp:+34600000007", from_=SENDER, body="x", status_callback=dead_url)

    wait_for(lambda: client.messages(created.sid).fetch().status == "read", what="status read")
    assert standin.get("/healthz").json() == {"status": "ok"}


def test_history_records_an_earlier_message_that_list_filters_by_day(client: Client, standin: httpx.Client) -> None:
    to = "whatsapp:+34600000200"
    now = datetime.now(UTC).replace(microsecond=0)
    yesterday = now - timedelta(days=1)
    recorded = standin.post("/_standin/history", json={
        "to": to, "from": SENDER, "body": "¡Perfecto! ¿Te ayudo con algo más?", "date_sent": yesterday.isoformat()})
    assert recorded.status_code == 201
    old_sid = recorded.json()["sid"]
    today_sid = client.messages.create(to=to, from_=SENDER, body="hoy").sid

    fetched = client.messages(old_sid).fetch()
    assert (fetched.date_sent, fetched.body, fetched.to) == (yesterday, "¡Perfecto! ¿Te ayudo con algo más?", to)
    # Newest first by date sent, whatever the order they were recorded in.
    assert [m.sid for m in client.messages.list(to=to)] == [today_sid, old_sid]
    # DateSent> with a day (Twilio's documented format) includes the whole day; with a time, from then.
    assert [m.sid for m in client.messages.list(to=to, date_sent_after=now.date().isoformat())] == [today_sid]
    since_yesterday = client.messages.list(to=to, date_sent_after=yesterday.date().isoformat())
    assert [m.sid for m in since_yesterday] == [today_sid, old_sid]
    after_it = client.messages.list(to=to, date_sent_after=yesterday + timedelta(seconds=1))
    assert [m.sid for m in after_it] == [today_sid]


QUICK_REPLY = {
    "friendly_name": "confirm_class",
    "language": "es",
    "variables": {"1": "Hola"},
    "types": {"twilio/quick-reply": {"body": "{{1}}", "actions": [
        {"title": "Sí, confírmala", "id": "act:afirmar"}, {"title": "No", "id": "act:negar"}]}},
}


def create_content(standin: httpx.Client, definition: dict[str, Any]) -> httpx.Response:
    return standin.post("/v1/Content", json=definition, auth=(ACCOUNT_SID, AUTH_TOKEN))


def test_content_is_created_fetched_and_listed(standin: httpx.Client) -> None:
    created = create_content(standin, QUICK_REPLY)

    assert created.status_code == 201
    content = created.json()
    assert content["sid"].startswith("HX") and len(content["sid"]) == 34
    assert (content["account_sid"], content["types"]) == (ACCOUNT_SID, QUICK_REPLY["types"])
    fetched = standin.get(f"/v1/Content/{content['sid']}", auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert fetched.json()["types"] == QUICK_REPLY["types"]
    listed = standin.get("/v1/Content", auth=(ACCOUNT_SID, AUTH_TOKEN)).json()
    assert content["sid"] in [c["sid"] for c in listed["contents"]] and listed["meta"]["key"] == "contents"
    assert standin.post("/v1/Content", json=QUICK_REPLY, auth=(ACCOUNT_SID, "wrong")).json()["code"] == 20003


@pytest.mark.parametrize(
    ("types", "code"),
    [
        ({"twilio/quick-reply": {"body": "{{1}}", "actions": [
            {"title": f"Opción {n}", "id": f"o{n}"} for n in range(4)]}}, 20001),
        ({"twilio/quick-reply": {"body": "{{1}}", "actions": [{"title": "x" * 21, "id": "long"}]}}, 21658),
        ({"twilio/quick-reply": {"body": "{{1}}", "actions": [{"title": "😀" * 11, "id": "emoji"}]}}, 21658),
        ({"twilio/list-picker": {"body": "{{1}}", "button": "Ver", "items": [
            {"item": "y" * 25, "id": "i", "description": ""}]}}, 21658),
        ({"twilio/list-picker": {"body": "{{1}}", "button": "Ver", "items": [
            {"item": f"Hora {n}", "id": f"h{n}", "description": ""} for n in range(11)]}}, 20001),
        ({"twilio/list-picker": {"body": "{{1}}", "items": [{"item": "a", "id": "a"}]}}, 20001),
        ({}, 20001),
    ],
)
def test_content_over_whatsapps_limits_is_refused(standin: httpx.Client, types: dict[str, Any], code: int) -> None:
    refused = create_content(standin, {"language": "es", "types": types})

    assert (refused.status_code, refused.json()["code"]) == (400, code)


def test_a_message_with_content_records_the_rendered_body_and_its_buttons(client: Client,
                                                                          standin: httpx.Client) -> None:
    sid = create_content(standin, QUICK_REPLY).json()["sid"]
    to = "whatsapp:+34600000300"

    created = client.messages.create(to=to, from_=SENDER, content_sid=sid,
                                     content_variables=json.dumps({"1": "¿Confirmo tu clase del martes?"}))

    assert created.body == "¿Confirmo tu clase del martes?"
    [recorded] = standin.get("/_standin/messages", params={"to": to}).json()
    assert (recorded["content_sid"], recorded["content_type"]) == (sid, "twilio/quick-reply")
    assert recorded["actions"] == [{"id": "act:afirmar", "title": "Sí, confírmala"}, {"id": "act:negar", "title": "No"}]
    defaults = client.messages.create(to=to, from_=SENDER, content_sid=sid)
    assert defaults.body == "Hola", "a variable not given takes the Content's default"


def test_a_list_picker_message_records_its_items_and_button(client: Client, standin: httpx.Client) -> None:
    items = [{"item": "19:00", "id": "time:19:00", "description": "Reformer"},
             {"item": "20:00", "id": "time:20:00", "description": "Mat"}]
    sid = create_content(standin, {"language": "es", "types": {"twilio/list-picker": {
        "body": "{{1}}", "button": "Ver horarios", "items": items}}}).json()["sid"]
    to = "whatsapp:+34600000301"

    client.messages.create(to=to, from_=SENDER, content_sid=sid, content_variables='{"1": "¿A qué hora?"}')

    [recorded] = standin.get("/_standin/messages", params={"to": to}).json()
    assert (recorded["body"], recorded["button"], recorded["items"]) == ("¿A qué hora?", "Ver horarios", items)


@pytest.mark.parametrize(("fields", "code"), [
    ({"content_sid": "HX" + "0" * 32}, 21655),
    ({"content_sid": "not-a-sid"}, 21655),
    ({"content_variables": "{not json"}, 21656),
])
def test_bad_content_parameters_answer_twilio_errors(client: Client, standin: httpx.Client,
                                                     fields: dict[str, str], code: int) -> None:
    sid = create_content(standin, QUICK_REPLY).json()["sid"]
    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(**{"to": "whatsapp:+34600000302", "from_": SENDER, "content_sid": sid, **fields})

    assert (raised.value.status, raised.value.code) == (400, code)


def test_a_body_over_1600_characters_is_refused_with_21617(client: Client) -> None:
    to = "whatsapp:+34600000303"
    assert client.messages.create(to=to, from_=SENDER, body="😀" * 800).sid, "1,600 UTF-16 units fit"
    for body in ("a" * 1601, "😀" * 801):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=to, from_=SENDER, body=body)
        assert (raised.value.status, raised.value.code) == (400, 21617)


def test_failures_are_injected_per_recipient_and_code(client: Client, standin: httpx.Client) -> None:
    opted_out, other = "whatsapp:+34600000304", "whatsapp:+34600000305"
    standin.post("/_standin/failures", json={"to": opted_out, "code": 21610, "count": 2})
    standin.post("/_standin/failures", json={"to": other, "code": 500})

    assert client.messages.create(to="whatsapp:+34600000306", from_=SENDER, body="x").sid, "other recipients unaffected"
    answers = []
    for to in (opted_out, other, opted_out):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(to=to, from_=SENDER, body="x")
        answers.append((raised.value.status, raised.value.code))
    assert answers == [(400, 21610), (500, 20500), (400, 21610)]
    assert client.messages.create(to=opted_out, from_=SENDER, body="x").sid, "the injected failures are used up"


def test_content_api_failures_can_be_injected(standin: httpx.Client) -> None:
    standin.post("/_standin/failures", json={"api": "content", "code": 20429})

    assert create_content(standin, QUICK_REPLY).status_code == 429
    assert create_content(standin, QUICK_REPLY).status_code == 201
