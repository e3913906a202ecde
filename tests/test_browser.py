"""Drive every chapter's live panel in a real browser (JupyterLab + headless Chromium).

For each notebooks/NN_*.ipynb: run all cells in JupyterLab, check that no output shows an
error, then move the panel's sliders and check the figure and status follow; also fast moves
(the last figure must match the last settings) and a diverging learning rate. A screenshot of
each panel is saved under $D2LMINI_SCREENSHOTS (default: a pytest temp folder, printed).

Needs Chromium (`apt-get install -y chromium`) and the `playwright` Python package. Without
Chromium the test is skipped, unless CI is set, where it fails. Run only these tests with
`pytest -m browser`; leave them out with `-m "not browser"`.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # for any pytest import mode
from browser_support import (  # noqa: E402
    CHROMIUM_ARGS,
    INSTALL_HINT,
    JS_CELLS_DONE,
    JS_OUTPUTS,
    JupyterLabServer,
    chromium_executable,
    is_ci,
    output_errors,
    same_number,
    status_settings,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
# D2LMINI_NOTEBOOK_DIR points the test at other notebooks (used to try it on scratch panels).
NOTEBOOK_DIR = Path(os.environ.get("D2LMINI_NOTEBOOK_DIR", REPO / "notebooks"))
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
# Seconds allowed for all cells of one notebook to run, and for one panel run to finish.
RUN_ALL_TIMEOUT = float(os.environ.get("D2LMINI_BROWSER_RUN_ALL_TIMEOUT", "240"))
PANEL_TIMEOUT = float(os.environ.get("D2LMINI_BROWSER_PANEL_TIMEOUT", "60"))
QUIET = 0.6  # a panel counts as settled when status and figure stay unchanged this long

JS_PANEL_STATE = """(panel) => {
  const status = panel.querySelector('.d2lmini-status');
  const img = panel.querySelector('.d2lmini-figure img');
  const sliders = {};
  for (const el of panel.querySelectorAll('[class*="d2lmini-slider-"]')) {
    const cls = Array.from(el.classList).find(c => c.startsWith('d2lmini-slider-'));
    const readout = el.querySelector('.widget-readout');
    const handle = el.querySelector('.noUi-handle');
    sliders[cls.slice('d2lmini-slider-'.length)] = {
      readout: readout ? readout.innerText.trim() : null,
      now: handle ? parseFloat(handle.getAttribute('aria-valuenow')) : null,
      min: handle ? parseFloat(handle.getAttribute('aria-valuemin')) : null,
      max: handle ? parseFloat(handle.getAttribute('aria-valuemax')) : null,
    };
  }
  return {status: status ? status.innerText.trim() : null,
          src: img ? img.getAttribute('src') : null, sliders};
}"""

JS_SELECT_ALL = """(e) => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const sel = window.getSelection();
  sel.removeAllRanges();
  sel.addRange(range);
}"""


# ---------------------------------------------------------------------------------------------
# Fixtures


def _report(request: pytest.FixtureRequest, line: str) -> None:
    """Print a line on the terminal even while pytest captures output."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is None or reporter is None:
        print(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_executable()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if is_ci():
            pytest.fail(f"CI is set and the browser test cannot run: {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str):
    """One JupyterLab server for all notebooks, serving a temporary copy of them."""
    work = tmp_path_factory.mktemp("jupyterlab")
    root = work / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = JupyterLabServer(root, work, extra_pythonpath=REPO)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(chromium: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("D2LMINI_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


# ---------------------------------------------------------------------------------------------
# The notebook


def _poll(check: Callable[[], object], timeout: float, what: str, hold: float = 0.0,
          describe: Callable[[], str] = lambda: "") -> object:
    """Wait until check() is truthy (and stays so for `hold` seconds); return its value."""
    deadline = time.monotonic() + timeout
    since = None
    while time.monotonic() < deadline:
        value = check()
        if value:
            since = since or time.monotonic()
            if time.monotonic() - since >= hold:
                return value
        else:
            since = None
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}. {describe()}")


def _prompts(page) -> str:
    return "cell prompts: " + " ".join(page.locator(".jp-CodeCell .jp-InputPrompt")
                                       .all_inner_texts())


def _dialogs(page) -> str:
    texts = page.locator(".jp-Dialog").all_inner_texts()
    return f"dialogs: {texts}" if texts else ""


def open_and_run_all(page, lab: JupyterLabServer, notebook: str) -> None:
    """Open the notebook in a fresh workspace, wait for its kernel, run all cells, wait."""
    names = lab.kernel_display_names()
    workspace = f"d2lmini-{Path(notebook).stem}-{os.getpid()}-{time.monotonic_ns()}"
    page.goto(f"{lab.url}/lab/workspaces/{workspace}/tree/{notebook}?reset")

    def kernel_ready() -> bool:
        # the indicator alone reads idle while the kernel is still starting
        shown = page.locator(".jp-Toolbar-kernelName").all_inner_texts()
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count()
        return bool(shown) and shown[0].strip() in names and idle > 0

    _poll(kernel_ready, 90, "the kernel to be ready", hold=0.3,
          describe=lambda: f"kernel name shown: "
                           f"{page.locator('.jp-Toolbar-kernelName').all_inner_texts()} "
                           f"{_dialogs(page)}")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    _poll(lambda: page.evaluate(JS_CELLS_DONE), RUN_ALL_TIMEOUT, "all cells to finish",
          hold=1.0, describe=lambda: f"{_prompts(page)} {_dialogs(page)}")


def check_no_errors(page, when: str) -> None:
    errors = output_errors(page.evaluate(JS_OUTPUTS))
    if errors:
        raise AssertionError(f"{when}, an output shows an error:\n"
                             + "\n---\n".join(e[-3000:] for e in errors))
    not_run = page.evaluate("""() => Array.from(document.querySelectorAll('.jp-CodeCell'))
        .filter(c => (c.querySelector('.cm-content')?.innerText || '').trim() !== '')
        .filter(c => !/\\[\\d+\\]/.test(c.querySelector('.jp-InputPrompt')?.innerText || ''))
        .length""")
    assert not_run == 0, f"{when}, {not_run} code cell(s) did not run; {_prompts(page)}"
    dead = page.locator(".jp-Notebook-ExecutionIndicator[data-status='dead']").count()
    assert not dead, f"{when}, the kernel is dead"


# ---------------------------------------------------------------------------------------------
# The live panel


class Panel:
    """The chapter's `.d2lmini-panel`, read and moved through the DOM contract."""

    def __init__(self, page):
        self.page = page
        self.root = page.locator(".d2lmini-panel")

    def state(self) -> dict:
        return self.root.evaluate(JS_PANEL_STATE)

    def readout(self, state: dict, name: str) -> float:
        text = state["sliders"][name]["readout"]
        try:
            return float(text)
        except (TypeError, ValueError):
            raise AssertionError(f"slider {name!r} readout is not a number: {text!r}") from None

    def press(self, name: str, key: str, times: int = 1, delay: float = 0.0) -> None:
        handle = self.root.locator(f".d2lmini-slider-{name} .noUi-handle")
        handle.focus()
        for _ in range(times):
            handle.press(key)
            if delay:
                time.sleep(delay)

    def type_value(self, name: str, text: str) -> None:
        """Type a value into the slider's readout and press Enter."""
        readout = self.root.locator(f".d2lmini-slider-{name} .widget-readout")
        readout.click()
        readout.evaluate(JS_SELECT_ALL)
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def settle(self, want: Callable[[dict], bool], what: str,
               timeout: float = PANEL_TIMEOUT) -> dict:
        """Wait until no run is going, want(state) holds and nothing changed for QUIET s."""
        deadline = time.monotonic() + timeout
        key, since, state = None, time.monotonic(), {}
        while time.monotonic() < deadline:
            state = self.state()
            status = state["status"] or ""
            if "error:" in status:
                raise AssertionError(f"the panel reports an error: {status}")
            if (status, state["src"]) != key:
                key, since = (status, state["src"]), time.monotonic()
            if ("training" not in status and want(state)
                    and time.monotonic() - since >= QUIET):
                return state
            time.sleep(0.1)
        raise AssertionError(
            f"timed out after {timeout:.0f}s waiting for {what}; status: {state.get('status')!r},"
            f" readouts: { {k: v['readout'] for k, v in state.get('sliders', {}).items()} }")

    def shows_readouts(self, state: dict) -> bool:
        """True when the status names the values that the readouts show (same run)."""
        shown = status_settings(state["status"] or "")
        return all(same_number(shown[name], slider["readout"] or "")
                   for name, slider in state["sliders"].items() if name in shown)


def _screenshot(panel: Panel, path: Path) -> None:
    panel.page.evaluate("() => document.activeElement && document.activeElement.blur()")
    panel.root.scroll_into_view_if_needed()
    panel.root.screenshot(path=path)


def _step_key(slider: dict) -> str:
    """ArrowRight unless the slider is at its maximum."""
    return "ArrowLeft" if slider["now"] >= slider["max"] else "ArrowRight"


def drive_panel(page, shots: Path, stem: str, report: Callable[[str], None]) -> None:
    panel = Panel(page)
    count = panel.root.count()
    assert count == 1, f"expected exactly one .d2lmini-panel, found {count}"
    panel.root.scroll_into_view_if_needed()
    state = panel.settle(lambda s: s["src"], "the panel's first figure")
    default_lr = state["sliders"]["lr"]["readout"] if "lr" in state["sliders"] else None
    for name in ("lr", "batch_size"):
        assert name in state["sliders"], f"no .d2lmini-slider-{name} in the panel"
    assert panel.shows_readouts(state), f"status does not match readouts: {state}"

    # 4. one step on each slider: the readout changes, the figure changes, the status follows
    for name in ("lr", "batch_size"):
        before = state
        key = _step_key(before["sliders"][name])
        panel.press(name, key)
        state = panel.settle(
            lambda s, b=before, n=name: (s["src"] != b["src"]
                                         and s["sliders"][n]["readout"]
                                         != b["sliders"][n]["readout"]
                                         and panel.shows_readouts(s)),
            f"a new figure after {key} on the {name} slider")
        old, new = panel.readout(before, name), panel.readout(state, name)
        assert (new > old) == (key == "ArrowRight"), f"{name} readout went {old} -> {new}"
        shown = status_settings(state["status"]).get(name, "")
        assert same_number(shown, state["sliders"][name]["readout"]), state["status"]

    # 5. fast moves: after the last one settles, the figure/status show the last values
    before = state
    lr_key, bs_key = _step_key(state["sliders"]["lr"]), _step_key(state["sliders"]["batch_size"])
    bs = state["sliders"]["batch_size"]
    bs_times = max(1, min(4, int(bs["max"] - bs["now"] if bs_key == "ArrowRight"
                                 else bs["now"] - bs["min"])))
    panel.press("lr", lr_key, times=3, delay=0.03)
    panel.press("batch_size", bs_key, times=bs_times, delay=0.03)
    panel.press("lr", "ArrowLeft" if lr_key == "ArrowRight" else "ArrowRight", times=2,
                delay=0.03)
    state = panel.settle(lambda s: s["src"] != before["src"] and panel.shows_readouts(s),
                         "the figure of the last fast move")
    time.sleep(2 * QUIET)  # a stale run finishing late would overwrite status and figure now
    later = panel.state()
    assert later["src"] == state["src"] and later["status"] == state["status"], (
        f"the panel changed after settling: {state['status']!r} -> {later['status']!r}")
    assert panel.shows_readouts(later), (
        f"stale figure: status {later['status']!r} but readouts "
        f"{ {k: v['readout'] for k, v in later['sliders'].items()} }")

    # 6. a diverging learning rate shows the message; a good one afterwards clears it
    good = default_lr  # the notebook's own learning rate, which must train well
    before = state
    panel.press("lr", "End")
    state = panel.settle(lambda s: s["sliders"]["lr"]["readout"] != before["sliders"]["lr"][
        "readout"] and panel.shows_readouts(s), "a run at the largest learning rate")
    status = state["status"]
    assert "diverged at step" in status and "learning rate is too large" in status, (
        f"the largest learning rate {state['sliders']['lr']['readout']} did not show the "
        f"divergence message; status: {status!r}")
    assert panel.root.locator(".d2lmini-status").is_visible()
    _screenshot(panel, shots / f"{stem}-diverged.png")
    diverged = state
    panel.type_value("lr", good)
    state = panel.settle(lambda s: s["src"] != diverged["src"] and panel.shows_readouts(s),
                         f"a new figure after typing lr={good} back")
    assert same_number(state["sliders"]["lr"]["readout"], good), state["sliders"]["lr"]
    assert "diverged" not in state["status"], f"message still shown: {state['status']!r}"
    assert "final loss" in state["status"], f"no final loss shown: {state['status']!r}"

    # 7. a picture for people
    path = shots / f"{stem}.png"
    _screenshot(panel, path)
    report(f"[browser] {stem}: panel screenshots {path} and {stem}-diverged.png")


# ---------------------------------------------------------------------------------------------
# The test


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_live_panel_in_browser(notebook: str, lab: JupyterLabServer, browser,
                               screenshots: Path, request: pytest.FixtureRequest) -> None:
    stem = Path(notebook).stem
    report = lambda line: _report(request, line)  # noqa: E731
    start = time.monotonic()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    try:
        open_and_run_all(page, lab, notebook)
        ran = time.monotonic()
        check_no_errors(page, "after Run All Cells")
        drive_panel(page, screenshots, stem, report)
        check_no_errors(page, "after moving the panel's sliders")
    except BaseException:
        shot = screenshots / f"{stem}-FAILED.png"
        try:
            page.screenshot(path=shot, full_page=True)
            report(f"[browser] {stem}: FAILED, page screenshot {shot}")
        except Exception as error:  # the page may be gone; the original failure matters
            report(f"[browser] {stem}: FAILED, no screenshot ({error})")
        if page_errors:
            print(f"page errors: {page_errors[:5]}")
        print(f"JupyterLab log ({lab.log_path}), tail:\n{lab.log_tail(1500)}")
        raise
    finally:
        context.close()
        lab.shutdown_kernels()
    end = time.monotonic()
    report(f"[browser] {stem}: passed in {end - start:.1f}s (open + run all cells "
           f"{ran - start:.1f}s, panel {end - ran:.1f}s)")
