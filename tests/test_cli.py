"""Every core `kb` command, run as a subprocess against a temporary data folder."""

from __future__ import annotations

import csv
import io
import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kb import items as items_store
from kb import sources as sources_store
from kb import users as users_store
from tests.factories import make_draft, make_kb

KB = str(Path(sys.executable).with_name("kb"))


def run_kb(data_dir: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    environment.update(env or {})
    return subprocess.run([KB, "--data-dir", str(data_dir), *args], input=input, capture_output=True,
                          text=True, env=environment, timeout=timeout)


def folder_with_user(data_dir: Path, email: str, role: str) -> Path:
    """A data folder holding one user, for the commands run --as someone."""
    base = make_kb(data_dir)
    users_store.add_user(base.db, email, "a long enough password", role)
    base.close()
    return data_dir


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_init_is_idempotent_and_status_reports_counts(data_dir: Path):
    first = run_kb(data_dir, "init")
    assert first.returncode == 0, first.stderr
    assert "ready" in first.stdout
    base = make_kb(data_dir)
    items_store.store_item(base.db, make_draft())
    base.sync_index()
    base.close()
    again = run_kb(data_dir, "init")
    assert again.returncode == 0, again.stderr
    status = run_kb(data_dir, "status", "--json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["items"] == 1  # re-running init lost nothing
    assert report["index_documents"] == 1
    assert report["index_in_sync"] is True
    assert {"sources", "contacts", "cases", "users", "last_ingest"} <= report.keys()
    human = run_kb(data_dir, "status")
    assert "Items:           1" in human.stdout and "in sync" in human.stdout


def test_users_add_reads_the_password_from_stdin_and_refuses_duplicates(data_dir: Path):
    added = run_kb(data_dir, "users", "add", "ana@lab.example", "--role", "admin", "--password-stdin",
                   input="a long enough password\n")
    assert added.returncode == 0, added.stderr
    assert "ana@lab.example" in added.stdout
    again = run_kb(data_dir, "users", "add", "ana@lab.example", "--role", "researcher", "--password-stdin",
                   input="another long password\n")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    short = run_kb(data_dir, "users", "add", "bo@lab.example", "--role", "admin", "--password-stdin",
                   input="short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    token = run_kb(data_dir, "users", "token", "ana@lab.example")
    assert token.returncode == 0 and token.stdout.startswith("kbt_")
    listed = json.loads(run_kb(data_dir, "users", "list", "--json").stdout)
    assert [(u["email"], u["role"]) for u in listed] == [("ana@lab.example", "admin")]


def test_items_export_jsonl_and_csv(data_dir: Path, tmp_path: Path):
    base = make_kb(data_dir)
    items_store.store_item(base.db, make_draft(title="Première histoire, avec virgule", language="fr"))
    items_store.store_item(base.db, make_draft())
    base.close()
    jsonl = run_kb(data_dir, "items", "export", "--format", "jsonl")
    assert jsonl.returncode == 0, jsonl.stderr
    records = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert len(records) == 2
    required = {"id", "url", "title", "text", "language", "topics", "sectors", "countries", "relevant",
                "status", "published", "sources"}
    assert required <= records[0].keys()
    assert records[0]["title"] == "Première histoire, avec virgule"
    assert records[0]["sectors"] == ["sector/welfare"]
    # Keys for programs, and the same topics as a person reads them (labels from taxonomy.toml).
    assert records[0]["topics"] == ["sector/welfare", "system/risk-scoring"]
    assert records[0]["topic_labels"] == ["Welfare and social protection", "Risk scoring and fraud detection"]
    assert (records[0]["language_name"], records[1]["language_name"]) == ("French", "English")

    target = tmp_path / "items.csv"
    exported = run_kb(data_dir, "items", "export", "--format", "csv", "--output", str(target))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [row["title"] for row in rows][0] == "Première histoire, avec virgule"
    assert required <= rows[0].keys()
    assert rows[0]["topic_labels"] == "Welfare and social protection|Risk scoring and fraud detection"


def test_sources_list_prints_the_warning_and_what_the_last_fetch_did(data_dir: Path):
    base = make_kb(data_dir)
    fetched = sources_store.add_source(base.db, "https://news.example.org/feed.xml", name="Example News")
    sources_store.record_success(base.db, fetched.id, etag=None, last_modified=None,
                                 counts={"new": 12, "duplicate": 30, "no http(s) link": 3},
                                 warning="The feed lists 1,500 entries; only the newest 1,000 were read.")
    sources_store.add_source(base.db, "https://quiet.example.org/rss", name="Not fetched yet")
    base.close()
    listed = run_kb(data_dir, "sources", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "Example News" in lines[0] and "ok" in lines[0]
    assert lines[1].strip() == "warning: The feed lists 1,500 entries; only the newest 1,000 were read."
    assert lines[2].strip() == "last fetch: 12 new, 30 duplicate, 3 without a usable link"
    assert "Not fetched yet" in lines[3] and len(lines) == 4  # nothing fetched, nothing more to say
    [first, _] = json.loads(run_kb(data_dir, "sources", "list", "--json").stdout)
    assert first["last_counts"] == {"new": 12, "duplicate": 30, "no http(s) link": 3}
    assert first["warning"].startswith("The feed lists 1,500 entries")


def test_reindex_rebuilds_from_the_database(data_dir: Path):
    base = make_kb(data_dir)
    for _ in range(3):
        items_store.store_item(base.db, make_draft())
    base.close()
    result = run_kb(data_dir, "reindex")
    assert result.returncode == 0, result.stderr
    assert "Indexed 3 items." in result.stdout
    assert json.loads(run_kb(data_dir, "status", "--json").stdout)["index_documents"] == 3


def test_backup_is_consistent_and_owner_only(data_dir: Path, tmp_path: Path):
    base = make_kb(data_dir)
    items_store.store_item(base.db, make_draft())
    base.close()
    target = tmp_path / "backups" / "kb-backup.sqlite3"
    result = run_kb(data_dir, "backup", str(target))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT count(*) FROM items").fetchone()[0] == 1
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    refused = run_kb(data_dir, "backup", str(target))
    assert refused.returncode == 1 and "exists" in refused.stderr


@pytest.mark.parametrize(
    ("env", "toml", "named"),
    [
        ({"KB_FETCH_HOST_DELAY": "soon"}, None, "KB_FETCH_HOST_DELAY"),
        ({"KB_TIMEZONE": "Mars/Olympus"}, None, "KB_TIMEZONE"),
        ({}, "fetch_max_bytes = -3\n", "fetch_max_bytes"),
        ({}, "no_such_setting = 1\n", "no_such_setting"),
        ({}, "this is = not toml [\n", "kb.toml"),
    ],
)
def test_a_bad_setting_stops_with_a_message_naming_it(data_dir: Path, env, toml, named):
    if toml is not None:
        data_dir.mkdir(parents=True)
        (data_dir / "kb.toml").write_text(toml, encoding="utf-8")
    result = run_kb(data_dir, "status", env=env)
    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
                return response.status
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def _stop(process: subprocess.Popen) -> str:
    """Terminate the server; returns what it printed on standard output."""
    process.terminate()
    try:
        out, _err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _err = process.communicate()
    return out


def test_serve_runs_the_web_ui(data_dir: Path):
    assert run_kb(data_dir, "init").returncode == 0
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    process = subprocess.Popen([KB, "--data-dir", str(data_dir), "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/login", process) == 200
    finally:
        _stop(process)


def test_demo_builds_from_the_sample_corpus_and_serves(data_dir: Path):
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    process = subprocess.Popen([KB, "--data-dir", str(data_dir), "demo", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/login", process, timeout=180) == 200
        # The monitor works while the demo runs: the sample sites still answer (an item's original link),
        # and a source added meanwhile (here by another process) is fetched by the demo's scheduler.
        with sqlite3.connect(data_dir / "kb.sqlite3") as probe:
            original = probe.execute("SELECT url FROM items ORDER BY id LIMIT 1").fetchone()[0]
            feed = probe.execute("SELECT url FROM sources WHERE kind = 'feed' ORDER BY id").fetchone()[0]
        with urllib.request.urlopen(original, timeout=10) as answer:  # noqa: S310 - the demo's loopback site
            assert answer.status == 200
        added = run_kb(data_dir, "sources", "add", "--no-check", feed + "?again=1")
        assert added.returncode == 0, added.stderr
        deadline = time.monotonic() + 30
        fetched = None
        while time.monotonic() < deadline and not fetched:
            time.sleep(0.5)
            with sqlite3.connect(data_dir / "kb.sqlite3") as probe:
                fetched = probe.execute("SELECT last_success FROM sources WHERE url = ?",
                                        [feed + "?again=1"]).fetchone()[0]
        assert fetched, "a source added to the running demo should be fetched within seconds"
    finally:
        output = _stop(process)
    assert f"http://127.0.0.1:{port}/" in output
    assert "coordinator@demo.example" in output and "demo-password-2026" in output
    status = json.loads(run_kb(data_dir, "status", "--json").stdout)
    assert status["items"] >= 40
    assert status["contacts"] == 5 and status["cases"] == 2 and status["users"] == 3
    assert status["index_in_sync"] is True


def test_demo_refuses_a_folder_holding_real_data(data_dir: Path):
    assert run_kb(data_dir, "init").returncode == 0
    result = run_kb(data_dir, "demo", "--build-only")
    assert result.returncode == 1
    assert "not a demo" in result.stderr
