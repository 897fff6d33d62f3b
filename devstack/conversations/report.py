"""Results of a run: one row per turn (PASS, FAIL with the failed expectations and the actual reply,
or SKIP), a summary line, and what the command-line runner prints."""

from __future__ import annotations

from dataclasses import dataclass, field

USER_WIDTH = 46


@dataclass(frozen=True)
class TurnResult:
    index: int  # 1-based, as people count turns
    said: str
    passed: bool | None  # None: skipped (never played, or its outcome could not be proven)
    failures: tuple[str, ...] = ()
    reply: str | None = None
    note: str | None = None  # why it was skipped

    @property
    def status(self) -> str:
        return "SKIP" if self.passed is None else "PASS" if self.passed else "FAIL"


@dataclass(frozen=True)
class ConversationResult:
    name: str
    source: str
    region: str
    turns: tuple[TurnResult, ...]
    seconds: float
    error: str | None = None  # the conversation could not be set up or played to the end

    @property
    def passed(self) -> bool:
        return self.error is None and all(t.passed for t in self.turns)

    @property
    def turns_passed(self) -> int:
        return sum(1 for t in self.turns if t.passed)


def _one_line(text: str) -> str:
    return " ⏎ ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _clip(text: str, width: int) -> str:
    text = _one_line(text)
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class Report:
    conversations: tuple[ConversationResult, ...]
    seconds: float
    warnings: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return bool(self.conversations) and all(c.passed for c in self.conversations)

    @property
    def conversations_passed(self) -> int:
        return sum(1 for c in self.conversations if c.passed)

    @property
    def turns_passed(self) -> int:
        return sum(c.turns_passed for c in self.conversations)

    @property
    def turns_total(self) -> int:
        return sum(len(c.turns) for c in self.conversations)

    def summary(self) -> str:
        return (f"conversations passed {self.conversations_passed}/{len(self.conversations)}, "
                f"turns passed {self.turns_passed}/{self.turns_total}, wall time {self.seconds:.1f} s")

    def table(self, *, only_failed: bool = False, replies: bool = False) -> str:
        """One row per turn: conversation, turn, what the user said, PASS/FAIL/SKIP; a failed turn
        is followed by its failed expectations and the reply it got (every turn by its reply with
        `replies`)."""
        shown = [c for c in self.conversations if not (only_failed and c.passed)]
        if not shown:
            return ""
        width = max(len("conversation"), *(len(c.name) for c in shown))
        header = f"{'conversation':<{width}}  turn  {'user':<{USER_WIDTH}}  result"
        lines = [header, "-" * len(header)]
        indent = " " * (width + 2 + 6)
        for conversation in shown:
            if conversation.error is not None:
                lines.append(f"{conversation.name:<{width}}  {'-':>4}  {'(the conversation)':<{USER_WIDTH}}  ERROR")
                lines.append(f"{indent}✗ {conversation.error}")
            for turn in conversation.turns:
                lines.append(f"{conversation.name:<{width}}  {turn.index:>4}  "
                             f"{_clip(turn.said, USER_WIDTH):<{USER_WIDTH}}  {turn.status}")
                lines.extend(f"{indent}✗ {failure}" for failure in turn.failures)
                if (turn.failures or replies) and turn.reply is not None:
                    lines.append(f"{indent}  reply: «{_one_line(turn.reply)}»")
                if turn.note:
                    lines.append(f"{indent}  ({turn.note})")
        return "\n".join(lines)
