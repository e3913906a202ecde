"""The full Fashion-MNIST set: find it, download it, repair the cache; rebuild the mini subset.

``read_full_set(data_dir)`` is what the loader (``d2lmini.fashion_mnist``) calls for
``subset="full"``: it finds the four files (``find_fashion_mnist``), reads them, and checks that
they are Fashion-MNIST. A folder you name (``data_dir``, or else the environment variable
``D2LMINI_DATA``) is used if it holds the four files, or refused with a message that says which
file it lacks. If you name none, a per-user cache folder (``default_cache_dir()``) is used, and
filled by a download the first time.

Whichever way the files were found, their content must be the official one: 60000 training and
10000 test images of 28x28, labels 0..9, and the SHA-256 of each file's decompressed IDX bytes
(``CONTENT_SHA256``; Debian's package re-gzips the files, which changes the .gz checksums but not
these). A good verdict is kept for the process, per file (its path, size and modification time),
so that loading the same files again skips the hashing (about 0.03 s).

Downloads: each file goes to a temporary file ``<name>.<process id>.<random>.part`` in the
cache folder and replaces the cached file (in one atomic rename) only when its size and
SHA-256 are right, so an interrupted or damaged download never leaves a file that is trusted
later, and several processes repairing the same cache at once all end with the good files.
Cached files are checked against their SHA-256 and MD5 each time the cache is used, and
fetched again if they differ; temporary files left by killed downloads are deleted then too.
A download stops when more bytes arrive than the official file has, when no byte arrives for
``READ_TIMEOUT`` (30) seconds, and at its deadline: 60 s plus 50 s per MB to fetch, i.e.
about 27 minutes for all four files (31 MB). Any connection faster than about 20 kB/s
finishes in time.

Run ``python -m d2lmini.machinery.download --download`` to download the full set ahead of
time, or ``--make-mini SOURCE_DIR OUT_DIR`` to rebuild the bundled mini subset.
"""

import argparse
import errno
import gzip
import hashlib
import http.client
import os
import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..fashion_mnist import (
    ENV_VAR,
    TEST_IMAGES,
    TEST_LABELS,
    TEST_SIZE,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    TRAIN_SIZE,
    read_set,
)

# Where the official files live (the ones torchvision downloads). Tests point it elsewhere.
BASE_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
READ_TIMEOUT = 30  # seconds to connect, and to wait for the next bytes
DEADLINE_GRACE = 60  # seconds a download may take in all: this, plus
DEADLINE_SECONDS_PER_MB = 50  # this per MB (1e6 bytes) to fetch, i.e. at least 20 kB/s
PART_SUFFIX = ".part"  # temporary files: <name>.<process id>.<random>.part
MINI_PER_CLASS = {"train": 500, "test": 100}


class FileInfo(NamedTuple):
    """What an official file must be: its SHA-256, MD5 (torchvision's) and size in bytes."""

    sha256: str
    md5: str
    size: int


FILES = {
    TRAIN_IMAGES: FileInfo(
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26421880),
    TRAIN_LABELS: FileInfo(
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "25c81989df183df01b3e8a0aad5dffbe", 29515),
    TEST_IMAGES: FileInfo(
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "bef4ecab320f06d8554ea6380940ec79", 4422102),
    TEST_LABELS: FileInfo(
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        "bb300cfdad3c16e7a12a480ee83cd310", 5148),
}


# The SHA-256 of each file's content, i.e. of its decompressed IDX bytes (header and data), made
# once from the official files with
#   python -c "import gzip, hashlib, sys; print(hashlib.sha256(gzip.decompress(
#              open(sys.argv[1], 'rb').read())).hexdigest())" FILE
# They hold for any gzip of the same bytes (Debian's re-gzipped copies too).
CONTENT_SHA256 = {
    TRAIN_IMAGES: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    TRAIN_LABELS: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    TEST_IMAGES: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    TEST_LABELS: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_verified: set[tuple[str, int, int]] = set()  # (path, size, mtime_ns) of files found good


class FashionMNISTUnavailableError(RuntimeError):
    """The full Fashion-MNIST files are neither on this computer nor downloadable."""


def _file_checksums(path: Path) -> tuple[str, str]:
    """Return the (SHA-256, MD5) of a file, reading it once."""
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha256.update(chunk)
            md5.update(chunk)
    return sha256.hexdigest(), md5.hexdigest()


# ---------------------------------------------------------------- finding and downloading

def default_cache_dir() -> Path:
    """Return the per-user folder that the full set is downloaded into."""
    import pooch  # imported here so that `import d2lmini` stays quick

    return Path(pooch.os_cache("d2lmini")) / "fashion-mnist"


def _how_to_get_files(reason: str) -> str:
    names = "\n".join(f"    {name}" for name in FILES)
    return (
        f"The full Fashion-MNIST set is not on this computer and could not be downloaded "
        f"from {BASE_URL} ({reason}).\n"
        f"To use it offline, put these four files\n{names}\n"
        f"into a folder and pass data_dir='that/folder', or set the environment variable "
        f"{ENV_VAR}=that/folder, or copy the official files into {default_cache_dir()}.\n"
        f"Debian's package dataset-fashion-mnist also has them "
        f"(`dpkg -L dataset-fashion-mnist` shows where).\n"
        f"subset='mini' (the default) works offline."
    )


def _not_writable(folder: Path, err: OSError, name: str) -> FashionMNISTUnavailableError:
    return FashionMNISTUnavailableError(
        f"The cache folder {folder} is not writable ({err.strerror or err}), so {name} cannot "
        f"be downloaded or repaired there. Instead, put the four official files into a folder "
        f"of your own and pass data_dir='that/folder', or set the environment variable "
        f"{ENV_VAR}=that/folder (or make {folder} writable). subset='mini' works without them.")


class _DownloadError(Exception):
    """A download that did not give the expected file; the message says why."""


def _is_running(pid: int) -> bool:
    """True if a process with this id may still be running on this computer."""
    if os.name != "posix":  # os.kill(pid, 0) would not just ask on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. it belongs to another user
        return True
    return True


def _remove_leftovers(folder: Path) -> None:
    """Delete temporary files of downloads that were killed (their process is gone)."""
    oldest = time.time() - _deadline_seconds(sum(info.size for info in FILES.values()))
    for path in folder.glob(f"*{PART_SUFFIX}"):
        name, _, rest = path.name.partition(".gz.")
        pid = rest.split(".")[0]
        if f"{name}.gz" not in FILES or not pid.isdigit():
            continue
        try:
            if not _is_running(int(pid)) or path.stat().st_mtime < oldest:
                path.unlink()
        except OSError:  # gone already (another process cleaned it) or read-only
            pass


def _deadline_seconds(size: int) -> float:
    """Seconds a download of size bytes may take in all (see the module's docstring)."""
    return DEADLINE_GRACE + DEADLINE_SECONDS_PER_MB * size / 1e6


def _fetch(name: str, folder: Path, deadline: float) -> None:
    """Download name into folder through a temporary file; rename it only if it is right."""
    info = FILES[name]
    part = folder / f"{name}.{os.getpid()}.{secrets.token_hex(4)}{PART_SUFFIX}"
    try:
        with open(part, "wb") as out:
            sha256, got = hashlib.sha256(), 0
            with urllib.request.urlopen(BASE_URL + name, timeout=READ_TIMEOUT) as response:
                promised = response.headers.get("Content-Length")
                if promised is not None and promised.isdigit() and int(promised) != info.size:
                    raise _DownloadError(f"the server offered {promised} bytes for {name}, "
                                         f"which has {info.size}")
                while chunk := response.read1(1 << 16):  # returns as soon as bytes arrive
                    got += len(chunk)
                    if got > info.size:
                        raise _DownloadError(f"the server sent more than the {info.size} bytes "
                                             f"of {name}; stopped")
                    if time.monotonic() > deadline:
                        raise _DownloadError(
                            f"the download did not finish in time ({got} of {info.size} bytes "
                            f"of {name} had arrived): the connection is too slow or stalled")
                    out.write(chunk)
                    sha256.update(chunk)
        if got != info.size:
            raise _DownloadError(f"only {got} of the {info.size} bytes of {name} arrived")
        if sha256.hexdigest() != info.sha256:
            raise _DownloadError(f"the {name} that arrived did not match its SHA-256 checksum; "
                                 f"deleted it")
        os.replace(part, folder / name)  # atomic: readers see the old file or the new one
    finally:
        part.unlink(missing_ok=True)


def download_fashion_mnist(folder: str | os.PathLike | None = None) -> Path:
    """Make sure folder (default: the cache) holds the four official files; return it."""
    folder = Path(folder) if folder is not None else default_cache_dir()
    todo = []
    for name, info in FILES.items():
        path = folder / name
        try:
            if path.is_file() and _file_checksums(path) != (info.sha256, info.md5):
                print(f"{path} is damaged (its checksum is wrong); downloading it again")
            elif path.is_file():
                continue
        except PermissionError as err:
            raise FashionMNISTUnavailableError(
                f"{err.filename or path} in the cache folder cannot be read (permission "
                f"denied). Make it readable for your user (or delete it, so that it is "
                f"downloaded again), or put the four official files into a folder of your own "
                f"and pass data_dir='that/folder' (or set {ENV_VAR}=that/folder).") from None
        todo.append(name)
    if folder.is_dir():
        _remove_leftovers(folder)
    if not todo:
        return folder
    deadline = time.monotonic() + _deadline_seconds(sum(FILES[name].size for name in todo))
    for name in todo:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _fetch(name, folder, deadline)
        except PermissionError as err:  # a damaged file stays until it can be replaced
            raise _not_writable(folder, err, name) from None
        except OSError as err:
            if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS) and not isinstance(
                    err, urllib.error.URLError):
                raise _not_writable(folder, err, name) from None
            reason = f"{type(err).__name__} while fetching {name}: {err}"
            raise FashionMNISTUnavailableError(_how_to_get_files(reason)) from None
        except (_DownloadError, http.client.HTTPException) as err:
            reason = str(err) if isinstance(err, _DownloadError) else (
                f"{type(err).__name__} while fetching {name}")
            raise FashionMNISTUnavailableError(_how_to_get_files(reason)) from None
    return folder


def _check_folder(folder: Path, how: str) -> Path:
    """Return folder if it holds the four files; else raise, saying what is missing."""
    try:
        if not folder.is_dir():
            problem = "does not exist" if not folder.exists() else "is not a folder"
            raise FashionMNISTUnavailableError(
                f"{how}={str(folder)!r} {problem} (looked for {folder.absolute()}). Point it at "
                f"the folder that holds the four Fashion-MNIST files ({', '.join(FILES)}), or "
                f"leave it out to use the cache folder {default_cache_dir()} (downloaded when "
                f"needed).")
        missing = [name for name in FILES if not (folder / name).is_file()]
    except PermissionError as err:
        raise FashionMNISTUnavailableError(
            f"{how}={str(folder)!r} cannot be read: permission denied for "
            f"{err.filename or folder}. Make the folder readable for your user (chmod a+rx), "
            f"or point {how} at a folder of your own that holds the four files.") from None
    if missing:
        what = (f"holds none of the four Fashion-MNIST files ({', '.join(FILES)})"
                if len(missing) == len(FILES) else
                f"is missing {', '.join(missing)} (it must hold all four Fashion-MNIST files)")
        raise FashionMNISTUnavailableError(
            f"{how}={str(folder)!r} {what}. Put the missing files there, or leave it out to "
            f"use the cache folder {default_cache_dir()} (downloaded when needed).")
    return folder


def _named_folder(data_dir: str | os.PathLike | None) -> tuple[str, Path] | None:
    """(how, folder) for the folder the learner named (data_dir, else $D2LMINI_DATA), or None."""
    if data_dir is not None and str(data_dir) != "":
        return "data_dir", Path(data_dir)
    if os.environ.get(ENV_VAR):
        return ENV_VAR, Path(os.environ[ENV_VAR])
    return None


def find_fashion_mnist(data_dir: str | os.PathLike | None = None) -> Path:
    """Return a folder with the four full-set files: data_dir, $D2LMINI_DATA, or the cache.

    A folder you name (data_dir, or $D2LMINI_DATA when data_dir is None) is used if it holds
    the four files (Debian's re-gzipped copies have other .gz checksums, so read_full_set checks
    their content instead), or refused with a message that says what is missing in it. Only
    when neither is given is the cache folder used, and filled or repaired by a download.
    """
    named = _named_folder(data_dir)
    if named is not None:
        return _check_folder(named[1], named[0])
    return download_fashion_mnist(default_cache_dir())


def _stamp(path: Path) -> tuple[str, int, int]:
    """What identifies a file's version: its path, size and modification time (ns)."""
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


def _content_sha256(array: np.ndarray) -> str:
    """The SHA-256 of the IDX bytes that read_idx_gz parsed array from (header and data)."""
    digest = hashlib.sha256(_idx_header(array))
    digest.update(np.ascontiguousarray(array))
    return digest.hexdigest()


def _problems(arrays: tuple[np.ndarray, ...]) -> dict[str, str]:
    """What is wrong with each file's arrays (name -> problem); {} if counts and labels fit."""
    n_train, n_test = len(arrays[0]), len(arrays[2])
    if (n_train, n_test) == (TEST_SIZE, TRAIN_SIZE):
        return {TRAIN_IMAGES: f"train and test files swapped? (it holds {TEST_SIZE} images "
                              f"and the test file {TEST_IMAGES} holds {TRAIN_SIZE})"}
    problems = {}
    for name, n, expected, split in ((TRAIN_IMAGES, n_train, TRAIN_SIZE, "training"),
                                     (TEST_IMAGES, n_test, TEST_SIZE, "test")):
        if n != expected:
            problems[name] = (f"it holds {n} images, but the full set's {split} file has "
                              f"{expected} (a subset, or another data set?)")
    for name, labels in ((TRAIN_LABELS, arrays[1]), (TEST_LABELS, arrays[3])):
        if labels.size and labels.max() > 9:
            problems[name] = (f"it holds labels up to {labels.max()}, but Fashion-MNIST's are "
                              f"0..9 (another data set?)")
    return problems


def read_full_set(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, ...]:
    """Find the full set (see find_fashion_mnist), read its four arrays, check they are it."""
    folder = find_fashion_mnist(data_dir)
    # Stamped before reading: a file changed after that gets a new stamp, so it is checked again.
    stamps = {name: _stamp(folder / name) for name in FILES}
    arrays = read_set(folder)
    problems = _problems(arrays)
    for name, array in zip(FILES, arrays):
        if (name not in problems and stamps[name] not in _verified
                and _content_sha256(array) != CONTENT_SHA256[name]):
            problems[name] = ("its counts and labels look right, but its content is not the "
                              "official one (the SHA-256 of its decompressed bytes differs: "
                              "an image or a label changed?)")
    if not problems:
        _verified.update(stamps.values())
        return arrays
    name, problem = next(iter(problems.items()))
    named = _named_folder(data_dir)
    if named is None:
        fix = "delete it from the cache folder, so that the next load downloads it again"
    else:
        fix = (f"point {named[0]} at a folder that holds the four official files (or leave "
               f"data_dir and {ENV_VAR} out, to download them into the cache)")
    raise ValueError(f"{folder / name} is not Fashion-MNIST's {name}: {problem}. To fix it, "
                     f"{fix}.")


# ---------------------------------------------------------------- the bundled mini subset

def _idx_header(array: np.ndarray) -> bytes:
    """The IDX header of a uint8 array: 0, 0, 8 (unsigned byte), ndim, then each dimension."""
    return bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()


def _write_idx_gz(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip'd IDX file, byte for byte the same on every run."""
    with open(path, "wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f,
                                              compresslevel=9, mtime=0) as gz:
        gz.write(_idx_header(array) + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def make_mini_subset(source_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write the mini subset (first 500 train / 100 test images per class) into out_dir."""
    source_dir, out_dir = Path(source_dir), Path(out_dir)
    arrays = read_set(source_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sums = []
    for (img_name, lab_name), images, labels, split in (
            ((TRAIN_IMAGES, TRAIN_LABELS), arrays[0], arrays[1], "train"),
            ((TEST_IMAGES, TEST_LABELS), arrays[2], arrays[3], "test")):
        # Keep an image if fewer than N earlier images have its class: the first N per class.
        one_hot = labels[:, None] == np.arange(10)
        rank_in_class = (np.cumsum(one_hot, axis=0) - 1)[np.arange(len(labels)), labels]
        keep = rank_in_class < MINI_PER_CLASS[split]
        for name, array in ((img_name, images[keep]), (lab_name, labels[keep])):
            _write_idx_gz(out_dir / name, array)
            sums.append(f"{_file_checksums(out_dir / name)[0]}  {name}\n")
    (out_dir / "SHA256SUMS").write_text("".join(sums))
    return out_dir


def main(argv: list[str] | None = None) -> None:
    """Command line: download the full set, or rebuild the bundled mini subset."""
    parser = argparse.ArgumentParser(prog="python -m d2lmini.machinery.download",
                                     description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--download", nargs="?", const="", metavar="FOLDER",
                       help="download the full set into FOLDER (default: the cache folder)")
    group.add_argument("--make-mini", nargs=2, metavar=("SOURCE_DIR", "OUT_DIR"),
                       help="write the mini subset made from the full files in SOURCE_DIR")
    args = parser.parse_args(argv)
    if args.make_mini:
        print(f"wrote {make_mini_subset(*args.make_mini)}")
    else:
        print(f"the four files are in {download_fashion_mnist(args.download or None)}")


if __name__ == "__main__":
    main()
