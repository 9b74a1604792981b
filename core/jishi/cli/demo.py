"""``jishi demo``: a fresh demo shop on SQLite with every plugin enabled."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="The interface to serve on.")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the demo database, print the URLs and exit.")
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Instance folder (default ./instance).",
)
def demo(host: str, port: int, no_serve: bool, instance_path: Path | None):
    """Build a fresh demo shop (all plugins, demo data) and serve it."""
    from jishi import migrations
    from jishi.app import create_app
    from jishi.demo import load_demo

    instance_path = (instance_path or Path.cwd() / "instance").resolve()
    instance_path.mkdir(parents=True, exist_ok=True)
    db_file = instance_path / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db_file) + suffix).unlink(missing_ok=True)
    url = f"sqlite:///{db_file}"
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "JISHI_PLUGINS": "all", "JISHI_DEMO": True}, instance_path=str(instance_path)
    )
    migrations.upgrade(app)
    logins: dict = {}
    with app.app_context():
        summary = load_demo(logins)
    base = f"http://{host}:{port}"
    click.echo(f"Demo database: {db_file} ({summary})")
    click.echo(f"Plugins enabled: {', '.join(app.extensions['jishi'].enabled_plugin_names()) or 'none'}")
    click.echo(f"Storefront:  {base}/")
    click.echo(f"Console:     {base}/console/")
    click.echo(f"API docs:    {base}/api/v1/openapi.json")
    for role, (phone, password) in logins.items():
        click.echo(f"Login ({role}): {phone} / {password}")
    click.echo(f"Serve it again later: JISHI_DATABASE_URL={url} JISHI_PLUGINS=all JISHI_DEMO=true jishi run")
    if no_serve:
        return
    app.run(host=host, port=port, debug=False, use_reloader=False)
