"""The 24-hour window and the opt-out, decided from the times the stream gives."""

from __future__ import annotations

import datetime as dt

from contracts.replies import Booked, Greeting, PaymentConfirmed, PaymentFailed, Reply
from services.responder.reach import OPTED_OUT, OUTSIDE_WINDOW, Reach, reach

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
APPROVED = {"payment_confirmed": "HX0001", "payment_failed": "HX0002"}
BOOKED = Booked(date=dt.date(2026, 12, 3), time="19:00", class_name="Pilates", code="B-1")


class OptedOutReply:
    """A reply whose kind is the opt-out confirmation (kind only: reach reads nothing else)."""

    kind = "opted_out"


def decide(reply: Reply | None, *, inbound_ago: dt.timedelta | None,
           opted_out_ago: dt.timedelta | None = None) -> Reach:
    return reach(now=NOW, reply=reply, approved=APPROVED,
                 last_inbound=NOW - inbound_ago if inbound_ago is not None else None,
                 opted_out_at=NOW - opted_out_ago if opted_out_ago is not None else None)


def test_inside_the_window_a_free_form_message_goes() -> None:
    assert decide(BOOKED, inbound_ago=dt.timedelta(hours=23)).how == "free_form"


def test_outside_the_window_a_kind_without_template_is_not_sent_with_63016() -> None:
    decision = decide(BOOKED, inbound_ago=dt.timedelta(hours=25))
    assert (decision.how, decision.error_code) == ("blocked", OUTSIDE_WINDOW)


def test_the_last_minute_of_the_window_counts_as_outside() -> None:
    late = decide(Greeting(), inbound_ago=dt.timedelta(hours=23, minutes=59, seconds=30))
    assert late.error_code == OUTSIDE_WINDOW


def test_an_unknown_inbound_time_is_outside_the_window() -> None:
    assert decide(Greeting(), inbound_ago=None).error_code == OUTSIDE_WINDOW


def test_outside_the_window_a_payment_confirmed_goes_as_its_approved_template_with_variables() -> None:
    reply = PaymentConfirmed(package="Pack 10 clases", valid_until=dt.date(2027, 1, 31))
    decision = decide(reply, inbound_ago=dt.timedelta(days=3))
    assert decision.how == "template"
    assert decision.content_sid == "HX0001"
    assert decision.variables == ("Pack 10 clases", ", vigente hasta el 31/01/2027")
    without_date = decide(PaymentConfirmed(package="Pack 5"), inbound_ago=None)
    assert without_date.variables == ("Pack 5", "")
    failed = decide(PaymentFailed(package="Pack 5"), inbound_ago=None)
    assert (failed.content_sid, failed.variables) == ("HX0002", ("Pack 5",))


def test_inside_the_window_a_payment_confirmed_is_free_form() -> None:
    reply = PaymentConfirmed(package="Pack 10 clases")
    assert decide(reply, inbound_ago=dt.timedelta(minutes=5)).how == "free_form"


def test_an_opted_out_customer_gets_nothing_not_even_an_approved_template() -> None:
    for reply in (BOOKED, PaymentConfirmed(package="Pack"), None):
        decision = decide(reply, inbound_ago=dt.timedelta(hours=2), opted_out_ago=dt.timedelta(hours=1))
        assert (decision.how, decision.error_code) == ("blocked", OPTED_OUT)


def test_writing_after_the_opt_out_opts_back_in() -> None:
    decision = decide(BOOKED, inbound_ago=dt.timedelta(minutes=1), opted_out_ago=dt.timedelta(hours=1))
    assert decision.how == "free_form"


def test_the_opt_out_confirmation_itself_goes_out() -> None:
    decision = decide(OptedOutReply(), inbound_ago=dt.timedelta(seconds=3),  # type: ignore[arg-type]
                      opted_out_ago=dt.timedelta(seconds=1))
    assert decision.how == "free_form"
