"""`kb serve` answering from several processes: a real `kb serve --workers 2` and real HTTP on loopback.

Which worker process answers is forced, not guessed: a worker stopped with SIGSTOP cannot accept, so while
one is stopped every request goes to the other. A session begun through one worker must then be honoured,
its CSRF token accepted, its sign-out enforced and its failed sign-ins counted by the other.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.web import web_app
from kb import users as users_store
from kb.knowledge import KnowledgeBase
from tests.factories import make_kb
from tests.redisserver import free_port
from webui.app import SIGN_IN_LIMIT_PER_ACCOUNT

KB = str(Path(sys.executable).with_name("kb"))
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(os, "fork"),
                                reason="needs fork and Linux's /proc")


# --- processes, read from /proc -----------------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int(_stat(int(entry.name))[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
    return found


def alive(pid: int) -> bool:
    try:
        return _stat(pid)[0] not in ("Z", "X")
    except OSError:
        return False


def cpu_ticks(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The worker is frozen (SIGSTOP) inside the block: it accepts no connection meanwhile."""
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_until(lambda: _stat(pid)[0] == "T", 5, f"worker {pid} to stop")
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


# --- a browser of sorts ----------------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


class Browser:
    """Cookies kept, redirects not followed, a new connection for every request."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                  _NoRedirect())

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def token(self, path: str = "/login") -> str:
        status, page = self.request(path)
        assert status == 200, (path, status)
        match = CSRF.search(page)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def sign_in(self, email: str, password: str = PASSWORD) -> int:
        token = self.token()
        return self.request("/login", {"email": email, "password": password, "csrf_token": token})[0]

    def session_cookie(self) -> str:
        return next(cookie.value for cookie in self.cookies if cookie.name == "kb_session")

    def set_session_cookie(self, value: str) -> None:
        cookie = next(cookie for cookie in self.cookies if cookie.name == "kb_session")
        cookie.value = value


# --- a running `kb serve --workers 2` ---------------------------------------------------------------------

@dataclass
class Served:
    process: subprocess.Popen[bytes]
    log: Path
    base: str

    def master(self) -> int:
        found = re.search(r"Listening at: \S+ \((\d+)\)", self.log.read_text())
        assert found, self.log.read_text()
        return int(found.group(1))

    def workers(self, count: int = 2) -> list[int]:
        master = self.master()

        def booted() -> set[int] | None:
            pids = children(master)
            return pids if len(pids) == count else None

        return sorted(wait_until(booted, 30, f"{count} worker processes"))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data_dir = tmp_path / "data"
    kb = make_kb(data_dir)
    for role in ("researcher", "admin"):
        users_store.add_user(kb.db, f"{role}@lab.example", PASSWORD, role, name=role.title())
    kb.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen([KB, "--data-dir", str(data_dir), "serve", "--port", str(port),
                                    "--workers", "2", "--threads", "2", "--no-worker"],
                                   env=env, stdout=log_file, stderr=subprocess.STDOUT)
    served = Served(process, log, f"http://127.0.0.1:{port}")
    pids: set[int] = set()
    try:
        wait_until(lambda: "Serving" in log.read_text() or process.poll() is not None, 60, "kb serve")
        assert process.poll() is None, log.read_text()
        pids = {served.master(), *served.workers()}
        wait_until(lambda: Browser(served.base).request("/login")[0] == 200, 30, "the sign-in page")
        yield served
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGCONT)  # a test that failed inside `stopped` left it frozen
            except ProcessLookupError:
                pass
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        for pid in pids:
            wait_until(lambda pid=pid: not alive(pid), 30, f"process {pid} to end with kb serve")


def test_a_session_begun_in_one_worker_process_is_honoured_by_the_other(served: Served):
    first, second = served.workers()
    browser = Browser(served.base)
    with stopped(second):
        assert browser.sign_in("researcher@lab.example") == 302  # answered by `first`
        assert browser.request("/profile")[0] == 200
        token = browser.token("/profile")
    kept = browser.session_cookie()
    with stopped(first):
        # The session key is the same in every process.
        status, page = browser.request("/profile")
        assert status == 200 and "researcher@lab.example" in page
        # A CSRF token that `first` put on a page is accepted by `second`.
        status, page = browser.request("/profile/tokens", {"name": "laptop", "csrf_token": token})
        assert status == 200 and "laptop" in page
        # A form without its token is refused here too.
        assert browser.request("/profile/tokens", {"name": "no token"})[0] == 400
        # Signing out through `second` ends the session everywhere...
        assert browser.request("/logout", {"csrf_token": browser.token("/profile")})[0] == 302
    with stopped(second):
        # ...so the cookie from before, replayed to `first`, no longer signs anyone in.
        replay = Browser(served.base)
        replay.request("/login")
        replay.set_session_cookie(kept)
        status, _page = replay.request("/profile")
        assert status == 302


def test_failed_sign_ins_are_counted_across_worker_processes(served: Served):
    first, second = served.workers()
    browser = Browser(served.base)
    with stopped(second):
        for _ in range(SIGN_IN_LIMIT_PER_ACCOUNT - 2):
            assert browser.sign_in("admin@lab.example", "wrong password!") == 200
    with stopped(first):
        for _ in range(2):
            assert browser.sign_in("admin@lab.example", "wrong password!") == 200
        # Limit reached over both processes: even the right password is refused, by either of them.
        assert browser.sign_in("admin@lab.example") == 429
    with stopped(second):
        assert browser.sign_in("admin@lab.example") == 429
        assert browser.sign_in("researcher@lab.example") == 302  # another account is not held up


def test_requests_are_shared_between_the_workers_and_a_killed_one_is_replaced(served: Served):
    workers = served.workers()
    before = {pid: cpu_ticks(pid) for pid in workers}
    browser = Browser(served.base)
    assert browser.sign_in("researcher@lab.example") == 302

    def search(n: int) -> int:
        return browser.request(f"/?q=algorithm+{n}")[0]

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(search, range(120))) == {200}
    used = {pid: cpu_ticks(pid) - before[pid] for pid in workers}
    assert all(ticks > 0 for ticks in used.values()), used  # both processes did work

    os.kill(workers[0], signal.SIGKILL)
    replaced = wait_until(lambda: (lambda pids: pids if len(pids) == 2 and workers[0] not in pids else None)(
        children(served.master())), 30, "a new worker in place of the killed one")
    assert workers[1] in replaced
    with stopped(workers[1]):  # so the new worker answers, with the session begun before it existed
        wait_until(lambda: search(0) == 200, 30, "the new worker to answer")
        assert browser.request("/profile")[0] == 200


def test_serve_stops_with_an_error_when_its_web_server_dies(served: Served):
    workers = served.workers()
    os.kill(served.master(), signal.SIGKILL)
    assert served.process.wait(30) == 1
    assert "the web server stopped unexpectedly" in served.log.read_text()
    for pid in workers:  # a worker whose master is gone exits by itself
        wait_until(lambda pid=pid: not alive(pid), 30, f"worker {pid} to exit")


def test_the_web_processes_end_with_a_killed_serve(served: Served):
    web = [served.master(), *served.workers()]
    served.process.kill()
    served.process.wait(10)
    for pid in web:
        wait_until(lambda pid=pid: not alive(pid), 30, f"web process {pid} to end")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(served.base.rsplit(":", 1)[1])), timeout=2).close()


def test_a_busy_port_is_said_at_once(tmp_path: Path):
    make_kb(tmp_path / "data").close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
        result = subprocess.run([KB, "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)],
                                env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"cannot serve on 127.0.0.1 port {port}: another program is using it" in result.stderr
    assert "Traceback" not in result.stderr


def test_sign_in_failures_counted_by_one_app_hold_in_another_on_the_same_folder(tmp_path: Path):
    """Two apps, each with its own KnowledgeBase over one data folder, as two worker processes have."""
    kb = make_kb(tmp_path / "data")
    users_store.add_user(kb.db, "admin@lab.example", PASSWORD, "admin", name="Admin")
    other = KnowledgeBase(kb.settings)
    try:
        first, second = web_app(kb, TESTING=True), web_app(other, TESTING=True)
        for _ in range(SIGN_IN_LIMIT_PER_ACCOUNT):
            client = first.test_client()
            client.get("/login")
            token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
            assert client.post("/login", data={"email": "admin@lab.example", "password": "wrong!",
                                               "csrf_token": token}).status_code == 200
        client = second.test_client()
        token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        refused = client.post("/login", data={"email": "admin@lab.example", "password": PASSWORD,
                                              "csrf_token": token})
        assert refused.status_code == 429
        # What was typed is not stored: only keyed hashes.
        stored = [row[0] for row in kb.db.execute("SELECT key FROM sign_in_failures").fetchall()]
        assert stored and not any("admin" in key or "127.0.0.1" in key for key in stored)
    finally:
        other.close()
        kb.close()
