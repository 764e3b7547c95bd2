"""One background job of the monitor's scheduler (training the model, re-tagging with an edited taxonomy),
in a thread of its own with its own database connection, at most one of each kind at a time per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database

from kb.storage.db import connect

LOGGER = logging.getLogger(__name__)


def run_in_background(lock: threading.Lock, db_path: Path | str, job: Callable[[Database], object],
                      name: str, failure: str) -> threading.Thread | None:
    """Start `job` on a new connection to `db_path` in a daemon thread called `name`, unless a job holding
    `lock` already runs (then None). A failure is logged with `failure` and left for the next tick."""
    if not lock.acquire(blocking=False):
        return None

    def run() -> None:
        connection = connect(db_path)
        try:
            job(connection)
        except Exception:  # noqa: BLE001 - the caller's scheduler tries again at its next tick
            LOGGER.exception(failure)
        finally:
            connection.conn.close()
            lock.release()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
