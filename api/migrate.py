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
