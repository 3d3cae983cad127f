"""The two extractors behind one small Protocol: the LLM one (one call extracts and
reconciles) and the offline rule one (deterministic, no network).

An extractor gets the new messages and a ``lookup`` callback that returns existing memories
(under short integer refs, never UUIDs) similar to some texts or holding some attributes; it
returns one :class:`Decision` per fact. It does no other I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

from engramdb.ingest.messages import Message
from engramdb.ingest.ops import Decision, Existing, Fact, Role
from engramdb.ingest.prompts import experience, extract_reconcile, procedural
from engramdb.learn.experience import Lesson, summarize
from engramdb.llm.base import LLM, Usage
from engramdb.llm.structured import complete_structured
from engramdb.llm.sync import run_sync
from engramdb.models import DEFAULT_CATEGORIES

#: ``lookup(texts, attributes)`` → existing memories similar to the texts or filling the slots.
Lookup = Callable[[Sequence[str], Sequence[str]], list[Existing]]

#: The category marking a verbatim message kept because nothing was extracted from it.
VERBATIM = "verbatim"

M = TypeVar("M", bound=BaseModel)
# A str holds a surrogate code point only when it is unpaired (JSON decodes pairs).
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    return value


def valid_text(reply: M) -> M:
    """``reply`` with lone surrogates (a JSON ``\\ud800`` escape decodes to one) replaced by
    U+FFFD: they cannot be encoded as UTF-8, so the embedder and the store would choke."""
    data = reply.model_dump()
    clean = _scrub(data)
    return reply if clean == data else type(reply).model_validate(clean)


@dataclass
class Request:
    """What an extractor is asked: the messages, when they were said, and in which mode."""

    messages: Sequence[Message]
    timestamp: datetime
    agent_mode: bool
    lookup: Lookup
    usage: Usage = field(default_factory=Usage)


class Extractor(Protocol):
    """Decides what to remember from new messages."""

    name: str

    def decide(self, request: Request) -> list[Decision]:
        """One decision per candidate fact (ADD/UPDATE/SUPERSEDE/DELETE/NONE)."""
        ...

    def procedure(self, request: Request) -> str:
        """The text of a procedural memory summarising an agent's run."""
        ...

    def experience(self, request: Request, outcome: str, metadata: dict[str, Any]) -> list[Lesson]:
        """The lessons of an agent's episode that ended in ``outcome``."""
        ...


def _speaks_for_memory(message: Message, agent_mode: bool) -> bool:
    return message.role == "user" or (agent_mode and message.role == "assistant")


class RuleExtractor:
    """Offline: regex rules find first-person facts; slots decide supersession.

    When nothing is found in a message it is kept verbatim (category ``verbatim``), so the
    offline default is never worse than storing messages as they were said.
    """

    name = "rules"

    def decide(self, request: Request) -> list[Decision]:
        """Extract with rules, look up what the facts touch, reconcile without an LLM."""
        # Imported here: the rule tables are compiled on first use, not on `import engramdb`.
        from engramdb.ingest.forget import extract_forget_requests
        from engramdb.ingest.heuristics import extract_facts
        from engramdb.ingest.reconcile_offline import reconcile

        facts: list[Fact] = []
        verbatim: list[Fact] = []
        forget = []
        for message in request.messages:
            if not _speaks_for_memory(message, request.agent_mode):
                continue
            role: Role = "assistant" if message.role == "assistant" else "user"
            found = extract_facts(message.content, role=role, timestamp=request.timestamp)
            asks = extract_forget_requests(message.content, role=role)
            forget.extend(asks)
            facts.extend(found)
            if not found and not asks and message.content:
                verbatim.append(
                    Fact(
                        text=message.content,
                        categories=(VERBATIM,),
                        event_time=request.timestamp,
                        source_role=role,
                    )
                )
        attributes = sorted({f.attribute for f in facts if f.attribute})
        attributes += sorted({r.attribute for r in forget if r.attribute})
        probe = [f.text for f in facts] + [r.text for r in forget]
        existing = request.lookup(probe, attributes) if (probe or attributes) else []
        decisions = reconcile(facts, existing, forget=forget)
        return decisions + [Decision("ADD", f) for f in verbatim]

    def procedure(self, request: Request) -> str:
        """A numbered list of what the agent and its tools did, first line of each turn."""
        steps = [
            f"{m.role}: {m.content.splitlines()[0][:300]}"
            for m in request.messages
            if m.role in ("assistant", "tool") and m.content
        ]
        task = next((m.content for m in request.messages if m.role == "user"), "")
        lines = [f"Task: {task.splitlines()[0][:300]}" if task else "Task: (not stated)"]
        lines += [f"{i}. {s}" for i, s in enumerate(steps, start=1)]
        return "\n".join(lines)

    def experience(self, request: Request, outcome: str, metadata: dict[str, Any]) -> list[Lesson]:
        """One deterministic lesson: task, steps, final error or result, outcome."""
        return summarize(request.messages, outcome, metadata)


class LLMExtractor:
    """One structured LLM call per add: extract facts and decide an operation for each."""

    def __init__(
        self,
        llm: LLM,
        *,
        categories: Sequence[str] = DEFAULT_CATEGORIES,
        custom_instructions: str | None = None,
        similar_per_message: int = 8,
    ) -> None:
        self.llm = llm
        self.name = f"llm:{llm.provider}"
        self.categories = tuple(categories)
        self.custom_instructions = custom_instructions
        self.similar_per_message = similar_per_message

    def decide(self, request: Request) -> list[Decision]:
        """Retrieve similar memories first, then ask the LLM once."""
        texts = [m.content for m in request.messages if m.role != "system" and m.content]
        existing = request.lookup(texts, ()) if texts else []
        messages = extract_reconcile.build_messages(
            request.messages,
            existing,
            timestamp=request.timestamp,
            categories=self.categories,
            custom_instructions=self.custom_instructions,
            agent_mode=request.agent_mode,
        )
        reply = run_sync(
            complete_structured(
                self.llm, messages, extract_reconcile.ExtractReconcileReply, usage=request.usage
            )
        )
        return extract_reconcile.to_decisions(
            valid_text(reply), existing, categories=self.categories, agent_mode=request.agent_mode
        )

    def procedure(self, request: Request) -> str:
        """Ask the LLM for a step-by-step summary of the run."""
        messages = procedural.build_messages(
            request.messages,
            timestamp=request.timestamp,
            custom_instructions=self.custom_instructions,
        )
        summary = run_sync(
            complete_structured(
                self.llm, messages, procedural.ProceduralSummary, usage=request.usage
            )
        )
        return procedural.render(valid_text(summary))

    def experience(self, request: Request, outcome: str, metadata: dict[str, Any]) -> list[Lesson]:
        """Ask the LLM once for the episode's lessons; the offline summary if it names none."""
        messages = experience.build_messages(
            request.messages,
            outcome=outcome,
            timestamp=request.timestamp,
            custom_instructions=self.custom_instructions,
        )
        reply = run_sync(
            complete_structured(self.llm, messages, experience.ExperienceReply, usage=request.usage)
        )
        return experience.to_lessons(valid_text(reply), outcome) or summarize(
            request.messages, outcome, metadata
        )
