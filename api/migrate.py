"""`zhengjiao migrate`: Alembic, as the owner role."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from api.database import DatabaseUrls
from api.settings import Settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(urls: DatabaseUrls, settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = urls.owner_sqlalchemy
    config.attributes["app_role"] = settings.app_role
    return config


def migrate(urls: DatabaseUrls, settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(urls, settings), revision)
    install_match_key(urls, settings)


def install_match_key(urls: DatabaseUrls, settings: Settings) -> None:
    """The fingerprint key from the settings into `match_key` (owner only); when it
    changed, every fingerprint is computed again with it."""
    import psycopg

    from domain.matching.rules import fingerprint_pads

    ipad, opad = fingerprint_pads(settings.match_secret)
    with psycopg.connect(urls.owner) as conn:
        if conn.execute("SELECT to_regclass('match_key')").fetchone()[0] is None:
            return  # migrated to a revision before duplicate matching
        changed = conn.execute(
            """
            INSERT INTO match_key AS k (id, ipad, opad) VALUES (true, %s, %s)
            ON CONFLICT (id) DO UPDATE SET ipad = EXCLUDED.ipad, opad = EXCLUDED.opad
             WHERE (k.ipad, k.opad) IS DISTINCT FROM (EXCLUDED.ipad, EXCLUDED.opad)
            RETURNING xmax <> 0 AS updated
            """,
            (ipad, opad),
        ).fetchone()
        if changed is not None and changed[0]:
            conn.execute("SELECT match_refingerprint()")
