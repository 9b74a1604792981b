"""K3: the type checker's configuration (mypy.ini, run by
scripts/typecheck.sh) covers the whole plugin contract: the hookspecs, every
module of the public API plugins may import, the hooks plugins declare, and
the examples."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

from jishi.cli.docs import plugin_hook_specs

ROOT = Path(__file__).resolve().parents[1]


def _public_api() -> tuple[str, ...]:
    """``PUBLIC_API`` of tests/test_examples_public_api.py (read, not imported)."""
    tree = ast.parse((ROOT / "tests" / "test_examples_public_api.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PUBLIC_API" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("PUBLIC_API not found")


def _checked() -> set[str]:
    config = configparser.ConfigParser()
    config.read(ROOT / "mypy.ini", encoding="utf-8")
    return {f.strip() for f in config["mypy"]["files"].split(",") if f.strip()}


def _module_file(module: str) -> str:
    base = "core/" + module.replace(".", "/")
    return base + "/__init__.py" if (ROOT / base).is_dir() else base + ".py"


def test_public_api_and_examples_are_type_checked():
    checked = _checked()
    public = _public_api()
    assert "jishi.hookspecs" in public
    missing = [m for m in public if _module_file(m) not in checked]
    assert not missing, f"public modules mypy.ini does not check: {missing}"
    assert "examples" in checked and "core/jishi/hookspecs.py" in checked
    for path in checked:
        assert (ROOT / path).exists(), path


def test_plugin_declared_hookspecs_are_type_checked():
    checked = _checked()
    for _plugin, _name, func, _opts in plugin_hook_specs():
        module = func.__module__
        package = module.split(".")[0]
        matches = [p for p in checked if p.endswith(f"{package}/{module.split('.', 1)[1].replace('.', '/')}.py")]
        assert matches, f"{module} (declaring {func.__name__}) is not in mypy.ini's files"
