"""Helpers for tests/test_browser.py: a private JupyterLab server, and reading its pages.

Everything here talks to 127.0.0.1 only. The server runs in its own process group and is
stopped by that group's id; kernels it started are found by the server's private runtime
folder and stopped by their process ids.
"""

from __future__ import annotations

import http.cookiejar
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from d2lmini.plot import NAMES

INSTALL_HINT = (
    "no Chromium found for the browser test: install it with `apt-get install -y chromium` "
    "(Debian/Ubuntu; gives /usr/bin/chromium), or point D2LMINI_CHROMIUM at a Chromium/Chrome "
    "binary; also `pip install playwright` (no `playwright install` needed)"
)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    # Only 127.0.0.1 resolves: nothing can leave the machine even by accident.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]

# Per-server JupyterLab settings (written into --LabApp.user_settings_dir).
LAB_SETTINGS: dict[str, dict] = {
    "@jupyterlab/notebook-extension/tracker": {
        "autoStartDefaultKernel": True,
        # Otherwise JupyterLab does not draw cells that are off-screen.
        "windowingMode": "none",
    },
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
        "doNotDisturbMode": True,
    },
}


def is_ci() -> bool:
    """True when the CI environment variable is set to something other than empty/0/false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_executable() -> str | None:
    """Path of a Chromium/Chrome binary, or None when there is none."""
    env = os.environ.get("D2LMINI_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    for path in ("/usr/bin/chromium", "/usr/lib/chromium/chromium"):
        if Path(path).is_file():
            return path
    # a browser that `playwright install chromium` downloaded
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache/ms-playwright")
    found = sorted(cache.glob("chromium-*/chrome-linux*/chrome"))
    return str(found[-1]) if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_lab_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


class JupyterLabServer:
    """`python -m jupyter lab` (or `notebook`: Notebook 7) on 127.0.0.1, serving root_dir, with
    private config/settings."""

    def __init__(self, root_dir: Path, work_dir: Path, extra_pythonpath: Path | None = None,
                 app: str = "lab"):
        self.app = app
        self.root_dir = root_dir
        self.work_dir = work_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = work_dir / "jupyterlab.log"
        self.runtime_dir = work_dir / "runtime"
        self.extra_pythonpath = extra_pythonpath
        self.proc: subprocess.Popen | None = None
        self._xsrf: str | None = None

    def start(self, timeout: float = 90.0) -> None:
        settings = self.work_dir / "lab-settings"
        write_lab_settings(settings)
        for sub in ("config", "workspaces"):
            (self.work_dir / sub).mkdir(parents=True, exist_ok=True)
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.work_dir / "config"),
            JUPYTER_RUNTIME_DIR=str(self.runtime_dir),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.work_dir / "workspaces"),
            PYTHONUNBUFFERED="1",
        )
        if self.extra_pythonpath is not None:
            # Lets the kernels `import d2lmini` from this checkout even if it is not installed.
            parts = [str(self.extra_pythonpath), env.get("PYTHONPATH", "")]
            env["PYTHONPATH"] = os.pathsep.join(p for p in parts if p)
        app = "LabApp" if self.app == "lab" else "LabServerApp"
        cmd = [
            sys.executable, "-m", "jupyter", self.app,
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            "--allow-root",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={self.root_dir}",
            f"--{app}.user_settings_dir={settings}",
            f"--{app}.workspaces_dir={self.work_dir / 'workspaces'}",
        ]
        if self.app == "lab":
            cmd += [
                "--LabApp.extension_manager=readonly",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class="
                "jupyterlab.handlers.announcements.NeverCheckForUpdate",
            ]
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            cmd, cwd=self.root_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str) -> object:
        """Call the server's REST API; other methods than GET carry the _xsrf cookie."""
        headers = {}
        if method != "GET":
            if self._xsrf is None:
                jar = http.cookiejar.CookieJar()
                opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
                opener.open(f"{self.url}/{'lab' if self.app == 'lab' else 'tree'}",
                            timeout=10).close()
                self._xsrf = next((c.value for c in jar if c.name == "_xsrf"), "")
            headers = {"X-XSRFToken": self._xsrf, "Cookie": f"_xsrf={self._xsrf}"}
        req = urllib.request.Request(f"{self.url}{path}", method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def kernel_display_names(self) -> list[str]:
        specs = self.api("GET", "/api/kernelspecs")["kernelspecs"]
        return [s["spec"]["display_name"] for s in specs.values()]

    def shutdown_kernels(self) -> None:
        """Stop every kernel of this server (through its REST API)."""
        try:
            for kernel in self.api("GET", "/api/kernels"):
                try:
                    self.api("DELETE", f"/api/kernels/{kernel['id']}")
                except (urllib.error.URLError, OSError):
                    pass
        except (urllib.error.URLError, OSError, ValueError):
            pass

    def _kernel_pids(self) -> list[int]:
        """Processes whose command line names a connection file in our private runtime dir."""
        marker = str(self.runtime_dir).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
        return pids

    def stop(self) -> None:
        if self.proc is None:
            return
        self.shutdown_kernels()
        pgid = self.proc.pid  # start_new_session: the group id is the server's pid
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        for pid in self._kernel_pids():  # kernels run in process groups of their own
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()
        self.proc = None


# ---------------------------------------------------------------------------------------------
# Reading the notebook page

ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?[A-Z]\w*(?:Error|Exception)\b(?::|$)", re.MULTILINE)

JS_OUTPUTS = """() => Array.from(document.querySelectorAll('.jp-OutputArea-output')).map(e => ({
    mime: e.getAttribute('data-mime-type') || '',
    text: e.innerText || '',
}))"""

JS_CELLS_DONE = """() => {
  const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
  if (!ind || ind.getAttribute('data-status') !== 'idle') return false;
  const cells = Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell'));
  let anyError = document.querySelector(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]') !== null;
  for (const c of cells) {
    const p = c.querySelector('.jp-InputPrompt');
    const prompt = p ? p.innerText.trim() : '';
    if (prompt.includes('*')) return false;
    const src = c.querySelector('.cm-content');
    const empty = !src || src.innerText.trim() === '';
    if (!empty && !/\\[\\d+\\]/.test(prompt) && !anyError) return false;
  }
  return cells.length > 0;
}"""


def output_errors(outputs: list[dict]) -> list[str]:
    """The outputs that show an error (tracebacks, error lines, widget failures)."""
    bad = []
    for out in outputs:
        mime, text = out["mime"], out["text"]
        if (
            "error" in mime  # an error output, whatever JupyterLab renders it as
            or "Traceback (most recent call last)" in text
            # stderr with a line like `ValueError: ...`; progress bars and warnings pass
            or ("stderr" in mime and ERROR_LINE.search(text))
            or "Error displaying widget" in text  # ipywidgets could not show a widget
            or "could not be displayed" in text
        ):
            bad.append(text)
    return bad


# ---------------------------------------------------------------------------------------------
# Reading the live panel's status line

INTEGER = re.compile(r"[-+]?\d+")
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# settings in words -> their names ("learning rate" -> "lr"); others: words joined by "_"
WORDS = {words: name for name, words in NAMES.items()}


def status_settings(status: str) -> dict[str, str]:
    """{'lr': '0.03', 'batch_size': '10', 'epochs': '3'} from the head of a status line such as
    'learning rate 0.03 · batch size 10 · 3 epochs — final loss 5.5e-05 (300 steps, 0.12 s)'."""
    head = re.split(r"\s[—-]{1,2}\s", status, maxsplit=1)[0]
    settings = {}
    for part in head.split(" · "):
        *name, value = part.strip().rsplit(" ", 1) or [""]
        if name and NUMBER.fullmatch(name[0].split(" ")[0]) and value in ("epoch", "epochs"):
            settings["epochs"] = name[0]
        elif name and NUMBER.fullmatch(value):
            settings[WORDS.get(name[0], name[0].replace(" ", "_"))] = value
    return settings


def same_number(a: str, b: str) -> bool:
    """True when two shown numbers show the same value: integers exactly ('257' != '261'),
    others to 3 significant digits, as `.3g` shows them ('0.0300' == '0.03' != '0.0316')."""
    a, b = a.strip(), b.strip()
    if INTEGER.fullmatch(a) and INTEGER.fullmatch(b):
        return int(a) == int(b)
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return math.isfinite(x) and math.isfinite(y) and f"{x:.3g}" == f"{y:.3g}"


# ---------------------------------------------------------------------------------------------
# Measuring text in a picture of the panel's figure

def tick_label_heights(png: bytes) -> list[int]:
    """Heights in pixels of the tick labels under the x-axis of each plot in a screenshot.

    Finds each x-axis as a long dark horizontal line, then, below it, the bands of rows that
    hold dark pixels: the first band is the tick marks (touching the axis), the next one the
    tick labels. Digits have no descenders, so a band's height is the digits' height.
    """
    from io import BytesIO

    import numpy as np
    from PIL import Image

    gray = np.asarray(Image.open(BytesIO(png)).convert("RGBA").convert("L"), dtype=np.int16)
    dark = gray < 110
    width = dark.shape[1]
    heights = []
    rows = np.flatnonzero(dark.sum(axis=1) > 0.25 * width)  # the x-axes of plots side by side
    for axis_row in rows[np.diff(rows, prepend=-10) > 1]:  # one per run of adjacent rows
        line = dark[axis_row]
        for left, right in _runs(np.flatnonzero(line)):
            if right - left < 0.2 * width:
                continue
            below = dark[axis_row + 1:, left:right + 1].any(axis=1)
            bands = _runs(np.flatnonzero(below))
            if bands and bands[0][0] <= 2:  # the tick marks touch the axis
                bands = bands[1:]
            if bands:
                heights.append(int(bands[0][1] - bands[0][0] + 1))
    return heights


def _runs(indices) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive integers."""
    runs = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
