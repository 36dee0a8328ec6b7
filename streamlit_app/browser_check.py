"""Open every page of the running app in headless Chromium, wait for it to render, screenshot it, check for errors.

Also measures the estimator's interaction latency as a user feels it: from clicking "Estimate" to the
result being on screen. Used by `make screenshots` and by the real-browser test.

    uv run python -m streamlit_app.browser_check --url http://127.0.0.1:8501 --out docs/screenshots
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# Each page's URL path (st.navigation derives it from the page file's name).
PAGES = {
    "market": "",
    "model_explorer": "model_explorer",
    "estimator": "estimator",
    "deals": "deals",
    "recommendations": "recommendations",
    "health": "health",
}
ERROR_SELECTOR = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(port: int, env: dict | None = None):
    """Run the app on 127.0.0.1:port until the block ends."""
    app = Path(__file__).resolve().parent / "app.py"
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"streamlit did not start on port {port}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


def chromium():
    """The scrapers' headless Chromium (autolist_assets.sources.fetch), in a window tall enough for a page."""
    from autolist_assets.sources.fetch import start_chromium

    return start_chromium("--window-size=1400,1800")


def _wait_rendered(driver, timeout: float = 60) -> None:
    """Wait for the page's title, for its script to finish, and for every Plotly chart to be drawn."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, timeout, poll_frequency=0.1)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="stMain"] h1'))
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]'))
    wait.until(
        lambda d: all(chart.find_elements(By.CSS_SELECTOR, ".main-svg") for chart in d.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]'))
    )


def visit_pages(base_url: str, out_dir: Path | None) -> dict[str, list[str]]:
    """Each page's error messages (empty when clean); saves one PNG per page when out_dir is given."""
    from selenium.webdriver.common.by import By

    errors: dict[str, list[str]] = {}
    driver = chromium()
    try:
        for name, path in PAGES.items():
            driver.get(f"{base_url}/{path}")
            try:
                _wait_rendered(driver)
            except Exception as error:  # a page that never renders is an error of that page
                errors[name] = [f"did not finish rendering: {type(error).__name__}"]
            else:
                errors[name] = [e.text[:300] for e in driver.find_elements(By.CSS_SELECTOR, ERROR_SELECTOR)]
            if out_dir:
                out_dir.mkdir(parents=True, exist_ok=True)
                time.sleep(0.5)  # let Plotly finish drawing
                driver.save_screenshot(str(out_dir / f"{name}.png"))
    finally:
        driver.quit()
    return errors


# Runs in the page: clicks "Estimate" and reports, from the browser's own clock, when the rating sentence for
# the new asking price is on screen (the frame after the DOM change has been painted). Timing in the page
# leaves out WebDriver's round trips, which cost 10-30 ms each time a poll asks for the alerts' text.
_CLICK_AND_TIME = """
const [expected, done] = arguments;
const shown = () => [...document.querySelectorAll('[data-testid="stAlertContainer"]')]
    .some(e => e.textContent.includes(expected));
const started = performance.now();
const observer = new MutationObserver(() => {
    if (!shown()) return;
    observer.disconnect();
    requestAnimationFrame(() => setTimeout(() => done(performance.now() - started), 0));
});
observer.observe(document.body, {subtree: true, childList: true, characterData: true});
document.querySelector('[data-testid="stFormSubmitButton"] button').click();
"""


def estimator_latency_ms(base_url: str, submissions: int = 30, warmup: int = 2) -> list[float]:
    """Milliseconds from clicking "Estimate" to the rating sentence for the new asking price being painted,
    for `submissions` clicks after `warmup` ones (the first loads the model and its contribution table)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = chromium()
    driver.set_script_timeout(30)
    timings = []
    try:
        driver.get(f"{base_url}/estimator")
        _wait_rendered(driver)
        asking = WebDriverWait(driver, 60).until(
            lambda d: d.find_element(By.CSS_SELECTOR, 'input[aria-label="Asking price (DH, optional)"]')
        )
        for i in range(warmup + submissions):
            price = 80_000 + 1_000 * i
            asking.send_keys(Keys.CONTROL, "a")
            asking.send_keys(str(price))
            elapsed = driver.execute_async_script(_CLICK_AND_TIME, f"{price:,} DH".replace(",", "\u202f"))
            if i >= warmup:
                timings.append(float(elapsed))
    finally:
        driver.quit()
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", help="a running app; by default one is started on a free port")
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--submissions", type=int, default=30)
    args = parser.parse_args(argv)

    def run(url: str) -> dict:
        errors = visit_pages(url, args.out)
        timings = estimator_latency_ms(url, args.submissions)
        for page, messages in errors.items():
            print(f"{page}: {'ok' if not messages else '; '.join(messages)}")
        return {
            "pages": len(errors),
            "pages_with_errors": sum(bool(m) for m in errors.values()),
            "estimator_p50_ms": round(float(np.percentile(timings, 50)), 1),
            "estimator_p99_ms": round(float(np.percentile(timings, 99)), 1),
            "screenshots": str(args.out),
        }

    if args.url:
        figures = run(args.url)
    else:
        with streamlit_server(free_port()) as url:
            figures = run(url)
    print(json.dumps(figures))
    return 0 if figures["pages_with_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
