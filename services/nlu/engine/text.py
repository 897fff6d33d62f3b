"""Text folding shared by the classifier and the entity rules.

`fold` lowercases, strips accents (ñ becomes n) and squeezes runs of three or more identical
letters ("holaaaa" -> "hola") while remembering, for every folded character, the index of the
original character it came from. Entity rules run their regular expressions on the folded
text and map spans back with `FoldedText.to_original`, so offsets always point into the text
the user actually sent.

`normalise_for_classifier` goes further (emoji spelled as words, abbreviations, digits) and is
only used for features; it never feeds offsets, so it may change lengths freely.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Abbreviations and spellings common in Spanish chat, keyed by folded token.
ABBREVIATIONS: dict[str, str] = {
    "q": "que",
    "k": "que",
    "ke": "que",
    "qe": "que",
    "xq": "porque",
    "xk": "porque",
    "pq": "porque",
    "porq": "porque",
    "pa": "para",
    "pal": "para el",
    "xa": "para",
    "porfa": "por favor",
    "porfis": "por favor",
    "porfavor": "por favor",
    "xfa": "por favor",
    "xfavor": "por favor",
    "xfis": "por favor",
    "pf": "por favor",
    "pls": "por favor",
    "plis": "por favor",
    "plz": "por favor",
    "x": "por",
    "tmb": "tambien",
    "tmbn": "tambien",
    "tb": "tambien",
    "tambn": "tambien",
    "d": "de",
    "dnd": "donde",
    "cdo": "cuando",
    "qdo": "cuando",
    "msj": "mensaje",
    "info": "informacion",
    "bn": "bien",
    "bno": "bueno",
    "grax": "gracias",
    "grs": "gracias",
    "grcs": "gracias",
    "grasias": "gracias",
    "hr": "hora",
    "hrs": "horas",
    "hs": "horas",
    "tel": "telefono",
    "cel": "celular",
    "mail": "correo",
    "email": "correo",
    "wsp": "whatsapp",
    "wapp": "whatsapp",
    "nd": "nada",
    "tdo": "todo",
    "tds": "todos",
    "ola": "hola",
    "ntp": "no te preocupes",
    "mnn": "manana",
    "ud": "usted",
    "uds": "ustedes",
    "hno": "hermano",
}

_TOKEN = re.compile(r"\w+", re.UNICODE)
_DIGIT = re.compile(r"\d")
_SPACES = re.compile(r"\s+")
_LETTER_RUN = re.compile(r"([^\W\d_])\1\1")

# Emoji are whole messages on WhatsApp ("👍", "🙏"), so the classifier sees each one as a word.
# Skin tones, variation selectors, keycaps, tags and the joiner (with the gender sign it attaches)
# only change how an emoji looks, so they are dropped: "👍🏽" and "👍" are the same word.
_EMOJI_MODIFIERS = re.compile(
    "\u200d[\u2640\u2642]|[\ufe0e\ufe0f\u200d\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f]"
)
_EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]"
)
# Emoji that mean the same in a chat share one word; any other emoji is named after its Unicode
# name ("🔥" -> "emoji_fire").
EMOJI_WORDS: dict[str, str] = {
    emoji: f"emoji_{word}"
    for word, emojis in {
        "thumbs_up": "👍",
        "thumbs_down": "👎",
        "ok_hand": "👌🆗",
        "check": "✅✔☑",
        "cross": "❌✖❎",
        "no_gesture": "🙅🚫⛔",
        "pray": "🙏",
        "heart": "❤♥💕💖💗💓💞💘💝💟❣🧡💛💚💙💜🤍🖤🤎🫶",
        "love_face": "🥰😍😘😻",
        "hug": "🤗",
        "wave": "👋",
        "laugh": "😂🤣😆😹",
        "smile": "😊☺🙂😀😃😄😁",
        "sad": "😢😭😞😔☹🙁😥😿",
        "angry": "😡😠🤬",
        "thinking": "🤔",
        "clap": "👏",
        "muscle": "💪",
        "handshake": "🤝",
        "victory": "✌",
        "raised_hands": "🙌",
        "sos": "🆘",
        "call_me": "🤙",
    }.items()
    for emoji in emojis
}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class FoldedText:
    """A folded copy of `original`; folded character i comes from original[starts[i]:ends[i]]."""

    original: str
    folded: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the folded span [start, end) to the span of `original` it was made from."""
        if start >= end:
            position = self.starts[start] if start < len(self.starts) else len(self.original)
            return position, position
        return self.starts[start], self.ends[end - 1]


@lru_cache(maxsize=4096)  # per character, not per message: the alphabet is small
def _fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char.lower())
    return "".join(part for part in decomposed if not unicodedata.combining(part))


def fold(text: str) -> FoldedText:
    """Lowercase, strip accents and squeeze letter runs of 3+, keeping a map to the original."""
    folded_chars = [_fold_char(char) for char in text]
    folded = "".join(folded_chars)
    if all(len(part) == 1 for part in folded_chars) and not _LETTER_RUN.search(folded):
        # The common case: one folded character per original one.
        return FoldedText(text, folded, tuple(range(len(text))), tuple(range(1, len(text) + 1)))
    return _fold_with_map(text, folded_chars)


def _fold_with_map(text: str, folded_chars: list[str]) -> FoldedText:
    pieces: list[tuple[str, int, int]] = []  # (folded char, original start, original end)
    for index, folded_char in enumerate(folded_chars):
        if not folded_char and pieces:  # a lone combining mark belongs to the previous letter
            part, start, _ = pieces[-1]
            pieces[-1] = (part, start, index + 1)
        pieces.extend((part, index, index + 1) for part in folded_char)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    position = 0
    while position < len(pieces):
        part = pieces[position][0]
        run_end = position + 1
        while run_end < len(pieces) and pieces[run_end][0] == part:
            run_end += 1
        kept = 1 if part.isalpha() and run_end - position >= 3 else run_end - position
        for _, start, end in pieces[position : position + kept]:
            chars.append(part)
            starts.append(start)
            ends.append(end)
        ends[-1] = pieces[run_end - 1][2]  # the last kept letter covers the whole run
        position = run_end
    return FoldedText(original=text, folded="".join(chars), starts=tuple(starts), ends=tuple(ends))


def _expand(match: re.Match[str]) -> str:
    token = match.group(0)
    return ABBREVIATIONS.get(token, token)


@lru_cache(maxsize=1024)
def emoji_word(emoji: str) -> str:
    """The word an emoji stands for in the classifier's features: "👍" -> "emoji_thumbs_up"."""
    if emoji in EMOJI_WORDS:
        return EMOJI_WORDS[emoji]
    name = _NOT_SLUG.sub("_", unicodedata.name(emoji, "symbol").lower()).strip("_")
    return f"emoji_{name}"


def _spell_emoji(match: re.Match[str]) -> str:
    return f" {emoji_word(match.group(0))} "


def normalise_for_classifier(text: str) -> str:
    """Folded text with emoji spelled as words, chat abbreviations expanded, every digit mapped to 0."""
    folded = fold(text).folded
    spelled = _EMOJI.sub(_spell_emoji, _EMOJI_MODIFIERS.sub("", folded))
    expanded = _TOKEN.sub(_expand, spelled)
    return _SPACES.sub(" ", _DIGIT.sub("0", expanded)).strip()


@dataclass(frozen=True, slots=True)
class Found:
    """A span [start, end) of folded text and the value a rule resolved it to."""

    start: int
    end: int
    value: str
    confidence: float = 1.0
    role: str | None = None
