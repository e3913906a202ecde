"""Drive every chapter's live panel in a real browser (headless Chromium), with the mouse.

For each notebooks/NN_*.ipynb, in JupyterLab:
- as it is (the panel trains in a thread of its own): run all cells and check that no output
  shows an error; then drag the sliders with the mouse (aim at values; measure mouse release
  to new image, and images per second while dragging), step through every slider value with
  the keyboard, make fast moves (the last figure must match the last settings), choose a
  diverging learning rate, and come back;
- in main-thread mode, as on Google Colab (the copy of the notebook fakes `google.colab`, so
  the panel trains in its change handler): the same drags and fast moves (chapters 1-3).
For the first notebook also: Notebook 7 (a mouse drag), and classroom mode in JupyterLab's
Presentation Mode at 1280x720 (the figure fits the viewport, slider labels and
tick labels must be at least 18 px tall, measured in a picture of the panel).

Screenshots and the measurements (measurements.jsonl) go to $D2LMINI_SCREENSHOTS (default: a
pytest temp folder, printed). The test finds each notebook's panel by its CSS classes, so it
does not depend on what the panel cell holds beyond `lr` and `batch_size` sliders.

Needs Chromium (`apt-get install -y chromium`) and the `playwright` Python package. Without
Chromium the test is skipped, unless CI is set, where it fails. Run only these tests with
`pytest -m browser`; leave them out with `-m "not browser"`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
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
    tick_label_heights,
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

# Cells put in copies of a notebook, to run its panel another way.
MAIN_THREAD_CELL = """import sys, types  # as on Google Colab: the panel trains in its handler
sys.modules.setdefault("google.colab", types.ModuleType("google.colab"))"""
CLASSROOM_CELL = """import d2lmini
d2lmini.classroom()"""
FOLLOW_CELL = """for control in panel.controls.values():  # retrain while a slider is dragged
    control.continuous_update = True"""  # put last

JS_PANEL_STATE = """(panel) => {
  const status = panel.querySelector('.d2lmini-status');
  const key = panel.querySelector('.d2lmini-key');
  const img = panel.querySelector('img.d2lmini-figure, .d2lmini-figure img');
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
          key: key ? key.innerText.trim() : null,
          src: img ? img.getAttribute('src') : null,
          shown: img ? [img.clientWidth, img.naturalWidth] : null,
          main_thread: panel.classList.contains('d2lmini-main-thread'), sliders};
}"""

# Records, in the page, when the mouse goes down and up and when a new image arrives (with
# the status and readouts at that moment): the browser's own view of the panel's speed.
JS_RECORD = """(panel) => {
  const img = panel.querySelector('img.d2lmini-figure, .d2lmini-figure img');
  const status = panel.querySelector('.d2lmini-status');
  const rec = {images: [], statuses: [], downs: [], ups: []};
  window.__d2lmini = rec;
  const readouts = () => Object.fromEntries(Array.from(
    panel.querySelectorAll('[class*="d2lmini-slider-"]')).map(el => [
      Array.from(el.classList).find(c => c.startsWith('d2lmini-slider-')).slice(15),
      (el.querySelector('.widget-readout') || {}).innerText]));
  new MutationObserver(() => rec.images.push(
      {t: performance.now(), status: status.innerText.trim(), readouts: readouts()}))
    .observe(img, {attributes: true, attributeFilter: ['src']});
  new MutationObserver(() => rec.statuses.push({t: performance.now(), status: status.innerText}))
    .observe(status, {childList: true, subtree: true, characterData: true});
  document.addEventListener('pointerdown', () => rec.downs.push(performance.now()), true);
  document.addEventListener('pointerup', () => rec.ups.push(performance.now()), true);
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


def _copy_notebooks(root: Path) -> None:
    """The notebooks, and for each a copy whose panel trains on the main thread (as on Colab);
    for the first one also a copy in classroom mode, for the first two one that follows drags."""
    shutil.copytree(NOTEBOOK_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for i, name in enumerate(NOTEBOOKS):
        for prefix, cell in (("main_thread", MAIN_THREAD_CELL), ("classroom", CLASSROOM_CELL),
                             ("follow", FOLLOW_CELL)):
            if (prefix == "classroom" and i) or (prefix == "follow" and i > 1):
                continue
            nb = nbformat.read(root / name, as_version=4)
            nb.cells.insert(len(nb.cells) if prefix == "follow" else 0,
                            nbformat.v4.new_code_cell(cell))
            nbformat.write(nb, root / f"{prefix}-{name}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium: str):
    """One JupyterLab server for all notebooks, serving a temporary copy of them."""
    work = tmp_path_factory.mktemp("jupyterlab")
    _copy_notebooks(work / "notebooks")
    server = JupyterLabServer(work / "notebooks", work, extra_pythonpath=REPO)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def notebook7(tmp_path_factory: pytest.TempPathFactory, chromium: str):
    """A Notebook 7 server, serving a temporary copy of the notebooks."""
    try:
        import notebook

        if int(notebook.__version__.split(".")[0]) < 7:
            raise ImportError
    except ImportError:
        if is_ci():
            pytest.fail("CI is set and Notebook 7 is missing: pip install 'notebook>=7'")
        pytest.skip("Notebook 7 is not installed: pip install 'notebook>=7'")
    work = tmp_path_factory.mktemp("notebook7")
    shutil.copytree(NOTEBOOK_DIR, work / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    server = JupyterLabServer(work / "notebooks", work, extra_pythonpath=REPO, app="notebook")
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


def open_and_run_all(page, server: JupyterLabServer, notebook: str) -> None:
    """Open the notebook (in a fresh workspace in JupyterLab), wait for its kernel, run all
    cells, wait until they are done."""
    names = server.kernel_display_names()
    if server.app == "lab":
        workspace = f"d2lmini-{Path(notebook).stem}-{os.getpid()}-{time.monotonic_ns()}"
        page.goto(f"{server.url}/lab/workspaces/{workspace}/tree/{notebook}?reset")
    else:
        page.goto(f"{server.url}/notebooks/{notebook}")

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

    def __init__(self, page, root=None):
        self.page = page
        self.root = page.locator(".d2lmini-panel") if root is None else root
        self.measured: dict[str, list[float]] = {"release_to_image_ms": [],
                                                 "images_per_s_dragging": [],
                                                 "settings_heard_per_s_dragging": []}

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

    def x_of(self, name: str, index: float) -> tuple[float, float]:
        """Page coordinates of option `index` on a slider's track."""
        slider = self.state()["sliders"][name]
        track = self.root.locator(f".d2lmini-slider-{name} .noUi-target").bounding_box()
        fraction = (index - slider["min"]) / (slider["max"] - slider["min"])
        return track["x"] + fraction * track["width"], track["y"] + track["height"] / 2

    def drag(self, name: str, *indices: float, seconds: float = 0.4) -> None:
        """Press the mouse on a slider's handle, move it through the options `indices` (in
        `seconds`, by small moves), and release it."""
        box = self.root.locator(f".d2lmini-slider-{name} .noUi-handle").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        moves = max(4, int(seconds / 0.04))
        points = [self.x_of(name, i)[0] for i in indices]
        path = [x, *points]
        per_leg = max(1, moves // len(points))
        for a, b in zip(path, path[1:]):
            for k in range(1, per_leg + 1):
                self.page.mouse.move(a + (b - a) * k / per_leg, y)
                time.sleep(seconds / moves)
        self.page.mouse.up()

    def record(self) -> None:
        self.root.evaluate(JS_RECORD)

    def recorded(self) -> dict:
        return self.page.evaluate("() => window.__d2lmini")

    def aim(self, name: str, index: int) -> dict:
        """Drag a slider's handle to option `index` and release; check it landed there and the
        figure follows; note the time from release to the new image."""
        self.record()
        before = self.state()
        self.drag(name, index)
        state = self.settle(lambda s: s["sliders"][name]["now"] == index
                            and self.shows_readouts(s),
                            f"the figure after aiming the {name} slider at option {index}")
        assert state["sliders"][name]["now"] == index, state["sliders"][name]
        if state["sliders"][name]["readout"] != before["sliders"][name]["readout"]:
            assert state["src"] != before["src"], "the figure did not change"
            self._note_release(state)
        return state

    def _note_release(self, state: dict) -> None:
        """Release to the first image showing the released values (0 if one already did)."""
        rec = self.recorded()
        up = rec["ups"][-1]
        want = {n: s["readout"] for n, s in state["sliders"].items()}
        for image in rec["images"]:
            shown = status_settings(image["status"])
            if image["readouts"] == want and all(same_number(shown[n], v)
                                                 for n, v in want.items() if n in shown):
                self.measured["release_to_image_ms"].append(max(0.0, image["t"] - up))
                return

    def settle(self, want: Callable[[dict], bool], what: str,
               timeout: float = PANEL_TIMEOUT) -> dict:
        """Wait until no run is going, want(state) holds and nothing changed for QUIET s."""
        deadline = time.monotonic() + timeout
        key, since, state = None, time.monotonic(), {}
        while time.monotonic() < deadline:
            state = self.state()
            status = state["status"] or ""
            if "error:" in status or "stopped:" in status:
                raise AssertionError(f"the panel reports an error: {status}")
            if (status, state["src"]) != key:
                key, since = (status, state["src"]), time.monotonic()
            going = "training" in status.rsplit(" — ", 1)[-1]  # not "training examples 500"
            if (not going and want(state)
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
    panel.page.mouse.move(0, 0)
    panel.root.scroll_into_view_if_needed()
    panel.root.screenshot(path=path)


def _step_key(slider: dict) -> str:
    """ArrowRight unless the slider is at its maximum."""
    return "ArrowLeft" if slider["now"] >= slider["max"] else "ArrowRight"


def first_figure(page) -> tuple[Panel, dict]:
    """The chapter's main panel: the one with `lr` and `batch_size` sliders. Any other panel of
    the notebook (chapter 4 races optimizers on a surface first) must show its figure and redraw
    when its learning rate moves a step."""
    panels = page.locator(".d2lmini-panel")
    main = panels.filter(has=page.locator(".d2lmini-slider-batch_size"))
    count = main.count()
    assert count == 1, (f"expected exactly one .d2lmini-panel with a batch_size slider, found "
                        f"{count} (of {panels.count()} panels)")
    for index in range(panels.count()):
        other = Panel(page, panels.nth(index))
        if other.root.locator(".d2lmini-slider-batch_size").count() == 0:
            other_panel_redraws(other, index)
    panel = Panel(page, main)
    panel.root.scroll_into_view_if_needed()
    state = panel.settle(lambda s: s["src"], "the panel's first figure")
    for name in ("lr", "batch_size"):
        assert name in state["sliders"], f"no .d2lmini-slider-{name} in the panel"
    assert panel.shows_readouts(state), f"status does not match readouts: {state}"
    return panel, state


def other_panel_redraws(panel: Panel, index: int) -> None:
    """A panel besides the main one shows a figure, and a new one when its lr moves a step."""
    panel.root.scroll_into_view_if_needed()
    state = panel.settle(lambda s: s["src"], f"panel {index}'s first figure")
    assert "lr" in state["sliders"], f"panel {index} has no .d2lmini-slider-lr"
    slider = state["sliders"]["lr"]
    panel.press("lr", _step_key(slider))
    moved = panel.settle(lambda s: s["sliders"]["lr"]["now"] != slider["now"]
                         and s["src"] != state["src"] and panel.shows_readouts(s),
                         f"panel {index}'s figure after one lr step")
    panel.press("lr", "ArrowLeft" if _step_key(slider) == "ArrowRight" else "ArrowRight")
    panel.settle(lambda s: s["sliders"]["lr"]["now"] == slider["now"]
                 and s["src"] != moved["src"] and panel.shows_readouts(s),
                 f"panel {index}'s figure back at its default")


def mouse_drags(panel: Panel, state: dict) -> dict:
    """Aim each slider with the mouse, then drag the learning rate to and fro for ~2 s."""
    for name in ("lr", "batch_size"):
        slider = state["sliders"][name]
        target = slider["now"] + 2 if slider["now"] + 2 <= slider["max"] else slider["now"] - 2
        state = panel.aim(name, int(target))
    # a long drag: how many new figures arrive while the mouse moves
    slider = state["sliders"]["lr"]
    low, high = max(slider["min"], slider["now"] - 3), min(slider["max"], slider["now"] + 3)
    panel.record()
    panel.drag("lr", low, high, low, high, seconds=2.0)
    rec = panel.recorded()
    down, up = rec["downs"][-1], rec["ups"][-1]
    during = [i for i in rec["images"] if down < i["t"] <= up]
    panel.measured["images_per_s_dragging"].append(len(during) / ((up - down) / 1000))
    heard = {status_settings(s["status"]).get("lr") for s in rec["statuses"]
             if down < s["t"] <= up}  # the kernel says "training" for each value it got
    panel.measured["settings_heard_per_s_dragging"].append(len(heard - {None})
                                                           / ((up - down) / 1000))
    state = panel.settle(panel.shows_readouts, "the figure after a long drag")
    panel._note_release(state)
    return state


def fast_moves(panel: Panel, state: dict) -> dict:
    """Fast keyboard moves: after the last one settles, the figure shows the last values."""
    before = state
    lr_key, bs_key = _step_key(state["sliders"]["lr"]), _step_key(state["sliders"]["batch_size"])
    panel.press("lr", lr_key, times=3, delay=0.03)
    panel.press("batch_size", bs_key, times=2, delay=0.03)
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
    return later


def every_value_by_keyboard(panel: Panel, name: str) -> list[str]:
    """Home, then ArrowRight to the end: the readouts of every option, in order."""
    panel.press(name, "Home")
    seen = [panel.state()["sliders"][name]["readout"]]
    slider = panel.state()["sliders"][name]
    for _ in range(int(slider["max"] - slider["min"])):
        panel.press(name, "ArrowRight")
        seen.append(panel.state()["sliders"][name]["readout"])
    values = [float(v) for v in seen]
    assert values == sorted(set(values)), f"{name}: the keyboard did not reach each value: {seen}"
    return seen


# Panels whose largest learning rate gives a large loss, not a diverged run, and why
NO_DIVERGENCE = {
    "04_optimizers": "its loss is nn.CrossEntropyLoss of logits (log-sum-exp): never NaN",
    "06_backpropagation": "its loss is F.cross_entropy of logits (log-sum-exp): never NaN; a "
                          "too-large learning rate ends with a high loss, and the figure says "
                          "the loss rose",
}


def diverge_and_back(panel: Panel, default: dict, shots: Path, stem: str) -> dict:
    """The largest learning rate at the smallest batch diverges and says so (for a panel in
    NO_DIVERGENCE: at the default batch, it ends with its final loss); the default settings
    (their slider positions in `default`) train well again."""
    diverges = not any(stem.startswith(name) for name in NO_DIVERGENCE)
    if not diverges:
        panel.aim("batch_size", int(default["sliders"]["batch_size"]["now"]))
    panel.press("lr", "End")
    if diverges:
        panel.press("batch_size", "Home")
    smallest = "the smallest batch" if diverges else "the default batch"
    state = panel.settle(lambda s: s["sliders"]["lr"]["now"] == s["sliders"]["lr"]["max"]
                         and s["sliders"]["batch_size"]["now"] == (
                             s["sliders"]["batch_size"]["min"] if diverges
                             else default["sliders"]["batch_size"]["now"])
                         and panel.shows_readouts(s),
                         f"a run at the largest learning rate and {smallest}")
    status = state["status"]
    if diverges:
        assert "diverged at step" in status and "learning rate is too large" in status, (
            f"learning rate {state['sliders']['lr']['readout']} did not show the divergence "
            f"message; status: {status!r}")
    else:
        assert "final loss" in status, f"no final loss at the largest learning rate: {status!r}"
    _screenshot(panel, shots / f"{stem}-diverged.png")
    panel.aim("batch_size", int(default["sliders"]["batch_size"]["now"]))
    state = panel.aim("lr", int(default["sliders"]["lr"]["now"]))
    assert "diverged" not in state["status"], f"message still shown: {state['status']!r}"
    assert "final loss" in state["status"], f"no final loss shown: {state['status']!r}"
    return state


def _save(shots: Path, stem: str, mode: str, panel: Panel, report) -> None:
    """Write the measurements to measurements.jsonl and say them on the terminal."""
    m = {k: [round(v, 1) for v in vs] for k, vs in panel.measured.items()}
    with open(shots / "measurements.jsonl", "a") as f:
        f.write(json.dumps({"notebook": stem, "mode": mode, **m}) + "\n")
    release = m["release_to_image_ms"]
    report(f"[browser] {stem} ({mode}): mouse release -> new image "
           f"{statistics.median(release) if release else float('nan'):.0f} ms median of "
           f"{release}; while dragging: images per second {m['images_per_s_dragging']}, "
           f"values heard per second {m['settings_heard_per_s_dragging']}")


# ---------------------------------------------------------------------------------------------
# The tests


class Session:
    """A browser page on a notebook; on failure, a screenshot of the page and the server log."""

    def __init__(self, browser, server, shots: Path, name: str, report, viewport=(1400, 1000)):
        self.server, self.shots, self.name, self.report = server, shots, name, report
        self.context = browser.new_context(viewport={"width": viewport[0],
                                                     "height": viewport[1]})
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def __enter__(self):
        return self.page

    def __exit__(self, kind, value, tb):
        if kind is not None:
            shot = self.shots / f"{Path(self.name).stem}-FAILED.png"
            try:
                self.page.screenshot(path=shot, full_page=True)
                self.report(f"[browser] {self.name}: FAILED, page screenshot {shot}")
            except Exception as error:  # the page may be gone; the original failure matters
                self.report(f"[browser] {self.name}: FAILED, no screenshot ({error})")
            if self.errors:
                print(f"page errors: {self.errors[:5]}")
            print(f"server log ({self.server.log_path}), tail:\n{self.server.log_tail(1500)}")
        self.context.close()
        self.server.shutdown_kernels()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_live_panel_in_jupyterlab(notebook: str, lab: JupyterLabServer, browser,
                                  screenshots: Path, request: pytest.FixtureRequest) -> None:
    stem = Path(notebook).stem
    report = lambda line: _report(request, line)  # noqa: E731
    start = time.monotonic()
    with Session(browser, lab, screenshots, notebook, report) as page:
        open_and_run_all(page, lab, notebook)
        check_no_errors(page, "after Run All Cells")
        panel, state = first_figure(page)
        assert not state["main_thread"], "outside Colab the panel should train in a thread"
        default = state
        _screenshot(panel, screenshots / f"{stem}-default.png")
        state = mouse_drags(panel, state)
        # the runs before, in the key above the figure: "this run", then what each did differently
        key = state["key"] or ""
        assert key.startswith("this run") and len(key) > len("this run") + 2, \
            f"the key above the figure lists no earlier run: {key!r}"
        _screenshot(panel, screenshots / f"{stem}-dragged.png")
        for name in ("lr", "batch_size"):
            every_value_by_keyboard(panel, name)
        state = panel.settle(panel.shows_readouts, "the figure after stepping every value")
        state = fast_moves(panel, state)
        diverge_and_back(panel, default, screenshots, stem)
        _screenshot(panel, screenshots / f"{stem}.png")
        check_no_errors(page, "after moving the panel's sliders")
        _save(screenshots, stem, "JupyterLab, background thread", panel, report)
    report(f"[browser] {stem}: passed in {time.monotonic() - start:.1f}s; screenshots "
           f"{screenshots}/{stem}-*.png")


# Colab's mode is the panel's own code, the same for every chapter: chapters 1-3 drive it through
# a quick run, a DataLoader and a long streamed run; 4-5 are left out to keep CI under 20 minutes.
@pytest.mark.parametrize("notebook", NOTEBOOKS[:3])
def test_live_panel_in_main_thread_mode_as_on_colab(notebook: str, lab: JupyterLabServer,
                                                    browser, screenshots: Path,
                                                    request: pytest.FixtureRequest) -> None:
    stem = Path(notebook).stem
    report = lambda line: _report(request, line)  # noqa: E731
    with Session(browser, lab, screenshots, f"main_thread-{notebook}", report) as page:
        open_and_run_all(page, lab, f"main_thread-{notebook}")
        check_no_errors(page, "after Run All Cells")
        panel, state = first_figure(page)
        assert state["main_thread"], "with google.colab imported the panel trains in its handler"
        default = state
        state = mouse_drags(panel, state)
        fast_moves(panel, state)
        diverge_and_back(panel, default, screenshots, f"{stem}-main-thread")
        _screenshot(panel, screenshots / f"{stem}-main-thread.png")
        check_no_errors(page, "after moving the panel's sliders")
        _save(screenshots, stem, "JupyterLab, main thread (Colab mode)", panel, report)


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks")
def test_live_panel_in_notebook7(notebook7: JupyterLabServer, browser, screenshots: Path,
                                 request: pytest.FixtureRequest) -> None:
    notebook = NOTEBOOKS[0]
    stem = Path(notebook).stem
    report = lambda line: _report(request, line)  # noqa: E731
    with Session(browser, notebook7, screenshots, f"nb7-{notebook}", report) as page:
        open_and_run_all(page, notebook7, notebook)
        check_no_errors(page, "after Run All Cells")
        panel, state = first_figure(page)
        state = mouse_drags(panel, state)
        _screenshot(panel, screenshots / f"{stem}-notebook7.png")
        check_no_errors(page, "after moving the panel's sliders")
        _save(screenshots, stem, "Notebook 7", panel, report)


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks")
def test_classroom_mode_is_readable_on_a_1280x720_projector(lab: JupyterLabServer, browser,
                                                            screenshots: Path,
                                                            request: pytest.FixtureRequest):
    """As a teacher would: d2lmini.classroom(), then JupyterLab's View > Simple Interface and
    View > Presentation Mode (RISE does not show ipywidgets 8), at 1280x720."""
    notebook = f"classroom-{NOTEBOOKS[0]}"
    stem = Path(notebook).stem
    report = lambda line: _report(request, line)  # noqa: E731
    with Session(browser, lab, screenshots, notebook, report, viewport=(1280, 720)) as page:
        open_and_run_all(page, lab, notebook)
        check_no_errors(page, "after Run All Cells")
        def view_appearance(command: str) -> None:
            page.get_by_role("menuitem", name="View", exact=True).click()
            page.locator(".lm-Menu-item", has_text="Appearance").first.click()
            page.locator(f".lm-Menu-item[data-command='application:{command}']").click()

        view_appearance("toggle-mode")
        view_appearance("toggle-presentation-mode")
        if page.locator("#jp-left-stack:visible").count():  # and the file browser closed
            view_appearance("toggle-left-area")
        _poll(lambda: page.locator(".jp-LabShell.jp-mod-presentationMode").count(), 10,
              "presentation mode")
        panel, state = first_figure(page)
        figure = panel.root.locator("img.d2lmini-figure, .d2lmini-figure img")
        figure.scroll_into_view_if_needed()
        box = figure.bounding_box()
        png = figure.screenshot(path=screenshots / f"{stem}-figure.png")
        _screenshot(panel, screenshots / f"{stem}.png")
        heights = tick_label_heights(png)
        label = panel.root.locator(".d2lmini-slider-lr .widget-label").first.evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)")
        whole = panel.root.bounding_box()
        # (3 px: ipywidgets' own margins; more would cut letters off in a narrower output)
        cut = [(text, box["x"], box["width"]) for text, box in panel.root.locator(
               ".widget-label, .widget-readout, button").evaluate_all(
               "es => es.map(e => [e.innerText, e.getBoundingClientRect()])")
               if text.strip() and (box["x"] < whole["x"] - 3 or box["x"] + box["width"]
                                    > whole["x"] + whole["width"] + 3)]
        shown, natural = state["shown"]
        report(f"[browser] classroom, presentation mode, 1280x720: figure {box['width']:.0f}x"
               f"{box['height']:.0f} px at ({box['x']:.0f}, {box['y']:.0f}) (drawn {natural} px "
               f"wide); tick labels {heights} px tall; slider labels {label} px; screenshot "
               f"{screenshots}/{stem}.png")
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["height"] <= 720, (
            f"the figure ({box}) does not fit the 1280x720 viewport")
        assert heights and min(heights) >= 18, (
            f"tick labels {heights} px tall at 1280x720 in classroom mode (want >= 18)")
        assert label >= 18, f"the sliders' labels are {label} px (want >= 18 in classroom mode)"
        assert not cut, f"controls cut off at the panel's edge ({whole}): {cut}"


@pytest.mark.parametrize("notebook", NOTEBOOKS[:2])  # the chapters the issue asks this for
def test_how_many_figures_a_second_follow_a_drag(notebook: str, lab: JupyterLabServer, browser,
                                                 screenshots: Path,
                                                 request: pytest.FixtureRequest) -> None:
    """With every slider following the drag (continuous updates), count the new figures that
    arrive while the mouse moves (chapters follow drags only where this is >= 5 a second: on
    the machine it was written on, 0 at first; by 2026-12-02, 5.4-7.2 for chapter 1, which
    now follows, and 3.9-5.4 for chapter 2, which does not), and check
    that the kernel heard the values during the drag and the last figure is the released one."""
    notebook = f"follow-{notebook}"
    stem = Path(notebook).stem
    report = lambda line: _report(request, line)  # noqa: E731
    with Session(browser, lab, screenshots, notebook, report) as page:
        open_and_run_all(page, lab, notebook)
        check_no_errors(page, "after Run All Cells")
        panel, state = first_figure(page)
        for _ in range(2):
            mouse_drags(panel, state)
        assert max(panel.measured["settings_heard_per_s_dragging"]) > 0, (
            "the kernel did not hear the slider during the drag")
        _save(screenshots, stem, "JupyterLab, following the drag", panel, report)
