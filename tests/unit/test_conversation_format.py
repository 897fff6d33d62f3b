"""The conversation-test format (devstack/conversations/format.py): bad files are refused with a line
naming file, conversation and field; every shipped file loads; the shipped suite can run side by side."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from textwrap import dedent

import pytest

from devstack.conversations import ConversationFormatError, load_paths, parse, suite_problems
from devstack.conversations.business import weekday_date
from devstack.conversations.format import expand

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
     "steps[0]: a step is exactly one of user, media, location or duplicate (user and location given)"),
    (one_case("- assertions: {asks_question: true}"),
     "steps[0]: a step is exactly one of user, media, location or duplicate (none given)"),
    (one_case("- user: hola\n  assertions: {no_reply: true}"),
     "steps[0]: no_reply is only for duplicate: true steps"),
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
