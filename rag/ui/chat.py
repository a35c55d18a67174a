"""The Chat tab: questions, streamed answers with source cards, filters, feedback, export.

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
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.errors import QuestionError
from rag.pipeline import Pipeline, check_question
from rag.records import Answer
from rag.texts import (
    APP_CHAT_PLACEHOLDER,
    APP_COMMENT_EMPTY,
    APP_COMMENT_PLACEHOLDER,
    APP_COMMENT_SAVED,
    APP_FILTERS_HELP,
    APP_FILTERS_LABEL,
    APP_NEW_TOPIC,
    APP_NOTHING_TO_EXPORT,
    APP_QUESTION_PLACEHOLDER,
    APP_RATE_FIRST,
    APP_RATED,
)
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
  link.href = URL.createObjectURL(new Blob([saved.text], {type: 'text/markdown'}));
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
Chat = list[dict[str, Any]]
Outputs = tuple[Any, ...]  # chat, session, question box, active filters


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
        year: str,
        since: str,
        until: str,
        min_upvotes: float,
    ) -> Iterator[Outputs]:
        """One chat turn: validate, stream the answer, then show it with its source cards."""
        filters = (year, since, until, min_upvotes)
        yield from self._ask(message, chat, session, mode, k, filters, new_topic=False)

    def respond_new_topic(
        self,
        message: str,
        chat: Chat,
        session: Session,
        mode: str,
        k: float,
        year: str,
        since: str,
        until: str,
        min_upvotes: float,
    ) -> Iterator[Outputs]:
        """The question in the box, asked without the conversation before it."""
        filters = (year, since, until, min_upvotes)
        yield from self._ask(message, chat, session, mode, k, filters, new_topic=True)

    def ask_example(
        self,
        chat: Chat,
        session: Session,
        mode: str,
        k: float,
        year: str,
        since: str,
        until: str,
        min_upvotes: float,
        event: gr.SelectData,
    ) -> Iterator[Outputs]:
        """An example question clicked in the empty chat: asked at once."""
        question = str((event.value or {}).get("text", ""))
        filters = (year, since, until, min_upvotes)
        yield from self._ask(question, chat, session, mode, k, filters, new_topic=False)

    def ask_as_new_topic(
        self, chat: Chat, session: Session, mode: str, k: float, *filters: Any
    ) -> Iterator[Outputs]:
        """The last question again, without the conversation that shaped its answer."""
        if session.asked is None:
            yield gr.skip(), session, gr.skip(), gr.skip()
            return
        question = session.asked.question
        yield from self._ask(question, chat, session, mode, k, filters, new_topic=True)

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

    def _ask(
        self,
        message: str,
        chat: Chat,
        session: Session,
        mode: str,
        k: float,
        filters: tuple[Any, ...],
        new_topic: bool,
    ) -> Iterator[Outputs]:
        try:
            panel = PanelFilters.read(*filters)
            limit = self.pipeline_of().settings.answer.max_question_chars
            question = check_question(message, limit)
        except (QuestionError, ValueError) as error:
            gr.Warning(str(error))
            yield gr.skip(), session, message, gr.skip()
            return
        asked = session.new_topic(question) if new_topic else session.new_question(question)
        asking = Asking(mode, k, panel)
        yield from self.turn(asked, list(chat or []), session, asking, new=True)

    def turn(
        self, asked: Asked, chat: Chat, session: Session, asking: Asking, new: bool
    ) -> Iterator[Outputs]:
        """Stream the answer to `asked`, then show it with its source cards and the active
        filters. A new question empties the question box; a re-ask leaves the box alone."""
        pipeline = self.pipeline_of()
        try:
            mode = pipeline.resolve_mode(asking.mode or None)
        except QuestionError as error:  # a mode this server does not know
            gr.Warning(str(error))
            yield gr.skip(), session, asked.question if new else gr.skip(), gr.skip()
            return
        box = "" if new else gr.skip()
        user = {"role": "user", "content": question_html(asked.question, asked.new_topic)}
        chat = [*chat, user, _assistant(streaming_html(""))]
        # One mark for the whole turn, set before anything shows: Stop ends it at any point.
        pending = session.start(len(chat) - 1)
        try:
            yield chat, session, box, gr.skip()
            yield from self._answer(asked, chat, session, asking, mode, pending, new)
        finally:
            session.finish(pending)

    def _answer(
        self,
        asked: Asked,
        chat: Chat,
        session: Session,
        asking: Asking,
        mode: str,
        pending: Pending,
        new: bool,
    ) -> Iterator[Outputs]:
        """The turn after its question shows: the extractive answer, then the model's."""
        box = "" if new else gr.skip()
        try:
            answer = yield from self._write(asked, chat, session, asking, pending)
        except QuestionError as error:  # e.g. a filter or depth the pipeline refuses
            gr.Warning(str(error))
            yield chat[:-2], session, asked.question if new else gr.skip(), gr.skip()
            return
        if answer is None:
            return  # stopped
        self._show(answer, chat, session, asked, asking.panel)
        pending.message = None  # nothing is being written until the model starts
        if mode != "extractive" and not pending.stopped:
            yield chat, session, box, gr.skip()
            added = yield from self._add_generated(asked, chat, session, asking, mode, pending)
            if not added:
                return
        chips = active_chips(asking.panel, session.asked)
        yield chat, session, box, chips_update(chips)

    def _show(
        self, answer: Answer, chat: Chat, session: Session, asked: Asked, panel: PanelFilters
    ) -> None:
        """Show the finished `answer` in the last message and keep it."""
        index = len(chat) - 1
        html = answer_html(answer, f"a{index}", self.pipeline_of().papers)
        chat[index] = _assistant(html, searched_differs(answer))
        session.add(answer, index, asked.shown(answer, panel.chips()))

    def _stream(
        self, asked: Asked, session: Session, asking: Asking, mode: str
    ) -> Iterator[str | Answer]:
        pipeline = self.pipeline_of()
        # At the configured depth the pipeline decides, which gives list questions more papers.
        depth = None if int(asking.k) == pipeline.settings.retrieval.k else int(asking.k)
        return pipeline.stream(
            asked.question,
            session.history(asked.after, asked.since),
            mode=mode,
            k=depth,
            ignore=asked.ignored,
            **asking.panel.keywords(),
        )

    def _write(
        self, asked: Asked, chat: Chat, session: Session, asking: Asking, pending: Pending
    ) -> Generator[Outputs, None, Answer | None]:
        """Stream the extractive answer into the last message; the `Answer`, or None once
        stopped."""
        with closing(self._stream(asked, session, asking, "extractive")) as pieces:
            for piece in pieces:
                if pending.stopped:
                    yield from self._stopped(chat, session, pending)
                    return None
                if isinstance(piece, Answer):
                    return piece
                pending.written += piece
                chat[-1] = _assistant(streaming_html(pending.written))
                yield chat, session, gr.skip(), gr.skip()
        return None

    def _stopped(self, chat: Chat, session: Session, pending: Pending) -> Iterator[Outputs]:
        """The stopped message once more, from the turn itself: it wins over any update of
        the turn the page may still receive after Stop's."""
        if pending.message is not None:
            chat[pending.message] = _assistant(stopped_content(pending))
        yield chat, session, gr.skip(), gr.skip()

    def _add_generated(
        self,
        asked: Asked,
        chat: Chat,
        session: Session,
        asking: Asking,
        mode: str,
        pending: Pending,
    ) -> Generator[Outputs, None, bool]:
        """The model's answer under the extractive one in the last message: its progress
        while it writes, then the verified answer, or the reason it is not used added to the
        extractive one. False when it was stopped."""
        pipeline = self.pipeline_of()
        model = mode_label(mode, pipeline)
        first = len(chat) - 1
        chat.append(_assistant(model_writing_html(model, 0)))
        pending.message, pending.written, pending.unchecked = len(chat) - 1, "", True
        yield chat, session, gr.skip(), gr.skip()
        answer = yield from self._write_hidden(asked, chat, session, asking, mode, pending)
        if answer is None:
            return False
        if answer.mode == mode and answer.sentences:
            index = len(chat) - 1
            html = model_answer_html(answer, f"a{index}", pipeline.papers, model)
            chat[index] = _assistant(html, searched_differs(answer))
            session.add(answer, index, asked.shown(answer, asking.panel.chips()))
            return True
        chat.pop()
        extractive = session.answer_at(first)
        if extractive is not None and answer.note:
            noted = dataclasses.replace(extractive, note=answer.note)
            html = answer_html(noted, f"a{first}", pipeline.papers)
            chat[first] = _assistant(html, searched_differs(noted))
            session.replace(first, noted)
        return True

    def _write_hidden(
        self,
        asked: Asked,
        chat: Chat,
        session: Session,
        asking: Asking,
        mode: str,
        pending: Pending,
    ) -> Generator[Outputs, None, Answer | None]:
        """Run the model, showing how far it is but not its unchecked text; the `Answer`,
        or None once stopped. Every piece is looked at, so Stop ends it within one token
        and the pipeline's stream is closed, which lets go of the model's lock."""
        model = mode_label(mode, self.pipeline_of())
        with closing(self._stream(asked, session, asking, mode)) as pieces:
            for piece in pieces:
                if pending.stopped:
                    yield from self._stopped(chat, session, pending)
                    return None
                if isinstance(piece, Answer):
                    return piece
                pending.written += piece
                chat[-1] = _assistant(model_writing_html(model, len(pending.written.split())))
                yield chat, session, gr.skip(), gr.skip()
        return None

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
class ChatView:
    """The Chat tab's components."""

    chatbot: gr.Chatbot
    feedback: gr.Row
    feedback_status: gr.Markdown
    note: gr.Textbox
    send_note: gr.Button
    close_note: gr.Button
    chips: gr.Dropdown
    question: gr.Textbox
    ask: gr.Button
    new_topic: gr.Button
    stop: gr.Button
    export: gr.Button
    exported: gr.JSON


def build_chat_tab() -> ChatView:
    """The Chat tab's components, top to bottom: the chat (examples inside while it is
    empty), the comment box a rating opens, the active filters, the question row, export."""
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
        examples=[{"text": example} for example in EXAMPLES],
        # Only export: copying would give the messages' HTML, not their text.
        buttons=[export],
    )
    # Opened by a rating, right under the chat, on one line: thanks, comment box, buttons.
    with gr.Row(visible=False, equal_height=True, elem_id="feedback") as feedback:
        feedback_status = gr.Markdown(elem_id="feedback-status", min_height=0, scale=2)
        note = gr.Textbox(
            label="Comment on your rating",
            show_label=False,
            placeholder=APP_COMMENT_PLACEHOLDER,
            max_length=MAX_COMMENT_CHARS,
            scale=3,
            min_width=200,
            elem_id="comment",
        )
        send_note = gr.Button("Send comment", size="sm", scale=0, min_width=130)
        close_note = gr.Button(
            "No comment", size="sm", scale=0, min_width=110, elem_id="close-comment"
        )
    with gr.Row(equal_height=True, elem_id="filters-row"):
        # A label beside the chips rather than above them: the question row stays in view.
        gr.HTML(
            f'<span class="filters-label" title="{APP_FILTERS_HELP}">{APP_FILTERS_LABEL}</span>',
            min_width=0,
            scale=0,
            elem_id="filters-label",
        )
        chips = gr.Dropdown(
            [],
            value=[],
            multiselect=True,
            label=APP_FILTERS_LABEL,
            show_label=False,
            container=False,
            scale=1,
            elem_id="filter-chips",
        )
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
        new_topic = gr.Button(APP_NEW_TOPIC, scale=1, min_width=110, elem_id="new-topic")
        stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, elem_id="stop")
    exported = gr.JSON(visible=False)
    return ChatView(
        chatbot, feedback, feedback_status, note, send_note, close_note, chips, question, ask,
        new_topic, stop, export, exported,
    )  # fmt: skip


def wire_chat(view: ChatView, panel: Panel, handlers: ChatHandlers, session: gr.State) -> None:
    """Connect the Chat tab's events: asking (public API `/chat`), filters, stop, feedback."""
    filters = panel.filters
    conversation = [view.chatbot, session, panel.mode, panel.sources, *filters]
    outputs = [view.chatbot, session, view.question, view.chips]
    private: dict[str, Any] = {"api_visibility": "private"}
    asking = [view.question, *conversation]
    # A question asked while a turn is still ending (a stopped model finishes its token) runs
    # right after it; Gradio's default would drop it, and Ask would seem to do nothing.
    queued: dict[str, Any] = {**private, "trigger_mode": "always_last"}
    view.question.submit(
        handlers.respond, asking, outputs, api_name="chat", trigger_mode="always_last"
    )
    view.ask.click(handlers.respond, asking, outputs, **queued)
    view.new_topic.click(handlers.respond_new_topic, asking, outputs, **queued)
    view.chatbot.example_select(handlers.ask_example, conversation, outputs, **queued)
    view.chatbot.option_select(handlers.ask_as_new_topic, conversation, outputs, **queued)
    view.chips.input(
        handlers.remove_filter, [view.chips, session, *filters], [*filters, session], **private
    ).then(handlers.reask, conversation, outputs, **private)
    for control in filters:
        control.change(handlers.show_chips, [session, *filters], view.chips, **private)
    # No `cancels=`: a turn ends by itself at its next piece once Stop has marked it. A
    # cancelled streaming event can leave the page waiting for an end Gradio never sends, and
    # then Ask does nothing; a turn that ends by itself always completes.
    view.stop.click(handlers.stop, [view.chatbot, session], [view.chatbot, session], **private)
    view.chatbot.clear(handlers.clear, filters, [session, view.chips], **private)
    _wire_feedback(view, handlers, session)


def _wire_feedback(view: ChatView, handlers: ChatHandlers, session: gr.State) -> None:
    private: dict[str, Any] = {"api_visibility": "private"}
    view.chatbot.like(
        handlers.rate, [session], [session, view.feedback, view.feedback_status], **private
    )
    comment_outputs = [view.note, view.feedback_status, view.feedback]
    for trigger in (view.send_note.click, view.note.submit):
        trigger(handlers.comment, [view.note, session], comment_outputs, **private)
    view.close_note.click(close_feedback, None, view.feedback, **private)
    view.export.click(handlers.export, [session], [view.exported], **private).then(
        None, [view.exported], None, js=SAVE_EXPORT, **private
    )
