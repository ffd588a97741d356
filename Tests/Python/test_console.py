"""The web console in real headless Chromium (Debian's chromium + chromedriver, driven by selenium) against the real
`raconteur serve`: chat streams under the sliders' trade-off, a Compare vote stores the right pair, a tiny realign job
started from the page succeeds and its adapters appear, the API-key prompt, server errors shown in the page, and
every page at 1280×800 and 390×844 without console errors or sideways scrolling.
"""
import json
import shutil
import time

import pytest

from raconteur_server import MODEL_FILE, Server

selenium = pytest.importorskip("selenium", reason="needs selenium (scripts/setup.sh --test installs it)")
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.skipif(not MODEL_FILE.exists(), reason="needs models/SmolLM2-135M-Instruct.Q4_1.gguf"),
    pytest.mark.skipif(CHROMEDRIVER is None or CHROMIUM is None, reason="needs chromium and chromedriver (scripts/setup.sh --test installs them)"),
]

PAGES = ["chat", "compare", "feedback", "realign", "adapters", "status"]
SIZES = [(1280, 800), (390, 844)]
WAIT = 90   # seconds: the CI host is loaded and the server is a debug build


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM   # both named, so selenium never looks for (or downloads) a browser
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,800", "--disable-extensions", "--no-first-run"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=WAIT, message=""):
    # Pages redraw parts of themselves while they poll: an element found a moment ago may be gone; look again.
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: condition(d), message)


def visible(driver, css):
    elements = [e for e in driver.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
    return elements[0] if elements else None


def open_page(driver, server, page):
    driver.get(f"{server.root}/#/{page}")
    driver.refresh()   # a fresh document per page, so one page's state never leaks into the next
    wait(driver, lambda d: visible(d, f"#page-{page} h1"), message=f"page {page} did not render")


def severe_logs(driver):
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def set_slider(driver, element, value):
    driver.execute_script("arguments[0].value = arguments[1];"
                          "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", element, str(value))


def fill(element, text):
    element.clear()
    element.send_keys(text)


def error_text(driver):
    box = wait(driver, lambda d: visible(d, ".error"), message="no error shown")
    return box.text


def test_every_page_renders_at_both_sizes_without_console_errors(server, browser):
    severe_logs(browser)
    for width, height in SIZES:
        browser.set_window_size(width, height)
        for page in PAGES:
            open_page(browser, server, page)
            time.sleep(0.5)   # the page's first API calls
            assert not visible(browser, ".error"), f"{page} at {width}: {visible(browser, '.error').text}"
            scroll_width, inner_width = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            assert scroll_width <= inner_width, f"{page} scrolls sideways at {width}×{height}: {scroll_width} > {inner_width}"
            assert severe_logs(browser) == [], f"{page} at {width}×{height}"
    browser.set_window_size(*SIZES[0])
    status = browser.find_element(By.CSS_SELECTOR, '#status-list dd[data-field="model"]').text
    assert status == "SmolLM2-135M-Instruct.Q4_1"


def test_chat_streams_under_the_sliders_tradeoff_and_stops(server, browser):
    open_page(browser, server, "chat")
    concise, detailed = browser.find_elements(By.CSS_SELECTOR, ".sliders input[type=range]")
    set_slider(browser, concise, 80)
    set_slider(browser, detailed, 20)
    fill(browser.find_element(By.ID, "chat-max-tokens"), "200")
    fill(browser.find_element(By.ID, "chat-prompt"), "Write a long story about a dragon who learns to bake bread.")
    browser.find_element(By.ID, "chat-send").click()
    answer = wait(browser, lambda d: visible(d, ".message.assistant"))
    # Text arrives while the answer is still streaming (the stop button is live), then Stop ends it.
    wait(browser, lambda d: answer.find_element(By.CSS_SELECTOR, ".text").text.strip()
         or not d.find_element(By.ID, "chat-stop").is_enabled(), message="no text streamed")
    partial = answer.find_element(By.CSS_SELECTOR, ".text").text
    stop = browser.find_element(By.ID, "chat-stop")
    if stop.is_enabled():
        stop.click()
        wait(browser, lambda d: "stopped" in answer.find_element(By.CSS_SELECTOR, ".served").text, message="stop had no effect")
    wait(browser, lambda d: d.find_element(By.ID, "chat-send").is_enabled())
    assert partial.strip()
    served = answer.find_element(By.CSS_SELECTOR, ".served")
    # The response reports the trade-off the request carried (normalised by the server).
    assert json.loads(served.get_attribute("data-tradeoff")) == pytest.approx({"concise": 0.8, "detailed": 0.2})
    assert "concise 80%" in served.text and "base model" in served.text
    assert answer.get_attribute("data-completion-id")
    assert severe_logs(browser) == []


def test_a_compare_vote_stores_a_pair_with_the_labels_and_completion_ids(server, browser):
    open_page(browser, server, "compare")
    before = wait(browser, lambda d: d.find_element(By.ID, "compare-counter").get_attribute("data-pairs"))
    fill(browser.find_element(By.ID, "compare-max-tokens"), "16")
    fill(browser.find_element(By.ID, "compare-prompt"), "Write one sentence about the sea.")
    for attempt in range(3):
        browser.find_element(By.ID, "compare-generate").click()
        ids = wait(browser, lambda d: [d.find_element(By.ID, f"compare-answer-{side}").get_attribute("data-completion-id")
                                       for side in "AB"]
                   if d.find_element(By.ID, "compare-generate").is_enabled() and all(
                       d.find_element(By.ID, f"compare-answer-{side}").get_attribute("data-completion-id") for side in "AB")
                   else None, message="the two answers did not finish")
        assert ids[0] != ids[1]
        # Keyboard: the first objective votes A, the second B, Enter sends.
        browser.execute_script("document.activeElement && document.activeElement.blur()")
        body = browser.find_element(By.TAG_NAME, "body")
        body.send_keys("a")
        body.send_keys("b")
        body.send_keys(Keys.ENTER)
        outcome = wait(browser, lambda d: d.find_element(By.ID, "compare-sent").get_attribute("data-feedback-id")
                       or (visible(d, ".error") and visible(d, ".error").text), message="the vote had no outcome")
        if outcome.startswith("fb-"):
            break
        # Two samples can be the same text, which the server refuses as a preference: generate again (the
        # refusal's 400 is in the browser log, expected).
        assert "same text" in outcome, outcome
        severe_logs(browser)
    stored = outcome
    status, page = server.request("GET", "/v1/feedback?limit=100")
    assert status == 200
    row = next(pair for pair in page["data"] if pair["id"] == stored)
    assert row["chosen_id"] == ids[0] and row["rejected_id"] == ids[1]
    assert row["labels"] == {"concise": 1, "detailed": -1}
    wait(browser, lambda d: d.find_element(By.ID, "compare-counter").get_attribute("data-pairs") == str(int(before) + 1),
         message="the pair counter did not move")
    assert severe_logs(browser) == []


def seed_pairs(server, count):
    for k in range(count):
        status, _ = server.request("POST", "/v1/feedback", {
            "prompt": f"Name colour number {k}.", "chosen": "Blue.", "rejected": f"The colour number {k} is a lovely blue.",
            "labels": {"concise": 1, "detailed": -1}})
        assert status == 201


def test_a_tiny_realign_job_from_the_page_succeeds_and_its_adapters_are_served(server, browser):
    seed_pairs(server, 4)
    open_page(browser, server, "realign")
    wait(browser, lambda d: d.find_element(By.ID, "realign-steps").get_attribute("value"), message="no defaults")
    # Tiny: two grid points, two steps each, nothing held out (so each new adapter is promoted).
    for field, value in [("realign-steps", "2"), ("realign-min-pairs", "2"), ("realign-rank", "4"),
                         ("realign-batch-size", "2"), ("realign-held-out", "0"), ("realign-weights", "1,0; 0,1")]:
        fill(browser.find_element(By.ID, field), value)
    browser.find_element(By.ID, "realign-start").click()
    state = wait(browser, lambda d: (lambda s: s if s in ("succeeded", "failed", "cancelled") else None)(
        d.find_element(By.ID, "realign-state").get_attribute("data-state") if d.find_elements(By.ID, "realign-state") else None),
        timeout=180, message="the job did not finish")
    assert state == "succeeded", browser.find_element(By.ID, "realign-job").text
    points = browser.find_elements(By.CSS_SELECTOR, "#realign-charts svg.chart circle.point")
    assert len(points) >= 2
    assert "Promoted: concise1.00-detailed0.00 v1" in browser.find_element(By.ID, "realign-job").text
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#realign-history details.job"))

    open_page(browser, server, "adapters")
    row = wait(browser, lambda d: visible(d, '#adapters-table tr[data-id="concise0.00-detailed1.00"]'),
               message="the new adapter is not listed")
    assert row.get_attribute("data-version") == "1"
    assert visible(browser, '#adapters-table tr[data-id="concise1.00-detailed0.00"]')
    assert len(browser.find_elements(By.CSS_SELECTOR, "#adapters-grid circle.point")) == 2
    assert severe_logs(browser) == []


def test_cancel_a_job_and_unload_and_load_an_adapter_from_the_pages(server, browser):
    open_page(browser, server, "realign")
    wait(browser, lambda d: d.find_element(By.ID, "realign-steps").get_attribute("value"), message="no defaults")
    for field, value in [("realign-steps", "500"), ("realign-min-pairs", "2"), ("realign-rank", "4"),
                         ("realign-batch-size", "2"), ("realign-held-out", "0"), ("realign-weights", "1,0")]:
        fill(browser.find_element(By.ID, field), value)
    browser.find_element(By.ID, "realign-start").click()
    wait(browser, lambda d: d.execute_script(
        "return document.querySelector('#realign-state')?.dataset.state === 'running' && !!document.querySelector('#realign-cancel')"),
        message="the job did not start")
    browser.execute_script("document.querySelector('#realign-cancel').click()")   # the panel redraws every second
    wait(browser, lambda d: d.execute_script("return document.querySelector('#realign-state')?.dataset.state") == "cancelled",
         timeout=120, message="the job was not cancelled")

    open_page(browser, server, "adapters")
    name = "concise1.00-detailed0.00"
    row = wait(browser, lambda d: visible(d, f'#adapters-table tr[data-id="{name}"]'))
    row.find_element(By.CSS_SELECTOR, "button").click()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, f'#adapters-table tr[data-id="{name}"]'),
         message="the adapter was not unloaded")
    assert name not in [a["id"] for a in server.request("GET", "/v1/adapters")[1]["data"]]
    fill(browser.find_element(By.ID, "adapter-load-id"), name)
    browser.find_element(By.ID, "adapter-load-id").send_keys(Keys.ENTER)
    wait(browser, lambda d: visible(d, f'#adapters-table tr[data-id="{name}"]'), message="the adapter was not loaded")
    assert name in [a["id"] for a in server.request("GET", "/v1/adapters")[1]["data"]]
    assert severe_logs(browser) == []


def test_bad_input_shows_the_servers_message(server, browser):
    open_page(browser, server, "chat")
    fill(browser.find_element(By.ID, "chat-max-tokens"), "100000000")
    fill(browser.find_element(By.ID, "chat-prompt"), "Hello")
    browser.find_element(By.ID, "chat-send").click()
    status, body = server.request("POST", "/v1/chat/completions", {
        "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 100000000, "stream": True})
    assert status == 400
    assert error_text(browser) == body["error"]["message"]

    open_page(browser, server, "realign")
    wait(browser, lambda d: d.find_element(By.ID, "realign-steps").get_attribute("value"), message="no defaults")
    fill(browser.find_element(By.ID, "realign-steps"), "0")
    browser.find_element(By.ID, "realign-start").click()
    assert "Invalid 'steps'" in error_text(browser)
    assert browser.find_element(By.CSS_SELECTOR, "#page-realign h1").text == "Realign"


def test_with_api_keys_the_page_asks_for_a_key_first(browser, tmp_path):
    keys = tmp_path / "keys"
    keys.write_text("sk-console-test\n")
    guarded = Server("--api-keys", str(keys))
    try:
        browser.get(guarded.root + "/")
        browser.execute_script("sessionStorage.clear()")
        browser.refresh()
        prompt = wait(browser, lambda d: visible(d, "#key-form"), message="no key prompt")
        assert not browser.find_element(By.ID, "top").is_displayed()
        assert browser.find_elements(By.CSS_SELECTOR, "[id^=page-]") == []
        assert browser.find_element(By.ID, "main").text == prompt.text

        fill(browser.find_element(By.ID, "api-key"), "sk-wrong")
        browser.find_element(By.ID, "api-key").send_keys(Keys.ENTER)
        assert "API key" in wait(browser, lambda d: visible(d, "#key-form .error")).text
        assert browser.find_elements(By.CSS_SELECTOR, "[id^=page-]") == []

        fill(browser.find_element(By.ID, "api-key"), "sk-console-test")
        browser.find_element(By.ID, "api-key").send_keys(Keys.ENTER)
        wait(browser, lambda d: visible(d, "#page-chat h1"), message="the right key did not open the console")
        assert browser.find_element(By.ID, "top").is_displayed()
        assert browser.execute_script("return sessionStorage.getItem('raconteur.apiKey')") == "sk-console-test"
        assert browser.execute_script("return localStorage.length + document.cookie.length") == 0
    finally:
        browser.execute_script("sessionStorage.clear()")
        guarded.stop()
