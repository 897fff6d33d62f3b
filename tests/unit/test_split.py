"""`split_body`: long bodies cut at the best boundary, each part within Twilio's limit, nothing lost."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.responder.split import TWILIO_BODY_MAX, split_body, twilio_length

SENTENCE = "¿Quieres reservar la clase de pilates del martes? ¡Claro que sí, te esperamos! "


def assert_pieces_of(parts: list[str], text: str) -> None:
    """Each part is the text's next slice, only whitespace dropped between them: no loss, no reordering."""
    position = 0
    for part in parts:
        found = text.find(part, position)
        assert found >= 0, f"part not found in order: {part[:40]!r}"
        assert text[position:found].strip() == "", f"text lost before {part[:40]!r}: {text[position:found]!r}"
        position = found + len(part)
    assert text[position:].strip() == "", "text lost at the end"


def test_a_body_within_the_limit_is_one_part() -> None:
    text = "¡Hola! ¿Te ayudo con algo más? 😊\n\nEstudio Sol"
    assert split_body(text) == [text]
    assert split_body("a" * TWILIO_BODY_MAX) == ["a" * TWILIO_BODY_MAX]


def test_emoji_outside_the_bmp_count_two_units_as_at_twilio() -> None:
    assert (twilio_length("😀"), twilio_length("ñ"), twilio_length("¿é?"), twilio_length("👍🏽")) == (2, 1, 3, 4)
    assert split_body("😀" * 800) == ["😀" * 800], "1,600 units: fits"
    parts = split_body("😀" * 801)
    assert len(parts) == 2 and all(twilio_length(p) <= TWILIO_BODY_MAX for p in parts)


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    paragraphs = [f"Párrafo {n}. " + "palabra " * 110 for n in range(6)]  # ~900 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)
    parts = split_body(text)
    assert parts == [p.strip() for p in paragraphs]


def test_a_short_first_paragraph_is_not_a_message_of_its_own() -> None:
    text = "Hola Ana,\n\n" + SENTENCE * 40
    parts = split_body(text)
    assert parts[0].startswith("Hola Ana,\n\n¿Quieres"), "the cut leaves the first part at least half full"
    assert_pieces_of(parts, text)


def test_lines_then_sentences_then_words() -> None:
    lines = "\n".join(f"- Clase {n}: lunes y miércoles a las 19:00, con instructora" for n in range(60))
    assert all(part.startswith("- Clase") for part in split_body(lines)), "cut at line ends"

    sentences = SENTENCE * 50
    parts = split_body(sentences)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith(("¿", "¡")) and part.rstrip().endswith(("?", "!")), "cut between sentences"
    assert_pieces_of(parts, sentences)

    words = "reservación " * 400
    parts = split_body(words)
    assert all(part.startswith("reservación") and part.rstrip().endswith("reservación") for part in parts)


def test_accents_written_with_combining_marks_stay_on_their_letter() -> None:
    text = "e\u0301" * 2000  # é as e + U+0301, no whitespace at all
    parts = split_body(text)
    assert "".join(parts) == text
    assert all(not unicodedata.combining(part[0]) for part in parts)


SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # a flag written with tag characters


@pytest.mark.parametrize("cluster", ["👍🏽", "🇪🇸", "👨\u200d👩\u200d👧", "1\ufe0f\u20e3", SCOTLAND])
def test_a_run_without_whitespace_is_cut_between_whole_emoji(cluster: str) -> None:
    text = "x" + cluster * (4000 // twilio_length(cluster))  # the "x" shifts the cuts off the cluster grid
    parts = split_body(text)
    assert len(parts) >= 2 and "".join(parts) == text
    for part in parts:
        assert twilio_length(part) <= TWILIO_BODY_MAX
        body = part.removeprefix("x")
        assert body == cluster * (len(body) // len(cluster)), f"a {cluster!r} was broken at a cut"


def test_the_last_part_can_have_a_lower_limit() -> None:
    text = SENTENCE * 30  # ~2,400 units
    parts = split_body(text, last_limit=1024)
    assert twilio_length(parts[-1]) <= 1024
    assert all(twilio_length(part) <= TWILIO_BODY_MAX for part in parts)
    assert_pieces_of(parts, text)


PIECES = st.sampled_from(["hola", "¿qué", "tal?", "¡Sí!", "añadir", "café", "e\u0301", "😀", "👍🏽", "🇪🇸",
                          "👨\u200d👩\u200d👧", "reservación" * 30, ".", " ", "  ", "\n", "\n\n", "\t"])


@settings(max_examples=150, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=400), st.integers(min_value=20, max_value=400))
def test_any_text_splits_within_the_limit_in_order_without_loss(pieces: list[str], limit: int) -> None:
    text = "".join(pieces)
    parts = split_body(text, limit)
    assert all(twilio_length(part) <= limit for part in parts)
    assert all(part.strip() for part in parts) or parts == [text]
    assert_pieces_of(parts, text)
    for part in parts[1:]:
        assert not unicodedata.combining(part[0]) and part[0] not in "\u200d\U0001f3fd"
