"""One builder per reference-set cache file: the others wait for it and read its file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from filelock import FileLock, Timeout

from domains._cache import cache_lock, lock_path
from domains.car import CarDomain
from domains.molecules import MoleculeDomain
from domains.molecules._data import cache_path


def _hold(lock_file, held: threading.Event, release: threading.Event, before_release=None):
    """Another builder: take the lock, wait to be told, optionally write the cache, release."""
    with FileLock(str(lock_file)):
        held.set()
        release.wait(10)
        if before_release is not None:
            before_release()


def _read_while_another_builds(read, source, target):
    """Call ``read`` while another holder has ``target``'s lock; it writes ``target`` (a copy
    of ``source``) just before it releases, 0.3 s later. Returns what ``read`` returned."""

    def write_cache():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)

    held, release = threading.Event(), threading.Event()
    other = threading.Thread(target=_hold, args=(lock_path(target), held, release, write_cache))
    other.start()
    assert held.wait(10)
    threading.Timer(0.3, release.set).start()
    try:
        return read()
    finally:
        other.join(10)


def test_a_second_builder_waits_for_the_first_and_says_so(tmp_path, capsys):
    path = tmp_path / "reference.npz"
    held, release = threading.Event(), threading.Event()
    other = threading.Thread(target=_hold, args=(lock_path(path), held, release))
    other.start()
    assert held.wait(10)
    entered = []

    def body():
        with cache_lock(path, "car"):
            entered.append(time.monotonic())

    mine = threading.Thread(target=body)
    mine.start()
    time.sleep(0.3)
    assert entered == []  # still waiting for the other builder
    released_at = time.monotonic()
    release.set()
    mine.join(10)
    other.join(10)
    assert entered and entered[0] >= released_at
    err = capsys.readouterr().err
    assert "car: waiting for another process building the same cache" in err
    assert str(path) in err


def test_no_cache_and_an_unlockable_folder_run_unlocked(tmp_path, capsys):
    ran = []
    with cache_lock(None, "car"):
        ran.append(1)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache folder should be")
    with (
        pytest.warns(RuntimeWarning, match=r"car: cannot lock or cache in .*file/sub"),
        cache_lock(blocked / "sub" / "reference.npz", "car"),  # no lock file can be made
    ):
        ran.append(2)
    assert ran == [1, 2]
    assert "waiting" not in capsys.readouterr().err


def test_an_error_inside_releases_the_lock(tmp_path):
    path = tmp_path / "reference.npz"
    with pytest.raises(RuntimeError, match="boom"), cache_lock(path, "car"):
        raise RuntimeError("boom")
    lock = FileLock(str(lock_path(path)))
    lock.acquire(timeout=0)  # free again
    lock.release()


def test_car_reads_the_set_another_process_built_while_it_waited(tmp_path):
    opts = {"n_reference": 12, "workers": 0, "sim_time": 4.0, "track_seeds": (0,)}
    first = CarDomain(cache_dir=tmp_path / "a", **opts)
    built = first.reference_data()
    source = first.cache_path()
    second = CarDomain(cache_dir=tmp_path / "b", **opts)
    target = second.cache_path()
    assert not target.exists()

    # waits, then finds the file: nothing simulated
    ref = _read_while_another_builds(second.reference_data, source, target)
    assert second.reference_from_cache
    assert second._oracle is None or second.oracle.n_evaluations == 0
    np.testing.assert_array_equal(ref.y, built.y)
    assert os.path.exists(lock_path(target))
    first.close()
    second.close()


def test_molecules_read_the_set_another_process_labelled_while_they_waited(tmp_path):
    first = MoleculeDomain("qed", n_reference=20, seed=1, cache_dir=tmp_path / "a")
    built = first.reference_data()
    source = cache_path(first.cache_dir, first._cache_key())
    second = MoleculeDomain("qed", n_reference=20, seed=1, cache_dir=tmp_path / "b")
    target = cache_path(second.cache_dir, second._cache_key())
    assert source.exists() and not target.exists()

    ref = _read_while_another_builds(second.reference_data, source, target)
    assert second.data_report_["from_cache"] == str(target)
    np.testing.assert_array_equal(ref.y, built.y)


def test_a_killed_builder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "reference.npz"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from filelock import FileLock; "
            f"lock = FileLock({str(lock_path(path))!r}); lock.acquire(); print('held', flush=True); "
            "time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = FileLock(str(lock_path(path)))
        with pytest.raises(Timeout):
            lock.acquire(timeout=0)  # the other process holds it
        holder.kill()  # a builder killed mid-build (SIGKILL: no clean-up runs)
        holder.wait(10)
        t = time.monotonic()
        with cache_lock(path, "car"):
            pass
        assert time.monotonic() - t < 5  # the OS released it with the process
    finally:
        holder.kill()
        holder.stdout.close()
