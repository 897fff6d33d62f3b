"""The operation → endpoint mapping: the shipped file, validation at start, request rendering."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.actions.adapters.business_api import BusinessApiClient
from services.actions.adapters.endpoints import (
    EndpointsError,
    MissingParameter,
    Operation,
    extract_result,
    load_endpoints,
    render_request,
)
from services.actions.main import bootstrap
from services.actions.settings import DEFAULT_ENDPOINTS_FILE, ActionsSettings


def shipped() -> dict[str, object]:
    raw = yaml.safe_load(DEFAULT_ENDPOINTS_FILE.read_text())
    assert isinstance(raw, dict)
    return raw


def write(tmp_path: Path, raw: object) -> Path:
    path = tmp_path / "endpoints.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    return path


def test_the_shipped_mapping_covers_every_operation() -> None:
    config = load_endpoints(DEFAULT_ENDPOINTS_FILE)
    assert set(config.operations) == {str(op) for op in Operation}
    book = config.endpoint(Operation.BOOK)
    assert book.idempotency_key and book.retryable(key_sent=True) and not book.retryable(key_sent=False)
    assert config.endpoint(Operation.LIST_SLOTS).retryable(key_sent=False)
    assert config.endpoint(Operation.UPDATE_PROFILE).retryable(key_sent=False)  # marked idempotent


def test_rendering_fills_templates_and_leaves_out_what_was_not_given() -> None:
    config = load_endpoints(DEFAULT_ENDPOINTS_FILE)
    book = render_request(config, Operation.BOOK, {"slot_id": 12, "client_phone": "+5215511111111"},
                          idempotency_key="key-1")
    assert (book.method, book.path, book.json) == ("POST", "/booking", {"slot_id": 12})
    assert book.headers == {"X-Client-Phone": "+5215511111111", "Idempotency-Key": "key-1"}
    slots = render_request(config, Operation.LIST_SLOTS, {"date": "2026-11-27"}, idempotency_key=None)
    assert slots.params == {"date": "2026-11-27"} and slots.json is None and slots.headers == {}
    cancel = render_request(config, Operation.CANCEL_BOOKING, {"code": "BK 48/21", "client_phone": "+52"},
                            idempotency_key=None)
    assert cancel.path == "/client/bookings/BK%2048%2F21/cancel"
    status = render_request(config, Operation.BOOKING_STATUS, {"client_phone": "+5215511111111"},
                            idempotency_key="ignored")
    assert status.params == {"phone": "+5215511111111", "upcoming": "true", "status": "confirmed"}
    assert status.headers == {}
    with pytest.raises(MissingParameter):
        render_request(config, Operation.CANCEL_BOOKING, {}, idempotency_key=None)


def test_a_business_can_point_operations_elsewhere(tmp_path: Path) -> None:
    raw = shipped()
    operations = raw["operations"]
    assert isinstance(operations, dict)
    operations["book"] = {"method": "PUT", "path": "/api/v2/appointments/{slot_id}", "client_phone": True,
                          "idempotency_key": True, "body": {"when": "{date}T{time}", "note": "whatsapp"},
                          "result": "data.appointment", "timeout_s": 3}
    config = load_endpoints(write(tmp_path, {**raw, "client_phone_header": "X-Customer"}))
    rendered = render_request(config, Operation.BOOK, {"slot_id": 7, "date": "2026-11-27", "time": "19:00",
                                                       "client_phone": "+52"}, idempotency_key="k")
    assert (rendered.method, rendered.path) == ("PUT", "/api/v2/appointments/7")
    assert rendered.json == {"when": "2026-11-27T19:00", "note": "whatsapp"}
    assert rendered.headers["X-Customer"] == "+52"
    assert extract_result({"data": {"appointment": {"code": "A1"}}}, "data.appointment") == {"code": "A1"}
    with pytest.raises(KeyError):
        extract_result({"data": {}}, "data.appointment")


@pytest.mark.parametrize(("change", "message"), [
    (lambda raw: raw["operations"].pop("book"), "operation 'book' is missing"),
    (lambda raw: raw["operations"].update(refund={"method": "POST", "path": "/refund"}),
     "operation 'refund' is unknown"),
    (lambda raw: raw["operations"]["cancel_booking"].update(path="/client/bookings/{booking}/cancel"),
     "cancel_booking.path: unknown parameter {booking}"),
    (lambda raw: raw["operations"]["list_slots"].update(method="FETCH"), "operations.list_slots.method"),
    (lambda raw: raw["operations"]["list_slots"].update(body={"x": 1}), "list_slots: a GET has no body"),
    (lambda raw: raw["operations"]["book"].update(retries=3), "operations.book.retries"),
    (lambda raw: raw.update(version=2), "version"),
])
def test_a_bad_mapping_is_refused_at_start_naming_the_problem(tmp_path: Path, change: object,
                                                               message: str) -> None:
    raw = shipped()
    change(raw)  # type: ignore[operator]
    with pytest.raises(EndpointsError) as caught:
        load_endpoints(write(tmp_path, raw))
    assert message in str(caught.value) and str(tmp_path) in str(caught.value)


async def test_the_service_reads_the_mapping_named_by_its_settings(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    raw = shipped()
    raw["operations"]["list_packages"]["path"] = "/v2/catalogue"  # type: ignore[index]
    monkeypatch.setenv("ACTIONS_ENDPOINTS_FILE", str(write(tmp_path, raw)))
    monkeypatch.setenv("ACTIONS_FLOW_IDLE_S", "120")
    deps = bootstrap(ActionsSettings()).deps
    assert isinstance(deps.business_api, BusinessApiClient)
    assert deps.business_api.endpoints.endpoint(Operation.LIST_PACKAGES).path == "/v2/catalogue"
    assert deps.flow_idle_s == 120 and deps.confidence_threshold == 0.45
    await deps.business_api.close()
    raw["operations"]["list_packages"]["path"] = "/v2/{nope}"  # type: ignore[index]
    write(tmp_path, raw)
    with pytest.raises(EndpointsError, match="unknown parameter"):
        bootstrap(ActionsSettings())


def test_a_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(EndpointsError, match="cannot read"):
        load_endpoints(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("operations: [")
    with pytest.raises(EndpointsError, match="not valid YAML"):
        load_endpoints(bad)
    bad.write_text("- a list")
    with pytest.raises(EndpointsError, match="expected a mapping"):
        load_endpoints(bad)
