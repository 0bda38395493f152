"""restosync migrate: every table on an empty database, idempotent, safe twice at once, forward only."""

from __future__ import annotations

import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from restosync_adapters.postgres.migrate import MIGRATIONS_DIR, MigrationError, ensure_database, migrate
from tests.conftest import _url_for, drop_database

EXPECTED_TABLES = {
    "items", "stock", "warehouses", "orders", "order_lines", "sync_jobs", "agent_registry",
    "erp_code_mappings", "dead_letter_queue", "reconciliation_events", "reconciliation_runs", "audit_log",
    "schema_migrations",
}


def _tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def _schema_fingerprint(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1, 2"
        ).fetchall()


def test_migrate_creates_every_table_on_an_empty_database(empty_db: str) -> None:
    applied = migrate(empty_db)
    assert applied == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert _tables(empty_db) >= EXPECTED_TABLES


def test_migrate_twice_changes_nothing_the_second_time(empty_db: str) -> None:
    migrate(empty_db)
    before = _schema_fingerprint(empty_db)
    assert migrate(empty_db) == []
    assert _schema_fingerprint(empty_db) == before


def test_two_migrations_at_once_both_succeed_and_apply_each_file_once(empty_db: str) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: migrate(empty_db), range(2)))
    all_files = sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert sorted(results, key=len) == [[], all_files]
    with psycopg.connect(empty_db) as conn:
        count = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert count == (len(all_files),)


def test_a_changed_applied_file_stops_migrate_before_anything_runs(empty_db: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    migrate(empty_db, directory)
    first = sorted(directory.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after being applied\n")
    (directory / "9999_new.sql").write_text("CREATE TABLE should_not_exist (id int);")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(empty_db, directory)
    assert "should_not_exist" not in _tables(empty_db)


def test_a_failing_file_rolls_back_and_is_not_recorded(empty_db: str, tmp_path: Path) -> None:
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    (directory / "9999_broken.sql").write_text("CREATE TABLE half_done (id int); SELECT * FROM no_such_table;")
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate(empty_db, directory)
    assert "half_done" not in _tables(empty_db)
    (directory / "9999_broken.sql").unlink()
    assert migrate(empty_db, directory) == []


def test_ensure_database_creates_a_missing_database() -> None:
    name = f"restosync_new_{uuid.uuid4().hex[:10]}"
    url = _url_for(name)
    try:
        assert ensure_database(url) is True
        assert ensure_database(url) is False
        assert migrate(url)
    finally:
        drop_database(name)
