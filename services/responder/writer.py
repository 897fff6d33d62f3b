"""Writing a reply: an LLM's wording (OpenRouter) checked by the guardrails, else the template.

    writer = ReplyWriter("Estudio Sol Pilates", client=OpenRouterClient(...), context=ConversationContext(redis),
                         written=WrittenReplies(redis))
    written = await writer.write(event)   # -> Written; never raises for an LLM problem

The template always writes a draft first (`templates.render`): it holds every fact right and is
the reply whenever the LLM cannot be used. Without a client (no `OPENROUTER_API_KEY`) the draft
is the reply. With one, the LLM rewrites the draft from the reply's typed data and the last turns
of the conversation (`prompt.py`); its text is sent only if `guardrails.check` finds nothing
wrong. Otherwise the draft is sent and `Written.fallback` says why: the failure's kind
(`timeout`, `http_429`, `http_402`, `http_5xx`, `error_body`, `circuit_open`, ...) or
`guardrail:<reason>`. A rejected answer keeps its model, tokens and cost: they were spent.

An FAQ answer is the business's own words and is sent as written (`fallback="verbatim"`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from dataclasses import dataclass
from typing import Literal

from prometheus_client import Counter

from contracts import ActionCompleted
from services.responder.adapters.context import ConversationContext, Turn
from services.responder.adapters.openrouter import LLM_FAILURES, Completion, OpenRouterClient, OpenRouterError
from services.responder.adapters.written import WrittenReplies
from services.responder.guardrails import MAX_CHARS, check, facts_of
from services.responder.prompt import DEFAULT_PERSONA, build_messages, reply_data
from services.responder.templates import render

log = logging.getLogger(__name__)

VERBATIM_KINDS = frozenset({"faq_answer"})
"""Kinds whose text is the business's own words: never reworded."""

WRITTEN = Counter("responder_replies_written_total", "Replies written, by generator and why a template wrote it "
                  "although an LLM is configured", ["generator", "fallback"])


@dataclass(frozen=True)
class Written:
    body: str
    generator: Literal["llm", "template"]
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    llm_latency_ms: float | None = None
    fallback: str | None = None
    """Why the template wrote it although an LLM is configured (None: the LLM did, or none is configured)."""

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, raw: str) -> Written:
        return cls(**json.loads(raw))


class ReplyWriter:
    def __init__(self, business_name: str, *, client: OpenRouterClient | None = None,
                 context: ConversationContext | None = None, written: WrittenReplies | None = None,
                 persona: str = DEFAULT_PERSONA, context_turns: int = 8, max_chars: int = MAX_CHARS) -> None:
        self.business_name = business_name
        self.client = client
        self.context = context
        self.written = written
        self.persona = persona
        self.context_turns = context_turns
        self.max_chars = max_chars

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    def draft(self, event: ActionCompleted) -> str:
        """The template's text of the reply: the fallback, and what the LLM rewrites."""
        payload = event.payload
        return render(payload.reply, business=self.business_name, followup=payload.followup,
                      register=payload.form_of_address)

    async def write(self, event: ActionCompleted) -> Written:
        """The reply's text and how it was written. Never raises for an LLM problem."""
        draft = self.draft(event)
        if self.client is None:
            return self._count(Written(draft, "template"))
        if event.payload.reply.kind in VERBATIM_KINDS:
            return self._count(Written(draft, "template", fallback="verbatim"))
        earlier, turns = await asyncio.gather(self._earlier(event), self._recent(event))
        if earlier is not None:
            try:
                return Written.from_json(earlier)  # a redelivery: the same words as the first time
            except (ValueError, TypeError):
                log.warning("unreadable written reply for %s; writing it again", event.event_id)
        written = self._count(await self._with_llm(event, draft, self.client, turns))
        if self.written is None:
            return written
        return Written.from_json(await self.written.keep_first(event.event_id, written.to_json()))

    async def _earlier(self, event: ActionCompleted) -> str | None:
        return await self.written.get(event.event_id) if self.written is not None else None

    async def _recent(self, event: ActionCompleted) -> list[Turn]:
        """The conversation's last turns for the prompt (read beside the redelivery check: one wait for both)."""
        if self.context is None or self.context_turns <= 0:
            return []
        return await self.context.recent(event.conversation_id, self.context_turns)

    async def _with_llm(self, event: ActionCompleted, draft: str, client: OpenRouterClient,
                        turns: list[Turn]) -> Written:
        payload = event.payload
        register = payload.form_of_address
        try:
            data = reply_data(payload.reply, payload.followup)
            messages = build_messages(reply=payload.reply, followup=payload.followup, draft=draft, register=register,
                                      business=self.business_name, persona=self.persona, turns=turns)
            completion = await client.complete(messages)
        except OpenRouterError as exc:
            log.info("template writes %s: %s", payload.reply.kind, exc)
            return Written(draft, "template", fallback=exc.kind)
        except Exception:  # a bug here must cost the wording, never the reply
            log.exception("LLM writer failed; template writes %s", payload.reply.kind)
            LLM_FAILURES.labels("error").inc()
            return Written(draft, "template", fallback="error")
        text = _unwrapped(completion.text)
        try:
            kinds = [payload.reply.kind] + ([payload.followup.kind] if payload.followup is not None else [])
            facts = facts_of(data, draft, kinds=kinds, extra=[self.business_name])
            rejection = check(text, facts, register, max_chars=self.max_chars)
        except Exception:
            log.exception("guardrails failed; template writes %s", payload.reply.kind)
            LLM_FAILURES.labels("error").inc()
            return _spent(Written(draft, "template", fallback="error"), completion)
        if rejection is not None:
            LLM_FAILURES.labels(f"guardrail:{rejection.reason}").inc()
            log.info("guardrail %s rejected the %s reply of %s: %s", rejection.reason, payload.reply.kind,
                     completion.model, rejection.detail)
            return _spent(Written(draft, "template", fallback=f"guardrail:{rejection.reason}"), completion)
        return _spent(Written(text, "llm"), completion)

    @staticmethod
    def _count(written: Written) -> Written:
        WRITTEN.labels(written.generator, written.fallback or "").inc()
        return written


def _spent(written: Written, completion: Completion) -> Written:
    return dataclasses.replace(written, model=completion.model, prompt_tokens=completion.prompt_tokens,
                               completion_tokens=completion.completion_tokens, cost=completion.cost,
                               llm_latency_ms=round(completion.latency_ms, 1))


def _unwrapped(text: str) -> str:
    """The message without quotes the model put around all of it."""
    text = text.strip()
    for left, right in (("«", "»"), ('"', '"'), ("“", "”")):
        inner = text[len(left):-len(right)]
        if text.startswith(left) and text.endswith(right) and left not in inner and right not in inner:
            return inner.strip()
    return text
