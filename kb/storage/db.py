"""The storage of record: one SQLite file opened in WAL mode, its schema and its forward migrations.

Migrations are append-only (sqlite-utils `Migrations`): never edit one that has shipped, add a new one
with a comment saying why. One that needs a rule of the layers above (the content fingerprint) calls it
as a SQL function that the caller of `migrate` hands in, so storage imports nothing of that layer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database, Migrations

from kb.errors import InvalidInput

BUSY_TIMEOUT_MS = 10_000
MAX_ROW_ID = 2**63 - 1  # SQLite's largest integer
MIGRATIONS = Migrations("kb")
# SQL function of (title, text) giving an item's content fingerprint, which migrations call. The rule belongs
# to kb.text, which storage does not import: whoever migrates hands it in (kb.knowledge does).
CONTENT_FINGERPRINT = "kb_content_fingerprint"
ALIAS_KEY = "kb_alias_key"


def parse_row_id(raw: str, error: str) -> int:
    """The row id written in `raw`; InvalidInput(error) unless it is a whole number SQLite can hold."""
    try:
        number = int(raw) if len(raw) <= 20 else -1
    except ValueError as exc:
        raise InvalidInput(error) from exc
    if not 0 < number <= MAX_ROW_ID:
        raise InvalidInput(error)
    return number


def utcnow() -> str:
    """The current time as the ISO 8601 UTC text stored in every timestamp column."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_published(value: str | None) -> datetime | None:
    """The stored ISO timestamp as an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def connect(path: Path | str) -> Database:
    """Open the database with the pragmas the product relies on; the caller closes it."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL survives a killed process; see README for FULL on machines that may lose power.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return Database(conn)


def database_file(db: Database) -> str | None:
    """The file of the main database, or None for an in-memory one."""
    for _, name, path in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(path) or None
    return None


def migrate(db: Database, *, stop_before: str | None = None,
            sql_functions: Mapping[str, Callable[..., object]] | None = None) -> list[str]:
    """Apply pending migrations in order; returns the names applied. `sql_functions` are the deterministic
    SQL functions some migrations call (CONTENT_FINGERPRINT); a migration missing one fails and stays
    pending."""
    for name, function in (sql_functions or {}).items():
        db.register_function(function, name=name, deterministic=True, replace=True)
    pending = [m.name for m in MIGRATIONS.pending(db)]
    MIGRATIONS.apply(db, stop_before=stop_before)
    applied = {m.name for m in MIGRATIONS.applied(db)}
    return [name for name in pending if name in applied]


def schema_version(db: Database) -> str | None:
    """Name of the last migration applied, or None for an empty database."""
    applied = MIGRATIONS.applied(db)
    return applied[-1].name if applied else None


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """A write transaction taken at once (BEGIN IMMEDIATE), so concurrent writers queue instead of failing."""
    if db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def _run_script(db: Database, script: str) -> None:
    """Run SQL statements one by one: executescript() would COMMIT the migration's transaction early."""
    statement = ""
    for line in script.splitlines(keepends=True):
        if not statement and line.strip().startswith("--"):
            continue
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement in migration: {statement[:80]!r}")


@MIGRATIONS(name="0001_initial")
def _initial(db: Database) -> None:
    _run_script(db,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('researcher', 'coordinator', 'admin')),
            password_hash TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            session_version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );

        CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('feed', 'page')),
            name TEXT NOT NULL DEFAULT '',
            interval_minutes INTEGER NOT NULL DEFAULT 60,
            full_text INTEGER NOT NULL DEFAULT 0,
            paused INTEGER NOT NULL DEFAULT 0,
            etag TEXT,
            last_modified TEXT,
            last_fetch TEXT,
            last_success TEXT,
            last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 0,
            next_due TEXT,
            created_at TEXT NOT NULL
        );

        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            url TEXT NOT NULL,
            canonical_url TEXT NOT NULL UNIQUE,
            fingerprint TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            summary TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL DEFAULT '',
            site_name TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'und',
            language_prob REAL NOT NULL DEFAULT 0,
            published TEXT,
            relevant INTEGER NOT NULL DEFAULT 0,
            relevance_score REAL NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'accepted', 'rejected')),
            in_digest INTEGER NOT NULL DEFAULT 0,
            status_by INTEGER REFERENCES users(id),
            status_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX items_fingerprint ON items(fingerprint);
        CREATE INDEX items_queue ON items(status, relevant, published);

        CREATE TABLE item_sources (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
            entry_url TEXT NOT NULL DEFAULT '',
            guid TEXT NOT NULL DEFAULT '',
            first_seen TEXT NOT NULL,
            PRIMARY KEY (item_id, source_id)
        );
        CREATE INDEX item_sources_guid ON item_sources(source_id, guid);

        -- Versions of a watched page's extracted text: evidence of what a page said and when.
        CREATE TABLE page_versions (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            fetched_at TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX page_versions_item ON page_versions(item_id, id);

        -- A topic on an item with the evidence for it; origin 'person' or confirmed rows win over the tagger,
        -- and a person's removal is kept as state 'removed' so re-tagging cannot bring the tag back.
        CREATE TABLE tags (
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            topic TEXT NOT NULL,
            origin TEXT NOT NULL CHECK (origin IN ('tagger', 'person')),
            state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'removed')),
            evidence TEXT NOT NULL DEFAULT '[]',
            confirmed INTEGER NOT NULL DEFAULT 0,
            decided_by INTEGER REFERENCES users(id),
            decided_at TEXT,
            PRIMARY KEY (item_id, topic)
        );
        CREATE INDEX tags_topic ON tags(topic);

        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            user_id INTEGER REFERENCES users(id),
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX notes_item ON notes(item_id);

        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            organisation TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            country TEXT NOT NULL DEFAULT '',
            languages TEXT NOT NULL DEFAULT '[]',
            emails TEXT NOT NULL DEFAULT '[]',
            phones TEXT NOT NULL DEFAULT '[]',
            expertise TEXT NOT NULL DEFAULT '[]',
            networks TEXT NOT NULL DEFAULT '[]',
            notes TEXT NOT NULL DEFAULT '',
            consent_how TEXT NOT NULL DEFAULT '',
            consent_date TEXT,
            sensitivity TEXT NOT NULL DEFAULT 'normal' CHECK (sensitivity IN ('normal', 'restricted')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE cases (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            country TEXT NOT NULL DEFAULT '',
            sector TEXT NOT NULL DEFAULT '',
            system_name TEXT NOT NULL DEFAULT '',
            system_agency TEXT NOT NULL DEFAULT '',
            system_vendor TEXT NOT NULL DEFAULT '',
            legal_basis TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
            summary TEXT NOT NULL DEFAULT '',
            lead_id INTEGER REFERENCES users(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE TABLE case_members (
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            PRIMARY KEY (case_id, user_id)
        );
        CREATE TABLE case_items (
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            added_by INTEGER REFERENCES users(id),
            added_at TEXT NOT NULL,
            PRIMARY KEY (case_id, item_id)
        );
        CREATE INDEX case_items_item ON case_items(item_id);
        CREATE TABLE case_contacts (
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            role TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (case_id, contact_id)
        );
        CREATE INDEX case_contacts_contact ON case_contacts(contact_id);
        CREATE TABLE case_notes (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            user_id INTEGER REFERENCES users(id),
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE TABLE case_deadlines (
            id INTEGER PRIMARY KEY,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            due TEXT NOT NULL,
            what TEXT NOT NULL,
            done INTEGER NOT NULL DEFAULT 0
        );

        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
            action TEXT NOT NULL,
            entity TEXT NOT NULL,
            entity_id INTEGER,
            details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_entity ON audit_log(entity, entity_id);

        CREATE TABLE saved_searches (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            query TEXT NOT NULL DEFAULT '',
            filters TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (user_id, name)
        );

        CREATE TABLE digests (
            id INTEGER PRIMARY KEY,
            week TEXT NOT NULL UNIQUE,
            intro TEXT NOT NULL DEFAULT '',
            edits TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            sent_at TEXT
        );
        CREATE TABLE digest_recipients (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL DEFAULT '',
            user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
            unsubscribe_token TEXT NOT NULL UNIQUE,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL
        );
        CREATE TABLE digest_deliveries (
            digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
            recipient_id INTEGER NOT NULL REFERENCES digest_recipients(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('sent', 'failed')),
            message_id TEXT NOT NULL DEFAULT '',
            error TEXT NOT NULL DEFAULT '',
            attempted_at TEXT NOT NULL,
            PRIMARY KEY (digest_id, recipient_id)
        );

        -- Changes to searchable rows waiting for the one index writer; written in the same transaction
        -- as the change, deleted only after the index has committed them.
        CREATE TABLE index_outbox (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL,
            queued_at TEXT NOT NULL
        );
        """
    )


@MIGRATIONS(name="0002_api_tokens")
def _api_tokens(db: Database) -> None:
    # Personal API tokens for scripting the JSON API; only a hash is stored,
    # and revoked ones are kept for audit.
    _run_script(db,
        """
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used TEXT,
            revoked_at TEXT
        );
        """
    )


@MIGRATIONS(name="0003_outbox_kinds")
def _outbox_kinds(db: Database) -> None:
    # Contacts and case files are searchable too: the outbox names what kind of record changed.
    # (The column keeps its first name, item_id; for other kinds it holds that record's id.)
    db.execute("ALTER TABLE index_outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'item'")


@MIGRATIONS(name="0004_fingerprints_refolded")
def _fingerprints_refolded(db: Database) -> None:
    # Content fingerprints now fold text as search and tagging do (kb.text.normalize.fold: "ø" -> "o",
    # "æ" -> "ae", Arabic letter forms unified, Indic vowel signs kept, "_" between words), which changes
    # the fingerprint of texts holding such letters. Recompute the stored ones with the current rule, so a
    # copy of an article stored earlier is still found as a duplicate and a watched page fetched unchanged
    # is not taken for a new version. An item's fingerprint is of its title and its text, or its summary
    # when it has no text (kb.items.store_item); a page version's, of the title and text it keeps.
    if db.execute("SELECT 1 FROM items LIMIT 1").fetchone() is None:
        return  # nothing to recompute (page versions belong to items)
    db.execute(f"UPDATE items SET fingerprint = {CONTENT_FINGERPRINT}"  # noqa: S608 - a constant name
               "(title, CASE WHEN text != '' THEN text ELSE summary END)")
    db.execute(f"UPDATE page_versions SET fingerprint = {CONTENT_FINGERPRINT}(title, text)")  # noqa: S608


@MIGRATIONS(name="0005_task_queue")
def _task_queue(db: Database) -> None:
    # Fetching runs as tasks on a queue (huey), possibly on other machines, while the database stays the
    # truth of what is due. A fetch in flight is a row of fetch_runs holding a lease: if its worker dies,
    # the lease runs out and the source is fetched again (a one-off `kb ingest` names itself as the owner,
    # so that a killed one's runs are taken over at once on the same machine). The feed's new ETag is kept
    # on the run and reaches the source only once every chunk of entries is stored, so a lost chunk is
    # fetched again rather than hidden behind a 304. Workers report heartbeats, shown in the web UI. Each
    # source keeps what its last fetch did not store, by reason, and a warning when a cap bit.
    _run_script(db,
        """
        CREATE TABLE fetch_runs (
            source_id INTEGER PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
            run_id TEXT NOT NULL,
            state TEXT NOT NULL,
            started_at TEXT NOT NULL,
            leased_until TEXT NOT NULL,
            owner TEXT NOT NULL DEFAULT '',
            chunks_waiting INTEGER NOT NULL DEFAULT 0,
            etag TEXT,
            last_modified TEXT,
            counts TEXT NOT NULL DEFAULT '{}'
        );

        CREATE TABLE workers (
            id TEXT PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            role TEXT NOT NULL,
            started_at TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            tasks_done INTEGER NOT NULL DEFAULT 0,
            tasks_failed INTEGER NOT NULL DEFAULT 0,
            last_failure TEXT
        );

        ALTER TABLE sources ADD COLUMN last_counts TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE sources ADD COLUMN warning TEXT;
        """)


@MIGRATIONS(name="0006_relevance_verdict")
def _relevance_verdict(db: Database) -> None:
    # Nothing is silently irrelevant: the tagger's verdict is "relevant", "not relevant" or "needs a
    # reader" (a language the taxonomy has no terms for, or too little evidence), with its reason in words,
    # shown in the curation queue. Items stored before keep their yes/no as the verdict, with no reason.
    _run_script(db,
        """
        ALTER TABLE items ADD COLUMN relevance_verdict TEXT NOT NULL DEFAULT '';
        ALTER TABLE items ADD COLUMN relevance_reason TEXT NOT NULL DEFAULT '';
        UPDATE items SET relevance_verdict = CASE WHEN relevant = 1 THEN 'relevant' ELSE 'not relevant' END;
        """)


@MIGRATIONS(name="0007_systems")
def _systems(db: Database) -> None:
    # The register of algorithmic systems (kb.systems): a record per system, its names and aliases (folded
    # for matching, unique across the register), a dated status timeline backed by items, and its links to
    # items (suggested by the matcher, confirmed or rejected by a person: a rejection is kept so matching
    # never suggests it again), to case files and to contacts. Field names follow the UK Algorithmic
    # Transparency Recording Standard where one fits (README).
    _run_script(db,
        """
        CREATE TABLE systems (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            country TEXT NOT NULL DEFAULT '',
            level TEXT NOT NULL DEFAULT '' CHECK (level IN ('', 'national', 'regional', 'city')),
            organisation TEXT NOT NULL DEFAULT '',
            external_supplier TEXT NOT NULL DEFAULT '',
            sector TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            decision TEXT NOT NULL DEFAULT '',
            legal_basis TEXT NOT NULL DEFAULT '',
            rights TEXT NOT NULL DEFAULT '[]',
            register_url TEXT NOT NULL DEFAULT '',
            impact_assessment TEXT NOT NULL DEFAULT 'unknown',
            source_disclosed TEXT NOT NULL DEFAULT 'unknown',
            notes TEXT NOT NULL DEFAULT '',
            draft INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX systems_country ON systems(country);

        CREATE TABLE system_aliases (
            system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
            alias TEXT NOT NULL,
            folded TEXT NOT NULL UNIQUE,
            is_name INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX system_aliases_system ON system_aliases(system_id);

        CREATE TABLE system_status (
            id INTEGER PRIMARY KEY,
            system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
            status TEXT NOT NULL CHECK (status IN ('announced', 'piloted', 'in use', 'suspended', 'ended',
                                                   'ruled unlawful')),
            date TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX system_status_system ON system_status(system_id, date);
        CREATE TABLE system_status_items (
            step_id INTEGER NOT NULL REFERENCES system_status(id) ON DELETE CASCADE,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            PRIMARY KEY (step_id, item_id)
        );

        CREATE TABLE system_items (
            system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
            item_id INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
            state TEXT NOT NULL CHECK (state IN ('suggested', 'confirmed', 'rejected')),
            origin TEXT NOT NULL CHECK (origin IN ('matcher', 'person')),
            evidence TEXT NOT NULL DEFAULT '[]',
            decided_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            decided_at TEXT,
            created_at TEXT NOT NULL,
            PRIMARY KEY (system_id, item_id)
        );
        CREATE INDEX system_items_item ON system_items(item_id);
        CREATE INDEX system_items_state ON system_items(state, system_id);

        CREATE TABLE system_cases (
            system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
            case_id INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
            added_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (system_id, case_id)
        );
        CREATE INDEX system_cases_case ON system_cases(case_id);
        CREATE TABLE system_contacts (
            system_id INTEGER NOT NULL REFERENCES systems(id) ON DELETE CASCADE,
            contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
            role TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (system_id, contact_id)
        );
        CREATE INDEX system_contacts_contact ON system_contacts(contact_id);
        """)


@MIGRATIONS(name="0008_digest_week")
def _queue(db: Database) -> None:
    # The digest takes an item in the week it was accepted or marked for it (`digest_at`), not the week it
    # was published: a late find lands in the current digest, not an old (maybe sent) one. `status_at`
    # cannot serve: it moves with every later decision, which would move the item between digests.
    # Items decided before keep their last decision's time, else the time they were gathered.
    _run_script(db,
        """
        ALTER TABLE items ADD COLUMN digest_at TEXT;
        UPDATE items SET digest_at = COALESCE(status_at, created_at)
            WHERE (status = 'accepted' OR in_digest = 1) AND status != 'rejected';
        CREATE INDEX items_digest_at ON items(digest_at);
        """)


@MIGRATIONS(name="0009_user_language")
def _user_language(db: Database) -> None:
    # The interface speaks English, French, Spanish and Arabic; each user may choose one ("" follows the
    # browser's Accept-Language).
    db.execute("ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT ''")


@MIGRATIONS(name="0010_relevance_model")
def _relevance_model(db: Database) -> None:
    # A relevance model learned from the coordinator's accepts and rejects (kb.learning) scores incoming
    # items: its probability and the n-grams behind it are kept on the item, with who judged its relevance
    # (the terms, the model, or left to a reader). Models are stored as data (compressed JSON, not a
    # pickle) with the figures of their cross-validation. Items stored before were judged by the terms.
    _run_script(db,
        """
        ALTER TABLE items ADD COLUMN model_score REAL;
        ALTER TABLE items ADD COLUMN model_features TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE items ADD COLUMN relevance_judge TEXT NOT NULL DEFAULT '';
        UPDATE items SET relevance_judge =
            CASE WHEN relevance_verdict = 'needs a reader' THEN 'reader' ELSE 'terms' END;
        CREATE TABLE relevance_models (
            id INTEGER PRIMARY KEY,
            model_key TEXT NOT NULL UNIQUE,
            trained_at TEXT NOT NULL,
            labels INTEGER NOT NULL,
            relevant INTEGER NOT NULL,
            last_label_at TEXT NOT NULL,
            decisions_mark INTEGER NOT NULL DEFAULT 0,
            cv_precision REAL,
            cv_recall REAL,
            cv_folds INTEGER NOT NULL DEFAULT 0,
            model BLOB NOT NULL
        );
        """)


@MIGRATIONS(name="0011_sign_in_failures")
def _sign_in_failures(db: Database) -> None:
    # Failed sign-ins are counted here rather than in a web process's memory: `kb serve` answers from
    # several processes, and a count kept by each would let a guesser try as many times over as there are
    # processes. Keys are keyed hashes of the account or address (see kb.storage.throttle); rows older
    # than the window are deleted as new ones arrive.
    _run_script(db,
        """
        CREATE TABLE sign_in_failures (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            failed_at REAL NOT NULL
        );
        CREATE INDEX sign_in_failures_by_key ON sign_in_failures (scope, key, failed_at);
        CREATE INDEX sign_in_failures_by_age ON sign_in_failures (scope, failed_at);
        """)


@MIGRATIONS(name="0012_saved_search_words_only")
def _saved_search_words_only(db: Database) -> None:
    # A saved search keeps the search page's "Words only" toggle (concept expansion off), not only a
    # query's leading "=".
    db.execute("ALTER TABLE saved_searches ADD COLUMN words_only INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS(name="0013_taxonomy_versions")
def _taxonomy_versions(db: Database) -> None:
    # The lab's taxonomy as edited in the web UI: each change stores the whole text (export and import are
    # then the text itself, and every process picks the newest up with one SELECT of the last row). No row:
    # the bundled kb/text/taxonomy.toml. `retagged_at` says when the stored items were re-tagged with it.
    _run_script(db,
        """
        CREATE TABLE taxonomy_versions (
            id INTEGER PRIMARY KEY,
            digest TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            change TEXT NOT NULL DEFAULT '',
            retag_started_at TEXT,
            retagged_at TEXT,
            retag_report TEXT
        );
        """)


@MIGRATIONS(name="0014_taxonomy_previews")
def _taxonomy_previews(db: Database) -> None:
    # The preview of a taxonomy edit re-tags every stored item in a dry run: too long for a web request at
    # a year of monitoring, so it runs as a background job and the page reads its row. `subject` is the
    # term change (JSON) or the imported file's text, `digest` the taxonomy it was computed against,
    # `updated_at` its heartbeat (a running job not updated for a while has ended with its process).
    _run_script(db,
        """
        CREATE TABLE taxonomy_previews (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('term', 'import')),
            subject TEXT NOT NULL,
            digest TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT,
            examined INTEGER NOT NULL DEFAULT 0,
            total INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed')),
            result TEXT,
            error TEXT NOT NULL DEFAULT ''
        );
        """)


@MIGRATIONS(name="0015_nukta_folded")
def _nukta_folded(db: Database) -> None:
    # Folding now drops the Devanagari nukta (kb.text.normalize.fold), which changes the fingerprint of
    # texts that hold one, alone or in a letter that decomposes into one (U+0929, U+0931 as in Marathi
    # "अधिकाऱ्यांनी", U+0934, U+0958-U+095F). Only those are recomputed, as in 0004, so that a copy stored
    # earlier is still found as a duplicate.
    letters = (0x93C, 0x929, 0x931, 0x934, *range(0x958, 0x960))
    nukta = "(" + " OR ".join(f"instr({{0}}, char({code})) > 0" for code in letters) + ")"
    item_text = "CASE WHEN text != '' THEN text ELSE summary END"
    for table, text in (("items", item_text), ("page_versions", "text")):
        holding = f"{nukta.format('title')} OR {nukta.format(text)}"
        # Checked first: without such a row the fingerprint function (registered by kb.knowledge) is not
        # needed, and a knowledge base without Hindi is not rewritten.
        if db.execute(f"SELECT 1 FROM {table} WHERE {holding} LIMIT 1").fetchone():  # noqa: S608
            db.execute(f"UPDATE {table} SET fingerprint = {CONTENT_FINGERPRINT}(title, {text}) "  # noqa: S608
                       f"WHERE {holding}")
    # The register finds a system by its aliases' folded keys: recompute those too. Two aliases that differ
    # only by a nukta now share a key, which must stay unique: the second keeps its old key (it is still
    # shown; the system is found by the first).
    if db.execute(f"SELECT 1 FROM system_aliases WHERE {nukta.format('alias')} LIMIT 1").fetchone():  # noqa: S608
        db.execute(f"UPDATE OR IGNORE system_aliases SET folded = {ALIAS_KEY}(alias) "  # noqa: S608
                   f"WHERE {nukta.format('alias')}")
