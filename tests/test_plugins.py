"""K2: plugin discovery through the ``jishi.plugins`` entry-point group, the
per-deployment enable list, metadata, and clear errors for plugins that fail
to load or lack a requirement.

``jishi-hello`` is pip-installed (requirements-dev.txt); ``jishi-broken`` and
``jishi-needy`` become installed distributions when their folder (holding a
``.dist-info``) is put on ``sys.path``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from jishi.app import create_app
from jishi.cli import make_cli
from jishi.hookspecs import hookimpl
from jishi.plugins import PluginError, installed_plugins
from jishi.testing import make_app

FIXTURES = Path(__file__).parent / "fixture_plugins"


@pytest.fixture
def install(monkeypatch):
    """Make a fixture distribution installed for this test only."""

    def install(name: str) -> None:
        monkeypatch.syspath_prepend(str(FIXTURES / name))

    return install


def _app(tmp_path, **config):
    cfg = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db", "SECRET_KEY": "x", "TESTING": True}
    cfg["JISHI_SCHEMA_CHECK"] = False  # no schema: these apps serve pages that read no table
    cfg.update(config)
    return create_app(cfg, instance_path=str(tmp_path / "instance"))


def _cli(app_factory, *args):
    return CliRunner().invoke(make_cli(), list(args), obj=ScriptInfo(create_app=app_factory))


def test_hello_is_discovered_through_its_entry_point():
    """K2: discovery is by entry point, with distribution metadata."""
    found = dict(installed_plugins())
    assert "hello" in found
    assert found["hello"].value == "jishi_hello"
    assert found["hello"].dist.name == "jishi-hello"


def test_installed_but_disabled_is_blocked(tmp_path):
    """K2: installed is not enabled: a disabled plugin's hooks are never called."""
    app = _app(tmp_path, JISHI_PLUGINS="")
    ext = app.extensions["jishi"]
    info = next(i for i in ext.plugins if i.name == "hello")
    assert info.enabled is False and info.hooks == []
    assert ext.pm.is_blocked("hello")
    assert "HELLO_GREETING" not in app.config  # config_defaults not called
    assert "hello" not in app.blueprints  # blueprints not called
    with app.test_request_context():
        from jishi.app import slot

        assert str(slot("hello")) == ""


def test_enabled_via_environment(tmp_path, monkeypatch):
    """K2: JISHI_PLUGINS in the environment enables a plugin."""
    monkeypatch.setenv("JISHI_PLUGINS", "hello")
    app = _app(tmp_path)
    assert app.extensions["jishi"].enabled_plugin_names() == ["hello"]
    resp = app.test_client().get("/hello/")
    assert resp.status_code == 200
    assert resp.get_json() == {"greeting": "Hello from jishi-hello"}


def test_enabled_via_config_and_config_overrides_plugin_defaults(tmp_path):
    """K1/K2: the enable list from config; deployment config beats config_defaults."""
    app = _app(tmp_path, JISHI_PLUGINS="hello", HELLO_GREETING="你好")
    info = next(i for i in app.extensions["jishi"].plugins if i.name == "hello")
    assert info.enabled and info.distribution == "jishi-hello" and info.version == "0.1.0"
    assert info.requires == ()
    assert app.test_client().get("/hello/").get_json() == {"greeting": "你好"}


def test_enable_all(tmp_path):
    """K2: ``all`` enables every installed plugin."""
    app = _app(tmp_path, JISHI_PLUGINS="all")
    names = app.extensions["jishi"].enabled_plugin_names()
    assert "hello" in names
    assert sorted(names) == sorted(n for n, _ in installed_plugins())


def test_unknown_plugin_name_is_an_error(tmp_path):
    """K2: enabling a plugin that is not installed names it."""
    with pytest.raises(PluginError, match="'nosuch' is enabled but not installed"):
        _app(tmp_path, JISHI_PLUGINS="hello,nosuch")


def test_broken_plugin_stops_the_app_with_one_line(tmp_path, install):
    """K2: a plugin whose import fails: one clear line naming it; no app."""
    install("broken")
    assert "broken" in dict(installed_plugins())
    with pytest.raises(PluginError) as info:
        _app(tmp_path, JISHI_PLUGINS="broken")
    message = str(info.value)
    assert "\n" not in message
    assert "'broken'" in message and "jishi-broken" in message
    assert "ImportError" in message and "imaginary" in message


def test_broken_plugin_installed_but_disabled_is_harmless(tmp_path, install):
    """K2: a broken plugin is never imported unless enabled."""
    install("broken")
    app = _app(tmp_path, JISHI_PLUGINS="hello")
    assert [i.enabled for i in app.extensions["jishi"].plugins if i.name == "broken"] == [False]


def test_missing_requirement_names_it(tmp_path, install):
    """K2: a plugin whose ``requires`` are not enabled stops the app."""
    install("needy")
    with pytest.raises(PluginError) as info:
        _app(tmp_path, JISHI_PLUGINS="needy")
    assert "'needy'" in str(info.value) and "'nonexistent'" in str(info.value)


def test_plugins_list_output(tmp_path):
    """K2/K13: ``jishi plugins list``: name, distribution, version, enabled, hooks."""
    result = _cli(lambda: _app(tmp_path, JISHI_PLUGINS="hello"), "plugins", "list")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.strip().splitlines()
    assert header.split() == ["NAME", "DISTRIBUTION", "VERSION", "ENABLED", "HOOKS"]
    hello = next(r for r in rows if r.startswith("hello "))
    assert hello.split()[:4] == ["hello", "jishi-hello", "0.1.0", "yes"]
    for hook in (
        "blueprints",
        "config_defaults",
        "console_menu_items",
        "periodic_jobs",
        "register_commands",
        "template_slot",
    ):
        assert hook in hello


def test_plugins_list_shows_disabled(tmp_path, install):
    """K2: disabled plugins are listed as such (and never imported)."""
    install("broken")
    result = _cli(lambda: _app(tmp_path, JISHI_PLUGINS=""), "plugins", "list")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split() for line in result.output.strip().splitlines()[1:]}
    assert rows["broken"][:4] == ["broken", "jishi-broken", "0.1.0", "no"]
    assert rows["hello"][3] == "no"


def test_plugins_list_with_a_broken_plugin(tmp_path, install):
    """K2: ``jishi plugins list`` reports a plugin that fails: one line, exit 1."""
    install("broken")
    result = _cli(lambda: _app(tmp_path, JISHI_PLUGINS="broken"), "plugins", "list")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: plugin 'broken'")
    assert "Traceback" not in result.output


def test_check_pending_catches_a_misspelt_hookimpl(tmp_path):
    """K3: a hookimpl whose name matches no hookspec fails at start-up."""

    class Misspelt:
        __name__ = "misspelt"

        @hookimpl
        def split_carts(self, lines, user):  # the hook is split_cart
            return None

    with pytest.raises(PluginError, match=r"misspelt.*split_carts"):
        make_app(tmp_path, extra_plugins=[Misspelt()])


def test_unknown_hook_argument_is_rejected(tmp_path):
    """K3: an implementation may only name the hook's own arguments."""

    class Wrong:
        __name__ = "wrong-args"

        @hookimpl
        def split_cart(self, lines, customer):
            return None

    with pytest.raises(Exception, match="customer"):
        make_app(tmp_path, extra_plugins=[Wrong()])


def _dist(tmp_path, monkeypatch, name: str, files: dict[str, str]) -> None:
    """An installed distribution ``jishi-<name>`` with the entry point
    ``<name> = jishi_<name>.plugin`` and the package's ``files``."""
    root = tmp_path / "site"
    info = root / f"jishi_{name}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: jishi-{name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[jishi.plugins]\n{name} = jishi_{name}.plugin\n")
    pkg = root / f"jishi_{name}"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    monkeypatch.syspath_prepend(str(root))


HOOKIMPL = "from jishi.hookspecs import hookimpl\n\n"


def test_declared_modules_are_registered_under_plugin_dot_module(tmp_path, monkeypatch):
    """One convention: the plugin module and each submodule it declares in
    ``modules`` are registered as ``<plugin>.<module>``; their hooks are the
    plugin's hooks, called plugin module first, then in declared order."""
    _dist(
        tmp_path,
        monkeypatch,
        "layered",
        {
            "plugin.py": HOOKIMPL + 'modules = ("checkout", "pages")\n\n'
            "@hookimpl\ndef template_slot(slot, context):\n    return 'a' if slot == 'probe' else None\n",
            "checkout.py": HOOKIMPL + "@hookimpl\ndef validate_checkout(checkout):\n    return None\n\n"
            "@hookimpl\ndef template_slot(slot, context):\n    return 'b' if slot == 'probe' else None\n",
            "pages.py": HOOKIMPL
            + "@hookimpl\ndef template_slot(slot, context):\n    return 'c' if slot == 'probe' else None\n",
        },
    )
    app = _app(tmp_path, JISHI_PLUGINS="layered")
    ext = app.extensions["jishi"]
    import jishi_layered.checkout
    import jishi_layered.pages

    assert ext.pm.get_plugin("layered.checkout") is jishi_layered.checkout
    assert ext.pm.get_plugin("layered.pages") is jishi_layered.pages
    info = next(i for i in ext.plugins if i.name == "layered")
    assert info.modules == ("jishi_layered.plugin", "jishi_layered.checkout", "jishi_layered.pages")
    assert info.hooks == ["template_slot", "validate_checkout"]
    with app.test_request_context():
        from jishi.app import slot

        assert str(slot("probe")) == "abc"


def test_misspelt_hook_in_a_declared_module_stops_the_app(tmp_path, monkeypatch):
    """K3: a misspelt hook in a submodule fails loading like one in the
    plugin module: one line naming the plugin, the module and the hook."""
    _dist(
        tmp_path,
        monkeypatch,
        "typo",
        {
            "plugin.py": 'modules = ("orders",)\n',
            "orders.py": HOOKIMPL + "@hookimpl\ndef order_placng(checkout, payments, orders):\n    pass\n",
        },
    )
    with pytest.raises(PluginError) as info:
        _app(tmp_path, JISHI_PLUGINS="typo")
    message = str(info.value)
    assert "\n" not in message
    assert "plugin 'typo'" in message and "jishi_typo.orders" in message and "'order_placng'" in message


def test_missing_or_malformed_declared_module_stops_the_app(tmp_path, monkeypatch):
    """A declared submodule that does not exist, or ``modules`` that is not
    a tuple of names, is a PluginError naming the plugin."""
    _dist(tmp_path, monkeypatch, "nomod", {"plugin.py": 'modules = ("checkout",)\n'})
    with pytest.raises(
        PluginError, match=r"plugin 'nomod': module jishi_nomod.checkout .*failed to load: ModuleNotFoundError"
    ):
        _app(tmp_path, JISHI_PLUGINS="nomod")
    _dist(tmp_path / "b", monkeypatch, "strmod", {"plugin.py": 'modules = "checkout"\n', "checkout.py": ""})
    with pytest.raises(PluginError, match="plugin 'strmod': 'modules' must be a tuple"):
        _app(tmp_path, JISHI_PLUGINS="strmod")


def test_plugins_list_shows_exactly_the_hooks_multistore_implements(tmp_path):
    """K2: the hooks listed are the ones really implemented, in the plugin
    module and the area modules it declares (none it does not have, such as
    ``config_defaults`` or ``order_actions``)."""
    expected = [
        "api_blueprints",
        "app_ready",
        "blueprints",
        "checkout_loaders",
        "console_menu_items",
        "console_todos",
        "demo_data",
        "demo_orders",
        "order_notices",
        "order_placing_writes",
        "order_transitioned",
        "page_block_types",
        "periodic_jobs",
        "permissions",
        "product_filters",
        "product_page_loaders",
        "purchase_blockers",
        "purchase_loaders",
        "report_sections",
        "seller_profiles",
        "seller_scope",
        "settings_panels",
        "settle_order",
        "settle_refund",
        "split_cart",
        "storefront_links",
        "template_slot",
        "validate_checkout",
    ]
    app = _app(tmp_path, JISHI_PLUGINS="multistore")
    info = next(i for i in app.extensions["jishi"].plugins if i.name == "multistore")
    assert info.hooks == expected
    assert [m.rsplit(".", 1)[1] for m in info.modules] == [
        "plugin",
        "onboarding",
        "merchants",
        "products",
        "orders",
        "finance",
        "sharing",
        "home",
        "blocks",
        "demo",
    ]
    result = _cli(lambda: app, "plugins", "list")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("multistore "))
    assert row.split(None, 4)[4].split(", ") == expected


def test_every_installed_plugin_follows_the_one_convention(tmp_path):
    """Every ``@hookimpl`` of an installed plugin is in its plugin module or
    a submodule it declares (so pluggy registers and checks it), and no
    module hides hooks behind ``hook_<name>`` functions."""
    import ast
    import sys

    app = _app(tmp_path, JISHI_PLUGINS="all")
    checked = 0
    for info in app.extensions["jishi"].plugins:
        registered = {sys.modules[m].__file__ for m in info.modules}
        for path in sorted(info.path.rglob("*.py")):
            if "migrations" in path.parts or "tests" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
            assert not [f.name for f in functions if f.name.startswith("hook_")], path
            impls = [f.name for f in functions if any("hookimpl" in ast.unparse(d) for d in f.decorator_list)]
            if impls:
                assert str(path) in registered, (
                    f"{info.name}: hooks {impls} in {path.name}, which is not declared in 'modules'"
                )
                checked += 1
    assert checked >= 14  # the first-party plugins' plugin and hook modules


def test_fixture_plugin_is_not_installed_outside_the_tests():
    """K2: the test fixture plugin ``hello`` is found only inside the test
    session; a process started from the same environment (``jishi demo``,
    ``JISHI_PLUGINS=all``) does not see it."""
    import os
    import subprocess
    import sys

    from jishi.plugins import installed_plugins

    assert "hello" in dict(installed_plugins())  # this session: on sys.path
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", "from jishi.plugins import installed_plugins; print(sorted(dict(installed_plugins())))"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=str(FIXTURES.parent.parent),
    ).stdout
    assert "'multistore'" in out and "'hello'" not in out
