"""The kernel's own behaviour, registered as plugins before any other
(as pytest's ``default_plugins`` and datasette's ``DEFAULT_PLUGINS``)."""
