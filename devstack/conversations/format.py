"""The YAML format of scripted conversations, after Rasa's end-to-end `test_cases`.

A file holds `test_cases:`, a list of conversations; each has a `test_case` name, a
`description`, the customer's `region` and `register`, the business state before the first turn
(`given`) and its `steps`: the customer's turns (a message, a re-delivered webhook, a payment on
the payment page) and the staff's (a message, a hand-back), each with the `assertions` its reply
and its business effects must meet. docs/conversations.md documents every key with a full example.

Loading is strict: an unknown key, a missing one, a malformed regex, a weekday outside
Monday-Friday, a duplicate mapping key or a step that is two things at once is refused with one
line per problem naming the file, the conversation and the field. YAML 1.1's `yes`/`no`/`on`/`off`
booleans are read as text (customers say "no"); only `true` and `false` are booleans.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

WEEKDAYS = ("lunes", "martes", "miércoles", "jueves", "viernes")
_WEEKDAY_BY_FOLDED = {unicodedata.normalize("NFKD", d).encode("ascii", "ignore").decode(): d for d in WEEKDAYS}
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class ConversationFormatError(ValueError):
    """A conversation file is not valid: one line per problem, each naming file, conversation and field."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- values ----------------------------------------------------------------------------------------


class SlotRef(_Strict):
    """A class by weekday and local time, written `"jueves 18:00"` (or `{day: jueves, time: "18:00"}`).

    The weekday is the next one strictly after the day the suite runs (said on a Thursday, "el
    jueves" is next week's), always inside the business's 14-day schedule."""

    day: str
    time: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = value.split()
            if len(parts) != 2:
                raise ValueError(f"write a class as 'weekday HH:MM', e.g. 'jueves 18:00' (got {value!r})")
            return {"day": parts[0], "time": parts[1]}
        return value

    @field_validator("day")
    @classmethod
    def _weekday(cls, value: str) -> str:
        folded = unicodedata.normalize("NFKD", value.strip().lower()).encode("ascii", "ignore").decode()
        if folded not in _WEEKDAY_BY_FOLDED:
            raise ValueError(f"{value!r} is not a weekday from Monday to Friday ({', '.join(WEEKDAYS)})")
        return _WEEKDAY_BY_FOLDED[folded]

    @field_validator("time")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.match(value):
            raise ValueError(f"{value!r} is not a 24-hour time HH:MM such as '18:00'")
        return value

    def __str__(self) -> str:
        return f"{self.day} {self.time}"


def _as_list(value: Any) -> Any:
    """A single value where a list is expected is a list of one."""
    return [value] if isinstance(value, str | dict) else value


def _compiled(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as error:
        raise ValueError(f"{value!r} is not a valid regular expression: {error}") from None
    return value


Pattern = Annotated[str, Field(min_length=1)]
Patterns = Annotated[list[Pattern], BeforeValidator(_as_list)]
Slots = Annotated[list[SlotRef], BeforeValidator(_as_list)]


# --- the business state before the first turn ------------------------------------------------------


class Given(_Strict):
    """What is true before the customer writes, arranged through the business API."""

    bookings: Slots = Field(default_factory=list, description="this customer's upcoming bookings")
    package: str | None = Field(None, min_length=1, description="a package this customer bought and paid")
    full: Slots = Field(default_factory=list, description="classes other customers have filled")


# --- assertions ------------------------------------------------------------------------------------


class Profile(_Strict):
    name: str | None = Field(None, min_length=1)
    email: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _something(self) -> Profile:
        if self.name is None and self.email is None:
            raise ValueError("give name and/or email")
        return self


class SessionsLeft(_Strict):
    """One of the customer's packages of that name (`GET /client/packages`, not pending) has `count`
    sessions left."""

    package: str = Field(min_length=1)
    count: int = Field(ge=0)

    def __str__(self) -> str:
        return f"{self.package}: {self.count}"


def _as_mappings(value: Any) -> Any:
    """A single mapping where a list of them is expected is a list of one."""
    return [value] if isinstance(value, dict) else value


class Assertions(_Strict):
    """What a turn's reply and the business state after it must show.

    Regexes are searched case-insensitively in the whole reply text. Business effects count from
    the start of the conversation: bookings `given` are not "created", a cancelled given booking
    is "cancelled"."""

    reply_matches: Patterns = Field(default_factory=list)
    reply_not_matches: Patterns = Field(default_factory=list)
    asks_question: bool | None = None
    no_reply: Literal[True] | None = None
    bookings_created: int | None = Field(None, ge=0)
    booking_exists: Slots = Field(default_factory=list)
    bookings_cancelled: int | None = Field(None, ge=0)
    nothing_booked: Literal[True] | None = None
    purchases_created: int | None = Field(None, ge=0)
    purchased: str | None = Field(None, min_length=1)
    purchases_paid: int | None = Field(None, ge=0)
    sessions_left: Annotated[list[SessionsLeft], BeforeValidator(_as_mappings)] = Field(default_factory=list)
    profile: Profile | None = None

    @field_validator("reply_matches", "reply_not_matches")
    @classmethod
    def _regexes(cls, value: list[str]) -> list[str]:
        return [_compiled(v) for v in value]

    @model_validator(mode="after")
    def _consistent(self) -> Assertions:
        if self.nothing_booked and (self.bookings_created or self.booking_exists):
            raise ValueError("nothing_booked contradicts bookings_created/booking_exists")
        return self

    @property
    def checks_effects(self) -> bool:
        return any(v not in (None, []) for v in (
            self.bookings_created, self.booking_exists, self.bookings_cancelled, self.nothing_booked,
            self.purchases_created, self.purchased, self.purchases_paid, self.sessions_left, self.profile))

    @property
    def checks_reply(self) -> list[str]:
        """The keys given that look at a reply's text."""
        return [k for k in ("reply_matches", "reply_not_matches", "asks_question")
                if getattr(self, k) not in (None, [])]


# --- steps -----------------------------------------------------------------------------------------


class Media(_Strict):
    url: str = Field(pattern=r"^https?://")
    content_type: str = Field(pattern=r"^[a-z]+/[A-Za-z0-9.+-]+$", description="e.g. image/jpeg, audio/ogg")
    caption: str = ""


class Location(_Strict):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    label: str | None = None
    address: str | None = None


class StaffAction(_Strict):
    """What staff do through ingress's admin API: `staff: {say: "...", name: Carla}` sends a message to
    the customer as written; `staff: hand_back` gives the conversation back to the bot."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    say: str | None = Field(None, min_length=1, description="the message staff send, as written")
    name: str = Field("Carla", min_length=1, max_length=80, description="who of the staff writes")
    hand_back: Literal[True] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        if value == "hand_back":
            return {"hand_back": True}
        if isinstance(value, str):
            raise ValueError(f"write staff: hand_back or staff: {{say: \"...\"}} (got {value!r})")
        return value

    @model_validator(mode="after")
    def _one_action(self) -> StaffAction:
        if (self.say is None) == (self.hand_back is None):
            raise ValueError("staff either say a message ({say: \"...\"}) or hand the conversation back (hand_back)")
        if self.hand_back and "name" in self.model_fields_set:
            raise ValueError("name is who writes a message; a hand-back has none")
        return self


MESSAGE_KINDS = ("user", "media", "location")
STEP_KINDS = (*MESSAGE_KINDS, "duplicate", "pay", "staff")


class Step(_Strict):
    """One turn: exactly one of `user` (text), `media`, `location`, `duplicate` (the customer), `pay`
    (the customer on the payment page) or `staff` (a person of the team, through the admin API)."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    user: str | None = Field(None, min_length=1)
    media: Media | None = None
    location: Location | None = None
    duplicate: Literal[True] | None = Field(
        None, description="Twilio re-delivers the previous webhook (same MessageSid); no reply may follow")
    pay: Literal["paid", "failed"] | None = Field(
        None, description="the customer presses that button on the last payment link the bot sent")
    staff: StaffAction | None = None
    assertions: Assertions = Field(default_factory=Assertions)

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        kinds = [k for k in STEP_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a step is exactly one of {', '.join(STEP_KINDS[:-1])} or {STEP_KINDS[-1]} "
                             f"({' and '.join(kinds) if kinds else 'none'} given)")
        others = [k for k, v in self.assertions.model_dump(exclude_defaults=True).items() if k != "no_reply"]
        if self.duplicate and others:
            raise ValueError(f"a duplicate step only asserts no_reply (the turn after it checks the rest); "
                             f"move {', '.join(others)} to the next step")
        if self.is_message and self.assertions.no_reply and others:
            raise ValueError(f"a silent step (no_reply) only asserts no_reply (the turn after it checks the rest); "
                             f"move {', '.join(others)} to the next step")
        if not (self.is_message or self.duplicate) and self.assertions.no_reply:
            raise ValueError("no_reply is for a customer's message or a duplicate; a pay step waits for the bot's "
                             "message and a staff step for the staff's")
        if self.staff is not None and self.staff.hand_back and self.assertions.checks_reply:
            raise ValueError(f"a hand-back sends nothing, so it has no reply to check "
                             f"({', '.join(self.assertions.checks_reply)}): check the bot's answer at the next turn")
        return self

    @property
    def is_message(self) -> bool:
        """Whether the customer sends a new message (text, media or location)."""
        return any(getattr(self, k) is not None for k in MESSAGE_KINDS)

    @property
    def silent(self) -> bool:
        """Whether no reply may follow: a duplicate, or a message the bot must not answer (`no_reply`)."""
        return bool(self.duplicate or self.assertions.no_reply)

    @property
    def proves_silence(self) -> bool:
        """Whether this step's reply proves the earlier silent steps silent: a message the bot answers, which
        passes through the conversation's order after them (a staff or pay step takes another path)."""
        return self.is_message and not self.assertions.no_reply

    @property
    def said(self) -> str:
        """What the step did, as the report shows it."""
        if self.user is not None:
            return self.user
        if self.media is not None:
            kind = self.media.content_type.split("/")[0]
            return f"[{kind}]" + (f" {self.media.caption}" if self.media.caption else "")
        if self.location is not None:
            return f"[location {self.location.latitude:.4f},{self.location.longitude:.4f}]"
        if self.pay is not None:
            return f"[pay: {self.pay}]"
        if self.staff is not None:
            return "[staff: hand back]" if self.staff.hand_back else f"[staff {self.staff.name}] {self.staff.say}"
        return "[duplicate webhook]"


# --- conversations ---------------------------------------------------------------------------------

Region = Literal["mx", "co", "ar", "es", "cl", "pe"]
Register = Literal["tuteo", "ustedeo", "voseo"]


class Conversation(_Strict):
    test_case: str = Field(description="a unique snake_case name")
    description: str = Field(min_length=1)
    region: Region
    register_: Register = Field("tuteo", alias="register", description="tuteo, ustedeo or voseo")
    given: Given = Field(default_factory=Given)
    steps: list[Step] = Field(min_length=1)

    @field_validator("test_case")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(f"{value!r}: use lowercase letters, digits and underscores, e.g. 'book_thursday_evening'")
        return value

    @model_validator(mode="after")
    def _steps_in_place(self) -> Conversation:
        problems: list[str] = []
        steps = self.steps
        for i, step in enumerate(steps):
            if step.duplicate:
                before = next((s for s in reversed(steps[:i]) if not s.duplicate), None)
                if before is None:
                    problems.append(f"steps[{i}]: a duplicate re-delivers the previous message; it cannot come first")
                elif not before.is_message:
                    problems.append(f"steps[{i}]: a duplicate re-delivers the customer's previous message; it must "
                                    "follow a user, media or location step")
            if step.pay is not None and i == 0:
                problems.append(f"steps[{i}]: a pay step pays the last payment link the bot sent; it cannot come "
                                "first")
            if step.silent and not any(s.proves_silence for s in steps[i + 1:]):
                what = "duplicate" if step.duplicate else "silent step (no_reply)"
                if i == len(steps) - 1:
                    problems.append(f"steps[{i}]: a {what} cannot be last: its missing reply is proven by a later "
                                    "message the bot answers")
                else:
                    problems.append(f"steps[{i}]: nothing proves the {what} silent: a later customer message the "
                                    "bot answers must follow (staff and pay steps do not pass through the "
                                    "conversation's order)")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    _source: str = PrivateAttr("")

    @property
    def source(self) -> str:
        """The file the conversation was read from (set by the loader)."""
        return self._source

    def slots_used(self) -> list[SlotRef]:
        """The classes this conversation books (given bookings and the bookings it expects)."""
        used = list(self.given.bookings)
        for step in self.steps:
            used.extend(s for s in step.assertions.booking_exists if s not in used)
        return used


class ConversationFile(_Strict):
    test_cases: list[Conversation] = Field(min_length=1)


# --- loading ---------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML with 1.2 booleans (only true/false) and duplicate keys refused."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _where(raw: Any, loc: tuple[int | str, ...]) -> str:
    """`test case 'name' (#2): steps[1].assertions.reply_matches` from a pydantic error location."""
    parts: list[str] = []
    rest = list(loc)
    if rest[:1] == ["test_cases"] and len(rest) >= 2 and isinstance(rest[1], int):
        index = rest[1]
        name = None
        cases = raw.get("test_cases") if isinstance(raw, dict) else None
        if isinstance(cases, list) and index < len(cases) and isinstance(cases[index], dict):
            name = cases[index].get("test_case")
        parts.append(f"test case {name!r} (#{index + 1})" if isinstance(name, str) else f"test case #{index + 1}")
        rest = rest[2:]
    path = ""
    for item in rest:
        if isinstance(item, int):
            path += f"[{item}]"
        elif not item.startswith(("function-", "list[", "union[")):
            path += ("." if path else "") + item
    if path:
        parts.append(path)
    return ": ".join(parts) or "top level"


def _message(error: Any) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    if error["type"] == "missing":
        return "missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def parse(text: str, source: str) -> list[Conversation]:
    """The conversations of one file's text; `source` names it in errors."""
    try:
        raw = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise ConversationFormatError([f"{source}: not valid YAML: {error}"]) from None
    if not isinstance(raw, dict):
        raise ConversationFormatError([f"{source}: top level: expected a mapping with test_cases"])
    try:
        parsed = ConversationFile.model_validate(raw)
    except ValidationError as error:
        raise ConversationFormatError(
            [f"{source}: {_where(raw, tuple(e['loc']))}: {_message(e)}" for e in error.errors()]) from None
    names = [c.test_case for c in parsed.test_cases]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConversationFormatError([f"{source}: test case {n!r}: the name is used twice" for n in repeated])
    for conversation in parsed.test_cases:
        conversation._source = source
    return parsed.test_cases


def load_file(path: Path) -> list[Conversation]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConversationFormatError([f"{path}: cannot read it: {error.strerror or error}"]) from None
    return parse(text, str(path))


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; directories as their *.yml and *.yaml files, sorted."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml")))
        else:
            files.append(path)
    return files


def load_paths(paths: Iterable[Path]) -> list[Conversation]:
    """Every conversation of the files (directories expanded); every file's problems at once."""
    conversations: list[Conversation] = []
    problems: list[str] = []
    for path in expand(paths):
        try:
            conversations.extend(load_file(path))
        except ConversationFormatError as error:
            problems.extend(error.problems)
    where: dict[str, str] = {}
    for conversation in conversations:
        if conversation.test_case in where:
            problems.append(f"{conversation.source}: test case {conversation.test_case!r}: the name is already "
                            f"used in {where[conversation.test_case]}")
        where.setdefault(conversation.test_case, conversation.source)
    if problems:
        raise ConversationFormatError(problems)
    return conversations


MAX_BOOKINGS_PER_CLASS = 3


def suite_problems(conversations: Sequence[Conversation]) -> list[str]:
    """What would make conversations run side by side disturb each other.

    Each class (weekday + time) is booked by at most three conversations (capacity is six), and a
    class a conversation fills (`given.full`) is used by no other one."""
    users: dict[str, list[str]] = {}
    fillers: dict[str, list[str]] = {}
    for conversation in conversations:
        for slot in conversation.slots_used():
            users.setdefault(str(slot), []).append(conversation.test_case)
        for slot in conversation.given.full:
            fillers.setdefault(str(slot), []).append(conversation.test_case)
    problems = [f"{slot}: booked by {len(names)} conversations (at most {MAX_BOOKINGS_PER_CLASS}): "
                f"{', '.join(names)}" for slot, names in sorted(users.items()) if len(names) > MAX_BOOKINGS_PER_CLASS]
    for filled, names in sorted(fillers.items()):
        others = sorted({*users.get(filled, []), *names} - {names[0]})
        if others:
            problems.append(f"{filled}: filled by {names[0]} and also used by {', '.join(others)}")
    return problems
