"""Alembic environment for the kernel's history (used by the plain
``alembic`` command; ``jishi db upgrade`` drives the histories itself).

Only kernel tables are compared (see :func:`jishi.migrations.table_owners`);
the version table is ``alembic_version_jishi``; ``render_as_batch`` so the
same scripts run on SQLite.
"""

from alembic import context

from jishi.migrations import run_env

run_env(context)
