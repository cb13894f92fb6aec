"""`zhengjiao …`: serve, migrate, create-operator, demo, policy apply, export-schema, trusted-documents."""
from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import json
import os
import sys
from pathlib import Path

from api.console import report_problems, say
from api.settings import get_settings


def cmd_migrate(args: argparse.Namespace) -> int:
    from api.database import resolve_urls
    from api.migrate import migrate

    settings = get_settings()
    migrate(resolve_urls(settings), settings)
    say("cli.migrated")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    settings = get_settings()
    workers = worker_count(args.workers)
    if workers > 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Before anything imports prometheus_client: the workers' metrics go to files.
        from api.metrics import prepare_multiprocess

        prepare_multiprocess(settings.data_dir / "metrics")

    import uvicorn

    from api.app import create_app
    from api.database import resolve_urls
    from api.logs import configure_logging
    from api.migrate import migrate
    from api.serving import HTTP_PROTOCOL

    configure_logging(log_format=settings.log_format)
    urls = resolve_urls(settings)
    if not args.no_migrate:
        migrate(urls, settings)
    say("cli.serving", host=args.host, port=args.port, env=settings.env)
    # The login throttle counts per client address: behind a reverse proxy that is the
    # proxy's unless its X-Forwarded-For is trusted (ZHENGJIAO_FORWARDED_ALLOW_IPS).
    proxied = settings.forwarded_allow_ips
    # access_log: the app writes each request's line itself (api/app.py), with its fields.
    options = {"host": args.host, "port": args.port, "log_config": None, "access_log": False,
               "proxy_headers": bool(proxied), "forwarded_allow_ips": proxied, "http": HTTP_PROTOCOL}
    if workers == 1:
        uvicorn.run(create_app(settings, urls), **options)
    else:
        # Each worker is a process of its own, started from an import string: it builds
        # its app (and its connection pool) from the settings in the environment and the
        # database this process resolved (started, for the embedded server) once.
        os.environ[WORKER_URLS] = json.dumps(dataclasses.asdict(urls))
        uvicorn.run("api.cli:worker_app", factory=True, workers=workers, **options)
    return 0


WORKER_URLS = "ZHENGJIAO_WORKER_DATABASE_URLS"


def worker_count(asked: str) -> int:
    """`--workers N`, or `auto`: one per core."""
    if asked == "auto":
        return os.cpu_count() or 1
    count = int(asked)
    if count < 1:
        raise SystemExit("--workers: at least 1, or auto")
    return count


def worker_app():  # noqa: ANN201 (a Starlette app; uvicorn's factory for each worker)
    """The app of one `serve --workers N` process (a process of its own: logging is set
    up here again, settings from the environment, the database the parent resolved)."""
    from api.app import create_app
    from api.database import DatabaseUrls
    from api.logs import configure_logging

    settings = get_settings()
    configure_logging(log_format=settings.log_format)
    return create_app(settings, DatabaseUrls(**json.loads(os.environ[WORKER_URLS])))


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from api.backup import BackupError, backup, read_manifest
    from api.console import complain

    try:
        folder = backup(get_settings(), Path(args.out) if args.out else None)
        manifest = read_manifest(folder)
    except BackupError as error:
        complain(error.message_id, **error.params)
        return 2
    say("cli.backup_done", path=str(folder), migration=",".join(manifest["migration"]), sha256=manifest["sha256"])
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from api.backup import BackupError, read_manifest, restore
    from api.console import complain

    settings = get_settings()
    folder = Path(args.folder)
    try:
        read_manifest(folder)  # refuse a bad backup before asking anything
        if not args.yes:
            complain("cli.restore_confirm", database=settings.database_name)
            return 2
        manifest = restore(settings, folder)
    except BackupError as error:
        complain(error.message_id, **error.params)
        return 2
    say("cli.restore_done", path=str(folder), database=settings.database_name,
        migration=",".join(manifest["migration"]), created_at=manifest["created_at"])
    return 0


def _read_password() -> str:
    if os.environ.get("ZHENGJIAO_PASSWORD"):
        return os.environ["ZHENGJIAO_PASSWORD"]
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def cmd_create_operator(args: argparse.Namespace) -> int:
    from api.database import resolve_urls
    from api.migrate import migrate
    from api.owner import owner_transaction
    from authz.accounts import create_operator
    from authz.passwords import Passwords
    from tenants.problems import Rejected

    settings = get_settings()
    urls = resolve_urls(settings)
    migrate(urls, settings)
    password = _read_password()

    async def run() -> int:
        async with owner_transaction(urls, settings) as db:
            passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_threads)
            return await create_operator(db, passwords, args.username, password)

    try:
        operator_id = asyncio.run(run())
    except Rejected as rejected:
        report_problems(rejected.problems)
        return 2
    say("cli.operator_ready", username=args.username, id=operator_id)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from api.demo import run_demo

    return run_demo(persons=args.persons, if_empty=args.if_empty, seed=args.seed)


def cmd_policy_apply(args: argparse.Namespace) -> int:
    from api.policies import apply_policy_file

    return apply_policy_file(args.tenant, args.file)


def cmd_quotas_apply(args: argparse.Namespace) -> int:
    from api.quota_cli import apply_quota_file

    return apply_quota_file(args.tenant, args.file, args.year)


def cmd_snapshot(args: argparse.Namespace) -> int:
    from api.quota_cli import snapshot_command

    return snapshot_command(args.tenant, args.year)


def cmd_tally_verify(args: argparse.Namespace) -> int:
    from api.quota_cli import tally_command

    return tally_command(args.tenant, args.year, args.repair)


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema.build import build_schema

    sys.stdout.write(build_schema().as_str() + "\n")
    return 0


def cmd_trusted_documents(args: argparse.Namespace) -> int:
    import json

    from api.trusted_documents import manifest, read_documents

    sys.stdout.write(json.dumps(manifest(read_documents(args.files)), ensure_ascii=False, indent=2) + "\n")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="zhengjiao", description="Resident medical-insurance premium collection.")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then serve GraphQL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-migrate", action="store_true")
    serve.add_argument(
        "--workers", default=os.environ.get("ZHENGJIAO_WORKERS", "1"),
        help="processes serving requests (each with its own pool of ZHENGJIAO_POOL_MAX connections); auto: one per core",
    )
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)

    backup = commands.add_parser("backup", help="pg_dump (custom format) with a checksummed manifest")
    backup.add_argument("--out", help="the backup folder to create (default: <data dir>/backups/<UTC time>)")
    backup.set_defaults(run=cmd_backup)
    restore = commands.add_parser("restore", help="drop the database and restore a backup folder into it")
    restore.add_argument("folder")
    restore.add_argument("--yes", action="store_true", help="yes, drop the database first")
    restore.set_defaults(run=cmd_restore)

    operator = commands.add_parser("create-operator", help="create or reset a platform operator")
    operator.add_argument("username")
    operator.set_defaults(run=cmd_create_operator)

    demo = commands.add_parser("demo", help="load the demo county 内乡县 (411325)")
    demo.add_argument("--persons", type=int, default=20_000)
    demo.add_argument("--if-empty", action="store_true", help="do nothing when the demo county exists")
    demo.add_argument("--seed", type=int, default=411325)
    demo.set_defaults(run=cmd_demo)

    policy = commands.add_parser("policy", help="year policies").add_subparsers(dest="policy_command", required=True)
    apply = policy.add_parser("apply", help="set a year policy from a JSON file (examples/policies/)")
    apply.add_argument("tenant", help="tenant code, e.g. 411325")
    apply.add_argument("file")
    apply.set_defaults(run=cmd_policy_apply)

    quotas = commands.add_parser("quotas", help="quotas (征缴任务)").add_subparsers(dest="quotas_command", required=True)
    quotas_apply = quotas.add_parser("apply", help="set a year's quota table from a JSON file (examples/quotas/)")
    quotas_apply.add_argument("tenant", help="tenant code, e.g. 411325")
    quotas_apply.add_argument("file")
    quotas_apply.add_argument("--year", type=int, help="apply the table to another year than the file's")
    quotas_apply.set_defaults(run=cmd_quotas_apply)

    snapshot = commands.add_parser("snapshot", help="freeze today's progress of every unit (run daily, near midnight)")
    snapshot.add_argument("--tenant", help="one county's code (default: every county)")
    snapshot.add_argument("--year", type=int, help="this benefit year (default: every year whose collection is under way)")
    snapshot.set_defaults(run=cmd_snapshot)

    tally = commands.add_parser("tally", help="enrolment tallies behind progress").add_subparsers(dest="tally_command", required=True)
    verify = tally.add_parser("verify", help="compare the tallies with a recount of the enrolments")
    verify.add_argument("tenant", help="tenant code, e.g. 411325")
    verify.add_argument("--year", type=int)
    verify.add_argument("--repair", action="store_true", help="set drifted tallies to the recount")
    verify.set_defaults(run=cmd_tally_verify)

    commands.add_parser("export-schema", help="print the GraphQL SDL").set_defaults(run=cmd_export_schema)
    trusted = commands.add_parser(
        "trusted-documents", help="print the manifest (sha256 → document) of the clients' .graphql files"
    )
    trusted.add_argument("files", nargs="+", type=Path)
    trusted.set_defaults(run=cmd_trusted_documents)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args) or 0


if __name__ == "__main__":
    sys.exit(main())
