"""Fault drills for bench/RESULTS.md's "faults" table.

outage  `winterdays serve` (gunicorn, as in production) runs a real day (export, compile, invoke, wait)
        on a small generated history; while `invoke` runs, the Firestore emulator is SIGSTOPped for
        --outage-s seconds (it holds every connection and answers nothing, the worst kind of outage),
        then SIGCONTed. Measured: /healthz latency during the outage against the same probe before it
        (the baseline, this run), what GET /runs and POST /runs answer during it and how fast, the time
        from the emulator's return until GET /runs/<id> answers 200, the run's final state, and runs
        lost: accepted POSTs whose run the ledger does not hold at the end.
kill    pytest tests/test_kill_resume.py: the server's whole process group SIGKILLed once in each of the
        five steps, restarted, the same POST resumes the same run; gold must equal an uninterrupted run's.

  .venv/bin/python bench/faults.py [--drill outage|kill|all] [--outage-s 20]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.orchestration import served_history  # noqa: E402
from lakehouse.emulator import FirestoreEmulator  # noqa: E402

FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 1, 14)
STEPS = ["export", "compile", "invoke", "wait"]


def call(port: int, method: str, path: str, body: dict | None = None, timeout: float = 120) -> tuple[int, float, dict]:
    """(status, seconds, JSON body) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http://127.0.0.1 only
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    return status, time.perf_counter() - started, json.loads(raw or b"{}")


def healthz_ms(port: int, samples: int, pause_s: float = 0.1) -> list[float]:
    latencies = []
    for _ in range(samples):
        latencies.append(call(port, "GET", "/healthz", timeout=30)[1] * 1000)
        time.sleep(pause_s)
    return latencies


def outage(outage_s: float) -> dict:
    with served_history(FIRST, LAST) as (port, emulator):
        baseline = healthz_ms(port, 20)
        status, _, accepted = call(port, "POST", "/runs", {"date": LAST.isoformat(), "steps": STEPS,
                                                           "full_export": True, "wait": False})
        if status != 202:
            raise SystemExit(f"POST /runs answered {status}: {accepted}")
        run_id = accepted["run_id"]
        wait_for_step(port, run_id, "invoke")
        result = during_outage(port, emulator, outage_s)
        back = time.perf_counter()
        while call(port, "GET", f"/runs/{run_id}")[0] != 200:
            time.sleep(0.1)
        recovered_s = time.perf_counter() - back
        final = wait_for_end(port, run_id)
        ended_s = time.perf_counter() - back
        accepted_ids = [run_id] + result.pop("accepted_ids")
        lost = [r for r in accepted_ids if call(port, "GET", f"/runs/{r}")[0] != 200]
        return {"outage_s": outage_s, "healthz_ms_before_median": statistics.median(baseline),
                "healthz_ms_before_max": max(baseline), **result, "recovered_s": round(recovered_s, 2),
                "run_ended_after_return_s": round(ended_s, 2),
                "run_state": final["state"], "steps": {k: v["state"] for k, v in final["steps"].items()},
                "runs_accepted": len(accepted_ids), "runs_lost": len(lost)}


def during_outage(port: int, emulator: FirestoreEmulator, outage_s: float) -> dict:
    """SIGSTOP the emulator for `outage_s`: /healthz probed every 0.1 s by a thread of its own meanwhile,
    GET /runs and POST /runs (another date) one after the other."""
    os.killpg(emulator.process.pid, signal.SIGSTOP)
    ends = time.monotonic() + outage_s
    health: list[float] = []
    prober = threading.Thread(target=lambda: health.extend(healthz_ms(port, int(outage_s * 10) - 5)), daemon=True)
    prober.start()
    ledger, posts, accepted_ids = [], [], []
    try:
        while time.monotonic() < ends:
            status, seconds, _ = call(port, "GET", "/runs")
            ledger.append((status, seconds))
            status, seconds, body = call(port, "POST", "/runs", {"date": (LAST - dt.timedelta(days=1)).isoformat(),
                                                                 "steps": ["export"], "wait": False})
            posts.append((status, seconds))
            if status in (200, 202):
                accepted_ids.append(body["run_id"])
        prober.join()
    finally:
        os.killpg(emulator.process.pid, signal.SIGCONT)
    return {"healthz_ms_during_median": statistics.median(health), "healthz_ms_during_max": max(health),
            "healthz_samples": len(health),
            "get_runs_during": sorted({s for s, _ in ledger}), "get_runs_s_max": round(max(t for _, t in ledger), 2),
            "post_runs_during": sorted({s for s, _ in posts}), "post_runs_s_max": round(max(t for _, t in posts), 2),
            "accepted_ids": accepted_ids}


def wait_for_step(port: int, run_id: str, step: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, run = call(port, "GET", f"/runs/{run_id}")
        if status == 200 and run["steps"][step]["state"] == "RUNNING":
            return
        time.sleep(0.05)
    raise SystemExit(f"step {step} of run {run_id} never ran")


def wait_for_end(port: int, run_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, run = call(port, "GET", f"/runs/{run_id}")
        if status == 200 and run["state"] in ("SUCCEEDED", "FAILED"):
            return run
        time.sleep(0.5)
    raise SystemExit(f"run {run_id} did not end within {timeout:.0f} s")


def kill() -> dict:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "tests/test_kill_resume.py", "-q", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True)
    return {"passed": done.returncode == 0, "seconds": round(time.perf_counter() - started, 1),
            "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drill", choices=("outage", "kill", "all"), default="all")
    parser.add_argument("--outage-s", type=float, default=20.0)
    args = parser.parse_args()
    results = {}
    if args.drill in ("outage", "all"):
        results["outage"] = outage(args.outage_s)
        o = results["outage"]
        o["healthz_during_over_before"] = round(o["healthz_ms_during_median"] / o["healthz_ms_before_median"], 2)
    if args.drill in ("kill", "all"):
        results["kill"] = kill()
    print(json.dumps(results, indent=2))
    print(f"machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
