"""Entity offsets index the text the user sent, whatever folding did to it."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.nlu.engine.text import _fold_char, _fold_with_map, fold

from ._shared import entities


@pytest.mark.parametrize(
    ("text", "surfaces"),
    [
        ("Holaaaa 👋👋 quiero MAÑANAAAA a las 5 de la tardeee!!", ["MAÑANAAAA", "a las 5 de la tardeee"]),
        ("¿Pódés el Miércoles? mi mail: Ana@Gmail.com", ["el Miércoles", "Ana@Gmail.com"]),
        ("🙏🙏 me llamo José Ñúñez", ["José Ñúñez"]),
        ("quiero el PÁCK 10 🔥 y la BK-4821", ["PÁCK 10", "BK-4821"]),
        ("Ma\u0301ñana a las 7", ["Ma\u0301ñana", "a las 7"]),  # decomposed accent
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
