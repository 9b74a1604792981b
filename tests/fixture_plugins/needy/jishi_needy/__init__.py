"""A plugin that requires another plugin nobody has installed."""

requires = ("nonexistent",)
