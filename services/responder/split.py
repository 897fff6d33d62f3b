"""Long bodies cut into messages Twilio accepts: at paragraphs, then lines, then sentences, then words.

Twilio refuses a body over 1,600 characters (error 21617). The unit counted here is the UTF-16 code
unit (`twilio_length`): the string length of Twilio's Java services, in which an emoji outside the
Basic Multilingual Plane counts 2. It is never less than the number of code points, so a part within
the limit by this count is within it by any per-character count.

A cut goes at the last boundary of the highest kind (paragraph, line, sentence end, word) that still
leaves the part at least half full, so a short greeting paragraph does not become a message of its
own; the whitespace at the cut is dropped. Only a run of text without any whitespace longer than the
limit (a very long link) is cut inside, and then between user-perceived characters (grapheme
clusters): never inside an emoji sequence (ZWJ families, skin tones, flags, keycaps) nor between a
letter and its combining accent. Nothing else is lost or reordered: the parts joined with the
dropped whitespace give back the text.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate

TWILIO_BODY_MAX = 1600
"""Twilio's limit for a message body, in `twilio_length` units."""

ZWJ = "\u200d"
# The boundaries a cut may take, best first: each match's whitespace is where the cut goes.
PARAGRAPH = re.compile(r"\n[^\S\n]*\n\s*")
LINE = re.compile(r"\n\s*")
SENTENCE = re.compile(r"(?<=[.!?…])[\"'»”’)\]]*(\s+)")
WORD = re.compile(r"\s+")
BOUNDARIES = (PARAGRAPH, LINE, SENTENCE, WORD)


def twilio_length(text: str) -> int:
    """The length Twilio's limits count: UTF-16 code units (an astral emoji counts 2)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def split_body(text: str, limit: int = TWILIO_BODY_MAX, *, last_limit: int | None = None) -> list[str]:
    """`text` as parts of at most `limit` units each, in order (one part when it fits).

    `last_limit`, when given, also bounds the last part (e.g. the 1,024 units of a message sent with
    buttons), which may then take one more cut.
    """
    if limit < 2 or (last_limit is not None and last_limit < 2):
        raise ValueError(f"limits must be >= 2 (one emoji counts 2), got {limit}, {last_limit}")
    parts = _split(text, limit)
    if last_limit is not None and parts and twilio_length(parts[-1]) > last_limit:
        parts[-1:] = _split(parts[-1], last_limit)
    return parts


def _split(text: str, limit: int) -> list[str]:
    if twilio_length(text) <= limit:
        return [text]
    units = [0, *accumulate(2 if ord(char) > 0xFFFF else 1 for char in text)]
    cuts = [_cuts(pattern, text) for pattern in BOUNDARIES]
    parts: list[str] = []
    start = 0
    while units[-1] - units[start] > limit:
        end = bisect_right(units, units[start] + limit) - 1  # the longest prefix within the limit
        cut, resume = _best_cut(text, cuts, units, start, end, limit)
        part = text[start:cut]
        if part.strip():
            parts.append(part.rstrip() if resume > cut else part)
        start = resume
    if text[start:].strip():
        parts.append(text[start:])
    return parts or [text]  # whitespace only: nothing to cut it at


def _cuts(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """(cut, resume) for each boundary: the part ends at `cut`, the next one starts at `resume`."""
    found = []
    for match in pattern.finditer(text):
        cut = match.start(match.lastindex or 0)
        resume = match.end()
        if resume < len(text) and _joins_previous(text, resume):
            continue  # a combining mark on the whitespace itself: no cut here
        found.append((cut, resume))
    return found


def _best_cut(text: str, cuts: list[list[tuple[int, int]]], units: list[int], start: int, end: int,
              limit: int) -> tuple[int, int]:
    """Where the part starting at `start` ends (`cut` <= `end`) and where the next one starts.

    The last boundary of the best kind that leaves the part at least half full; else the latest
    boundary of any kind; else (no whitespace at all) the last grapheme-cluster boundary.
    """
    half = units[start] + limit // 2
    latest: tuple[int, int] | None = None
    for found in cuts:
        position = bisect_right(found, (end, len(text))) - 1
        if position < 0:
            continue
        cut, resume = found[position]
        if cut <= start or not text[start:cut].strip():
            continue
        if units[cut] >= half:
            return cut, resume
        if latest is None or cut > latest[0]:
            latest = (cut, resume)
    if latest is not None:
        return latest
    cut = max(_cluster_start(text, end, start), start + 1)
    return cut, cut


def _cluster_start(text: str, index: int, floor: int) -> int:
    """The nearest grapheme-cluster boundary at or before `index` (and after `floor`)."""
    while index > floor + 1 and not _is_boundary(text, index):
        index -= 1
    return index


def _is_boundary(text: str, index: int) -> bool:
    """Whether a cut between `text[index - 1]` and `text[index]` leaves every grapheme cluster whole."""
    if index <= 0 or index >= len(text):
        return True
    if _joins_previous(text, index) or text[index - 1] == ZWJ:
        return False
    if text[index - 1:index + 1] == "\r\n":
        return False
    if _regional_indicator(text[index]) and _regional_indicator(text[index - 1]):
        run = 0  # flags are pairs of regional indicators: cut only after an even run
        while index - run - 1 >= 0 and _regional_indicator(text[index - run - 1]):
            run += 1
        return run % 2 == 0
    return True


def _joins_previous(text: str, index: int) -> bool:
    """Whether `text[index]` belongs to the cluster of the character before it (UAX #29 Extend and friends)."""
    char = text[index]
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")  # combining accents, keycap U+20E3
        or char == ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (emoji presentation)
        or 0x1F3FB <= code <= 0x1F3FF  # skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tags (subdivision flags)
        or 0xE0100 <= code <= 0xE01EF
    )


def _regional_indicator(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
