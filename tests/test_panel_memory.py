"""A live panel gives back what it held: closed, or dropped without close() (its name rebound,
its cell run again). benchmarks/bench_panel_memory.py measures the chapters' panels."""

import contextlib
import ctypes
import ctypes.util
import gc
import io
import tracemalloc
import weakref

import ipywidgets
import psutil
import pytest
from IPython.core.interactiveshell import InteractiveShell
from test_widgets import MODES, linreg_train, make_panel

MB = 2**20
pytestmark = pytest.mark.timeout(180)  # each test waits on panels' threads; 20 panels: 15 s


def resident() -> float:
    """The process's resident memory in MB, once glibc has given back the free memory it
    keeps (most of what threads freed: it is no leak, and it varies from run to run)."""
    trim = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)
    if trim is None:
        pytest.skip("resident memory is measured with glibc's malloc_trim")
    trim(0)
    return psutil.Process().memory_info().rss / MB


def moved_once(background=True, **kwargs):
    """A panel of the widget tests, its learning rate moved once (a run and a redraw)."""
    panel = make_panel(train=lambda **s: linreg_train(**s, n=50), background=background,
                       **kwargs)
    panel.controls["lr"].value = 0.1
    assert panel.wait(30) and panel.error is None
    return panel


def open_widgets() -> set:
    """The ids of the widgets ipywidgets keeps alive (its registry), in ipywidgets 7 and 8."""
    registry = getattr(ipywidgets.widgets.widget, "_instances", None)
    return set(registry if registry is not None else ipywidgets.Widget.widgets)


@pytest.fixture
def baseline():
    """The widgets ipywidgets holds before the test (one panel made first: its first-use
    setup), and a check that every widget the test made is closed again. Widgets of earlier
    tests may be freed meanwhile (the shell's reset drops their panels): they do not count."""
    moved_once().close()
    gc.collect()
    before = open_widgets()
    yield
    gc.collect()
    left = open_widgets() - before
    assert not left, f"{len(left)} widgets left open"


@pytest.mark.parametrize("background", MODES)
def test_a_closed_panel_frees_its_figure(baseline, background):
    panel = moved_once(background)
    figure, panel_ref = weakref.ref(panel._figure), weakref.ref(panel)
    panel.close()
    del panel
    gc.collect()
    assert panel_ref() is None
    assert figure() is None, "the figure of a closed panel is never freed"


@pytest.mark.parametrize("background", MODES)
def test_a_dropped_panel_is_freed_and_its_widgets_closed(baseline, background):
    panel = moved_once(background)
    figure, panel_ref, image = weakref.ref(panel._figure), weakref.ref(panel), panel.image
    panel = None  # its name rebound: no close()
    gc.collect()
    assert panel_ref() is None, "the panel's widgets keep it alive"
    assert figure() is None
    assert image.comm is None  # closed, so ipywidgets lets it go (the baseline checks all)


def test_a_panel_cell_run_again_closes_the_panel_it_showed_before(baseline):
    """In a notebook, a cell that ends with `panel` shows it, and IPython's output history
    (Out) keeps it: the panel is closed once no name of the notebook holds it."""
    shell = InteractiveShell.instance()
    shell.reset()
    shell.user_ns["moved_once"] = moved_once
    cell = "panel = moved_once()\npanel"

    def run(source):
        with contextlib.redirect_stdout(io.StringIO()):  # Out[n]: <d2lmini live panel: ...>
            shell.run_cell(source, store_history=True).raise_error()

    try:
        shown = []  # weak references: a test's list holding them would keep them open
        for _ in range(3):
            run(cell)
            shown.append(weakref.ref(shell.user_ns["panel"]))
        assert all(panel() in shell.user_ns["Out"].values() for panel in shown)
        assert [panel()._closed for panel in shown] == [True, True, False]
        gc.collect()
        assert [panel()._figure for panel in shown[:2]] == [None, None]
        run("kept = [panel]\npanel = 'rebound'")  # held by a list: still in use
        assert not shown[-1]()._closed
        run("moved_once()")  # shown but never named: only Out holds it, and it is in use
        unnamed = shell.user_ns["_"]
        run("1 + 1")
        assert not unnamed._closed
        unnamed.close()
        shell.user_ns["kept"][0].close()
    finally:
        shell.reset()  # Out too


def test_twenty_panels_closed_or_dropped_give_their_memory_back(baseline):
    """Each panel's figure (2000x720 pixels, drawn twice for its redraws: ~13 MB) and its
    PNGs come back. The bounds are generous (a few MB a panel would still pass): allocators
    keep some of what was freed, and the machine's other work must not make the test flaky."""
    gc.collect()
    tracemalloc.start()
    try:
        rss, traced = resident(), tracemalloc.get_traced_memory()[0]
        for i in range(20):
            panel = moved_once()
            if i % 2:
                panel.close()
            del panel  # the other half dropped without close()
        gc.collect()
        kept_rss = resident() - rss
        kept_traced = (tracemalloc.get_traced_memory()[0] - traced) / MB
    finally:
        tracemalloc.stop()
    assert kept_traced < 20, f"20 panels kept {kept_traced:.0f} MB of Python and numpy memory"
    assert kept_rss < 60, f"20 panels kept {kept_rss:.0f} MB of resident memory"
