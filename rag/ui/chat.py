"""The Chat tab: questions, streamed answers with source cards, filters, feedback, export,
and Compare, which shows the papers a question is about side by side under the chat.

Design:
- A turn streams the answer into the chat and keeps it in the visitor's `Session`. In an
  LLM mode the reader never sees text that is later taken away: the extractive answer streams
  first, with its cards, and stays; the model then writes below it, shown only as progress
  until it has finished and every sentence has been judged against the paper it cites. A
  verified answer appears as a message of its own, each unsupported sentence marked; when
  the model's answer cannot be used, the note saying why joins the extractive answer and the
  progress message goes. Asking twice costs one more retrieval, a fraction of a second
  against the tens of seconds a local model writes for.
- Stop ends the answer in place: its text so far and "(stopped)", and whatever sources it
  already had (in an LLM mode, the extractive answer and its cards). Stop marks the turn
  (`Session.stop`) and the turn ends itself at its next piece, closing the pipeline's stream,
  which releases the local model's lock; the event then completes like any other, so the
  next question is never left waiting. (Gradio's own `cancels=` is not used: a streaming
  event it cancels can leave the page waiting for a completion it never receives, and then
  Ask does nothing.) A turn Gradio closes for another reason closes the stream too.
- Under an answer the conversation shaped, the searched text shows; "New topic" asks without
  the conversation, and the answer offers to ask its own question again that way.
- Active filters, the side panel's and those read from the question, are one list of chips;
  removing one clears its control or switches the question's filter off, then asks the last
  question again with the history it was first asked with.
- Problems with a question (empty, too long, an unknown mode) are warnings, not chat
  messages, so nothing without an answer offers thumbs; the question stays in the box.
- Every way of asking (Enter, Ask, New topic, an example, the answer's own "ask again") is
  `ChatHandlers.respond` with the same inputs; Compare reads the question and the filters the
  same way. A comparison is not a chat turn: it shows below the question row, with its
  exports, and stays until the next Compare.
- Exports (the conversation, a comparison as CSV or Markdown) are written in the data folder
  and handed to the page that asked over its own event stream; the page saves them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer.compare import Comparison
from rag.errors import QuestionError
from rag.pipeline import Pipeline, check_question
from rag.records import Answer
from rag.texts import (
    APP_CHAT_PLACEHOLDER,
    APP_COMMENT_EMPTY,
    APP_COMMENT_PLACEHOLDER,
    APP_COMMENT_SAVED,
    APP_COMPARE,
    APP_FILTERS_HELP,
    APP_FILTERS_LABEL,
    APP_NEW_TOPIC,
    APP_NOTHING_COMPARED,
    APP_NOTHING_TO_EXPORT,
    APP_QUESTION_PLACEHOLDER,
    APP_RATE_FIRST,
    APP_RATED,
)
from rag.ui.compare import SHOW_COMPARISON, ComparisonView, build_comparison, save_comparison
from rag.ui.feedback import (
    MAX_COMMENT_CHARS,
    append_feedback,
    conversation_markdown,
    feedback_for,
    save_export,
)
from rag.ui.format import (
    NEW_TOPIC_OPTION,
    answer_html,
    comparison_cards_html,
    comparison_html,
    model_answer_html,
    model_stopped_html,
    model_writing_html,
    question_html,
    searched_differs,
    stopped_html,
    streaming_html,
)
from rag.ui.panel import Panel, mode_label
from rag.ui.session import (
    ANY_YEAR,
    Asked,
    PanelFilters,
    Pending,
    Session,
    active_chips,
    kept_question_labels,
)

# The bundled digest's examples, for an app built before its digest is read; an app given its
# pipeline asks the served digest's own (rag.ui.examples).
EXAMPLES = [
    "What is neural collapse?",
    "How does entropy collapse affect reinforcement learning with verifiable rewards?",
    "Is model collapse from training on synthetic data inevitable?",
    "Which benchmarks measure sycophancy in LLMs?",
    "What are early warning signals of tipping points?",
]
# The page saves the export it was sent: a file made in the browser has no server address.
SAVE_EXPORT = """
(saved) => {
  if (!saved || !saved.text) return;
  const link = document.createElement('a');
  const type = saved.type || 'text/markdown';
  link.href = URL.createObjectURL(new Blob([saved.text], {type: type}));
  link.download = saved.name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
"""
# The chat does not follow a streaming answer to its end (autoscroll is off): a new question
# is scrolled to the top of the chat as its answer grows under it, so the answer is read from
# its first words; scrolling by hand stops that.
CHAT_SCROLL = """
() => {
  let asked = 0, target = -1;
  const follow = () => {
    const wrap = document.querySelector('#chat .bubble-wrap');
    if (!wrap) return;
    const rows = wrap.querySelectorAll('.user-row');
    if (rows.length !== asked) { asked = rows.length; target = rows.length - 1; }
    if (target < 0 || !rows[target]) return;
    const top = wrap.getBoundingClientRect().top + parseFloat(getComputedStyle(wrap).paddingTop);
    const offset = rows[target].getBoundingClientRect().top - top;
    if (offset <= 1) { target = -1; return; }
    wrap.scrollTop += offset;
  };
  new MutationObserver(follow).observe(document.body, {childList: true, subtree: true});
  for (const name of ['wheel', 'touchmove', 'keydown']) {
    document.addEventListener(name, () => { target = -1; }, {passive: true});
  }
}
"""
PRIVATE: dict[str, Any] = {"api_visibility": "private"}
# A question asked while a turn is still ending (a stopped model finishes its token) runs
# right after it; Gradio's default would drop it, and Ask would seem to do nothing.
QUEUED: dict[str, Any] = {**PRIVATE, "trigger_mode": "always_last"}
Chat = list[dict[str, Any]]
Outputs = tuple[Any, ...]  # chat, session, question box, active filters
COMPARISON_OUTPUTS = 5  # panel, table, export buttons, source cards, the comparison


def _assistant(content: str, new_topic_option: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if new_topic_option:
        message["options"] = [NEW_TOPIC_OPTION]
    return message


def chips_update(chips: list[str]) -> Any:
    return gr.Dropdown(choices=chips, value=chips, multiselect=True)


@dataclass(frozen=True)
class Asking:
    """How a turn is asked: answer mode, number of sources and the side panel's filters."""

    mode: str
    k: float
    panel: PanelFilters


@dataclass
class Turn:
    """A question being answered: how it was asked, the chat it is written into (the last
    message is the one being written), the visitor's session and the mark Stop sets."""

    asked: Asked
    asking: Asking
    mode: str  # the answer mode, resolved
    chat: Chat
    session: Session
    pending: Pending
    new: bool  # a new question, not a re-ask

    @property
    def box(self) -> Any:
        """The question box once the turn shows: emptied for a new question, else as it is."""
        return "" if self.new else gr.skip()

    def outputs(self, box: Any = None, chips: Any = None) -> Outputs:
        """The event's outputs now; the question box and the chips are left alone unless
        given."""
        skipped = [gr.skip() if value is None else value for value in (box, chips)]
        return (self.chat, self.session, *skipped)

    def keep(self, answer: Answer, index: int) -> None:
        """Keep `answer`, shown at chat message `index`, with the chips of its question's
        own filters."""
        self.session.add(answer, index, self.asked.shown(answer, self.asking.panel.chips()))


def _model_progress(model: str, written: str) -> str:
    """The model's answer while it writes: how far it is, not its unchecked text."""
    return model_writing_html(model, len(written.split()))


class ChatHandlers:
    """The Chat tab's event handlers over one lazily built pipeline; files go to `data_dir`."""

    def __init__(self, pipeline_of: Callable[[], Pipeline], data_dir: Path) -> None:
        self.pipeline_of = pipeline_of
        self.data_dir = data_dir

    # --- asking -------------------------------------------------------------------------------

    def respond(
        self,
        message: str,
        chat: Chat,
        session: Session,
        mode: str,
        k: float,
        *filters: Any,
        new_topic: bool = False,
    ) -> Iterator[Outputs]:
        """One chat turn: validate, stream the answer, then show it with its source cards.
        `filters` are the side panel's (year, since, until, minimum upvotes); a new topic is
        asked without the conversation before it."""
        checked = self._checked(message, filters)
        if checked is None:
            yield gr.skip(), session, message, gr.skip()
            return
        question, panel = checked
        asked = session.new_topic(question) if new_topic else session.new_question(question)
        yield from self.turn(asked, list(chat or []), session, Asking(mode, k, panel), new=True)

    def respond_new_topic(self, message: str, *conversation: Any) -> Iterator[Outputs]:
        """The question in the box, asked without the conversation before it."""
        yield from self.respond(message, *conversation, new_topic=True)

    # The event comes first: Gradio passes it in the place of the parameter typed SelectData,
    # counting only the parameters before `*conversation`.
    def ask_example(self, event: gr.SelectData, *conversation: Any) -> Iterator[Outputs]:
        """An example question clicked in the empty chat: asked at once."""
        question = str((event.value or {}).get("text", ""))
        yield from self.respond(question, *conversation)

    def ask_as_new_topic(self, chat: Chat, session: Session, *asking: Any) -> Iterator[Outputs]:
        """The last question again, without the conversation that shaped its answer."""
        if session.asked is None:
            yield gr.skip(), session, gr.skip(), gr.skip()
            return
        yield from self.respond_new_topic(session.asked.question, chat, session, *asking)

    def reask(
        self, chat: Chat, session: Session, mode: str, k: float, *filters: Any
    ) -> Iterator[Outputs]:
        """After a filter chip is removed: the last question again, as it was asked."""
        panel = read_panel(*filters)
        if session.asked is None or panel is None:
            yield gr.skip(), session, gr.skip(), gr.skip()
            return
        asking = Asking(mode, k, panel)
        yield from self.turn(session.asked, list(chat or []), session, asking, new=False)

    def _checked(self, message: str, filters: Sequence[Any]) -> tuple[str, PanelFilters] | None:
        """The question and the side panel's filters, or None after a warning saying what is
        wrong with them (an empty or oversized question, a malformed date)."""
        try:
            panel = PanelFilters.read(*filters)
            limit = self.pipeline_of().settings.answer.max_question_chars
            return check_question(message, limit), panel
        except (QuestionError, ValueError) as error:
            gr.Warning(str(error))
            return None

    def _depth(self, k: float) -> int | None:
        """How many papers to retrieve; None at the configured depth, where the pipeline
        decides (which gives list questions more papers)."""
        return None if int(k) == self.pipeline_of().settings.retrieval.k else int(k)

    def turn(
        self, asked: Asked, chat: Chat, session: Session, asking: Asking, new: bool
    ) -> Iterator[Outputs]:
        """Stream the answer to `asked`, then show it with its source cards and the active
        filters. A new question empties the question box; a re-ask leaves the box alone."""
        try:
            mode = self.pipeline_of().resolve_mode(asking.mode or None)
        except QuestionError as error:  # a mode this server does not know
            gr.Warning(str(error))
            yield gr.skip(), session, asked.question if new else gr.skip(), gr.skip()
            return
        user = {"role": "user", "content": question_html(asked.question, asked.new_topic)}
        chat = [*chat, user, _assistant(streaming_html(""))]
        # One mark for the whole turn, set before anything shows: Stop ends it at any point.
        turn = Turn(asked, asking, mode, chat, session, session.start(len(chat) - 1), new)
        try:
            yield turn.outputs(box=turn.box)
            yield from self._answer(turn)
        finally:
            session.finish(turn.pending)

    def _answer(self, turn: Turn) -> Iterator[Outputs]:
        """The turn after its question shows: the extractive answer, then the model's."""
        try:
            answer = yield from self._write(turn, "extractive", streaming_html)
        except QuestionError as error:  # e.g. a filter or depth the pipeline refuses
            gr.Warning(str(error))
            box = turn.asked.question if turn.new else gr.skip()
            yield turn.chat[:-2], turn.session, box, gr.skip()
            return
        if answer is None:
            return  # stopped
        self._show(turn, answer)
        turn.pending.message = None  # nothing is being written until the model starts
        if turn.mode != "extractive" and not turn.pending.stopped:
            yield turn.outputs(box=turn.box)
            added = yield from self._add_generated(turn)
            if not added:
                return
        chips = active_chips(turn.asking.panel, turn.session.asked)
        yield turn.outputs(box=turn.box, chips=chips_update(chips))

    def _show(self, turn: Turn, answer: Answer) -> None:
        """Show the finished `answer` in the last message and keep it."""
        index = len(turn.chat) - 1
        html = answer_html(answer, f"a{index}", self.pipeline_of().papers)
        turn.chat[index] = _assistant(html, searched_differs(answer))
        turn.keep(answer, index)

    def _write(
        self, turn: Turn, mode: str, shown: Callable[[str], str]
    ) -> Generator[Outputs, None, Answer | None]:
        """Stream the answer in `mode` into the last message, its text so far as `shown`
        gives it; the `Answer`, or None once stopped. Every piece is looked at, so Stop ends
        the turn within one piece (a model's token), and the pipeline's stream is closed,
        which lets go of a model's lock."""
        pending = turn.pending
        asked, asking = turn.asked, turn.asking
        stream = self.pipeline_of().stream(
            asked.question,
            turn.session.history(asked.after, asked.since),
            mode=mode,
            k=self._depth(asking.k),
            ignore=asked.ignored,
            **asking.panel.keywords(),
        )
        with closing(stream) as pieces:
            for piece in pieces:
                if pending.stopped:
                    yield from self._stopped(turn)
                    return None
                if isinstance(piece, Answer):
                    return piece
                pending.written += piece
                turn.chat[-1] = _assistant(shown(pending.written))
                yield turn.outputs()
        return None

    def _stopped(self, turn: Turn) -> Iterator[Outputs]:
        """The stopped message once more, from the turn itself: it wins over any update of
        the turn the page may still receive after Stop's."""
        if turn.pending.message is not None:
            turn.chat[turn.pending.message] = _assistant(stopped_content(turn.pending))
        yield turn.outputs()

    def _add_generated(self, turn: Turn) -> Generator[Outputs, None, bool]:
        """The model's answer under the extractive one in the last message: its progress
        while it writes (never its unchecked text), then the verified answer, or the reason
        it is not used added to the extractive one. False when it was stopped."""
        papers = self.pipeline_of().papers
        model = mode_label(turn.mode, self.pipeline_of())
        chat, first = turn.chat, len(turn.chat) - 1
        chat.append(_assistant(model_writing_html(model, 0)))
        turn.pending.message, turn.pending.written, turn.pending.unchecked = first + 1, "", True
        yield turn.outputs()
        progress = functools.partial(_model_progress, model)
        answer = yield from self._write(turn, turn.mode, progress)
        if answer is None:
            return False
        if answer.mode == turn.mode and answer.sentences:
            html = model_answer_html(answer, f"a{first + 1}", papers, model)
            chat[first + 1] = _assistant(html, searched_differs(answer))
            turn.keep(answer, first + 1)
            return True
        chat.pop()
        extractive = turn.session.answer_at(first)
        if extractive is not None and answer.note:
            noted = dataclasses.replace(extractive, note=answer.note)
            html = answer_html(noted, f"a{first}", papers)
            chat[first] = _assistant(html, searched_differs(noted))
            turn.session.replace(first, noted)
        return True

    def stop(self, chat: Chat, session: Session) -> tuple[Any, Session]:
        """End the answer being written where it is: its text so far and "(stopped)"; the
        model's unchecked text is never shown. Its writer ends at its next piece."""
        pending = session.stop()
        chat = list(chat or [])
        if pending is None or pending.message is None or pending.message >= len(chat):
            return gr.skip(), session
        chat[pending.message] = _assistant(stopped_content(pending))
        return chat, session

    # --- filters ------------------------------------------------------------------------------

    def show_chips(self, session: Session, *filters: Any) -> Any:
        """The active filters after a side-panel control changed."""
        panel = read_panel(*filters, warn=False) or PanelFilters()
        return chips_update(active_chips(panel, session.asked))

    def remove_filter(self, kept: list[str], session: Session, *filters: Any) -> tuple[Any, ...]:
        """A chip removed: clear the panel control it came from, or switch the question's
        filter off (`reask` follows)."""
        panel = read_panel(*filters)
        if panel is None:
            return (*(gr.skip() for _ in filters), session)
        kept = list(kept or [])
        if session.asked is not None:
            session.asked = session.asked.without(kept_question_labels(kept))
        cleared = panel.without(kept)
        return (
            str(cleared.year) if cleared.year else ANY_YEAR,
            cleared.since.isoformat() if cleared.since else "",
            cleared.until.isoformat() if cleared.until else "",
            cleared.min_upvotes or 0,
            session,
        )

    def clear(self, *filters: Any) -> tuple[Session, Any]:
        """The chat cleared: a new conversation, with the panel's filters only."""
        panel = read_panel(*filters, warn=False) or PanelFilters()
        return Session(), chips_update(panel.chips())

    # --- comparing ----------------------------------------------------------------------------

    def compare(self, message: str, session: Session, k: float, *filters: Any) -> tuple[Any, ...]:
        """The papers the question in the box is about, side by side under the chat: the
        table, its exports and the papers' source cards (the question stays in the box).
        Asked as `respond` asks, with the current topic's conversation."""
        checked = self._checked(message, filters)
        if checked is None:
            return tuple(gr.skip() for _ in range(COMPARISON_OUTPUTS))
        question, panel = checked
        history = session.history(None, session.topic_start)
        keywords = {"k": self._depth(k), **panel.keywords()}
        try:
            comparison = self.pipeline_of().compare(question, history=history, **keywords)
        except QuestionError as error:  # e.g. a filter the pipeline refuses
            gr.Warning(str(error))
            return tuple(gr.skip() for _ in range(COMPARISON_OUTPUTS))
        return (
            gr.Column(visible=True),
            comparison_html(comparison),
            gr.Row(visible=bool(comparison.rows)),
            comparison_cards_html(comparison),
            comparison,
        )

    def export_csv(self, comparison: Comparison | None) -> dict[str, str] | None:
        """Save the comparison as CSV in the data folder and send it to this session's page."""
        return self._export_comparison(comparison, "csv")

    def export_markdown(self, comparison: Comparison | None) -> dict[str, str] | None:
        """Save the comparison as Markdown in the data folder and send it to this page."""
        return self._export_comparison(comparison, "md")

    def _export_comparison(
        self, comparison: Comparison | None, suffix: str
    ) -> dict[str, str] | None:
        if comparison is None or not comparison.rows:
            gr.Warning(APP_NOTHING_COMPARED)
            return None
        return save_comparison(self.data_dir, comparison, suffix)

    # --- feedback and export ------------------------------------------------------------------

    def rate(self, session: Session, event: gr.LikeData) -> tuple[Session, Any, str]:
        """Keep a rating of an answer and open the comment box beside the chat."""
        index = event.index if isinstance(event.index, int) else -1
        answer = session.answer_at(index)
        if answer is None:
            return session, gr.skip(), gr.skip()
        rating = "up" if event.liked is True else "down"
        append_feedback(self.data_dir, feedback_for(answer, rating))
        session.last_rated = session.message_answer[index]
        session.last_rating = rating
        thanks = APP_RATED.format(rating="thumbs up" if rating == "up" else "thumbs down")
        return session, gr.Row(visible=True), thanks

    def comment(self, text: str, session: Session) -> tuple[str, str, Any]:
        """Keep a comment on the last rating; the comment box closes once it is saved."""
        if session.last_rated is None:
            return text, APP_RATE_FIRST, gr.skip()
        if not text.strip():
            return text, APP_COMMENT_EMPTY, gr.skip()
        answer = session.answers[session.last_rated]
        try:  # a comment over MAX_COMMENT_CHARS: the reason, and the text kept to shorten
            entry = feedback_for(answer, session.last_rating, text)
        except ValueError as error:
            return text, str(error), gr.skip()
        append_feedback(self.data_dir, entry)
        gr.Info(APP_COMMENT_SAVED)
        return "", APP_COMMENT_SAVED, gr.Row(visible=False)

    def export(self, session: Session) -> dict[str, str] | None:
        """Save the conversation in the data folder and send it to this session's page."""
        if not session.answers:
            gr.Warning(APP_NOTHING_TO_EXPORT)
            return None
        markdown = conversation_markdown(session.answers)
        return {"name": save_export(self.data_dir, markdown).name, "text": markdown}


def close_feedback() -> Any:
    return gr.Row(visible=False)


def stopped_content(pending: Pending) -> str:
    """What a stopped message shows: the model's unchecked text never, the rest as written."""
    return model_stopped_html() if pending.unchecked else stopped_html(pending.written)


def read_panel(
    year: str, since: str, until: str, min_upvotes: float, warn: bool = True
) -> PanelFilters | None:
    """The side panel's filters, or None (with a warning) when one is not valid."""
    try:
        return PanelFilters.read(year, since, until, min_upvotes)
    except ValueError as error:
        if warn:
            gr.Warning(str(error))
        return None


@dataclass(frozen=True)
class FeedbackView:
    """The comment box a rating opens: thanks, comment, send and close."""

    row: gr.Row
    status: gr.Markdown
    note: gr.Textbox
    send: gr.Button
    close: gr.Button


@dataclass(frozen=True)
class ChatView:
    """The Chat tab's components."""

    chatbot: gr.Chatbot
    feedback: FeedbackView
    chips: gr.Dropdown
    question: gr.Textbox
    ask: gr.Button
    compare: gr.Button
    new_topic: gr.Button
    stop: gr.Button
    export: gr.Button
    exported: gr.JSON
    comparison: ComparisonView


def build_chat_tab(examples: Sequence[str] = EXAMPLES) -> ChatView:
    """The Chat tab's components, top to bottom: the chat (`examples` inside while it is
    empty), the comment box a rating opens, the active filters, the question row, then the
    comparison the Compare button shows."""
    export = gr.Button("Export conversation as Markdown", elem_id="export")
    chatbot = gr.Chatbot(
        show_label=False,  # a floating label would cover the first words of an answer
        # The chat, the question row and the head fit a 900 px high window together.
        height="max(360px, calc(100vh - 400px))",
        autoscroll=False,
        sanitize_html=True,
        render_markdown=False,  # messages are HTML from rag.ui.format only
        latex_delimiters=[],
        elem_id="chat",
        placeholder=APP_CHAT_PLACEHOLDER,
        examples=[{"text": example} for example in examples],
        # Only export: copying would give the messages' HTML, not their text.
        buttons=[export],
    )
    feedback = _build_feedback()
    chips = _build_filters()
    with gr.Row(equal_height=True):
        question = gr.Textbox(
            show_label=False,
            placeholder=APP_QUESTION_PLACEHOLDER,
            scale=6,
            min_width=240,
            elem_id="question",
            autofocus=True,
        )
        ask = gr.Button("Ask", variant="primary", scale=1, min_width=80, elem_id="ask")
        compare = gr.Button(APP_COMPARE, scale=1, min_width=100, elem_id="compare")
        new_topic = gr.Button(APP_NEW_TOPIC, scale=1, min_width=110, elem_id="new-topic")
        stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop")
    exported = gr.JSON(visible=False)
    return ChatView(
        chatbot, feedback, chips, question, ask, compare, new_topic, stop, export, exported,
        build_comparison(),
    )  # fmt: skip


def _build_feedback() -> FeedbackView:
    # Opened by a rating, right under the chat, on one line: thanks, comment box, buttons.
    with gr.Row(visible=False, equal_height=True, elem_id="feedback") as row:
        status = gr.Markdown(elem_id="feedback-status", min_height=0, scale=2)
        note = gr.Textbox(
            label="Comment on your rating",
            show_label=False,
            placeholder=APP_COMMENT_PLACEHOLDER,
            max_length=MAX_COMMENT_CHARS,
            scale=3,
            min_width=200,
            elem_id="comment",
        )
        send = gr.Button("Send comment", size="sm", scale=0, min_width=130)
        close = gr.Button("No comment", size="sm", scale=0, min_width=110, elem_id="close-comment")
    return FeedbackView(row, status, note, send, close)


def _build_filters() -> gr.Dropdown:
    with gr.Row(equal_height=True, elem_id="filters-row"):
        # A label beside the chips rather than above them: the question row stays in view.
        gr.HTML(
            f'<span class="filters-label" title="{APP_FILTERS_HELP}">{APP_FILTERS_LABEL}</span>',
            min_width=0,
            scale=0,
            elem_id="filters-label",
        )
        return gr.Dropdown(
            [],
            value=[],
            multiselect=True,
            label=APP_FILTERS_LABEL,
            show_label=False,
            container=False,
            scale=1,
            elem_id="filter-chips",
        )


def wire_chat(view: ChatView, panel: Panel, handlers: ChatHandlers, session: gr.State) -> None:
    """Connect the Chat tab's events: asking (public API `/chat`), comparing, filters, stop,
    feedback."""
    filters = panel.filters
    conversation = [view.chatbot, session, panel.mode, panel.sources, *filters]
    outputs = [view.chatbot, session, view.question, view.chips]
    asking = [view.question, *conversation]
    view.question.submit(
        handlers.respond, asking, outputs, api_name="chat", trigger_mode="always_last"
    )
    view.ask.click(handlers.respond, asking, outputs, **QUEUED)
    view.new_topic.click(handlers.respond_new_topic, asking, outputs, **QUEUED)
    view.chatbot.example_select(handlers.ask_example, conversation, outputs, **QUEUED)
    view.chatbot.option_select(handlers.ask_as_new_topic, conversation, outputs, **QUEUED)
    comparing = [view.question, session, panel.sources, *filters]
    view.compare.click(handlers.compare, comparing, view.comparison.outputs, **QUEUED).then(
        None, None, None, js=SHOW_COMPARISON, **PRIVATE
    )
    view.chips.input(
        handlers.remove_filter, [view.chips, session, *filters], [*filters, session], **PRIVATE
    ).then(handlers.reask, conversation, outputs, **PRIVATE)
    for control in filters:
        control.change(handlers.show_chips, [session, *filters], view.chips, **PRIVATE)
    # No `cancels=`: a turn ends by itself at its next piece once Stop has marked it. A
    # cancelled streaming event can leave the page waiting for an end Gradio never sends, and
    # then Ask does nothing; a turn that ends by itself always completes.
    view.stop.click(handlers.stop, [view.chatbot, session], [view.chatbot, session], **PRIVATE)
    view.chatbot.clear(handlers.clear, filters, [session, view.chips], **PRIVATE)
    _wire_feedback(view, handlers, session)
    _wire_exports(view, handlers, session)


def _wire_feedback(view: ChatView, handlers: ChatHandlers, session: gr.State) -> None:
    feedback = view.feedback
    opened = [session, feedback.row, feedback.status]
    view.chatbot.like(handlers.rate, [session], opened, **PRIVATE)
    comment_outputs = [feedback.note, feedback.status, feedback.row]
    for trigger in (feedback.send.click, feedback.note.submit):
        trigger(handlers.comment, [feedback.note, session], comment_outputs, **PRIVATE)
    feedback.close.click(close_feedback, None, feedback.row, **PRIVATE)


def _wire_exports(view: ChatView, handlers: ChatHandlers, session: gr.State) -> None:
    """The conversation's export and the comparison's two: each is saved in the data folder,
    then sent to the page that asked, which downloads it."""
    shown = view.comparison.shown
    for button, save, source in (
        (view.export, handlers.export, session),
        (view.comparison.csv, handlers.export_csv, shown),
        (view.comparison.markdown, handlers.export_markdown, shown),
    ):
        button.click(save, [source], [view.exported], **PRIVATE).then(
            None, [view.exported], None, js=SAVE_EXPORT, **PRIVATE
        )
