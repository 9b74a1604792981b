"""``jishi users create-admin`` (SPEC K13, K15)."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext


@click.group("users")
def users_group():
    """Manage users."""


@users_group.command("create-admin")
@click.option("--phone", required=True, help="The admin's phone number (login).")
@click.option("--password", default=None, help="Prompted for when missing (never in CI).")
@click.option("--name", default="", help="Display name.")
@with_appcontext
def create_admin(phone: str, password: str | None, name: str):
    """Create a platform admin, or promote an existing user to one."""
    from sqlalchemy import select

    from jishi.accounts.auth import hash_password
    from jishi.accounts.models import ROLE_PLATFORM_ADMIN, User
    from jishi.db import commit, db

    if password is None:
        if os.environ.get("CI"):
            raise click.UsageError("--password is required when CI is set (no prompt).")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 6:
        raise click.BadParameter("at least 6 characters", param_hint="--password")
    phone = phone.strip()
    if not phone.isdigit() or not 5 <= len(phone) <= 20:
        raise click.BadParameter("digits only", param_hint="--phone")
    user = db.session.execute(select(User).where(User.phone == phone)).scalar_one_or_none()
    if user is None:
        user = User(phone=phone, name=name, password_hash=hash_password(password), role=ROLE_PLATFORM_ADMIN)
        db.session.add(user)
        verb = "created"
    else:
        user.role = ROLE_PLATFORM_ADMIN
        user.password_hash = hash_password(password)
        if name:
            user.name = name
        verb = "updated"
    commit()
    click.echo(f"Platform admin {phone} {verb} (id {user.id}).")
