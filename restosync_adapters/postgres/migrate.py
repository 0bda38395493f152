"""Migrations: apply ``migrations/*.sql`` in order, once each, under an advisory lock.

Each file runs in its own transaction and is recorded with its SHA-256 checksum.
A second run is a no-op; two runs at once serialise on the lock; a changed or
missing applied file stops everything before anything is applied.

The files are package data: the source tree's ``migrations/`` directory is the
package ``restosync_migrations`` (pyproject.toml maps it), so an installed wheel
finds them through ``importlib.resources`` as the source checkout does.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

log = logging.getLogger(__name__)


def _migrations_dir() -> Path:
    """The installed ``restosync_migrations`` package's directory, or the source tree's ``migrations/``."""
    try:
        found = importlib.resources.files("restosync_migrations")
    except ModuleNotFoundError:  # pragma: no cover - a source tree never installed (python -m from it)
        return Path(__file__).resolve().parents[2] / "migrations"
    if not isinstance(found, Path):  # pragma: no cover - wheels install unzipped; a zip import is not supported
        raise MigrationError(f"restosync_migrations must be a directory on disk, not {found!r}")
    return found


ADVISORY_LOCK_KEY = 0x5E57_5C0D  # restosync's migration lock, an arbitrary fixed bigint

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    filename    text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """The database and the migration files disagree, or the files cannot be found; nothing was applied."""


MIGRATIONS_DIR = _migrations_dir()


@dataclass(frozen=True, slots=True)
class MigrationFile:
    filename: str
    checksum: str
    sql: str


def load_files(directory: Path = MIGRATIONS_DIR) -> list[MigrationFile]:
    files = []
    for path in sorted(directory.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        checksum = hashlib.sha256(text.encode("utf-8")).hexdigest()
        files.append(MigrationFile(path.name, checksum, text))
    return files


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it does not exist; True when it was created."""
    params = conninfo_to_dict(url)
    dbname = params.get("dbname")
    try:
        psycopg.connect(url, connect_timeout=10).close()
        return False
    except psycopg.OperationalError as exc:
        if not dbname or "does not exist" not in str(exc):
            raise
    admin_url = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(dbname))))
        except psycopg.errors.DuplicateDatabase:
            return False
    log.info("created database %s", dbname)
    return True


def migrate(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; answer the filenames applied by this call."""
    files = load_files(directory)
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        try:
            conn.execute(_CREATE_TABLE)
            rows = conn.execute("SELECT filename, checksum FROM schema_migrations").fetchall()
            applied: dict[str, str] = dict(rows)
            _check_history(files, applied)
            for f in files:
                if f.filename in applied:
                    continue
                with conn.transaction():
                    conn.execute(f.sql.encode("utf-8"))
                    conn.execute(
                        "INSERT INTO schema_migrations (filename, checksum) VALUES (%s, %s)",
                        (f.filename, f.checksum),
                    )
                log.info("applied migration %s", f.filename)
                applied_now.append(f.filename)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
    return applied_now


def _check_history(files: list[MigrationFile], applied: dict[str, str]) -> None:
    by_name = {f.filename: f for f in files}
    problems = []
    for name, checksum in sorted(applied.items()):
        current = by_name.get(name)
        if current is None:
            problems.append(f"{name} was applied but is missing from {MIGRATIONS_DIR.name}/")
        elif current.checksum != checksum:
            problems.append(f"{name} changed after it was applied (migrations are forward only)")
    if problems:
        raise MigrationError("refusing to migrate: " + "; ".join(problems))
