"""The plugin manager: default plugins, entry-point discovery, enable list.

A plugin is an installed distribution with an entry point in the group
``jishi.plugins`` naming its plugin module. The module may declare::

    requires = ("multistore",)      # other plugins that must be enabled too
    modules = ("checkout", "views") # submodules of its package holding hooks

and ship ``templates/`` and ``migrations/`` folders next to it. Its hooks are
``@hookimpl`` functions named exactly after the hook, in the plugin module or
in one of the declared submodules: the plugin module is registered with
pluggy under the plugin's name, each submodule under ``<plugin>.<module>``,
all of them or none (a disabled plugin is never imported). A misspelt hook in
any of them stops the app with a :class:`PluginError` naming the plugin, the
module and the hook, and :attr:`PluginInfo.hooks` lists exactly the hooks
they implement.

Installed is not enabled: the deployment's ``JISHI_PLUGINS`` (a comma list,
or ``all``) decides. A plugin that fails to import or lacks a requirement
stops the app with one :class:`PluginError` line naming it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pluggy
from importlib_metadata import entry_points

from jishi import hookspecs

ENTRY_POINT_GROUP = "jishi.plugins"

DEFAULT_PLUGINS = (
    "jishi.defaults.app",
    "jishi.defaults.checkout",
    "jishi.defaults.stock",
    "jishi.defaults.delivery",
    "jishi.defaults.payments",
    "jishi.defaults.jobs",
)


class PluginError(RuntimeError):
    """A plugin could not be loaded; the message names it."""


@dataclass
class PluginInfo:
    name: str
    distribution: str
    version: str
    module: str
    enabled: bool
    requires: tuple[str, ...] = ()
    hooks: list[str] = field(default_factory=list)
    #: the modules registered with pluggy: the plugin module, then the
    #: submodules it declares in ``modules`` (dotted names)
    modules: tuple[str, ...] = ()
    path: Path | None = None
    # A delivery plugin that ships anywhere (express) replaces the kernel's
    # flat-rate delivery; one that only adds a way (pickup, local delivery)
    # says ``replaces_default_delivery = False`` in its plugin module.
    replaces_default_delivery: bool = True

    @property
    def migrations_dir(self) -> Path | None:
        if self.path is None:
            return None
        d = self.path / "migrations"
        return d if (d / "versions").is_dir() else None

    @property
    def templates_dir(self) -> Path | None:
        if self.path is None:
            return None
        d = self.path / "templates"
        return d if d.is_dir() else None


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def installed_plugins() -> list[tuple[str, object]]:
    """(name, entry point) for every installed plugin, sorted by name."""
    found = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return sorted(found.items())


def parse_enable_list(value) -> set[str] | str:
    if value is None:
        return set()
    if isinstance(value, str):
        if value.strip().lower() in ("all", "*"):
            return "all"
        return {v.strip() for v in value.split(",") if v.strip()}
    return set(value)


def _add_plugin_hookspecs(pm: pluggy.PluginManager, plugin) -> None:
    """A plugin may declare hooks of its own for other plugins to implement
    (e.g. ``tracking_provider`` of delivery_express): a ``hookspecs``
    attribute naming a module or class of ``@hookspec`` functions."""
    specs = getattr(plugin, "hookspecs", None)
    if specs is not None and not isinstance(specs, (str, bytes)):
        pm.add_hookspecs(specs)


def _submodules(name: str, plugin) -> list[tuple[str, ModuleType]]:
    """The submodules a plugin module declares in ``modules``, imported:
    ``(registration name, module)`` in declared order."""
    declared = getattr(plugin, "modules", ())
    if isinstance(declared, str) or not all(isinstance(m, str) for m in declared or ()):
        raise PluginError(f"plugin {name!r}: 'modules' must be a tuple of submodule names, not {declared!r}")
    if not declared:
        return []
    package = getattr(plugin, "__package__", None)
    if not package:
        raise PluginError(f"plugin {name!r} declares 'modules' but is not a module of a package")
    out = []
    for sub in declared:
        try:
            module = importlib.import_module(f"{package}.{sub}")
        except Exception as exc:
            raise PluginError(
                f"plugin {name!r}: module {package}.{sub} (declared in 'modules') failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        out.append((f"{name}.{sub}", module))
    return out


def _register(pm: pluggy.PluginManager, name: str, plugin, owners: dict[str, tuple[str, str]]) -> list:
    """Register a plugin module and its declared submodules; returns them.

    Pluggy calls the implementations of one hook last registered first, so
    the submodules go in reversed and the plugin module last: among a
    plugin's own implementations the plugin module's runs first, then the
    submodules' in declared order.
    """
    parts = [(name, plugin), *_submodules(name, plugin)]
    for reg_name, obj in reversed(parts):
        owners[reg_name] = (name, getattr(obj, "__name__", None) or repr(obj))
        try:
            pm.register(obj, name=reg_name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"plugin {name!r}, module {owners[reg_name][1]}: {exc}") from exc
    return [obj for _, obj in parts]


def _check_pending(pm: pluggy.PluginManager, owners: dict[str, tuple[str, str]]) -> None:
    """Every implementation must match a hook (the kernel's or one a plugin
    declares); the error names the plugin, its module and the hook."""
    for hook_name, caller in vars(pm.hook).items():
        if hook_name.startswith("_") or caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            if impl.optionalhook:
                continue
            plugin, module = owners.get(impl.plugin_name, (impl.plugin_name, impl.plugin_name))
            raise PluginError(
                f"plugin {plugin!r}, module {module}: unknown hook {hook_name!r} "
                "(no hook of jishi.hookspecs or of an enabled plugin has this name)"
            )
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc


def load_plugins(enabled_setting, extra_modules=()) -> tuple[pluggy.PluginManager, list[PluginInfo]]:
    """Build the manager: defaults first, then every enabled installed plugin.

    ``extra_modules`` are plugin objects registered after the installed ones
    (tests use it through ``make_app(plugins=[...])``).
    Raises :class:`PluginError` naming the first plugin that cannot load.
    """
    pm = new_manager()
    owners: dict[str, tuple[str, str]] = {}  # registration name -> (plugin, module)
    registered: dict[str, list] = {}  # plugin name -> its registered modules
    for modname in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(modname), name=modname)

    enabled = parse_enable_list(enabled_setting)
    infos: list[PluginInfo] = []
    installed = installed_plugins()
    installed_names = {name for name, _ in installed}
    if enabled != "all":
        unknown = sorted(enabled - installed_names)
        if unknown:
            raise PluginError(
                f"plugin {unknown[0]!r} is enabled but not installed "
                f"(installed: {', '.join(sorted(installed_names)) or 'none'})"
            )
    for name, ep in installed:
        dist = getattr(ep, "dist", None)
        info = PluginInfo(
            name=name,
            distribution=dist.name if dist else "?",
            version=dist.version if dist else "?",
            module=ep.value,
            enabled=enabled == "all" or name in enabled,
        )
        infos.append(info)
        if not info.enabled:
            pm.set_blocked(name)
            continue
        try:
            module = ep.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {name!r} ({info.distribution} {info.version}) failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        info.requires = tuple(getattr(module, "requires", ()) or ())
        info.replaces_default_delivery = bool(getattr(module, "replaces_default_delivery", True))
        info.path = Path(module.__file__).parent if getattr(module, "__file__", None) else None
        _add_plugin_hookspecs(pm, module)
        registered[name] = _register(pm, name, module, owners)
        info.modules = tuple(getattr(m, "__name__", None) or repr(m) for m in registered[name])

    enabled_names = {i.name for i in infos if i.enabled}
    for info in infos:
        if not info.enabled:
            continue
        missing = [r for r in info.requires if r not in enabled_names]
        if missing:
            raise PluginError(
                f"plugin {info.name!r} requires {', '.join(repr(m) for m in missing)}, "
                "which is not enabled (add it to JISHI_PLUGINS)"
            )

    for obj in extra_modules:
        name = getattr(obj, "__name__", None) or repr(obj)
        _add_plugin_hookspecs(pm, obj)
        _register(pm, name, obj, owners)

    _check_pending(pm, owners)

    for info in infos:
        if info.enabled:
            info.hooks = sorted({h.name for m in registered[info.name] for h in pm.get_hookcallers(m) or []})
    return pm, infos
