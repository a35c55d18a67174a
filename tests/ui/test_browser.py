"""The app as a person uses it: Chromium, driven by Playwright, against the served app, in a
1440x900 window (and 390x844 where the layout matters).

One app over the bundled digest (a real question, its citations and cards, the Papers and Map
tabs, the landing page, filters, feedback, what was searched, Stop and the local model's
answer, a comparison of papers, and the README's screenshots), one over the tiny digest plus
a paper whose title is an HTML tag, which must show as text everywhere, and one that adds a
paper whose title and abstract are Markdown naming a local server that counts its hits: the
page must show that Markdown as text and never call the server. Every request the page makes
is recorded: the app must load nothing from outside this machine. The last app also runs
with its own Gradio cache folder (GRADIO_TEMP_DIR), where no export (a conversation, a
comparison) may ever land.
"""

from __future__ import annotations

import csv
import io
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Download, Locator, Page, expect, sync_playwright
from test_app import XSS_TITLE, YEAR_CHIP, YEAR_QUESTION, free_port

from app import build_app, serve
from rag import Pipeline
from rag.answer.backends import available_modes
from rag.answer.compare import COLUMNS
from rag.config import PROJECT_ROOT, bundled_digests, get_settings
from rag.ingest.digest import load_digests, paper_id_for
from rag.texts import (
    APP_COMPARE_CSV,
    APP_COMPARE_MARKDOWN,
    APP_COMPARISON,
    APP_MODE_DEMO,
    APP_MODEL_STOPPED,
    APP_SEARCHED,
    APP_STOPPED,
)
from rag.ui.examples import digest_examples

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshot.png"
COMPARE_SCREENSHOT = PROJECT_ROOT / "docs" / "compare.png"
COMPARE_QUESTION = "Compare the papers that fix entropy collapse in RL"
QUESTION = "Does accumulating real data prevent model collapse?"
ANSWER_TIMEOUT_MS = 90_000
LOAD_MS = 30_000  # the catalogue and map load while the CPU may be busy answering
# For the README's screenshot: the question and the start of its answer, not the chat's end.
SHOW_FROM_THE_TOP = """
window.scrollTo(0, 0);
document.querySelectorAll('#chat *').forEach((e) => {
  if (e.scrollHeight > e.clientHeight + 5) e.scrollTop = 0;
});
"""
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
# True once `count` questions have had the local model writing (its progress line shows).
MODEL_WRITING = (
    "() => document.querySelectorAll('#chat .model-writing').length > 0 && "
    "document.querySelectorAll('#chat .user-row').length >= {count}"
)
LIST_ANSWER = "Which papers study entropy collapse in reinforcement learning?"
# Where an element sits: its box, and the box of the chat's visible area.
BOX = "(e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
CHAT_VIEW = "#chat .bubble-wrap"
# A listing entry in the digest's format: title, abstract on one line, byline, date.
HOSTILE_ABSTRACT = (
    "We revisit neural collapse in classifiers trained with label smoothing. The class means "
    "of the last-layer features still collapse to a simplex, but more slowly. The effect is "
    "measured on three image benchmarks."
)
HOSTILE_PAPER = f"\n\n{XSS_TITLE}\n\n{HOSTILE_ABSTRACT}\n\n  • 2 authors\n·\nMar 3, 2024 5\n"
MARKDOWN_TITLE = "Label Smoothing **Slows** `Neural Collapse` Down"
# Markdown a renderer would turn into an image, a link, two autolinks, bold and code.
MARKDOWN_ABSTRACT = (
    "We revisit neural collapse under label smoothing ![x]({server}/p.png) in deep classifiers. "
    "The class means still collapse to a simplex, see [the code]({server}/link) for **strong** "
    "evidence. Data are at <{server}/auto> and {server}/bare with `inline code` listings."
)
DIRECT_QUESTION = "Does label smoothing slow down neural collapse?"
LIST_QUESTION = "Which papers study neural collapse with label smoothing?"
# Where the page shows digest text.
DIGEST_VIEWS = ":is(#chat, #papers-table, #paper, #paper-map, #map-paper)"


def start(folder: Path, digests: tuple[Path, ...]) -> tuple[str, object]:
    """The app over `digests`, indexed in `folder`, its data in `folder/data`."""
    settings = {"index": {"path": folder / "index", "digests": digests, "progress": False}}
    pipeline = Pipeline(settings)
    pipeline.ensure_index()
    demo = build_app(pipeline, folder / "data")
    port = free_port()
    serve(demo, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/", demo


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def bundled_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, demo = start(tmp_path_factory.mktemp("bundled"), bundled_digests())
    try:
        yield url
    finally:
        demo.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from conftest import TINY_DIGEST

    folder = tmp_path_factory.mktemp("hostile")
    digest = folder / "hostile.txt"
    digest.write_text(TINY_DIGEST + HOSTILE_PAPER, encoding="utf-8")
    url, demo = start(folder, (digest,))
    try:
        yield url
    finally:
        demo.close()  # type: ignore[attr-defined]


class HitCounter(ThreadingHTTPServer):
    """A local HTTP server that answers everything and records each path asked for."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
                counter.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            do_HEAD = do_GET  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass(frozen=True)
class MarkdownApp:
    url: str
    data: Path  # the app's data folder
    cache: Path  # GRADIO_TEMP_DIR while it runs
    server: HitCounter


@pytest.fixture(scope="module")
def markdown_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarkdownApp]:
    """The tiny digest, the HTML-title paper and a Markdown paper naming a hit counter."""
    from conftest import TINY_DIGEST

    folder = tmp_path_factory.mktemp("markdown")
    counter = HitCounter()
    threading.Thread(target=counter.serve_forever, daemon=True).start()
    abstract = MARKDOWN_ABSTRACT.format(server=counter.url)
    paper = f"\n\n{MARKDOWN_TITLE}\n\n{abstract}\n\n  • 2 authors\n·\nMar 5, 2024 9\n"
    digest = folder / "markdown.txt"
    digest.write_text(TINY_DIGEST + HOSTILE_PAPER + paper, encoding="utf-8")
    cache = folder / "gradio-temp"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(cache))
        url, demo = start(folder, (digest,))
        try:
            yield MarkdownApp(url, folder / "data", cache, counter)
        finally:
            demo.close()  # type: ignore[attr-defined]
            counter.shutdown()


def open_app(
    browser: Browser, url: str, viewport: dict[str, int] = DESKTOP, question: str = ""
) -> tuple[Page, list[str]]:
    """A fresh page on the app, recording every request that leaves this machine; with
    `question`, once it has been answered."""
    page = browser.new_page(viewport=viewport)
    outside: list[str] = []
    local = (url.rstrip("/"), "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    page.on("dialog", lambda d: pytest.fail(f"the page opened a dialog: {d.message}"))
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible()
    if question:
        ask(page, question)
    return page, outside


def send(page: Page, question: str) -> Locator:
    """Type `question` and press Enter; the question box."""
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    return box


def ask(page: Page, question: str) -> None:
    send(page, question)
    expect(page.locator("#chat .source-card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def download(page: Page, button: str) -> tuple[Download, str]:
    """Click `button` and wait for the file the page saves: the download and its text."""
    with page.expect_download() as started:
        page.get_by_role("button", name=button).click()
    return started.value, Path(started.value.path()).read_text(encoding="utf-8")


def cached_with(app: MarkdownApp, text: str) -> list[Path]:
    """The files in the app's Gradio cache folder that hold `text`."""
    cached = [path for path in app.cache.rglob("*") if path.is_file()]
    return [path for path in cached if text in path.read_text(errors="replace")]


def test_a_question_gets_a_cited_answer_with_source_cards_and_the_tabs_work(
    browser: Browser, bundled_app: str
) -> None:
    page, outside = open_app(browser, bundled_app, question=QUESTION)

    answer = page.locator("#chat .message").last
    expect(answer).to_contain_text("model collapse")
    cite = answer.locator("a.cite").first
    expect(cite).to_have_text("[1]")
    card = page.locator(f"#chat {cite.get_attribute('href')}")
    expect(card.locator(".source-title")).to_contain_text("Model Collapse")
    expect(card.locator(".source-meta")).to_contain_text("upvote")
    expect(card.locator("mark").first).to_be_visible()
    expect(page.locator("#header .overview")).to_contain_text("largest topics", timeout=LOAD_MS)
    page.evaluate(SHOW_FROM_THE_TOP)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    cite.click()
    expect(card).to_be_in_viewport()
    card.locator("summary").click()
    expect(card.locator(".source-abstract")).to_be_visible()

    page.get_by_role("tab", name="Papers").click()
    table = page.locator("#papers-table")
    expect(table.locator("tbody tr").first).to_be_visible(timeout=LOAD_MS)
    page.get_by_label("Search titles, authors and abstracts").fill("perturbation")
    expect(table).to_contain_text("Perturbation Analysis of Neural Collapse", timeout=LOAD_MS)
    table.get_by_text("Perturbation Analysis of Neural Collapse").first.click()
    expect(page.locator("#paper .paper-abstract")).to_contain_text("neural collapse")

    page.get_by_role("tab", name="Map").click()
    points = page.locator("#paper-map circle.map-point")
    expect(points).to_have_count(44, timeout=LOAD_MS)
    expect(page.locator("#paper-map .map-label").first).to_be_visible()
    points.first.click()
    expect(page.locator("#map-paper .paper-title")).not_to_be_empty()
    assert outside == []


def test_a_filter_read_from_the_question_is_a_chip_that_removing_asks_again_without(
    browser: Browser, bundled_app: str
) -> None:
    page, outside = open_app(browser, bundled_app, question=YEAR_QUESTION)
    chips = page.locator("#filter-chips")
    year_chip = chips.locator(".token", has_text=YEAR_CHIP)
    expect(year_chip).to_be_visible()
    answers = page.locator("#chat .sources")
    expect(answers.first.locator(".source-meta").first).to_contain_text("2025-")
    dates = answers.first.locator(".source-meta").all_inner_texts()
    assert all(text.startswith("2025-") for text in dates)

    year_chip.locator(".token-remove").click()

    expect(answers).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    expect(chips.locator(".token")).to_have_count(0)
    # The re-asked answer's own cards (the last chat message can still be rendering).
    again = answers.nth(1)
    expect(again.locator(".source-meta", has_text="2024-").first).to_be_visible()
    assert page.locator("#chat").inner_text().count(YEAR_QUESTION) == 2  # asked, then again
    assert outside == []


LOCAL_MODEL = pytest.mark.skipif(
    "llamacpp" not in available_modes(get_settings()), reason="no local GGUF model installed"
)


def ask_the_local_model(browser: Browser, url: str, question: str) -> Page:
    """A page that has sent `question` to the local model."""
    page, _ = open_app(browser, url)
    page.get_by_label("Answer mode").click()
    option = page.get_by_role("option", name="llamacpp")
    expect(option).to_contain_text(APP_MODE_DEMO)  # named for what it is
    option.click()
    send(page, question)
    return page


@LOCAL_MODEL
def test_stop_while_the_local_model_writes_ends_cleanly_and_frees_the_model(
    browser: Browser, bundled_app: str
) -> None:
    # The local model writes for tens of seconds on two cores, so the click lands mid-answer.
    page = ask_the_local_model(browser, bundled_app, QUESTION)
    page.wait_for_function(MODEL_WRITING.format(count=1), timeout=ANSWER_TIMEOUT_MS)

    page.locator("#stop").click()

    chat = page.locator("#chat")
    expect(chat.locator(".stopped")).to_have_text(APP_MODEL_STOPPED, timeout=10_000)
    page.wait_for_timeout(4_000)  # the model writes several words a second when not stopped
    assert "▍" not in chat.inner_text() and chat.locator(".model-writing").count() == 0
    expect(chat.locator(".source-card").first).to_be_visible()  # the extractive answer's
    # The stopped generation let go of the model: the next question reaches it.
    send(page, "What is neural collapse?")
    page.wait_for_function(MODEL_WRITING.format(count=2), timeout=ANSWER_TIMEOUT_MS)
    page.locator("#stop").click()
    expect(chat.locator(".stopped")).to_have_count(2, timeout=10_000)


@LOCAL_MODEL
@pytest.mark.slow
def test_the_local_models_answer_never_takes_away_text_the_reader_has_seen(
    browser: Browser, bundled_app: str
) -> None:
    page = ask_the_local_model(browser, bundled_app, QUESTION)
    seen: set[str] = set()
    cards_while_writing = False
    chat = page.locator("#chat")
    for _ in range(ANSWER_TIMEOUT_MS * 2 // 500):
        texts = chat.locator(".answer-text").all_inner_texts()
        seen.update(text for text in texts if "▍" not in text)
        writing = chat.locator(".model-writing").count() > 0
        cards_while_writing |= writing and chat.locator(".source-card").count() > 0
        if texts and not writing and "▍" not in chat.inner_text():
            break
        page.wait_for_timeout(500)

    assert cards_while_writing  # the extractive answer and its cards came first
    final = chat.inner_text()
    assert seen and all(text in final for text in seen)
    assert chat.locator(".model-writing").count() == 0


def test_a_question_outside_the_digest_says_so(browser: Browser, bundled_app: str) -> None:
    page, _ = open_app(browser, bundled_app)
    send(page, "What is the best recipe for sourdough bread?")

    expect(page.locator("#chat .not-covered")).to_contain_text(
        "does not cover", timeout=ANSWER_TIMEOUT_MS
    )


def test_a_title_with_an_html_tag_shows_as_text(browser: Browser, hostile_app: str) -> None:
    page, _ = open_app(browser, hostile_app, question=DIRECT_QUESTION)

    expect(page.locator("#chat .source-title").first).to_have_text(XSS_TITLE)
    page.get_by_role("tab", name="Papers").click()
    expect(page.locator("#papers-table")).to_contain_text(XSS_TITLE, timeout=LOAD_MS)
    page.get_by_role("tab", name="Map").click()
    expect(page.locator("#paper-map circle.map-point")).to_have_count(4, timeout=LOAD_MS)
    assert page.locator("img[src=x]").count() == 0


def test_markdown_in_digest_text_shows_as_text_and_the_page_fetches_nothing_it_names(
    browser: Browser, markdown_app: MarkdownApp
) -> None:
    server = markdown_app.server.url
    # Each question in a session of its own: the direct answer quotes the abstract's image
    # sentence, the list answer bolds both titles (a follow-up would be answered differently).
    direct, direct_outside = open_app(browser, markdown_app.url, question=DIRECT_QUESTION)
    page, outside = open_app(browser, markdown_app.url, question=LIST_QUESTION)
    for summary in [*direct.locator("#chat summary").all(), *page.locator("#chat summary").all()]:
        summary.click()
    page.get_by_role("tab", name="Papers").click()
    page.get_by_label("Search titles, authors and abstracts").fill("smoothing")
    table = page.locator("#papers-table")
    expect(table).to_contain_text(MARKDOWN_TITLE, timeout=LOAD_MS)
    table.get_by_text(MARKDOWN_TITLE).first.click()
    expect(page.locator("#paper .paper-title")).to_have_text(MARKDOWN_TITLE)
    page.get_by_role("tab", name="Map").click()
    point = page.locator(f"#paper-map circle[data-paper='{paper_id_for(MARKDOWN_TITLE)}']")
    expect(point).to_have_count(1, timeout=LOAD_MS)
    point.dispatch_event("click")
    expect(page.locator("#map-paper .paper-title")).to_have_text(MARKDOWN_TITLE)
    page.wait_for_timeout(1_000)  # any image the pages would load has been asked for

    assert markdown_app.server.hits == [] and direct_outside == [] and outside == []
    answer = direct.locator("#chat .answer-text")
    expect(answer).to_contain_text(f"label smoothing ![x]({server}/p.png) in deep classifiers")
    card = direct.locator("#chat .source-card").filter(has_text=MARKDOWN_TITLE)
    expect(card.locator(".source-title")).to_have_text(MARKDOWN_TITLE)
    abstract = card.locator(".source-abstract")
    expect(abstract).to_contain_text(f"see [the code]({server}/link) for **strong** evidence")
    expect(abstract).to_contain_text(f"<{server}/auto> and {server}/bare with `inline code`")
    expect(page.locator("#paper .paper-abstract")).to_contain_text(f"({server}/p.png)")
    for shown in (direct, page):
        assert shown.locator(f"{DIGEST_VIEWS} :is(img, code, em)").count() == 0
        # Bold is the composer's own titles only: none comes from the digest's **…**.
        bold = {text.strip() for text in shown.locator(f"{DIGEST_VIEWS} strong").all_inner_texts()}
        assert not {"Slows", "strong"} & bold
    assert MARKDOWN_TITLE in bold and XSS_TITLE in bold
    # Links to the server: only the paper's own list of its URLs (Papers and Map tabs), each
    # labelled with its address and fetched only when clicked.
    assert direct.locator(f"a[href^='{server}']").count() == 0
    links = page.locator(f"a[href^='{server}']")
    listed = page.locator(f":is(#paper, #map-paper) .paper-code a[href^='{server}']")
    assert links.count() == listed.count() == 8
    assert all(text.startswith(server) for text in links.all_inner_texts())


def test_an_export_downloads_in_its_own_session_only_and_stays_in_the_data_folder(
    browser: Browser, markdown_app: MarkdownApp
) -> None:
    page, outside = open_app(browser, markdown_app.url, question=DIRECT_QUESTION)

    saved_file, text = download(page, "Export conversation as Markdown")

    assert text.startswith("# Digest QA conversation") and DIRECT_QUESTION in text
    saved = [
        path
        for path in (markdown_app.data / "exports").glob("*.md")
        if path.read_text(encoding="utf-8") == text
    ]
    assert [path.name for path in saved] == [saved_file.suggested_filename]
    assert cached_with(markdown_app, DIRECT_QUESTION) == []
    # Another client, without this page's session, has no address to fetch it from.
    assert not saved_file.url.startswith("http")
    for name in (saved[0], saved[0].name, f"exports/{saved[0].name}"):
        anonymous = httpx.get(f"{markdown_app.url}gradio_api/file={name}")
        assert anonymous.status_code == 403 and DIRECT_QUESTION not in anonymous.text
    assert outside == []


# --- what got in the way, one test per problem ------------------------------------------------


def box_of(page: Page, selector: str) -> list[float]:
    return page.locator(selector).last.evaluate(BOX)


def test_the_landing_page_gives_the_digest_in_a_line_and_its_examples_ask_on_click(
    browser: Browser, bundled_app: str
) -> None:
    page, outside = open_app(browser, bundled_app)
    overview = page.locator("#header .overview")
    expect(overview).to_contain_text("44 papers, published 2013–2025")
    expect(overview).to_contain_text("largest topics:", timeout=LOAD_MS)  # the map's clusters
    expect(overview).to_contain_text("Papers")
    expect(overview).to_contain_text("Map")
    # The examples are the served digest's own, every one in the first screen.
    examples = digest_examples(load_digests(bundled_digests()))
    assert "Which is the most upvoted paper?" in examples
    for example in examples:
        expect(page.locator("#chat").get_by_text(example, exact=True)).to_be_in_viewport(ratio=1)

    page.locator("#chat").get_by_text(examples[0], exact=True).click()

    expect(page.locator("#chat .source-card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#chat .user-row")).to_have_text(examples[0])
    assert outside == []


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1440x900", "390x844"])
def test_no_label_covers_an_answer_and_the_question_stays_in_view_above_it(
    browser: Browser, bundled_app: str, viewport: dict[str, int]
) -> None:
    page, _ = open_app(browser, bundled_app, viewport, question=LIST_ANSWER)
    expect(page.locator("#chat .source-card").last).to_be_attached()
    page.wait_for_timeout(500)  # the chat has brought the question to its top

    assert page.locator("#chat [data-testid='block-label']").count() == 0
    view, question = box_of(page, CHAT_VIEW), box_of(page, "#chat .user-row [data-testid='user']")
    answer = box_of(page, "#chat .bot-row .answer-text")
    assert view[1] <= question[1] and question[3] <= answer[1] + 1  # question, then answer
    assert answer[1] < view[3]  # the answer's first words are in sight
    # Scrolled down through a long answer, the question is still there, at the top.
    page.locator(CHAT_VIEW).evaluate("(e) => e.scrollTo({top: e.scrollHeight})")
    page.wait_for_timeout(300)
    scrolled = box_of(page, "#chat .user-row [data-testid='user']")
    assert view[1] <= scrolled[1] and scrolled[3] <= view[3]
    expect(page.locator("#chat .user-row [data-testid='user']")).to_be_in_viewport(ratio=1)


def test_a_follow_up_shows_what_was_searched_and_new_topic_asks_without_the_history(
    browser: Browser, bundled_app: str
) -> None:
    page, _ = open_app(browser, bundled_app, question="What is neural collapse?")
    expect(page.locator("#chat .answer-query")).to_have_count(0)
    box = send(page, "How do they measure it?")
    searched = page.locator("#chat .answer-query")
    expect(searched).to_have_count(1, timeout=ANSWER_TIMEOUT_MS)
    expect(searched).to_contain_text(f"{APP_SEARCHED} How do they measure it? — What is neural")
    expect(page.get_by_role("button", name="Ask this again as a new topic")).to_be_visible()

    box.fill("How do they measure it?")
    page.locator("#new-topic").click()

    expect(page.locator("#chat .user-row .topic-mark")).to_have_count(1)
    expect(page.locator("#chat .bot-row")).to_have_count(3, timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#chat .bot-row").last).not_to_contain_text("▍", timeout=ANSWER_TIMEOUT_MS)
    expect(searched).to_have_count(1)  # the new topic's answer searched the question alone


def test_source_cards_grade_relevance_mark_an_inferred_year_once_and_the_matching_sentence(
    browser: Browser, bundled_app: str
) -> None:
    page, _ = open_app(browser, bundled_app, question=YEAR_QUESTION)
    cards = page.locator("#chat .source-card")
    expect(cards.first).to_be_visible()

    metas = cards.locator(".source-meta").all_inner_texts()
    assert not any("relevance 1.00" in meta for meta in metas)
    grades = {meta.split("match ")[-1] for meta in metas if " match " in meta}
    assert len(grades) > 1  # the relevance varies from paper to paper
    for card in cards.all():
        assert card.locator(".source-meta .inferred").count() <= 1
        marked = " ".join(card.locator(".source-used mark").all_inner_texts()).lower()
        assert "entropy" in marked or "reinforcement" in marked


def test_filters_from_the_panel_and_the_question_show_in_one_place(
    browser: Browser, bundled_app: str
) -> None:
    page, _ = open_app(browser, bundled_app, question=YEAR_QUESTION)
    chips = page.locator("#filter-chips .token")
    expect(chips).to_have_text([YEAR_CHIP])

    page.get_by_role("combobox", name="Year").click()
    page.get_by_role("option", name="2024", exact=True).click()

    expect(chips).to_have_text(["year: 2024", YEAR_CHIP])
    assert page.locator(".token").count() == 2  # no second list of filters anywhere


def test_a_rating_opens_the_comment_box_in_view_and_warnings_offer_no_thumbs(
    browser: Browser, bundled_app: str
) -> None:
    page, _ = open_app(browser, bundled_app, question=QUESTION)
    page.locator("#chat").get_by_role("button", name="Dislike").last.click()

    feedback = page.locator("#feedback")
    expect(feedback).to_be_visible()
    expect(feedback).to_contain_text("Thanks, your thumbs down is saved.")
    expect(page.locator("#comment textarea")).to_be_in_viewport()
    page.locator("#comment textarea").fill("The second card is off topic.")
    page.get_by_role("button", name="Send comment").click()
    expect(feedback).to_be_hidden()
    expect(page.get_by_text("Comment saved. Thank you.").first).to_be_visible()

    bots = page.locator("#chat .bot-row").count()
    page.locator("#question textarea").fill("   ")
    page.locator("#ask").click()
    expect(page.get_by_text("Please type a question.").first).to_be_visible()
    assert page.locator("#chat .bot-row").count() == bots
    assert page.locator("#chat").get_by_role("button", name="Like", exact=True).count() == bots


@pytest.mark.parametrize("viewport", [DESKTOP, LAPTOP], ids=["1440x900", "1280x800"])
def test_the_papers_table_fits_sorts_on_a_header_click_and_shows_the_abstract_beside_it(
    browser: Browser, bundled_app: str, viewport: dict[str, int]
) -> None:
    page, _ = open_app(browser, bundled_app, viewport)
    page.get_by_role("tab", name="Papers").click()
    table = page.locator("#papers-table")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(44, timeout=LOAD_MS)

    scroll = table.locator(".papers-scroll")
    assert scroll.evaluate("(e) => e.scrollWidth <= e.clientWidth")  # no sideways scrolling
    heights = {
        round(h)
        for h in table.locator("th").evaluate_all(
            "(cells) => cells.map((c) => c.getBoundingClientRect().height)"
        )
    }
    assert len(heights) == 1  # no header wraps ("Up/vo/te/s")
    for header in table.locator("th").all():
        assert header.evaluate("(e) => e.scrollWidth <= e.clientWidth")

    table.get_by_role("button", name="Upvotes").click()
    expect(table.locator("th[aria-sort='descending']")).to_have_text("Upvotes▼")
    votes = [int(v) for v in table.locator("td.col-upvotes").all_inner_texts()]
    assert votes == sorted(votes, reverse=True) and votes[0] > votes[-1]
    table.get_by_role("button", name="Upvotes").click()
    expect(table.locator("td.col-upvotes").first).to_have_text("0")

    rows.nth(30).click()
    abstract = page.locator("#paper .paper-abstract")
    expect(abstract).to_be_visible()
    expect(abstract).to_be_in_viewport()
    assert box_of(page, "#paper")[0] >= box_of(page, "#papers-table")[2]  # beside the table


def test_on_a_phone_the_selected_paper_shows_above_the_table(
    browser: Browser, bundled_app: str
) -> None:
    page, _ = open_app(browser, bundled_app, PHONE)
    page.get_by_role("tab", name="Papers").click()
    rows = page.locator("#papers-table tbody tr")
    expect(rows).to_have_count(44, timeout=LOAD_MS)
    rows.nth(5).click()

    title = page.locator("#paper .paper-title")
    expect(title).to_be_in_viewport()
    assert box_of(page, "#paper")[3] <= box_of(page, "#papers-table")[1]


def test_a_stopped_answer_never_shows_the_cursor_and_ends_with_stopped(
    browser: Browser, bundled_app: str
) -> None:
    # An extractive answer is over in about a second: Stop is clicked as soon as the first
    # words show, and if the answer wins the race it must at least be whole.
    page, _ = open_app(browser, bundled_app)
    send(page, LIST_ANSWER)
    # Wait for the first words or, when the answer was quicker than the poll, its cards.
    page.wait_for_function(
        "() => { const chat = document.querySelector('#chat');"
        " return chat.innerText.includes('▍') || chat.querySelector('.source-card'); }"
    )
    page.locator("#stop").click()
    page.wait_for_timeout(3_000)

    chat = page.locator("#chat")
    assert "▍" not in chat.inner_text()
    stopped = chat.locator(".stopped").count()
    assert stopped == 1 or chat.locator(".source-card").count() > 0
    if stopped:
        expect(chat.locator(".stopped")).to_have_text(APP_STOPPED)


# --- Compare -------------------------------------------------------------------------------------


def compare(page: Page, question: str) -> Locator:
    """Compare the papers on `question`; the comparison's rows, once shown."""
    page.locator("#question textarea").fill(question)
    page.locator("#compare").click()
    rows = page.locator("#comparison table.comparison-table tbody tr")
    expect(rows.first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    return rows


# For the README's screenshot of a comparison: the table and its export buttons with a margin,
# without the source cards below them (`undo` puts the page back).
FRAME_THE_TABLE = """
(panel, undo) => {
  panel.style.padding = undo ? '' : '12px';
  document.querySelector('#comparison-cards').style.display = undo ? '' : 'none';
}
"""


def save_comparison_screenshot(page: Page) -> None:
    panel = page.locator("#comparison-panel")
    panel.evaluate(FRAME_THE_TABLE, False)
    panel.screenshot(path=str(COMPARE_SCREENSHOT))
    panel.evaluate(FRAME_THE_TABLE, True)


def test_compare_shows_the_theme_s_papers_side_by_side_linked_to_cards_with_a_csv_export(
    browser: Browser, bundled_app: str
) -> None:
    page, outside = open_app(browser, bundled_app)
    page.locator(".sidebar.open .toggle-button").click()  # the chat as wide as it gets
    rows = compare(page, COMPARE_QUESTION)

    expect(page.locator("#comparison-panel")).to_be_in_viewport()  # brought into view
    digest = {paper.paper_id: paper.title for paper in load_digests(bundled_digests())}
    cited = [row.get_attribute("data-paper") for row in rows.all()]
    titles = rows.locator(".compared-title").all_inner_texts()
    assert len(cited) >= 2 and titles == [digest[paper_id] for paper_id in cited]
    assert all("ntropy" in title for title in titles[:2])
    table = page.locator("#comparison table.comparison-table")
    assert table.evaluate("(t) => t.scrollWidth <= t.parentElement.clientWidth")  # it fits
    assert page.locator("#question textarea").input_value() == COMPARE_QUESTION  # still there
    save_comparison_screenshot(page)
    cite = rows.nth(1).locator("a.cite")
    cite.click()
    card = page.locator(f"#comparison-cards {cite.get_attribute('href')}")
    expect(card).to_be_in_viewport()
    expect(card.locator(".source-title")).to_have_text(titles[1])
    expect(card.locator(".source-used mark").first).to_be_visible()

    saved, text = download(page, APP_COMPARE_CSV)

    assert saved.suggested_filename.endswith(".csv")
    table_rows = list(csv.reader(io.StringIO(text)))
    assert table_rows[0] == ["number", "title", *COLUMNS]
    assert [row[:2] for row in table_rows[1:]] == [[str(n), t] for n, t in enumerate(titles, 1)]
    assert outside == []


def test_compare_sits_in_the_question_row_and_its_table_fits_the_chat_s_width(
    browser: Browser, bundled_app: str
) -> None:
    for size in (PHONE, LAPTOP):
        page, _ = open_app(browser, bundled_app, size)
        for button in ("#ask", "#compare", "#new-topic", "#stop"):  # all in the first screen
            expect(page.locator(button)).to_be_in_viewport(ratio=1)

        rows = compare(page, COMPARE_QUESTION)

        for selector in ("#comparison .comparison-scroll", "body"):  # no sideways scrolling
            assert page.locator(selector).evaluate("(e) => e.scrollWidth <= e.clientWidth")
        first, second = rows.nth(0).bounding_box(), rows.nth(1).bounding_box()
        assert first and second and first["y"] + first["height"] <= second["y"] + 1, size
        page.close()


def test_a_comparison_shows_digest_markup_as_text_and_exports_only_to_the_data_folder(
    browser: Browser, markdown_app: MarkdownApp
) -> None:
    page, outside = open_app(browser, markdown_app.url)
    rows = compare(page, LIST_QUESTION)

    titles = rows.locator(".compared-title").all_inner_texts()
    assert MARKDOWN_TITLE in titles and XSS_TITLE in titles
    panel = page.locator("#comparison-panel")
    assert panel.locator(":is(img, code, em, a:not(.cite))").count() == 0
    saved, text = download(page, APP_COMPARE_MARKDOWN)

    assert text.startswith(f"# {APP_COMPARISON}: {LIST_QUESTION}") and "| paper |" in text
    exported = markdown_app.data / "exports" / saved.suggested_filename
    assert exported.read_text(encoding="utf-8") == text
    assert cached_with(markdown_app, LIST_QUESTION) == []
    page.wait_for_timeout(500)  # any image the table would load has been asked for
    assert markdown_app.server.hits == [] and outside == []
