"""Tests for d2lmini.fashion_mnist and d2lmini.machinery.download. Downloads go only to a
local server on 127.0.0.1."""

import gzip
import hashlib
import http.server
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from d2lmini import fashion_mnist as fm
from d2lmini.data import Batches
from d2lmini.machinery import download as dl

ROOT = Path(__file__).resolve().parents[1]
REAL_DIR = ROOT.parent / "shared" / "data" / "fashion-mnist"
needs_real = pytest.mark.skipif(
    not all((REAL_DIR / name).is_file() for name in fm.FILE_NAMES),
    reason=f"the real Fashion-MNIST files are not in {REAL_DIR}")
FIRST_TRAIN_LABELS = [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]
# Each test here takes at most 2 s; some wait on a local server, threads or child processes.
pytestmark = pytest.mark.timeout(120)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    """Each test starts with an empty in-process cache and no D2LMINI_DATA."""
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    fm._uint8_tensors.cache_clear()
    yield
    fm._uint8_tensors.cache_clear()


@pytest.fixture(scope="module")
def real_bytes():
    """The four official files' bytes, read once."""
    if not all((REAL_DIR / name).is_file() for name in fm.FILE_NAMES):
        pytest.skip(f"the real Fashion-MNIST files are not in {REAL_DIR}")
    return {name: (REAL_DIR / name).read_bytes() for name in fm.FILE_NAMES}


class Server:
    """A local HTTP server in a thread serving files.

    mode: 'ok'; 'cut' (promises the whole file, sends half, hangs up); 'garbage' (right
    length, wrong bytes); 'trickle' (one byte every 0.05 s, so no single read times out);
    'endless' (no Content-Length, zeros until the client hangs up).
    """

    def __init__(self, files: dict[str, bytes], mode: str = "ok", delay: float = 0.0):
        self.files, self.mode, self.requests = files, mode, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self):
                name = self.path.lstrip("/")
                outer.requests.append(name)
                time.sleep(delay)  # a slow start: widens the window for races
                if name not in outer.files:
                    self.send_error(404)
                    return
                body = outer.files[name]
                if outer.mode == "garbage":
                    body = bytes(len(body))  # right length, wrong bytes
                if outer.mode == "endless":
                    self.send_response(200)
                    self.end_headers()
                    while True:  # until the client hangs up, or a write waits `timeout` s
                        self.wfile.write(bytes(1 << 16))
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if outer.mode == "cut":  # promise the whole file, send half, hang up
                    self.wfile.write(body[:len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif outer.mode == "trickle":
                    for i in range(len(body)):
                        self.wfile.write(body[i:i + 1])
                        self.wfile.flush()
                        time.sleep(0.05)
                else:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- parsing the real files

@needs_real
def test_file_table_matches_md5sums_and_sha256sums():
    for algo, index in (("SHA256SUMS", 0), ("MD5SUMS", 1)):
        listed = dict(line.split()[::-1] for line in (REAL_DIR / algo).read_text().splitlines())
        assert listed == {name: sums[index] for name, sums in dl.FILES.items()}


@needs_real
def test_parse_real_files():
    train_X, train_y, test_X, test_y = fm.fashion_mnist_tensors(
        "full", data_dir=REAL_DIR, device="cpu")
    assert train_X.shape == (60000, 1, 28, 28) and test_X.shape == (10000, 1, 28, 28)
    assert train_y.shape == (60000,) and test_y.shape == (10000,)
    assert train_X.dtype == test_X.dtype == torch.float32
    assert train_y.dtype == test_y.dtype == torch.int64
    assert train_X.min() == 0 and train_X.max() == 1 and 0.2 < train_X.mean() < 0.4
    assert torch.bincount(train_y).tolist() == [6000] * 10
    assert torch.bincount(test_y).tolist() == [1000] * 10
    # The first labels, read independently: IDX label files have an 8-byte header.
    raw = gzip.decompress((REAL_DIR / fm.TRAIN_LABELS).read_bytes())
    assert list(raw[8:18]) == FIRST_TRAIN_LABELS == train_y[:10].tolist()
    raw = gzip.decompress((REAL_DIR / fm.TRAIN_IMAGES).read_bytes())
    first = torch.tensor(list(raw[16:16 + 784]), dtype=torch.float32) / 255
    assert torch.equal(train_X[0].flatten(), first)


def test_get_fashion_mnist_labels():
    assert fm.get_fashion_mnist_labels(torch.tensor([0, 9, 5])) == ["t-shirt", "ankle boot",
                                                                    "sandal"]
    assert fm.get_fashion_mnist_labels([1, 2, 3, 4, 6, 7, 8]) == [
        "trouser", "pullover", "dress", "coat", "shirt", "sneaker", "bag"]


def write_gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


@pytest.mark.parametrize("case", ["truncated", "not gzip", "bad magic", "short data"])
def test_read_idx_gz_rejects_bad_files_naming_them(tmp_path, case):
    good = bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes(range(5))
    path = tmp_path / "labels.gz"
    if case == "truncated":
        path.write_bytes(gzip.compress(good)[:-6])
    elif case == "not gzip":
        path.write_bytes(b"<html>not found</html>")
    elif case == "bad magic":
        write_gz(path, bytes([0, 0, 9, 1]) + good[4:])
    else:
        write_gz(path, good[:-1])
    with pytest.raises(ValueError, match="delete it") as info:
        fm.read_idx_gz(path)
    assert str(path) in str(info.value)
    assert fm.read_idx_gz(write_gz(tmp_path / "ok.gz", good)).tolist() == [0, 1, 2, 3, 4]


# ---------------------------------------------------------------- downloading

def test_download_success(tmp_path, monkeypatch, real_bytes):
    with Server(real_bytes) as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        assert dl.download_fashion_mnist(tmp_path / "cache") == tmp_path / "cache"
        assert sorted(server.requests) == sorted(fm.FILE_NAMES)
        dl.download_fashion_mnist(tmp_path / "cache")  # all there: no second download
        assert len(server.requests) == 4
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(fm.FILE_NAMES)
    for name, (sha, md5, size) in dl.FILES.items():
        data = (tmp_path / "cache" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == sha and hashlib.md5(data).hexdigest() == md5
        assert len(data) == size


@pytest.mark.parametrize("mode", ["cut", "garbage"])
def test_broken_download_leaves_no_file(tmp_path, monkeypatch, real_bytes, mode):
    with Server(real_bytes, mode=mode) as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        with pytest.raises(dl.FashionMNISTUnavailableError) as info:
            dl.download_fashion_mnist(tmp_path)
        assert len(server.requests) == 1  # no endless retrying
    message = str(info.value)
    assert fm.TRAIN_IMAGES in message and "subset='mini'" in message
    if mode == "garbage":
        assert "did not match its SHA-256" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file


def test_no_server_gives_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "BASE_URL", closed_port_url())
    monkeypatch.setattr(dl, "default_cache_dir", lambda: tmp_path / "cache")
    with pytest.raises(dl.FashionMNISTUnavailableError) as info:
        fm.load_data_fashion_mnist(256, "full")
    message = str(info.value)
    for needed in (*fm.FILE_NAMES, fm.ENV_VAR, "data_dir", str(tmp_path / "cache"),
                   "dataset-fashion-mnist", "subset='mini'", dl.BASE_URL):
        assert needed in message, needed
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_corrupted_cached_file_is_fetched_again(tmp_path, monkeypatch, real_bytes):
    cache = tmp_path / "cache"
    with Server(real_bytes) as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        dl.download_fashion_mnist(cache)
        good = (cache / fm.TEST_LABELS).read_bytes()
        damaged = bytearray(good)
        damaged[100] ^= 0xFF
        (cache / fm.TEST_LABELS).write_bytes(bytes(damaged))
        dl.download_fashion_mnist(cache)
        assert server.requests[4:] == [fm.TEST_LABELS]
    assert (cache / fm.TEST_LABELS).read_bytes() == good


def test_loader_downloads_end_to_end(tmp_path, monkeypatch, real_bytes):
    monkeypatch.setattr(dl, "default_cache_dir", lambda: tmp_path / "cache")
    with Server(real_bytes) as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        train_iter, test_iter = fm.load_data_fashion_mnist(1000, "full", flatten=True,
                                                           device="cpu")
        fm.load_data_fashion_mnist(1000, "full")
        assert len(server.requests) == 4
    assert train_iter.features.shape == (60000, 784) and test_iter.features.shape == (10000, 784)
    assert test_iter.labels[:10].tolist() == [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]
    assert len(train_iter) == 60 and len(test_iter) == 10
    for name, (sha, _, _) in dl.FILES.items():
        assert sha256(tmp_path / "cache" / name) == sha


@needs_real
def test_env_var_folder_works_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "BASE_URL", closed_port_url())
    monkeypatch.setattr(dl, "default_cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setenv(fm.ENV_VAR, str(REAL_DIR))
    train_X, train_y, _, _ = fm.fashion_mnist_tensors("full", device="cpu")
    assert train_X.shape == (60000, 1, 28, 28) and train_y[:10].tolist() == FIRST_TRAIN_LABELS
    assert not (tmp_path / "cache").exists()


# ---------------------------------------------------------------- the bundled mini subset

def test_mini_subset_is_balanced_and_matches_its_checksums():
    train_X, train_y, test_X, test_y = fm.fashion_mnist_tensors(device="cpu")
    assert train_X.shape == (5000, 1, 28, 28) and test_X.shape == (1000, 1, 28, 28)
    assert torch.bincount(train_y).tolist() == [500] * 10
    assert torch.bincount(test_y).tolist() == [100] * 10
    assert 0 <= train_X.min() and train_X.max() <= 1
    sums = (fm.MINI_DIR / "SHA256SUMS").read_text().split()
    listed = dict(zip(sums[1::2], sums[0::2]))
    assert sorted(listed) == sorted(fm.FILE_NAMES)
    for name, expected in listed.items():
        assert sha256(fm.MINI_DIR / name) == expected
    assert sum(p.stat().st_size for p in fm.MINI_DIR.iterdir()) < 4_000_000
    assert "Zalando SE" in (fm.MINI_DIR / "LICENSE").read_text()


def test_damaged_bundled_file_is_refused(tmp_path, monkeypatch):
    for p in fm.MINI_DIR.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    (tmp_path / fm.TEST_LABELS).write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\0"))
    monkeypatch.setattr(fm, "MINI_DIR", tmp_path)
    with pytest.raises(ValueError, match="damaged"):
        fm.fashion_mnist_tensors("mini")


@needs_real
def test_mini_subset_regenerates_byte_for_byte(tmp_path):
    dl.main(["--make-mini", str(REAL_DIR), str(tmp_path)])
    for name in (*fm.FILE_NAMES, "SHA256SUMS"):
        assert (tmp_path / name).read_bytes() == (fm.MINI_DIR / name).read_bytes(), name
    # And it is the first 500 / 100 images of each class, in file order.
    full = fm.fashion_mnist_tensors("full", data_dir=REAL_DIR, device="cpu")
    mini = fm.fashion_mnist_tensors("mini", device="cpu")
    for X, y, mX, my, n in ((*full[:2], *mini[:2], 500), (*full[2:], *mini[2:], 100)):
        keep = np.concatenate([np.flatnonzero(y.numpy() == c)[:n] for c in range(10)])
        keep.sort()
        assert torch.equal(my, y[keep]) and torch.equal(mX, X[keep])


# ---------------------------------------------------------------- the loader and the downloader

def run_python(*args: str) -> subprocess.CompletedProcess:
    """Run a fresh Python in the repository (so that nothing is imported yet)."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_the_mini_subset_loads_without_importing_the_downloader():
    result = run_python("-c", "import sys, d2lmini\n"
                              "d2lmini.load_data_fashion_mnist(256, device='cpu')\n"
                              "print('d2lmini.machinery.download' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_downloader_owns_a_checksum_for_each_file_the_loader_reads():
    assert tuple(dl.FILES) == fm.FILE_NAMES


@pytest.mark.parametrize("module", ["d2lmini.machinery.download"])
def test_the_command_line_runs_as_a_module(module):
    result = run_python("-m", module, "--help")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "--download" in result.stdout and "--make-mini" in result.stdout


# ---------------------------------------------------------------- arguments and batches

@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "256", 1001])
def test_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        fm.load_data_fashion_mnist(batch_size)


def test_unknown_subset():
    with pytest.raises(ValueError, match="subset.*'mini'.*'full'.*'tiny'"):
        fm.load_data_fashion_mnist(256, "tiny")
    with pytest.raises(ValueError, match="subset"):
        fm.fashion_mnist_tensors("FULL")


def devices():
    yield "cpu"
    if torch.cuda.is_available():
        yield "cuda"


@pytest.mark.parametrize("device", list(devices()))
def test_batches(device):
    train_iter, test_iter = fm.load_data_fashion_mnist(256, device=device)
    assert isinstance(train_iter, Batches) and isinstance(test_iter, Batches)
    batches = list(train_iter)
    assert len(batches) == 20 and [len(y) for _, y in batches][-1] == 5000 - 19 * 256
    X, y = batches[0]
    assert X.shape == (256, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert X.device.type == y.device.type == torch.device(device).type
    assert train_iter.features.device.type == torch.device(device).type
    # Shuffled: not the file order, a new order each epoch, the same order for the same seed.
    assert not torch.equal(y, train_iter.labels[:256])
    assert not torch.equal(y, next(iter(train_iter))[1])
    again, _ = fm.load_data_fashion_mnist(256, device=device)
    assert torch.equal(next(iter(again))[1], y)
    assert torch.equal(torch.cat([y for _, y in batches]).sort().values,
                       train_iter.labels.sort().values)
    # Test set: in order, last batch partial (1000 = 3 * 256 + 232).
    test_batches = list(test_iter)
    assert [len(y) for _, y in test_batches] == [256, 256, 256, 232]
    assert torch.equal(torch.cat([y for _, y in test_batches]), test_iter.labels)


def test_flatten_and_cache(monkeypatch):
    calls = []
    real_read = fm.read_idx_gz
    monkeypatch.setattr(fm, "read_idx_gz", lambda path: calls.append(path) or real_read(path))
    train_X, *_ = fm.fashion_mnist_tensors(device="cpu")
    train_X.zero_()  # changing what we got must not change what the next call gets
    flat_X, *_ = fm.fashion_mnist_tensors(device="cpu", flatten=True)
    train_iter, _ = fm.load_data_fashion_mnist(10, flatten=True, device="cpu")
    assert len(calls) == 4  # parsed once
    assert flat_X.shape == (5000, 784) and flat_X.max() == 1
    assert next(iter(train_iter))[0].shape == (10, 784)


# ---------------------------------------------------------------- faults (issue 13)

def test_text_labels_outside_0_to_9_are_refused():
    for bad in ([-1], [10], torch.tensor([3, 12])):
        with pytest.raises(ValueError, match=r"0\.\.9"):
            fm.get_fashion_mnist_labels(bad)


def fill(folder: Path, real_bytes, names=fm.FILE_NAMES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(real_bytes[name])
    return folder


@pytest.mark.parametrize("where", ["data_dir", "env"])
def test_a_named_folder_that_lacks_files_is_refused_naming_them(tmp_path, monkeypatch,
                                                                 real_bytes, where):
    monkeypatch.setattr(dl, "BASE_URL", closed_port_url())
    monkeypatch.setattr(dl, "default_cache_dir", lambda: tmp_path / "cache")
    three = fill(tmp_path / "three", real_bytes, fm.FILE_NAMES[:3])

    def load(folder):
        if where == "env":
            monkeypatch.setenv(fm.ENV_VAR, str(folder))
            return fm.load_data_fashion_mnist(256, "full")
        return fm.load_data_fashion_mnist(256, "full", data_dir=folder)

    name = "data_dir" if where == "data_dir" else fm.ENV_VAR
    with pytest.raises(dl.FashionMNISTUnavailableError) as info:
        load(three)
    assert str(info.value).startswith(f"{name}={str(three)!r} is missing {fm.TEST_LABELS} ")
    with pytest.raises(dl.FashionMNISTUnavailableError) as info:
        load(tmp_path / "typo")
    assert str(info.value).startswith(f"{name}={str(tmp_path / 'typo')!r} does not exist")
    assert not (tmp_path / "cache").exists()  # nothing was downloaded instead


def reports(children: list, results, timeout: float = 60.0) -> list:
    """What each child process put in results. Fails if one said nothing within `timeout` s,
    or did not end 10 s after; a child still running then is killed (none outlives the test)."""
    try:
        said = [results.get(timeout=timeout) for _ in children]
    except queue.Empty:
        said = None
    stuck = []
    for child in children:
        child.join(timeout=10)
        if child.is_alive():
            stuck.append(child.pid)
            child.kill()
            child.join(timeout=10)
    assert said is not None, f"a child process reported nothing within {timeout:.0f} s"
    assert not stuck, f"child processes {stuck} did not end 10 s after reporting (killed)"
    return said


def _repair(cache: Path, barrier, results) -> None:
    """In a child process: wait for the others, then check the cache and read from it."""
    try:
        barrier.wait(timeout=60)
        folder = dl.find_fashion_mnist()
        results.put(("ok", len(fm.read_idx_gz(folder / fm.TEST_LABELS))))
    except BaseException as err:  # report anything, so that the test can show it
        results.put(("error", f"{type(err).__name__}: {err}"))


def test_several_processes_repair_one_damaged_cache(tmp_path, monkeypatch, real_bytes):
    import multiprocessing

    cache = fill(tmp_path / "cache", real_bytes)
    damaged = bytearray(real_bytes[fm.TEST_IMAGES])
    damaged[100] ^= 0xFF
    (cache / fm.TEST_IMAGES).write_bytes(bytes(damaged))
    monkeypatch.setattr(dl, "default_cache_dir", lambda: cache)
    ctx = multiprocessing.get_context("fork")  # the children need no new imports: quick
    n = 4
    barrier, results = ctx.Barrier(n), ctx.Queue()
    with Server(real_bytes, delay=0.3) as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        children = [ctx.Process(target=_repair, args=(cache, barrier, results), daemon=True)
                    for _ in range(n)]
        for child in children:
            child.start()
        outcomes = reports(children, results)
    assert outcomes == [("ok", 10000)] * n
    assert 1 <= len(server.requests) <= n and set(server.requests) == {fm.TEST_IMAGES}
    assert (cache / fm.TEST_IMAGES).read_bytes() == real_bytes[fm.TEST_IMAGES]
    assert sorted(p.name for p in cache.iterdir()) == sorted(fm.FILE_NAMES)  # no temporary files


def _download_as_nobody(cache: Path, results) -> None:
    """In a child process: drop root's rights (root may write anywhere), then download."""
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    try:
        dl.download_fashion_mnist(cache)
        results.put("no error")
    except Exception as err:
        results.put(f"{type(err).__name__}: {err}")


@pytest.mark.parametrize("case", ["damaged file", "empty"])
def test_a_read_only_cache_says_so_and_what_to_do(monkeypatch, real_bytes, case):
    import multiprocessing
    import shutil
    import tempfile

    top = Path(tempfile.mkdtemp())  # not tmp_path: the unprivileged child must get into it
    try:
        top.chmod(0o755)
        cache = fill(top / "cache", real_bytes) if case == "damaged file" else top / "cache"
        cache.mkdir(exist_ok=True)
        if case == "damaged file":
            (cache / fm.TRAIN_LABELS).write_bytes(b"damaged")
        cache.chmod(0o555)
        monkeypatch.setattr(dl, "default_cache_dir", lambda: cache)
        ctx = multiprocessing.get_context("fork")
        results = ctx.Queue()
        with Server(real_bytes) as server:
            monkeypatch.setattr(dl, "BASE_URL", server.url)
            child = ctx.Process(target=_download_as_nobody, args=(cache, results), daemon=True)
            child.start()
            [message] = reports([child], results)
    finally:
        (top / "cache").chmod(0o755)
        shutil.rmtree(top)
    assert message.startswith(f"FashionMNISTUnavailableError: The cache folder {cache} is not "
                              f"writable")
    for advice in (fm.ENV_VAR, "data_dir=", "subset='mini'"):
        assert advice in message
    assert "copy the official files into" not in message


def download_in_background(cache, outcome: list) -> threading.Thread:
    """Start download_fashion_mnist(cache) in a thread; its error message goes to outcome."""
    def download():
        try:
            dl.download_fashion_mnist(cache)
        except dl.FashionMNISTUnavailableError as err:
            outcome.append(str(err))

    thread = threading.Thread(target=download, daemon=True)
    thread.start()
    return thread


def test_a_trickling_server_meets_the_deadline(tmp_path, monkeypatch, real_bytes):
    """One byte every 0.05 s: no read times out, but the whole download has a deadline."""
    monkeypatch.setattr(dl, "DEADLINE_GRACE", 0.5)
    monkeypatch.setattr(dl, "DEADLINE_SECONDS_PER_MB", 0.0)
    cache = tmp_path / "cache"
    outcome = []
    with Server(real_bytes, mode="trickle") as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        start = time.monotonic()
        thread = download_in_background(cache, outcome)
        thread.join(timeout=8)
        assert not thread.is_alive(), "the download ignored its deadline"
    assert 0.45 < time.monotonic() - start
    assert "did not finish in time" in outcome[0] and fm.TRAIN_IMAGES in outcome[0]
    assert list(cache.iterdir()) == []  # no temporary file left


def test_an_endless_server_is_cut_off_at_the_files_size(tmp_path, monkeypatch, real_bytes):
    cache = fill(tmp_path / "cache", real_bytes, fm.FILE_NAMES[:3])
    outcome = []
    with Server(real_bytes, mode="endless") as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        thread = download_in_background(cache, outcome)
        thread.join(timeout=8)
        assert not thread.is_alive(), "the download did not stop"
    size = dl.FILES[fm.TEST_LABELS].size
    assert f"the server sent more than the {size} bytes of {fm.TEST_LABELS}" in outcome[0]
    assert sorted(p.name for p in cache.iterdir()) == sorted(fm.FILE_NAMES[:3])


def test_a_wrong_content_length_is_refused_before_downloading(tmp_path, monkeypatch,
                                                              real_bytes):
    files = dict(real_bytes, **{fm.TEST_LABELS: real_bytes[fm.TEST_LABELS] * 2})
    with Server(files) as server, pytest.raises(dl.FashionMNISTUnavailableError,
                                                match=r"offered 10296 bytes .* has 5148"):
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        dl.download_fashion_mnist(fill(tmp_path, real_bytes, fm.FILE_NAMES[:3]))


def _download(cache: Path) -> None:
    dl.download_fashion_mnist(cache)


def test_leftovers_of_a_killed_download_are_cleaned_up(tmp_path, monkeypatch, real_bytes):
    import multiprocessing
    import signal

    cache = fill(tmp_path / "cache", real_bytes, fm.FILE_NAMES[:3])
    with Server(real_bytes, mode="trickle") as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        child = multiprocessing.get_context("fork").Process(target=_download, args=(cache,),
                                                            daemon=True)
        child.start()
        deadline = time.monotonic() + 10
        while not list(cache.glob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.025)
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=10)
        assert not child.is_alive(), "the killed download's process did not end in 10 s"
    leftovers = list(cache.glob("*.part"))
    assert leftovers, "the download wrote no partial file within 10 s"
    assert [p.name.split(".")[-3] for p in leftovers] == [str(child.pid)]
    alive = cache / f"{fm.TEST_LABELS}.{os.getpid()}.0a1b2c3d.part"  # a download going on now
    alive.write_bytes(b"partial")
    with Server(real_bytes) as server:
        monkeypatch.setattr(dl, "BASE_URL", server.url)
        dl.download_fashion_mnist(cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted([*fm.FILE_NAMES, alive.name])


# ---------------------------------------------------------------- is it Fashion-MNIST? (issue 25)

def idx(array: np.ndarray, level: int = 0) -> bytes:
    """A uint8 array as a gzip'd IDX file (level 0: stored, quick to write and to read)."""
    return gzip.compress(dl._idx_header(array) + array.tobytes(), compresslevel=level)


def foreign_set(case: str, real_bytes) -> dict[str, bytes]:
    """The four files of a set that is not Fashion-MNIST, built from the real ones."""
    files = dict(real_bytes)
    rng = np.random.default_rng(0)
    if case == "random images":
        files[fm.TEST_IMAGES] = idx(rng.integers(0, 256, (10000, 28, 28), dtype=np.uint8))
    elif case == "labels 0..25":
        files[fm.TRAIN_LABELS] = idx(rng.integers(0, 26, 60000, dtype=np.uint8))
    elif case == "1000 images":
        files[fm.TRAIN_IMAGES] = idx(np.zeros((1000, 28, 28), np.uint8))
        files[fm.TRAIN_LABELS] = idx(np.arange(1000, dtype=np.uint8) % 10)
    elif case == "swapped":
        for a, b in ((fm.TRAIN_IMAGES, fm.TEST_IMAGES), (fm.TRAIN_LABELS, fm.TEST_LABELS)):
            files[a], files[b] = real_bytes[b], real_bytes[a]
    elif case == "one label changed":
        labels = bytearray(gzip.decompress(real_bytes[fm.TEST_LABELS]))
        labels[8] = (labels[8] + 1) % 10
        files[fm.TEST_LABELS] = gzip.compress(bytes(labels))
    return files


FOREIGN = {  # case -> (the file named in the message, key words of the problem)
    "random images": (fm.TEST_IMAGES, "content is not the official one"),
    "labels 0..25": (fm.TRAIN_LABELS, "labels up to 25, but Fashion-MNIST's are 0..9"),
    "1000 images": (fm.TRAIN_IMAGES, "1000 images, but the full set's training file has 60000"),
    "swapped": (fm.TRAIN_IMAGES, "train and test files swapped?"),
    "one label changed": (fm.TEST_LABELS, "SHA-256 of its decompressed bytes differs"),
}


@pytest.mark.parametrize("case, where", [*((case, "data_dir") for case in FOREIGN),
                                         ("one label changed", "env")])
def test_a_set_that_is_not_fashion_mnist_is_refused_naming_the_file(tmp_path, monkeypatch,
                                                                     real_bytes, case, where):
    folder = tmp_path / "set"
    folder.mkdir()
    for name, data in foreign_set(case, real_bytes).items():
        (folder / name).write_bytes(data)
    if where == "env":
        monkeypatch.setenv(fm.ENV_VAR, str(folder))
    with pytest.raises(ValueError) as info:
        fm.load_data_fashion_mnist(256, "full", data_dir=folder if where == "data_dir" else None,
                                   device="cpu")
    name, problem = FOREIGN[case]
    message = str(info.value)
    assert message.startswith(f"{folder / name} is not Fashion-MNIST's {name}: ")
    assert problem in message
    how = "data_dir" if where == "data_dir" else fm.ENV_VAR
    assert f"point {how} at a folder that holds the four official files" in message


def test_a_re_gzipped_copy_of_the_official_files_loads(tmp_path, real_bytes):
    """Debian's package re-gzips the files: other .gz checksums, the same content."""
    folder = fill(tmp_path / "set", real_bytes)
    labels = gzip.decompress(real_bytes[fm.TEST_LABELS])
    (folder / fm.TEST_LABELS).write_bytes(gzip.compress(labels, compresslevel=1, mtime=1))
    assert sha256(folder / fm.TEST_LABELS) != dl.FILES[fm.TEST_LABELS].sha256
    *_, test_y = fm.fashion_mnist_tensors("full", data_dir=folder, device="cpu")
    assert test_y.tolist() == list(labels[8:])


def test_a_foreign_file_in_the_cache_is_to_be_deleted(tmp_path, monkeypatch, real_bytes):
    cache = fill(tmp_path / "cache", real_bytes)
    monkeypatch.setattr(dl, "default_cache_dir", lambda: cache)
    monkeypatch.setattr(dl, "BASE_URL", closed_port_url())
    monkeypatch.setitem(dl.CONTENT_SHA256, fm.TEST_LABELS, "0" * 64)  # as if it were foreign
    with pytest.raises(ValueError) as info:
        fm.fashion_mnist_tensors("full", device="cpu")
    assert str(info.value).startswith(f"{cache / fm.TEST_LABELS} is not Fashion-MNIST's ")
    assert "delete it from the cache folder" in str(info.value)


@pytest.fixture(scope="module")
def real_arrays():
    """The four official arrays, read once."""
    if not all((REAL_DIR / name).is_file() for name in fm.FILE_NAMES):
        pytest.skip(f"the real Fashion-MNIST files are not in {REAL_DIR}")
    return fm.read_set(REAL_DIR)


def test_each_file_is_hashed_once_until_it_changes(tmp_path, monkeypatch, real_bytes,
                                                   real_arrays):
    folder = fill(tmp_path / "set", real_bytes)
    monkeypatch.setattr(dl, "read_set", lambda _: real_arrays)  # the check, not the parse
    hashed = []
    real_hash = dl._content_sha256
    monkeypatch.setattr(dl, "_content_sha256", lambda a: hashed.append(a.shape) or real_hash(a))
    assert dl.read_full_set(folder) is real_arrays and len(hashed) == 4
    dl.read_full_set(folder)
    assert len(hashed) == 4  # the verdicts were kept
    stat = (folder / fm.TEST_LABELS).stat()
    os.utime(folder / fm.TEST_LABELS, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    dl.read_full_set(folder)
    assert hashed[4:] == [(10000,)]  # only the file that changed is hashed again


# ---------------------------------------------------------------- unreadable files (issue 25)

def deny(monkeypatch, method: str, denied: Path) -> None:
    """Make Path.<method> raise PermissionError for denied (root could read it anyway)."""
    real = getattr(Path, method)

    def guarded(self, *args, **kwargs):
        if self == denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, guarded)


def test_an_unreadable_file_is_named_with_what_to_do(tmp_path, monkeypatch):
    folder = tmp_path / "set"
    folder.mkdir()
    for name in fm.FILE_NAMES:
        (folder / name).write_bytes(b"")
    deny(monkeypatch, "read_bytes", folder / fm.TRAIN_IMAGES)
    with pytest.raises(PermissionError) as info:
        fm.fashion_mnist_tensors("full", data_dir=folder, device="cpu")
    assert str(info.value).startswith(f"cannot read {folder / fm.TRAIN_IMAGES}: permission "
                                      f"denied")
    assert "chmod a+r" in str(info.value) and info.value.__suppress_context__
    deny(monkeypatch, "read_bytes", fm.MINI_DIR / "SHA256SUMS")  # the bundled subset too
    with pytest.raises(PermissionError, match="cannot read .*SHA256SUMS: permission denied"):
        fm.fashion_mnist_tensors("mini", device="cpu")


def test_an_unreadable_folder_is_named_with_what_to_do(tmp_path, monkeypatch):
    folder = tmp_path / "set"
    folder.mkdir()
    deny(monkeypatch, "is_file", folder / fm.TRAIN_IMAGES)  # as a folder without x permission
    with pytest.raises(dl.FashionMNISTUnavailableError) as info:
        fm.fashion_mnist_tensors("full", data_dir=folder, device="cpu")
    message = str(info.value)
    assert message.startswith(f"data_dir={str(folder)!r} cannot be read: permission denied")
    assert "chmod a+rx" in message and "point data_dir at a folder" in message


def test_an_unreadable_cached_file_is_named_with_what_to_do(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / fm.TRAIN_IMAGES).write_bytes(b"")

    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(dl, "_file_checksums", denied)
    with pytest.raises(dl.FashionMNISTUnavailableError) as info:
        dl.download_fashion_mnist(cache)
    message = str(info.value)
    assert message.startswith(f"{cache / fm.TRAIN_IMAGES} in the cache folder cannot be read")
    assert "delete it" in message and "data_dir=" in message


# ---------------------------------------------------------------- arguments (issue 25)

@pytest.mark.parametrize("data_dir", ["missing", "a file", "the full set"])
def test_data_dir_with_the_mini_subset_is_refused(tmp_path, data_dir):
    folder = {"missing": tmp_path / "typo", "a file": tmp_path / "notes.txt",
              "the full set": tmp_path}[data_dir]
    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(ValueError, match=r"data_dir=.* is used only with subset='full'"):
        fm.load_data_fashion_mnist(256, data_dir=folder)


@pytest.mark.parametrize("seed", ["abc", 1.5, True, 2**64])
def test_a_shuffle_seed_that_is_not_an_integer_is_named(seed):
    with pytest.raises(ValueError, match=r"^shuffle_seed must be an integer .* or None"):
        fm.load_data_fashion_mnist(256, shuffle_seed=seed, device="cpu")


def test_a_device_without_cuda_is_named_with_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda', but torch sees no CUDA GPU.*"
                                         r"d2lmini\.try_gpu\(\)"):
        fm.load_data_fashion_mnist(256, device="cuda")
    with pytest.raises(ValueError, match=r"device must be a device such as 'cpu'.*, got 'gpu'"):
        fm.fashion_mnist_tensors(device="gpu")
