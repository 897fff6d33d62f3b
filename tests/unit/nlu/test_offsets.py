"""Entity offsets index the text the user sent, whatever folding did to it."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nlu.engine.text import _fold_char, _fold_with_map, fold, normalise_for_classifier

from ._shared import entities


@pytest.mark.parametrize(
    ("text", "surfaces"),
    [
        ("Holaaaa 👋👋 quiero MAÑANAAAA a las 5 de la tardeee!!", ["MAÑANAAAA", "a las 5 de la tardeee"]),
        ("¿Pódés el Miércoles? mi mail: Ana@Gmail.com", ["el Miércoles", "Ana@Gmail.com"]),
        ("🙏🙏 me llamo José Ñúñez", ["José Ñúñez"]),
        ("quiero el PÁCK 10 🔥 y la BK-4821", ["PÁCK 10", "BK-4821"]),
        ("Ma\u0301ñana a las 7", ["Ma\u0301ñana", "a las 7"]),  # decomposed accent
        ("👍🏽👍🏽 sí, MAÑANA a las 7 🙏🏻", ["MAÑANA", "a las 7"]),  # skin tones
        ("🙅‍♀️❤️‍🔥 el Jueves a las 5 pm 👨‍👩‍👧", ["el Jueves", "a las 5 pm"]),  # joiners, variation selectors
    ],
)
def test_offsets_point_into_the_original_text(text: str, surfaces: list[str]) -> None:
    assert [text[e.start : e.end] for e in entities(text)] == surfaces


def test_folding_keeps_a_map_to_the_original() -> None:
    folded = fold("¡Holaaa, MAÑANA!")
    assert folded.folded == "¡hola, manana!"
    start = folded.folded.index("manana")
    assert folded.to_original(start, start + 6) == (9, 15)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_spans_are_ordered_in_bounds_and_disjoint(text: str) -> None:
    found = entities(text)
    for entity in found:
        assert 0 <= entity.start < entity.end <= len(text)
    for first, second in pairwise(found):
        assert first.end <= second.start


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=100))
def test_fast_folding_path_agrees_with_the_general_one(text: str) -> None:
    general = _fold_with_map(text, [_fold_char(char) for char in text])
    assert fold(text) == general


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("👍", "emoji_thumbs_up"),
        ("👍🏽👍🏿", "emoji_thumbs_up emoji_thumbs_up"),  # skin tones dropped
        ("ok👌", "ok emoji_ok_hand"),
        ("✔️ dale", "emoji_check dale"),  # variation selector dropped
        ("❤️ 💜 ♥", "emoji_heart emoji_heart emoji_heart"),  # hearts are one word
        ("🙅‍♀️", "emoji_no_gesture"),  # joiner and gender sign dropped
        ("holaaa 👋", "hola emoji_wave"),
        ("🔥", "emoji_fire"),  # any other emoji: its Unicode name
        ("grax x todo 🙏🏻", "gracias por todo emoji_pray"),
    ],
)
def test_the_classifier_reads_emoji_as_words(text: str, normalised: str) -> None:
    assert normalise_for_classifier(text) == normalised


def test_folding_keeps_emoji_and_their_offsets() -> None:
    text = "👍🏽 SÍ 🙅‍♀️"
    folded = fold(text)
    assert folded.folded == "👍🏽 si 🙅‍♀️"
    start = folded.folded.index("si")
    assert folded.to_original(start, start + 2) == (3, 5)
