"""The app as a person uses it: Chromium, driven by Playwright, against the served app.

One app over the bundled digest (a real question, its citations and cards, the Papers and Map
tabs, and the README's screenshot), and one over the tiny digest plus a paper whose title is
an HTML tag, which must show as text everywhere. Every request the page makes is recorded:
the app must load nothing from outside this machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from test_app import XSS_TITLE, YEAR_QUESTION, free_port

from app import build_app, serve
from rag import Pipeline
from rag.backends import available_modes
from rag.config import PROJECT_ROOT, bundled_digests, get_settings

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshot.png"
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
# True once `count` chat turns show the streaming cursor (a turn loses it when it finishes).
STREAMING_TURNS = "() => document.querySelector('#chat').innerText.split('▍').length > {count}"
# A listing entry in the digest's format: title, abstract on one line, byline, date.
HOSTILE_ABSTRACT = (
    "We revisit neural collapse in classifiers trained with label smoothing. The class means "
    "of the last-layer features still collapse to a simplex, but more slowly. The effect is "
    "measured on three image benchmarks."
)
HOSTILE_PAPER = f"\n\n{XSS_TITLE}\n\n{HOSTILE_ABSTRACT}\n\n  • 2 authors\n·\nMar 3, 2024 5\n"


def start(folder: Path, digests: tuple[Path, ...]) -> tuple[str, object]:
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


def open_app(browser: Browser, url: str) -> tuple[Page, list[str]]:
    """A fresh page on the app, recording every request that leaves this machine."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    outside: list[str] = []
    local = (url.rstrip("/"), "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    page.on("dialog", lambda d: pytest.fail(f"the page opened a dialog: {d.message}"))
    page.goto(url)
    expect(page.locator("#question textarea")).to_be_visible()
    return page, outside


def ask(page: Page, question: str) -> None:
    box = page.locator("#question textarea")
    box.fill(question)
    box.press("Enter")
    expect(page.locator("#chat .source-card").first).to_be_visible(timeout=ANSWER_TIMEOUT_MS)


def test_a_question_gets_a_cited_answer_with_source_cards_and_the_tabs_work(
    browser: Browser, bundled_app: str
) -> None:
    page, outside = open_app(browser, bundled_app)
    ask(page, QUESTION)

    answer = page.locator("#chat .message").last
    expect(answer).to_contain_text("model collapse")
    cite = answer.locator("a.cite").first
    expect(cite).to_have_text("[1]")
    card = page.locator(f"#chat {cite.get_attribute('href')}")
    expect(card.locator(".source-title")).to_contain_text("Model Collapse")
    expect(card.locator(".source-meta")).to_contain_text("upvote")
    expect(card.locator("mark").first).to_be_visible()
    page.evaluate(SHOW_FROM_THE_TOP)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    cite.click()
    expect(card).to_be_in_viewport()
    card.locator("summary").click()
    expect(card.locator(".source-abstract")).to_be_visible()

    page.get_by_role("tab", name="Papers").click()
    table = page.locator("#papers-table")
    expect(table.get_by_role("gridcell").first).to_be_visible(timeout=LOAD_MS)
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
    page, outside = open_app(browser, bundled_app)
    ask(page, YEAR_QUESTION)
    chips = page.locator("#detected-chips")
    year_chip = chips.locator(".token", has_text="year: 2025")
    expect(year_chip).to_be_visible()
    answers = page.locator("#chat .sources")
    expect(answers.first.locator(".source-meta").first).to_contain_text("2025-")
    dates = answers.first.locator(".source-meta").all_inner_texts()
    assert all(text.startswith("2025-") for text in dates)

    year_chip.locator(".token-remove").click()

    expect(answers).to_have_count(2, timeout=ANSWER_TIMEOUT_MS)
    expect(chips).to_be_hidden()
    # The re-asked answer's own cards (the last chat message can still be rendering).
    again = answers.nth(1)
    expect(again.locator(".source-meta", has_text="2024-").first).to_be_visible()
    assert page.locator("#chat").inner_text().count(YEAR_QUESTION) == 2  # asked, then again
    assert outside == []


@pytest.mark.skipif(
    "llamacpp" not in available_modes(get_settings()), reason="no local GGUF model installed"
)
def test_stop_ends_a_generated_answer_while_it_streams_and_frees_the_model(
    browser: Browser, bundled_app: str
) -> None:
    # The local model streams for seconds (about 14 s for this question on two cores), so the
    # click lands mid-answer; an extractive answer is over before a click could reach it.
    page, _ = open_app(browser, bundled_app)
    page.get_by_label("Answer mode").click()
    page.get_by_role("option", name="llamacpp").click()
    box = page.locator("#question textarea")
    box.fill(QUESTION)
    box.press("Enter")
    page.wait_for_function(STREAMING_TURNS.format(count=1), timeout=ANSWER_TIMEOUT_MS)

    page.locator("#stop").click()
    page.wait_for_timeout(2_000)  # the cancel reaches the server
    stopped = page.locator("#chat").inner_text()
    page.wait_for_timeout(4_000)  # the model writes several words a second when not stopped

    assert page.locator("#chat").inner_text() == stopped
    expect(page.locator("#chat .source-card")).to_have_count(0)
    # The stopped generation let go of the model: the next question streams in turn.
    box.fill("What is neural collapse?")
    box.press("Enter")
    page.wait_for_function(STREAMING_TURNS.format(count=2), timeout=ANSWER_TIMEOUT_MS)
    page.locator("#stop").click()


def test_a_question_outside_the_digest_says_so(browser: Browser, bundled_app: str) -> None:
    page, _ = open_app(browser, bundled_app)
    box = page.locator("#question textarea")
    box.fill("What is the best recipe for sourdough bread?")
    box.press("Enter")

    expect(page.locator("#chat .not-covered")).to_contain_text(
        "does not cover", timeout=ANSWER_TIMEOUT_MS
    )


def test_a_title_with_an_html_tag_shows_as_text(browser: Browser, hostile_app: str) -> None:
    page, _ = open_app(browser, hostile_app)
    ask(page, "Does label smoothing slow down neural collapse?")

    expect(page.locator("#chat .source-title").first).to_have_text(XSS_TITLE)
    page.get_by_role("tab", name="Papers").click()
    expect(page.locator("#papers-table")).to_contain_text(XSS_TITLE, timeout=LOAD_MS)
    page.get_by_role("tab", name="Map").click()
    expect(page.locator("#paper-map circle.map-point")).to_have_count(4, timeout=LOAD_MS)
    assert page.locator("img[src=x]").count() == 0
