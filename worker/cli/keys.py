"""``hookflow keys``: API keys for the REST API and the pane."""

from __future__ import annotations

import click

from worker.cli.context import AppContext, pass_app
from worker.cli.output import print_list


@click.group()
def keys() -> None:
    """API keys: `Authorization: Bearer <key>` for the REST API, and the pane's sign-in."""


@keys.command("create")
@click.option("--project", help="The project the key reaches (and no other).")
@click.option("--admin", is_flag=True, help="A key for every project.")
@click.option("--name", help="What the key is for.")
@pass_app
def create(app: AppContext, project: str | None, admin: bool, name: str | None) -> None:
    """Create a key; the last line printed is the key, shown this once only."""
    from sqlmodel import Session

    from activities.store.keys import create_key

    engine, _box = app.store()
    with Session(engine) as session:
        record, plain = create_key(session=session, project=project, name=name, admin=admin)
        scope = "every project" if record.project is None else f"project {record.project}"
        click.echo(f"created key {record.id} ({record.name}) for {scope}")
    click.echo("Store it now: it cannot be shown again.")
    click.echo(plain)


@keys.command("list")
@click.option("--project", help="Only this project's keys.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: AppContext, project: str | None, as_json: bool) -> None:
    """List keys (never the keys themselves)."""
    from sqlmodel import Session

    from activities.store.keys import list_keys, public_key

    engine, _box = app.store()
    with Session(engine) as session:
        shown = [public_key(k) for k in list_keys(session=session, project=project)]
    print_list(
        shown,
        as_json=as_json,
        headers=["ID", "PREFIX", "PROJECT", "NAME", "CREATED", "REVOKED"],
        row=lambda k: [
            k.id,
            k.prefix + "...",
            k.project or "(admin: every project)",
            k.name,
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-",
        ],
    )


@keys.command("revoke")
@click.argument("ref", metavar="ID|PREFIX")
@pass_app
def revoke(app: AppContext, ref: str) -> None:
    """Revoke a key: requests with it are refused (401) from now on."""
    from sqlmodel import Session

    from activities.store.keys import revoke_key

    engine, _box = app.store()
    with Session(engine) as session:
        key = revoke_key(session=session, ref=ref)
        click.echo(f"revoked key {key.id} ({key.name})")
