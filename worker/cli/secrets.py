"""``hookflow secrets``: token endpoints for bearer-token authentication."""

from __future__ import annotations

import click

from worker.cli.context import AppContext, pass_app
from worker.cli.output import print_json, print_list


@click.group()
def secrets() -> None:
    """Bearer tokens: a token endpoint and its credentials ('general' or 'microsoft_graph')."""


@secrets.command("add")
@click.option("--project", required=True)
@click.option("--alias", required=True, help="Name that webhooks use with --secret.")
@click.option("--token-url", required=True, help="Token endpoint.")
@click.option(
    "--convention",
    type=click.Choice(["general", "microsoft_graph"]),
    default="general",
    show_default=True,
)
@click.option("--username", help="general: user name.")
@click.option("--password", help="general: password.")
@click.option("--client-id", help="microsoft_graph: application (client) id.")
@click.option("--client-secret", help="microsoft_graph: client secret.")
@click.option("--scope")
@click.option("--grant-type", help="Default: password (general), client_credentials (graph).")
@click.option(
    "--token-format",
    type=click.Choice(["form", "json"]),
    default="form",
    show_default=True,
    help="The token request's body: form-encoded fields, or one JSON object.",
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def add(app: AppContext, /, as_json: bool, **fields: str | None) -> None:
    """Add a secret; credentials are encrypted at rest and never printed."""
    from sqlmodel import Session

    from activities.store.secrets import SecretCreate, create_secret, public_secret

    data = SecretCreate(**{k: v for k, v in fields.items() if v is not None})
    engine, box = app.store()
    with Session(engine) as session:
        shown = public_secret(create_secret(session=session, data=data, box=box), box)
    if as_json:
        print_json(shown)
    else:
        click.echo(f"added secret {shown.project}/{shown.alias}")


@secrets.command("list")
@click.option("--project")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: AppContext, project: str | None, as_json: bool) -> None:
    """List secrets (credentials redacted)."""
    from sqlmodel import Session

    from activities.store.secrets import list_secrets, public_secret

    engine, box = app.store()
    with Session(engine) as session:
        shown = [public_secret(s, box) for s in list_secrets(session=session, project=project)]
    print_list(
        shown,
        as_json=as_json,
        headers=["PROJECT", "ALIAS", "CONVENTION", "FORMAT", "TOKEN URL", "FIELDS"],
        row=lambda s: [
            s.project,
            s.alias,
            s.convention,
            s.token_format,
            s.token_url,
            ", ".join(f"{k}={v}" for k, v in s.fields.items()),
        ],
    )


@secrets.command("delete")
@click.option("--project", required=True)
@click.argument("alias")
@pass_app
def delete(app: AppContext, project: str, alias: str) -> None:
    """Delete a secret no webhook uses."""
    from sqlmodel import Session

    from activities.store.secrets import delete_secret

    engine, _box = app.store()
    with Session(engine) as session:
        delete_secret(session=session, project=project, alias=alias)
    click.echo(f"deleted secret {project}/{alias}")
