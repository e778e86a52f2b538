"""Many raters at once on the real Compare page: ``--raters`` browser contexts of one
Chromium, each a rater of its own signed in as a person would, judge pairs with the
keyboard in the judging view (the browser's queue) at a human pace (``--think-ms``,
each pause drawn between half and one and a half times it) for ``--seconds``, against
SQLite behind one app server or PostgreSQL (a throwaway server) behind ``--servers``,
the raters spread over them in turn; ``--with-worker`` trains meanwhile.

Measured in each page, per key press (the definitions of ``judging_view``):

* key to paint: from the keydown event to the animation frame in which the next pair's
  two images are in place and loaded;
* acknowledgement: from the keydown event to the moment the view takes the answer off
  its pending answers (the outbox in the browser's storage), which it does once the
  server has stored it and acknowledged its id; split into the wait before the view
  sent it (while its queue is well stocked it sends 150 ms after the last key, and
  never while an exchange is still out) and the exchange itself (its message out on
  the web socket to the acknowledgement).

Per app server: CPU seconds and memory (VmRSS, VmHWM from ``/proc/<pid>/status``, its
children included) before any session, after its first, once every rater is signed in,
after ``--idle-s`` seconds of nobody pressing a key, and after the judging; per session
and per answer (``--with-worker``: the worker's CPU seconds too). The browser's CPU
seconds and memory (the proportional set size of Chromium's live processes) at the same
moments, to size a run. At the end every press is checked against the stored rows
(``judging_view.tally``): lost, duplicated, misattributed (rater, pair or side), out of
order.

    # issue 25: 20 raters on one app server, SQLite
    nice -n 10 .venv/bin/python -m benchmarks.many_raters --raters 20 --seconds 120
    # and 50 raters behind two app servers on PostgreSQL
    nice -n 10 .venv/bin/python -m benchmarks.many_raters --backend postgresql --servers 2 \\
        --raters 50 --seconds 120
    [--think-ms 800] [--idle-s 10] [--with-worker] [--streamlit-defaults] [--pg-url URL]
    [--out docs/bench/many_raters_sqlite.json]

``--streamlit-defaults`` runs the app servers with Streamlit's own file watcher and its
full garbage collection after every script run, both of which ``.streamlit/config.toml``
turns off: measured here, the two took most of an idle session's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.paths import PROJECT_ROOT
from core.store import Store

from .common import fresh_database, start_app, write_json
from .judging_view import (
    ALL_SAVED,
    CHROMIUM,
    CHROMIUM_ARGS,
    KEYS,
    OUTCOME,
    PAIR_CHANGED,
    ROOT,
    SHOWING,
    Press,
    figures,
    seed_demo,
    start_worker,
    stored_rows,
    tally,
)

LEAD = "Bench lead"  # the study lead is someone else: every rater is a plain rater
# --streamlit-defaults: Streamlit's developer conveniences that the app's config turns
# off: watching the project's files for changes, a full garbage collection after every
# run of the script (each exchange, and each view's 2-second check)
STREAMLIT_DEFAULTS = {
    "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "auto",
    "STREAMLIT_RUNNER_POST_SCRIPT_GC": "true",
}
OUTBOX = "severity-queue:"  # the judging view's pending answers in localStorage
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WAIT_MS = 180_000  # for a page to load and sign in, with many raters at once
# Installed in every page before the app's own scripts: records each key press on a
# pair in window.__bench (times from the keydown event's time stamp, in ms), and fills
# in when the next pair was painted, when the answer left on the web socket and when
# the view dropped it from its outbox (acknowledged).
_RECORDER_BODY = """
  const bench = (window.__bench = { presses: [], keysWithoutPair: 0 });
  const unsent = new Map(), unacknowledged = new Map();

  function watchPaint(press) {
    const step = () => {
      const at = changed(press.id);
      if (at) press.paint = at - press.t;
      else requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  }

  window.addEventListener("keydown", (event) => {
    if (!KEYS.includes(event.key) || event.repeat) return;
    const root = view();
    if (!root || !root.dataset.token) { bench.keysWithoutPair += 1; return; }
    const press = { id: root.dataset.token, left: Number(root.dataset.left),
      right: Number(root.dataset.right), key: event.key, t: event.timeStamp,
      paint: null, sent: null, ack: null, queued: false };
    bench.presses.push(press);
    unsent.set(press.id, press);
    unacknowledged.set(press.id, press);
    watchPaint(press);
  }, { capture: true });

  // an answer seen in the outbox and then gone from it was acknowledged
  function outboxIds() {
    const ids = new Set();
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(OUTBOX)) continue;
      for (const event of JSON.parse(localStorage.getItem(key) || "[]")) ids.add(event.id);
    }
    return ids;
  }
  function settle() {
    if (!unacknowledged.size) return;
    const now = performance.now(), held = outboxIds();
    for (const [id, press] of unacknowledged) {
      if (held.has(id)) press.queued = true;
      else if (press.queued) { press.ack = now - press.t; unacknowledged.delete(id); }
    }
  }
  for (const name of ["setItem", "removeItem"]) {
    const original = Storage.prototype[name];
    Storage.prototype[name] = function (...args) {
      const result = original.apply(this, args);
      if (String(args[0]).startsWith(OUTBOX)) settle();
      return result;
    };
  }

  // the exchange that carries an answer names its id in plain text
  const latin1 = new TextDecoder("latin1");
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (unsent.size && typeof data !== "string" && !(data instanceof Blob)) {
      const text = latin1.decode(data), now = performance.now();
      for (const [id, press] of unsent) {
        if (text.includes(id)) { press.sent = now - press.t; unsent.delete(id); }
      }
    }
    return send.call(this, data);
  };
"""
RECORDER = (
    "(() => {\n"
    f"  const KEYS = {json.dumps(KEYS)}, OUTBOX = {json.dumps(OUTBOX)};\n"
    f"  const changed = {PAIR_CHANGED};\n"
    f"  const view = () => {ROOT};\n" + _RECORDER_BODY + "})();"
)


@dataclass
class Rater:
    name: str
    server: int
    rng: random.Random
    page: Any = None  # its Playwright page, once signed in
    record: dict = field(default_factory=dict)  # window.__bench at the end


# -- processes: CPU and memory from /proc ------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command's name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for folder in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            tree.setdefault(int(_stat(int(folder.name))[1]), []).append(int(folder.name))
    return tree


def family(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    tree, found = _children(), [pid]
    for parent in found:
        found.extend(tree.get(parent, []))
    return found


def _status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    return 0


def usage(pid: int) -> dict:
    """CPU seconds (user and system, finished children included) and memory in MiB of
    ``pid`` with its children (VmHWM: the sum of each process's own peak)."""
    ticks = rss = hwm = 0
    for member in family(pid):
        with contextlib.suppress(OSError):
            # after "pid (comm)": utime, stime, cutime, cstime are the 12th to 15th
            utime, stime, cutime, cstime = map(int, _stat(member)[11:15])
            ticks += utime + stime + (cutime + cstime if member == pid else 0)
            rss += _status_kb(member, "VmRSS")
            hwm += _status_kb(member, "VmHWM")
    return {"cpu_s": ticks / CLOCK_TICKS, "rss_mb": rss / 1024, "hwm_mb": hwm / 1024}


def browser_usage() -> dict:
    """Chromium's processes below this one: CPU seconds and proportional set size (MiB)."""
    ticks = pss = 0
    for pid in family(os.getpid()):
        with contextlib.suppress(OSError):
            if "chrom" not in Path(f"/proc/{pid}/comm").read_text():
                continue
            ticks += sum(map(int, _stat(pid)[11:13]))
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return {"cpu_s": round(ticks / CLOCK_TICKS, 1), "pss_mb": round(pss / 1024, 1)}


class Samples:
    """Each app server's usage at the named moments of a run."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.at: dict[str, list[dict]] = {}
        self.browser: dict[str, dict] = {}

    def take(self, moment: str) -> None:
        self.at[moment] = [usage(pid) for pid in self.pids]
        self.browser[moment] = browser_usage()

    def server(self, index: int, sessions: int, answers: int, idle_s: float) -> dict:
        at = {moment: samples[index] for moment, samples in self.at.items()}
        cpu = at["judged"]["cpu_s"] - at["idle"]["cpu_s"]
        idle = at["idle"]["cpu_s"] - at["signed_in"]["cpu_s"]
        extra = at["signed_in"]["rss_mb"] - at["first_session"]["rss_mb"]
        return {
            "sessions": sessions,
            "answers": answers,
            "cpu_s_judging": round(cpu, 2),
            "cpu_s_per_session": round(cpu / sessions, 2) if sessions else None,
            "cpu_ms_per_answer": round(1000 * cpu / answers, 1) if answers else None,
            "cpu_s_signing_in": round(at["signed_in"]["cpu_s"] - at["started"]["cpu_s"], 2),
            # signed in, no key pressed: the share of a core each open session costs
            "idle_cpu_share_per_session": (
                round(idle / idle_s / sessions, 4) if sessions and idle_s else None
            ),
            "rss_mb": {moment: round(u["rss_mb"], 1) for moment, u in at.items()},
            "hwm_mb_end": round(at["saved"]["hwm_mb"], 1),
            "rss_first_session_mb": round(
                at["first_session"]["rss_mb"] - at["started"]["rss_mb"], 1
            ),
            "rss_per_extra_session_mb": round(extra / (sessions - 1), 2) if sessions > 1 else None,
            "rss_growth_judging_mb": round(at["judged"]["rss_mb"] - at["signed_in"]["rss_mb"], 1),
        }


# -- the raters in the browser -----------------------------------------------------------


async def sign_in(browser, rater: Rater, url: str) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(WAIT_MS)  # a first page load imports the app's modules
    await context.add_init_script(RECORDER)
    rater.page = page = await context.new_page()
    await page.goto(f"{url}/compare")
    await page.get_by_label("Your name").fill(rater.name)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_function(SHOWING)


async def sign_in_all(browser, raters: list[Rater], urls: list[str], samples, parallel: int):
    """Each server's first rater alone (its first session's memory), then the rest a
    few at a time."""
    first: dict[int, Rater] = {}
    for rater in raters:
        first.setdefault(rater.server, rater)
    for rater in first.values():
        await sign_in(browser, rater, urls[rater.server])
    samples.take("first_session")
    gate = asyncio.Semaphore(parallel)

    async def one(rater: Rater) -> None:
        async with gate:
            await sign_in(browser, rater, urls[rater.server])

    await asyncio.gather(*(one(r) for r in raters if r.page is None))
    samples.take("signed_in")


async def judge(rater: Rater, think_ms: float, until: float) -> None:
    """Keys at a human pace until ``until`` (the event loop's clock)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(rater.rng.uniform(0.5, 1.5) * think_ms / 1000)
        if loop.time() >= until:
            return
        await rater.page.keyboard.press(rater.rng.choice(KEYS))


async def settle_all(raters: list[Rater], timeout_s: float) -> None:
    """Until every page has no answer pending (or ``timeout_s``), then each record."""

    async def one(rater: Rater) -> None:
        with contextlib.suppress(Exception):  # what stays pending is counted below
            await rater.page.wait_for_function(ALL_SAVED, timeout=timeout_s * 1000)

    await asyncio.gather(*(one(r) for r in raters))
    await asyncio.sleep(1.0)  # a late second send would show up as a second row
    for rater in raters:
        rater.record = await rater.page.evaluate("() => window.__bench")


async def training_share(location: str, until: float, every_s: float = 5.0) -> float:
    """The share of looks, every ``every_s`` seconds until ``until``, that found a
    training job running."""
    seen = []
    loop = asyncio.get_running_loop()

    def running() -> bool:
        with Store(location) as store:
            return any(j["status"] == "running" for j in store.jobs.list(limit=5))

    while loop.time() < until:
        seen.append(await asyncio.to_thread(running))
        await asyncio.sleep(every_s)
    return sum(seen) / len(seen) if seen else 0.0


async def session(args: argparse.Namespace, urls: list[str], samples: Samples, env: dict):
    """Sign every rater in, judge for ``args.seconds``, wait for the last answers."""
    from playwright.async_api import async_playwright

    raters = [
        Rater(f"Bench rater {i + 1:02d}", i % len(urls), random.Random(i))
        for i in range(args.raters)
    ]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        samples.take("started")
        await sign_in_all(browser, raters, urls, samples, args.sign_in_parallel)
        await asyncio.sleep(args.idle_s)  # every rater signed in, no key pressed
        samples.take("idle")
        until = asyncio.get_running_loop().time() + args.seconds
        share = (
            asyncio.create_task(training_share(env["SEVERITY_DB"], until))
            if args.with_worker
            else None
        )
        await asyncio.gather(*(judge(r, args.think_ms, until) for r in raters))
        samples.take("judged")
        await settle_all(raters, args.settle_s)
        samples.take("saved")
        await browser.close()
    return raters, (await share if share else None)


# -- the run -------------------------------------------------------------------------------


def database(args: argparse.Namespace, folder: Path, stack: contextlib.ExitStack) -> dict:
    """The environment of the app servers: a fresh demo database of ``args.backend``."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "SEVERITY_ADMINS": LEAD}
    env.update(STREAMLIT_DEFAULTS if args.streamlit_defaults else {})
    if args.backend == "postgresql":
        if args.pg_url:
            location = fresh_database(args.pg_url)
        else:
            from devtools.postgres import throwaway_cluster

            location = stack.enter_context(throwaway_cluster()).create_database()
        env["SEVERITY_MEDIA"] = str(folder / "media")  # shared by the app servers
    else:
        location = str(folder / "app.db")
    env["SEVERITY_DB"] = location
    seed_demo(env)
    return env


def run(args: argparse.Namespace) -> dict:
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = database(args, folder, stack)
        worker = start_worker(env) if args.with_worker else None
        servers = []
        try:
            servers = [start_app(env) for _ in range(args.servers)]
            samples = Samples([process.pid for process, _ in servers])
            worker_before = usage(worker.pid) if worker else None
            raters, share = asyncio.run(session(args, [url for _, url in servers], samples, env))
            worker_after = usage(worker.pid) if worker else None
            rows = stored_rows(env["SEVERITY_DB"])
        finally:
            _stop([process for process, _ in servers] + ([worker] if worker else []))
    report = _report(args, raters, rows, samples)
    if worker_before and worker_after:
        report["worker"] = {
            "cpu_s_while_raters_in": round(worker_after["cpu_s"] - worker_before["cpu_s"], 1),
            "hwm_mb": round(worker_after["hwm_mb"], 1),
            "training_share": share,
        }
    return report


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _presses(rater: Rater) -> list[Press]:
    return [
        Press(rater.name, p["id"], p["left"], p["right"], OUTCOME[p["key"]])
        for p in rater.record["presses"]
    ]


def _times(raters: list[Rater], what: str) -> list[float]:
    return [p[what] for r in raters for p in r.record["presses"] if p[what] is not None]


def _per_rater(rater: Rater) -> dict:
    presses = rater.record["presses"]
    return {
        "rater": rater.name,
        "server": rater.server,
        "presses": len(presses),
        "keys_without_pair": rater.record["keysWithoutPair"],
        "not_acknowledged": sum(p["ack"] is None for p in presses),
        **figures(_times([rater], "paint"), "paint_ms", every=False),
        **figures(_times([rater], "ack"), "ack_ms", every=False),
    }


def _report(args, raters: list[Rater], rows: list[dict], samples: Samples) -> dict:
    presses = [p for r in raters for p in _presses(r)]
    on = [[r for r in raters if r.server == s] for s in range(args.servers)]
    answers = [sum(len(r.record["presses"]) for r in those) for those in on]
    exchange = [
        p["ack"] - p["sent"]
        for r in raters
        for p in r.record["presses"]
        if p["ack"] is not None and p["sent"] is not None
    ]
    return {
        "config": vars(args),
        "cpu_count": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],  # others' work too
        "answers_per_second": round(len(presses) / args.seconds, 2),
        "check": tally(presses, rows),
        "not_acknowledged": sum(p["ack"] is None for r in raters for p in r.record["presses"]),
        "keys_without_pair": sum(r.record["keysWithoutPair"] for r in raters),
        "key_to_paint": figures(_times(raters, "paint"), "ms", every=False),
        "acknowledgement": figures(_times(raters, "ack"), "ms", every=False),
        "before_sending": figures(_times(raters, "sent"), "ms", every=False),
        "exchange": figures(exchange, "ms", every=False),
        "exchanges_timed": len(exchange),  # answers whose message out was recognised
        "servers": [
            samples.server(s, len(on[s]), answers[s], args.idle_s) for s in range(args.servers)
        ],
        "browser": samples.browser,  # CPU seconds so far, memory now
        "raters": [_per_rater(r) for r in raters],
    }


def _summary(report: dict) -> str:
    check, paint, ack = report["check"], report["key_to_paint"], report["acknowledgement"]
    servers = "; ".join(
        f"server {i}: {s['sessions']} sessions, {s['cpu_s_per_session']} CPU s each, "
        f"{s['rss_per_extra_session_mb']} MiB per extra session, peak {s['hwm_mb_end']} MiB"
        for i, s in enumerate(report["servers"])
    )
    return (
        f"{check['presses']} presses ({report['answers_per_second']}/s): key to paint median "
        f"{_ms(paint, 'median')}, p95 {_ms(paint, 'p95')}; acknowledged median "
        f"{_ms(ack, 'median')}, p95 {_ms(ack, 'p95')}; {check['lost']} lost, "
        f"{check['duplicated']} duplicated, {check['misattributed']} misattributed, "
        f"{check['out_of_order']} out of order, {report['not_acknowledged']} never "
        f"acknowledged. {servers}"
    )


def _ms(figures: dict, which: str) -> str:
    value = figures.get(f"{which}_ms")
    return "-" if value is None else f"{value:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raters", type=int, default=20)
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seconds", type=float, default=120, help="judging time")
    parser.add_argument("--think-ms", type=float, default=800, help="mean pause before a key")
    parser.add_argument("--with-worker", action="store_true", help="the worker trains meanwhile")
    parser.add_argument(
        "--streamlit-defaults",
        action="store_true",
        help="Streamlit's file watcher and GC after each run, which the app turns off",
    )
    parser.add_argument("--sign-in-parallel", type=int, default=4, help="raters signing in at once")
    parser.add_argument("--idle-s", type=float, default=10, help="signed in, before judging")
    parser.add_argument("--settle-s", type=float, default=90, help="wait for the last answers")
    parser.add_argument("--pg-url", help="a PostgreSQL maintenance database (default: throwaway)")
    parser.add_argument(
        "--out", help="docs/bench/many_raters_<backend>[_worker][_streamlit_defaults].json"
    )
    args = parser.parse_args()
    suffix = "_worker" * args.with_worker + "_streamlit_defaults" * args.streamlit_defaults
    args.out = args.out or f"docs/bench/many_raters_{args.backend}{suffix}.json"
    report = run(args)
    print(_summary(report), flush=True)
    write_json(report, args.out)


if __name__ == "__main__":
    main()
