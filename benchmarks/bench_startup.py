"""Start-up benchmark: from the server process starting (`python app.py`, what `make run` runs) to
the first race drawn in a browser that was already open (headless Chromium), on a fresh clone
and on a second start.

- "fresh clone": a copy of the working tree without its caches, as after `git clone`: no
  compiled rules (numba's cache) and no bytecode in `__pycache__`, and an empty cache of typed
  formulas (XDG_CACHE_HOME); the installed packages are the same virtual environment's;
- "second start": the same copy again, with the caches its first start left.

Reported per round: when the server first answered, and when the page showed the first frame of
its race (`OptimizerRace.state().firstFrameAt`); medians over the rounds, fresh and second
starts alternating (bars: 20 s and 5 s).

    python -m benchmarks.bench_startup [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from .bench_browser import ROOT, browser, free_port, wait_for


UNCLONED = shutil.ignore_patterns(".git", ".venv", "__pycache__", "node_modules", "*.pyc", "*.nbi", "*.nbc")


def one_start(driver, clone: str) -> dict:
    """Start the app of the copy `clone`; seconds from the process starting to its first answer
    and to the first race drawn in the already open browser."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "PYTHONPYCACHEPREFIX")}
    env["XDG_CACHE_HOME"] = os.path.join(clone, ".test-cache")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=clone, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the app exited")
            if time.monotonic() - t0 > 120:
                raise TimeoutError("the app did not answer within 120 s")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.02)
        answered = time.monotonic() - t0
        driver.get(f"http://127.0.0.1:{port}/")
        wait_for(driver, "const s = window.OptimizerRace && window.OptimizerRace.state();"
                         "return s && s.firstFrameAt;", 120)
        drawn = time.monotonic() - t0
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"answered": answered, "drawn": drawn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    driver = browser(1366, 768)
    results = {"fresh clone": [], "second start": []}
    try:
        driver.get("about:blank")
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory(prefix="optimizer-race-start-") as where:
                clone = os.path.join(where, "optimizer-race")
                shutil.copytree(ROOT, clone, ignore=UNCLONED)
                results["fresh clone"].append(one_start(driver, clone))
                results["second start"].append(one_start(driver, clone))
    finally:
        driver.quit()
    print(f"server process start → first race drawn in an open browser (1366 × 768), "
          f"{args.rounds} rounds, medians:")
    for name, bar in (("fresh clone", 20), ("second start", 5)):
        runs = results[name]
        drawn = [r["drawn"] for r in runs]
        print(f"  {name:12s}: drawn at {statistics.median(drawn):5.1f} s (range {min(drawn):.1f}–{max(drawn):.1f}; "
              f"bar {bar} s), the server answering at {statistics.median(r['answered'] for r in runs):.1f} s")


if __name__ == "__main__":
    main()
