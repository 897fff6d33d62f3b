"""The conversation-test format (devstack/conversations/format.py): bad files are refused with a line
naming file, conversation and field; every shipped file loads; the shipped suite can run side by side."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from textwrap import dedent

import pytest

from devstack.conversations import ConversationFormatError, load_paths, parse, suite_problems
from devstack.conversations.business import Arranged, Effects, weekday_date
from devstack.conversations.format import Assertions, expand
from devstack.conversations.payment import Button, buttons, last_payment_link
from devstack.conversations.runner import check_effects

SHIPPED = Path(__file__).resolve().parents[1] / "conversations"

GOOD = """
test_cases:
  - test_case: book_tuesday_evening
    description: a booking
    region: mx
    given:
      bookings: [lunes 07:00]
      package: Pack 5 clases
      full: {day: miércoles, time: "19:00"}
    steps:
      - user: el martes a las 6 de la tarde
        assertions:
          reply_matches: '¿confirm'
          nothing_booked: true
      - user: no
      - duplicate: true
        assertions:
          no_reply: true
      - media: {url: "https://example.com/a.jpg", content_type: image/jpeg}
      - location: {latitude: 19.43, longitude: -99.13}
      - user: 9
        assertions:
          booking_exists: martes 18:00
          bookings_created: 1
          profile: {email: a@b.co}
      - user: quiero comprar el pack de 10
      - pay: paid
        assertions:
          reply_matches: 'acredit'
          purchases_paid: 1
          sessions_left: {package: Pack 10 clases, count: 10}
      - user: quiero hablar con alguien
      - user: hola?
        assertions:
          no_reply: true
      - duplicate: true
      - staff: {say: "Hola, soy Carla"}
        assertions:
          reply_matches: Carla
      - staff: hand_back
      - user: gracias
"""


def refused(text: str) -> list[str]:
    with pytest.raises(ConversationFormatError) as caught:
        parse(dedent(text), "bad.yml")
    return caught.value.problems


def one_case(steps: str, *, extra: str = "") -> str:
    return ("test_cases:\n  - test_case: the_case\n    description: d\n    region: mx\n" + extra
            + "    steps:\n" + dedent(steps).strip("\n").replace("\n", "\n      ").join(["      ", "\n"]))


def test_a_good_file_loads_with_its_values() -> None:
    [conversation] = parse(GOOD, "good.yml")
    assert conversation.source == "good.yml"
    assert conversation.register_ == "tuteo"
    assert [str(s) for s in conversation.given.bookings] == ["lunes 07:00"]
    assert [str(s) for s in conversation.given.full] == ["miércoles 19:00"]
    steps = conversation.steps
    assert steps[0].assertions.reply_matches == ["¿confirm"]
    assert steps[1].user == "no"  # YAML 1.1 would have read a boolean
    assert steps[2].duplicate and steps[2].said == "[duplicate webhook]"
    assert steps[3].said == "[image]" and steps[4].location is not None
    assert steps[5].user == "9"
    assert [str(s) for s in conversation.slots_used()] == ["lunes 07:00", "martes 18:00"]
    pay, silent, duplicate, say, back = steps[7], steps[9], steps[10], steps[11], steps[12]
    assert (pay.pay, pay.said, pay.assertions.purchases_paid) == ("paid", "[pay: paid]", 1)
    assert [str(s) for s in pay.assertions.sessions_left] == ["Pack 10 clases: 10"]
    assert silent.silent and not silent.proves_silence and duplicate.silent
    assert say.staff is not None and (say.staff.say, say.staff.name) == ("Hola, soy Carla", "Carla")
    assert say.said == "[staff Carla] Hola, soy Carla" and not say.proves_silence
    assert back.staff is not None and back.staff.hand_back and back.said == "[staff: hand back]"
    assert steps[13].proves_silence


@pytest.mark.parametrize(("text", "expected"), [
    (one_case("- user: hola\n  assertions: {reply_matchs: hola}"),
     "bad.yml: test case 'the_case' (#1): steps[0].assertions.reply_matchs: unknown key"),
    (one_case("- user: hola", extra="    givn: {}\n"),
     "bad.yml: test case 'the_case' (#1): givn: unknown key"),
    (one_case("- user: hola\n  assertions: {reply_matches: '(abc'}"),
     "bad.yml: test case 'the_case' (#1): steps[0].assertions.reply_matches: '(abc' is not a valid regular "
     "expression"),
    (one_case("- user: hola\n  assertions: {booking_exists: sábado 07:00}"),
     "bad.yml: test case 'the_case' (#1): steps[0].assertions.booking_exists[0].day: 'sábado' is not a weekday "
     "from Monday to Friday"),
    (one_case("- user: hola\n  assertions: {booking_exists: jueves 7pm}"),
     "steps[0].assertions.booking_exists[0].time: '7pm' is not a 24-hour time HH:MM"),
    (one_case("- user: hola", extra="    given: {bookings: [jueves]}\n"),
     "given.bookings[0]: write a class as 'weekday HH:MM'"),
    (one_case("- user: hola\n  location: {latitude: 1, longitude: 2}"),
     "steps[0]: a step is exactly one of user, media, location, duplicate, pay or staff (user and location given)"),
    (one_case("- assertions: {asks_question: true}"),
     "steps[0]: a step is exactly one of user, media, location, duplicate, pay or staff (none given)"),
    (one_case("- user: hola\n  assertions: {no_reply: true}"),
     "steps[0]: a silent step (no_reply) cannot be last"),
    (one_case("- user: hola\n  assertions: {no_reply: true, nothing_booked: true}\n- user: hola"),
     "steps[0]: a silent step (no_reply) only asserts no_reply (the turn after it checks the rest); move "
     "nothing_booked to the next step"),
    (one_case("- user: hola\n  assertions: {no_reply: true}\n- staff: {say: hola}\n- staff: hand_back"),
     "steps[0]: nothing proves the silent step (no_reply) silent: a later customer message the bot answers must "
     "follow"),
    (one_case("- user: hola\n- duplicate: true\n- pay: paid"), "steps[1]: nothing proves the duplicate silent"),
    (one_case("- staff: {say: hola}\n- duplicate: true\n- user: hola"),
     "steps[1]: a duplicate re-delivers the customer's previous message; it must follow a user, media or location"),
    (one_case("- pay: paid\n- user: hola"), "steps[0]: a pay step pays the last payment link the bot sent; it "
     "cannot come first"),
    (one_case("- user: hola\n- pay: refunded"), "steps[1].pay: Input should be 'paid' or 'failed'"),
    (one_case("- user: hola\n- pay: paid\n  assertions: {no_reply: true}\n- user: hola"),
     "steps[1]: no_reply is for a customer's message or a duplicate"),
    (one_case("- staff: handback"), "steps[0].staff: write staff: hand_back or staff: {say: \"...\"} (got "
     "'handback')"),
    (one_case("- staff: {say: hola, hand_back: true}"),
     "steps[0].staff: staff either say a message"),
    (one_case("- staff: {sai: hola}"), "steps[0].staff.sai: unknown key"),
    (one_case("- staff: hand_back\n  assertions: {reply_matches: hola}"),
     "steps[0]: a hand-back sends nothing, so it has no reply to check (reply_matches)"),
    (one_case("- user: hola\n  assertions: {sessions_left: {package: Pack 5 clases}}"),
     "steps[0].assertions.sessions_left[0].count: missing"),
    (one_case("- user: hola\n  assertions: {sessions_left: {package: Pack 5 clases, count: -1}}"),
     "steps[0].assertions.sessions_left[0].count: Input should be greater than or equal to 0"),
    (one_case("- user: hola\n  assertions: {purchases_paid: -1}"),
     "steps[0].assertions.purchases_paid: Input should be greater than or equal to 0"),
    (one_case("- user: hola\n- duplicate: true\n  assertions: {reply_matches: x}\n- user: hola"),
     "steps[1]: a duplicate step only asserts no_reply"),
    (one_case("- duplicate: true\n- user: hola"), "steps[0]: a duplicate re-delivers the previous message"),
    (one_case("- user: hola\n- duplicate: true"), "steps[1]: a duplicate cannot be last"),
    (one_case("- user: hola\n  assertions: {bookings_created: -1}"),
     "steps[0].assertions.bookings_created: Input should be greater than or equal to 0"),
    (one_case("- user: hola\n  assertions: {nothing_booked: true, bookings_created: 1}"),
     "nothing_booked contradicts bookings_created/booking_exists"),
    (one_case("- media: {url: 'ftp://x', content_type: image/jpeg}"), "steps[0].media.url: String should match"),
    (one_case("- user: hola\n  assertions: {profile: {}}"), "steps[0].assertions.profile: give name and/or email"),
    (one_case("- user: hola").replace("region: mx", "region: br"),
     "bad.yml: test case 'the_case' (#1): region: Input should be 'mx', 'co', 'ar', 'es', 'cl' or 'pe'"),
    (one_case("- user: hola").replace("the_case", "The Case"),
     "bad.yml: test case 'The Case' (#1): test_case: 'The Case': use lowercase letters"),
    (one_case("- user: hola").replace("    description: d\n", ""),
     "bad.yml: test case 'the_case' (#1): description: missing"),
    (one_case("- user: hola").replace("region: mx", "region: mx\n    region: co"),
     "bad.yml: not valid YAML: duplicate key 'region'"),
    ("test_cases: []", "bad.yml: test_cases: List should have at least 1 item"),
    ("- test_case: x", "bad.yml: top level: expected a mapping with test_cases"),
    ("test_cases: [\n", "bad.yml: not valid YAML"),
])
def test_a_bad_file_is_refused_naming_file_conversation_and_field(text: str, expected: str) -> None:
    problems = refused(text)
    assert any(expected in problem for problem in problems), problems


def test_every_problem_of_a_file_is_reported_at_once() -> None:
    text = one_case("- user: hola\n  assertions: {reply_matchs: x, asks: true}", extra="    regster: vos\n")
    problems = refused(text)
    assert len(problems) == 3, problems


def test_a_name_used_twice_is_refused_within_a_file_and_across_files(tmp_path: Path) -> None:
    case = one_case("- user: hola")
    doubled = case + case.removeprefix("test_cases:\n")
    assert refused(doubled) == ["bad.yml: test case 'the_case': the name is used twice"]
    (tmp_path / "a.yml").write_text(case)
    (tmp_path / "b.yml").write_text(case)
    with pytest.raises(ConversationFormatError) as caught:
        load_paths([tmp_path])
    assert caught.value.problems == [f"{tmp_path / 'b.yml'}: test case 'the_case': the name is already used in "
                                     f"{tmp_path / 'a.yml'}"]


def test_a_missing_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(ConversationFormatError, match="cannot read it"):
        load_paths([tmp_path / "missing.yml"])


def test_a_weekday_is_the_next_one_strictly_after_today() -> None:
    thursday = dt.date(2026, 1, 1)
    assert weekday_date(thursday, "jueves") == dt.date(2026, 1, 8)
    assert weekday_date(thursday, "viernes") == dt.date(2026, 1, 2)
    assert weekday_date(thursday, "miércoles") == dt.date(2026, 1, 7)


def test_every_shipped_file_loads() -> None:
    files = expand([SHIPPED])
    assert len(files) >= 10
    conversations = load_paths(files)
    assert len(conversations) >= 45
    assert {c.region for c in conversations} == {"mx", "co", "ar", "es", "cl", "pe"}
    for path in files:  # one theme per file, each with conversations
        assert any(c.source == str(path) for c in conversations), path


def test_the_shipped_suite_can_run_side_by_side() -> None:
    """No class booked by more than three conversations, a filled class used by no other one, and no
    19:00 booking (the seed leaves the next weekday's 19:00 class with one place)."""
    conversations = load_paths([SHIPPED])
    assert suite_problems(conversations) == []
    nineteen = [c.test_case for c in conversations if any(s.time == "19:00" for s in c.slots_used())]
    assert nineteen == []


def test_suite_problems_name_the_crowded_class() -> None:
    cases = "test_cases:\n" + "".join(
        one_case("- user: hola\n  assertions: {booking_exists: jueves 18:00}").removeprefix("test_cases:\n")
        .replace("the_case", f"case_{i}") for i in range(4))
    cases += one_case("- user: hola", extra="    given: {full: jueves 18:00}\n").removeprefix(
        "test_cases:\n").replace("the_case", "filler")
    problems = suite_problems(parse(cases, "crowd.yml"))
    assert problems == [
        "jueves 18:00: booked by 4 conversations (at most 3): case_0, case_1, case_2, case_3",
        "jueves 18:00: filled by filler and also used by case_0, case_1, case_2, case_3",
    ]


PAGE = """<!doctype html><html><body><h1>Pack 5 clases: $1,100.00 MXN</h1>
<form method="post"><button type="submit" name="outcome" value="paid">Pagar $1,100.00 MXN</button>
<button type="submit" name="outcome" value="failed">Simular un pago rechazado</button></form>
<form action="/otra" method="GET"><input type="submit" name="x" value="y"><input name="ignored" value="z"></form>
</body></html>"""


def test_the_payment_page_buttons_are_read_from_its_forms() -> None:
    assert buttons(PAGE) == [Button("", "post", "outcome", "paid"), Button("", "post", "outcome", "failed"),
                             Button("/otra", "get", "x", "y")]


def test_the_last_payment_link_the_bot_sent_is_found() -> None:
    bodies = ["¡Perfecto! Aquí tienes el enlace:\nhttp://127.0.0.1:8090/pay/AAA_1-b\n\nEn cuanto…",
              "Tu próxima clase…", "Todavía no veo el pago; este es tu enlace: https://pagos.example.com/pay/BBB2«"]
    assert last_payment_link(bodies) == "https://pagos.example.com/pay/BBB2"
    assert last_payment_link(bodies[:2]) == "http://127.0.0.1:8090/pay/AAA_1-b"
    assert last_payment_link(["hola", "mapa: https://maps.google.com/?q=x"]) is None


def test_paid_purchases_and_sessions_left_are_checked_from_the_api_views() -> None:
    effects = Effects(bookings=[], purchases=[
        {"id": 1, "package_name": "Pack 10 clases", "status": "paid"},
        {"id": 2, "package_name": "Clase suelta", "status": "pending"},
    ], packages=[
        {"name": "Pack 10 clases", "status": "active", "sessions_left": 9},
        {"name": "Clase suelta", "status": "pending", "sessions_left": 1},
    ])
    today = dt.date(2026, 1, 1)
    ok = Assertions.model_validate({"purchases_paid": 1, "sessions_left": {"package": "pack 10 clases", "count": 9}})
    assert check_effects(ok, effects, Arranged(), today) == []
    wrong = Assertions.model_validate({"purchases_paid": 0, "sessions_left": [
        {"package": "Pack 10 clases", "count": 8}, {"package": "Clase suelta", "count": 1}]})
    assert check_effects(wrong, effects, Arranged(), today) == [
        "purchases_paid: expected 0, found 1 (purchases: Pack 10 clases paid; Clase suelta pending)",
        "sessions_left Pack 10 clases: 8: no such package with 8 sessions left (packages: Pack 10 clases active 9 "
        "left)",
        "sessions_left Clase suelta: 1: no such package with 1 sessions left (packages: Pack 10 clases active 9 "
        "left)",
    ]
    given = Arranged(purchase_ids={1})  # the given package is not "created" by the conversation
    assert check_effects(Assertions.model_validate({"purchases_paid": 0}), effects, given, today) == []
