"""Curation queue round trip: how long a decision takes through a real HTTP request on the demo data.

    .venv/bin/python bench/queue_ui_bench.py [--rounds 3] [--threads 4]

Builds the demo knowledge base (`kb demo --build-only`: the bundled sample corpus through the real ingest
path), serves the web app with waitress on 127.0.0.1 as `kb serve` does, signs in as the demo coordinator
and, for every item of the queue's first page, measures from sending the request to having read the whole
answer:
- a decision as the queue's script sends it (the form's fields and CSRF token, Accept: application/json),
  accept then reject alternately;
- undoing it (POST /curation/undo, JSON);
- the same decision without JavaScript: the form's POST, its redirect and the queue page it leads to.
Prints median, p95 and max per kind, against the target of 150 ms for a decision.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.cookiejar
import ipaddress
import json as json_module
import re
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cli.demo import DEMO_PASSWORD, build_demo, serve_sample  # noqa: E402
from cli.web import web_app  # noqa: E402
from kb.knowledge import open_kb  # noqa: E402
from kb.settings import load_settings  # noqa: E402
from webui.server import start_in_background  # noqa: E402

TARGET_MS = 150.0
COORDINATOR = "coordinator@demo.example"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')
_ITEM = re.compile(r'id="item-(\d+)" data-queue-item')


class Client:
    """A browser-like HTTP client: keeps the session cookie, follows redirects only when asked."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        jar = http.cookiejar.CookieJar()
        self.follow = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        self.stay = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())

    def get(self, path: str) -> str:
        with self.follow.open(self.base + path) as response:
            return str(response.read().decode("utf-8"))

    def post(self, path: str, data: dict[str, str], *, json: bool = False, follow: bool = False) -> bytes:
        request = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(data).encode(),
                                         headers={"Accept": "application/json"} if json else {})
        opener = self.follow if follow else self.stay
        try:
            with opener.open(request) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as exc:  # a 302 when not following
            if exc.code != 302:
                raise
            return b""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _figures(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (f"{label:<42} n={len(samples):<4} median {statistics.median(samples):7.1f} ms   "
            f"p95 {p95:7.1f} ms   max {max(samples):7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the queue's first page")
    parser.add_argument("--threads", type=int, default=4, help="waitress threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(folder, environ={})
        settings = dataclasses.replace(settings, fetch_host_delay=0.0, fetch_allow_private=(
            *settings.fetch_allow_private, ipaddress.ip_network("127.0.0.0/8")))
        started = time.perf_counter()
        with serve_sample() as sample_url:
            report = build_demo(settings, sample_url)
        print(f"demo built in {time.perf_counter() - started:.1f} s: {report.summary.line()}")
        kb = open_kb(settings)
        server = start_in_background(web_app(kb), threads=args.threads)
        try:
            client = Client(server.url)
            token = _CSRF.search(client.get("/login"))
            assert token, "no CSRF token on the sign-in page"
            client.post("/login", {"email": COORDINATOR, "password": DEMO_PASSWORD, "csrf_token": token[1]},
                        follow=True)
            page = client.get("/curation")
            token = _CSRF.search(page)
            assert token, "not signed in: no CSRF token on the queue"
            csrf = token[1]
            ids = [int(i) for i in _ITEM.findall(page)]
            waiting = re.search(r'id="queue-total">(\d+)<', page)
            print(f"queue: {len(ids)} items on its first page of {waiting[1] if waiting else '?'} new; "
                  f"{args.rounds} rounds")
            decide: list[float] = []
            undo: list[float] = []
            plain: list[float] = []
            for round_number in range(args.rounds):
                status = "accepted" if round_number % 2 == 0 else "rejected"
                for item_id in ids:
                    form = {"csrf_token": csrf, "status": status, "next": "/curation"}
                    t0 = time.perf_counter()
                    reply = json_module.loads(client.post(f"/items/{item_id}/curation", form, json=True))
                    decide.append((time.perf_counter() - t0) * 1000)
                    assert reply["ok"], reply
                    t0 = time.perf_counter()
                    undone = json_module.loads(client.post("/curation/undo", {
                        "csrf_token": csrf, "decision": reply["undo"]}, json=True))
                    undo.append((time.perf_counter() - t0) * 1000)
                    assert undone["ok"], undone
            for item_id in ids:
                t0 = time.perf_counter()
                client.post(f"/items/{item_id}/curation", {"csrf_token": csrf, "status": "accepted",
                                                           "next": "/curation"}, follow=True)
                plain.append((time.perf_counter() - t0) * 1000)
        finally:
            server.stop()
            kb.close()
    print(_figures("decision, JSON (the queue's script)", decide))
    print(_figures("undo, JSON", undo))
    print(_figures("decision without JS (POST+redirect+page)", plain))
    p95 = sorted(decide)[round(0.95 * (len(decide) - 1))]
    print(f"target: a decision's round trip <= {TARGET_MS:.0f} ms: "
          f"{'met' if p95 <= TARGET_MS else 'NOT met'} (p95 {p95:.1f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
