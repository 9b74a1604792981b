"""K12/K3 packaging: the kernel as a user installs it, from a built wheel,
not from the source tree.

The sdist is built from a copy of the kernel's sources (so nothing left in
the checkout's build/ folder can leak in), the wheel from that sdist (as
``python -m build`` does), and the wheel is installed with ``--no-deps
--target`` into a folder put first on ``PYTHONPATH``: jishi comes from the
wheel, its dependencies from the test environment. From there the built-in
themes are listed, the storefront renders with the ``default`` theme, and
``jishi docs hooks --check`` passes against the reference the wheel ships.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        bool(os.environ.get("JISHI_TEST_DATABASE_URL")),
        reason="packaging does not depend on the database: runs once, in the SQLite run",
    ),
]


def _run(args, cwd, env=None):
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The folder the kernel wheel is installed into."""
    tmp = tmp_path_factory.mktemp("wheel")
    src, dist, site = tmp / "src", tmp / "dist", tmp / "site"
    src.mkdir()
    for name in ("setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(ROOT / "docs", src / "docs")
    shutil.copytree(ROOT / "core", src / "core", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    _run([sys.executable, "setup.py", "-q", "sdist", "-d", str(dist)], cwd=src)
    (sdist,) = dist.glob("jishi-*.tar.gz")
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(sdist)],
        cwd=tmp,
    )
    (wheel,) = dist.glob("jishi-*.whl")
    _run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        cwd=tmp,
    )
    return site


def _env(site: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JISHI_")}
    env["PYTHONPATH"] = str(site)
    env["JISHI_SANDBOX_SECRET"] = "wheel-test-secret"  # the documented default is refused outside tests
    env["JISHI_SECRET_KEY"] = "subprocess-test-secret"  # a missing one is refused outside tests (issue 15)
    return env


def _jishi(site: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``jishi ARGS`` with the wheel's jishi, run outside the checkout."""
    return subprocess.run(
        [sys.executable, "-c", "from jishi.cli import main; main()", *args],
        cwd=cwd,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_jishi_is_imported_from_the_wheel(site, tmp_path):
    out = _run([sys.executable, "-c", "import jishi; print(jishi.__file__)"], cwd=tmp_path, env=_env(site))
    assert Path(out.stdout.strip()).is_relative_to(site)
    assert (site / "jishi" / "themes_builtin" / "default" / "theme.toml").is_file()
    assert not (site / "themes").exists()


def test_wheel_lists_its_themes(site, tmp_path):
    result = _jishi(site, tmp_path, "themes", "list")
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "default" in rows and "jade" in rows, result.stdout


STOREFRONT = """
import json, sys
from jishi import migrations
from jishi.app import create_app

app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1] + "/shop.db", "TESTING": True}, instance_path=sys.argv[1])
with app.app_context():
    migrations.upgrade(app)
client = app.test_client()
page = client.get("/")
css = client.get("/themes/default/static/css/site.css")
print(json.dumps({"status": page.status_code, "page": page.get_data(as_text=True),
                  "css_status": css.status_code, "css": css.get_data(as_text=True),
                  "themes": {n: str(t.path) for n, t in app.extensions["jishi"].themes.items()}}))
"""


def test_wheel_renders_the_storefront_with_the_default_theme(site, tmp_path):
    out = json.loads(
        _run([sys.executable, "-c", STOREFRONT, str(tmp_path)], cwd=tmp_path, env=_env(site)).stdout.splitlines()[-1]
    )
    assert out["status"] == 200
    assert "/themes/default/static/css/site.css" in out["page"]
    assert out["css_status"] == 200
    assert out["css"] == (site / "jishi" / "themes_builtin" / "default" / "static" / "css" / "site.css").read_text(
        encoding="utf-8"
    )
    assert all(Path(p).is_relative_to(site) for p in out["themes"].values()), out["themes"]


def test_wheel_checks_its_hook_reference(site, tmp_path):
    shipped = site / "jishi" / "reference" / "plugin-hooks.md"
    assert shipped.read_text(encoding="utf-8") == (ROOT / "docs" / "plugin-hooks.md").read_text(encoding="utf-8")
    ok = _jishi(site, tmp_path, "docs", "hooks", "--check")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "shipped with jishi is current" in ok.stdout
    # writing needs an explicit file: nothing is written into the installation
    refused = _jishi(site, tmp_path, "docs", "hooks")
    assert refused.returncode == 2 and "--output" in refused.stderr
    written = _jishi(site, tmp_path, "docs", "hooks", "--output", str(tmp_path / "hooks.md"))
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "hooks.md").read_text(encoding="utf-8") == shipped.read_text(encoding="utf-8")
    # a stale shipped copy fails the check
    shipped.write_text("stale", encoding="utf-8")
    try:
        stale = _jishi(site, tmp_path, "docs", "hooks", "--check")
    finally:
        shipped.write_text((ROOT / "docs" / "plugin-hooks.md").read_text(encoding="utf-8"), encoding="utf-8")
    assert stale.returncode == 1 and "does not match" in stale.stderr
