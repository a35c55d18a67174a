"""One browser session's state and the side panel's filters, as plain records.

`Session` lives in a `gr.State`, so Gradio copies it per visitor: two people chatting at the
same time never see each other's history. It keeps the finished answers (the conversation as
the pipeline and the export need it), which chat message shows which answer (for ratings),
and how the last question was asked (`Asked`): asking it again after a chip is removed
repeats its history and switches off the removed filters; a new question starts afresh.
A conversation is a run of topics: "New topic" asks a question without the history before
it, and later follow-ups read only the answers since. `Pending` is the answer being written,
so Stop can end it cleanly (its text so far and "(stopped)") and the writer stops at its
next piece, letting go of the model, even if nothing else closes it.
`PanelFilters` is what the side panel sets; its chips are the same labels the pipeline gives
for filters read from the question (`rag.search.query` formats both). Both kinds show in one list
(`active_chips`); removing a chip clears exactly the control it came from, or switches off the
question's filter. Everything here is pure; the app does the I/O.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from rag.records import Answer
from rag.search.filters import QueryFilters, explicit_filters
from rag.texts import APP_FROM_QUESTION

ANY_YEAR = "any"


@dataclass(frozen=True)
class Asked:
    """How the last question was asked: what asking it again repeats."""

    question: str
    after: int  # how many earlier answers it was asked after (its history ends there)
    # Filter fields read from the question that the reader switched off, for this question only.
    ignored: frozenset[str] = frozenset()
    # The chips shown for filters read from the question, each with the fields it stands for.
    chips: tuple[tuple[str, tuple[str, ...]], ...] = ()
    since: int = 0  # the first answer of its topic (its history starts there)

    def shown(self, answer: Answer, panel_chips: Collection[str]) -> Asked:
        """With the chips of `answer`'s filters that came from the question, not the panel."""
        labelled = zip(answer.filters, answer.filter_fields, strict=True)
        chips = tuple((label, names) for label, names in labelled if label not in panel_chips)
        return dataclasses.replace(self, chips=chips)

    def without(self, kept_chips: Collection[str]) -> Asked:
        """Asked again with the fields of every chip not in `kept_chips` switched off too."""
        removed = {name for label, names in self.chips if label not in kept_chips for name in names}
        return dataclasses.replace(self, ignored=self.ignored | removed)

    def chip_labels(self) -> list[str]:
        """Labels of the question's filters still on (a removed one stays off until the
        question is asked anew)."""
        return [label for label, names in self.chips if not set(names) <= self.ignored]

    @property
    def new_topic(self) -> bool:
        """Asked without the conversation before it."""
        return self.since == self.after and self.after > 0


@dataclass
class Pending:
    """A turn in progress: the chat message being written (None between two answers), its
    text so far, and whether Stop was pressed."""

    message: int | None
    written: str = ""
    stopped: bool = False
    unchecked: bool = False  # the model's text before verification: never shown


@dataclass
class Session:
    """The answers given in one browser session, and where each is shown in the chat."""

    answers: list[Answer] = field(default_factory=list)
    message_answer: dict[int, int] = field(default_factory=dict)  # chat index -> answer index
    last_rated: int | None = None
    last_rating: str | None = None
    asked: Asked | None = None
    topic_start: int = 0  # the first answer of the current topic
    pending: Pending | None = None

    def add(self, answer: Answer, message_index: int, asked: Asked | None = None) -> None:
        """Keep `answer`, shown at `message_index`; `asked` is how its question was asked."""
        self.message_answer[message_index] = len(self.answers)
        self.asked = asked or Asked(answer.question, len(self.answers), since=self.topic_start)
        self.answers.append(answer)

    def replace(self, message_index: int, answer: Answer) -> None:
        """The answer shown at `message_index` is now `answer` (the same reply, completed)."""
        self.answers[self.message_answer[message_index]] = answer

    def new_question(self, question: str) -> Asked:
        """A question asked after the current topic's answers, with every filter on."""
        return Asked(question, len(self.answers), since=self.topic_start)

    def new_topic(self, question: str) -> Asked:
        """A question asked without the conversation so far; follow-ups start from it."""
        self.topic_start = len(self.answers)
        return Asked(question, self.topic_start, since=self.topic_start)

    def start(self, message_index: int) -> Pending:
        """A turn about to write its answer at `message_index`."""
        self.pending = Pending(message_index)
        return self.pending

    def stop(self) -> Pending | None:
        """Stop the turn in progress (None when there is none): it ends at its next piece."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.stopped = True
        return pending

    def finish(self, pending: Pending) -> None:
        if self.pending is pending:
            self.pending = None

    def answer_at(self, message_index: int) -> Answer | None:
        position = self.message_answer.get(message_index)
        return None if position is None else self.answers[position]

    def history(self, after: int | None = None, since: int = 0) -> list[dict[str, str]]:
        """The conversation as the pipeline reads it (answers `since` up to `after`; None:
        all); an assistant turn names the titles it cited, which is how a follow-up finds
        "they" (see rag.search.conversation)."""
        messages = []
        for answer in self.answers[since:after]:
            messages.append({"role": "user", "content": answer.question})
            messages.append(answer.as_message())
        return messages


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


def question_chip(label: str) -> str:
    """How a filter read from the question shows among the active filters."""
    return APP_FROM_QUESTION.format(label=label)


def active_chips(panel: PanelFilters, asked: Asked | None) -> list[str]:
    """Every filter in force, in one list: the side panel's, then the last question's."""
    chips = panel.chips()
    if asked is not None:
        chips += [question_chip(label) for label in asked.chip_labels()]
    return chips


def kept_question_labels(kept_chips: Collection[str]) -> list[str]:
    """The question's filters among `kept_chips`, labelled as the pipeline labels them."""
    prefix, _, suffix = APP_FROM_QUESTION.partition("{label}")
    shaped = [c for c in kept_chips if c.startswith(prefix) and c.endswith(suffix)]
    return [c[len(prefix) : len(c) - len(suffix)] for c in shaped if len(c) > len(prefix + suffix)]
