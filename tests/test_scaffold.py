"""K2/K3 (third-party plugin authors): ``jishi plugin new NAME`` writes a
plugin distribution that installs with pip, passes its own generated tests
with Jishi's pytest fixtures, and whose first migration matches its model
(``jishi db check``)."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner
from jishi.cli import make_cli

NAME = "scaffold_probe"


def invoke(*args):
    return CliRunner().invoke(make_cli(), ["plugin", "new", *args])


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Gift", "not a valid plugin name"),
        ("gift-wrap", "not a valid plugin name"),
        ("1gift", "not a valid plugin name"),
        ("class", "Python keyword"),
        ("a" * 25, "too long"),
        ("gift__wrap", "double underscores"),
        ("", "not a valid plugin name"),
        ("multistore", "already installed"),
    ],
)
def test_bad_names_are_refused_with_a_clear_error(tmp_path, name, says):
    """K13: a bad NAME is a usage error (exit 2) naming the problem; nothing is written."""
    result = invoke(name, "--dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "Invalid value for NAME" in result.output and says in result.output
    assert list(tmp_path.iterdir()) == []


def test_existing_folder_is_refused(tmp_path):
    """An existing DIR/NAME is never overwritten."""
    (tmp_path / "gift").mkdir()
    (tmp_path / "gift" / "keep.txt").write_text("mine")
    result = invoke("gift", "--dir", str(tmp_path))
    assert result.exit_code == 1 and "already exists" in result.output
    assert [p.name for p in (tmp_path / "gift").iterdir()] == ["keep.txt"]


def test_skeleton_layout(tmp_path):
    """K2: pyproject with the jishi.plugins entry point and package data,
    hooks, model, first migration, template block and tests."""
    result = invoke("gift_wrap", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    root = tmp_path / "gift_wrap"
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "jishi-gift-wrap"
    assert meta["project"]["entry-points"]["jishi.plugins"] == {"gift_wrap": "jishi_gift_wrap.plugin"}
    assert "migrations/**/*" in meta["tool"]["setuptools"]["package-data"]["jishi_gift_wrap"]
    pkg = root / "jishi_gift_wrap"
    for rel in (
        "__init__.py",
        "plugin.py",
        "models.py",
        "migrations/script.py.mako",
        "migrations/versions/gift_wrap_0001_tables.py",
        "templates/gift_wrap/badge.html",
        "translations/zh_CN/LC_MESSAGES/messages.po",
        "translations/zh_CN/LC_MESSAGES/messages.mo",
        "translations/en/LC_MESSAGES/messages.mo",
    ):
        assert (pkg / rel).is_file(), rel
    for path in [
        *root.rglob("*.py"),
        *root.rglob("*.toml"),
        *root.rglob("*.html"),
        *root.rglob("*.md"),
        *root.rglob("*.po"),
    ]:
        text = path.read_text()
        assert "@@" not in text, path  # every placeholder replaced
        if path.suffix == ".py":
            ast.parse(text, str(path))
    plugin = (pkg / "plugin.py").read_text()
    assert "def price_rules(lines, user)" in plugin and "def template_slot(slot, context)" in plugin
    assert "\nmodules = ()" in plugin and "hook_" not in plugin  # the one plugin convention
    assert 'pytest.mark.jishi_plugins("gift_wrap")' in (root / "tests" / "test_gift_wrap.py").read_text()


def _env(site) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JISHI_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["JISHI_SANDBOX_SECRET"] = "scaffold-test-secret"  # the documented default is refused outside tests
    env["JISHI_SECRET_KEY"] = "subprocess-test-secret"  # a missing one is refused outside tests (issue 15)
    return env


def _run(args, **kw):
    proc = subprocess.run(args, check=False, capture_output=True, text=True, timeout=600, **kw)
    return proc.returncode, proc.stdout + proc.stderr


JISHI = [sys.executable, "-c", "from jishi.cli import main; main()"]


def test_generated_plugin_installs_passes_its_tests_and_migrates(tmp_path):
    """K1/K2/K3: the skeleton pip-installs (a real wheel build, so the package
    data ships), is discovered through its entry point, its generated tests
    pass with Jishi's fixtures, and ``jishi db check`` with it enabled finds
    its migration matching its model.

    It is installed with ``pip install --target`` into a folder put on
    PYTHONPATH of the subprocesses, not into the shared environment: other
    tests (and ``JISHI_PLUGINS=all`` apps) never see it, and an interrupted
    run cannot leave a dangling plugin behind.
    """
    assert invoke(NAME, "--dir", str(tmp_path)).exit_code == 0
    src, site = tmp_path / NAME, tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), "-q"]
    if importlib.util.find_spec("wheel") is not None:
        pip.append("--no-build-isolation")  # no download of setuptools when the environment can build
    code, out = _run([*pip, str(src)], env=_env(site))
    assert code == 0, out
    assert (site / f"jishi_{NAME}" / "templates" / NAME / "badge.html").is_file()
    assert (site / f"jishi_{NAME}" / "migrations" / "versions" / f"{NAME}_0001_tables.py").is_file()
    assert (site / f"jishi_{NAME}" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.mo").is_file()

    env = _env(site)
    code, out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=src, env=env)
    assert code == 0, out
    assert "6 passed" in out, out  # with its own translation domain (issue 13 A4)

    work = tmp_path / "work"
    work.mkdir()
    env.update(JISHI_PLUGINS=NAME, JISHI_DATABASE_URL=f"sqlite:///{work}/scratch.db")
    code, out = _run([*JISHI, "plugins", "list"], cwd=work, env=env)
    assert code == 0 and NAME in out and "price_rules" in out, out
    row = next(line for line in out.splitlines() if line.startswith(NAME + " "))
    assert row.split(None, 4)[4] == "price_rules, template_slot", out  # exactly the hooks it implements
    code, out = _run([*JISHI, "db", "upgrade"], cwd=work, env=env)
    assert code == 0 and f"{NAME}: empty -> {NAME}_0001" in out, out
    code, out = _run([*JISHI, "db", "check"], cwd=work, env=env)
    assert code == 0 and "Models and migrations match." in out, out
