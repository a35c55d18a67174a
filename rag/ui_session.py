"""One browser session's state and the side panel's filters, as plain records.

`Session` lives in a `gr.State`, so Gradio copies it per visitor: two people chatting at the
same time never see each other's history. It keeps the finished answers (the conversation as
the pipeline and the export need it) and which chat message shows which answer (for ratings).
`PanelFilters` is what the side panel sets; its chips are the same labels the pipeline gives
for filters read from the question (`rag.query` formats both), and removing a chip clears
exactly the control it came from. Everything here is pure; the app does the I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from rag.query import QueryFilters, explicit_filters
from rag.records import Answer

ANY_YEAR = "any"


@dataclass
class Session:
    """The answers given in one browser session, and where each is shown in the chat."""

    answers: list[Answer] = field(default_factory=list)
    message_answer: dict[int, int] = field(default_factory=dict)  # chat index -> answer index
    last_rated: int | None = None
    last_rating: str | None = None

    def add(self, answer: Answer, message_index: int) -> None:
        self.message_answer[message_index] = len(self.answers)
        self.answers.append(answer)

    def answer_at(self, message_index: int) -> Answer | None:
        position = self.message_answer.get(message_index)
        return None if position is None else self.answers[position]

    def history(self) -> list[dict[str, str]]:
        """The conversation as the pipeline reads it; an assistant turn names the titles it
        cited, which is how a follow-up finds "they" (see rag.conversation)."""
        messages = []
        for answer in self.answers:
            cited = "\n".join(f"[{c.number}] {c.title}" for c in answer.citations)
            messages.append({"role": "user", "content": answer.question})
            messages.append({"role": "assistant", "content": f"{answer.text}\n{cited}".strip()})
        return messages

    def last_question(self) -> str | None:
        return self.answers[-1].question if self.answers else None


@dataclass(frozen=True)
class PanelFilters:
    """Filters chosen in the side panel; empty values mean "any"."""

    year: int | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    min_upvotes: int | None = None

    @classmethod
    def read(
        cls, year: str | int | None, since: str | None, until: str | None, min_upvotes: float | None
    ) -> PanelFilters:
        """From the controls' raw values; a ValueError says which value is wrong and why."""
        chosen_year = None if year in (None, "", ANY_YEAR) else year
        upvotes = int(min_upvotes) if min_upvotes else None
        checked = explicit_filters(chosen_year, since or None, until or None, upvotes)
        return cls(checked.year, checked.since, checked.until, checked.min_upvotes)

    def as_query(self) -> QueryFilters:
        return QueryFilters(self.year, self.since, self.until, self.min_upvotes)

    def chips(self) -> list[str]:
        return self.as_query().describe()

    def keywords(self) -> dict[str, object]:
        """Keyword arguments for `Pipeline.ask`/`stream`, unset ones left out."""
        values = dataclasses.asdict(self)
        return {name: value for name, value in values.items() if value is not None}

    def without(self, kept_chips: list[str]) -> PanelFilters:
        """These filters with every control whose chip is no longer in `kept_chips` cleared."""
        kept = set(kept_chips)
        cleared = {
            name: None
            for name in ("year", "since", "until", "min_upvotes")
            if getattr(self, name) is not None
            and not kept.intersection(PanelFilters(**{name: getattr(self, name)}).chips())
        }
        return dataclasses.replace(self, **cleared)
