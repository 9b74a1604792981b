"""WSGI entry point for production servers: ``gunicorn jishi.wsgi:app``.

Configuration comes from the instance folder and ``JISHI_*`` variables.
"""

from jishi.app import create_app

app = create_app()
