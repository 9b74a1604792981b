"""The Jishi kernel distribution.

The package lives in ``core/jishi`` (a src-style layout whose folder is
``core/``); first-party plugins are separate distributions under ``plugins/``.
The first-party themes are package data (``core/jishi/themes_builtin``), and
the built wheel carries a copy of ``docs/plugin-hooks.md`` as
``jishi/reference/plugin-hooks.md`` for ``jishi docs hooks --check``.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HOOKS_DOC = Path(__file__).parent / "docs" / "plugin-hooks.md"


class BuildPy(build_py):
    """build_py that also ships the generated hook reference in the package."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which has docs/
        target = Path(self.build_lib) / "jishi" / "reference" / "plugin-hooks.md"
        self.mkpath(str(target.parent))
        self.copy_file(str(HOOKS_DOC), str(target))


setup(
    name="jishi",
    version="0.1.0",
    description="Jishi (集市): a plugin-based multi-merchant commerce framework",
    python_requires=">=3.11",
    package_dir={"": "core"},
    packages=find_packages("core"),
    include_package_data=False,  # package_data names every data file; the manifest adds nothing to the package
    package_data={
        "jishi": [
            "templates/**/*",
            "static/**/*",
            "translations/*/LC_MESSAGES/*",
            "migrations/*",
            "migrations/**/*",
            "scaffold/plugin/**/*",
            "themes_builtin/**/*",
        ]
    },
    cmdclass={"build_py": BuildPy},
    install_requires=[
        "Flask>=3.0",
        "Flask-SQLAlchemy>=3.1",
        "SQLAlchemy>=2.0",
        "Flask-Migrate>=4.0",
        "alembic>=1.13",
        "pluggy>=1.5",
        "blinker>=1.7",
        "click>=8.1",
        "Jinja2>=3.1",
        "importlib-metadata>=6.0",
        "flask-smorest>=0.44",
        "apispec>=6.0",  # jishi.api.common's plugin documenting the error responses
        "marshmallow>=3.20",
        "Flask-Login>=0.6",
        "argon2-cffi>=23.1",
        "Flask-WTF>=1.2",
        "Flask-Babel>=4.0",
        "Flask-Limiter>=3.5",
        "openpyxl>=3.1",
        "qrcode>=7.4",
        "orjson>=3.8",  # the product list's JSON (falls back to json without it)
        "segno>=1.5",  # QR codes of native (scan to pay) payments, as SVG
        "Pillow>=10.0",  # the media library: reads, checks and re-encodes uploads
        "prometheus-client>=0.20",  # /metrics (jishi.metrics; docs/operations.md)
        "python-json-logger>=3.1",  # JISHI_LOG_JSON (jishi.observability)
    ],
    extras_require={
        "postgres": ["psycopg[binary]>=3.1"],
        # hiredis: redis-py's C reply parser (a gate or queue script call
        # ~5-15 µs less CPU of ~45; bench/README.md, issue 20, ninth sitting)
        "redis": ["redis>=5.0", "hiredis>=2.0"],
        "server": ["gunicorn>=21.2"],
        "s3": ["boto3>=1.34"],  # JISHI_MEDIA_STORAGE="s3": media in an S3-compatible object store
        "test": [
            "pytest>=8.0",
            "pytest-xdist>=3.5",
            "hypothesis>=6.90",
            "schemathesis>=4.0",  # tests/api/test_openapi_conformance.py
            "playwright>=1.40",
            "psycopg[binary]>=3.1",
            "gunicorn>=21.2",
            "redis>=5.0",
            "hiredis>=2.0",
            "ruff>=0.15",
            "pre-commit>=3.5",
            "setuptools>=70.1",  # builds the wheel (bdist_wheel built in) in tests/test_wheel.py
            "mypy>=1.10",
            "boto3>=1.34",
            "moto[s3,server]>=5.0",  # tests/media/test_s3.py: a real S3 endpoint on 127.0.0.1
        ],
    },
    entry_points={
        "console_scripts": ["jishi = jishi.cli:main"],
        "pytest11": ["jishi = jishi.testing.pytest_plugin"],
    },
)
