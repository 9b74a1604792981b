"""Jinja's template and context classes for the app's environment, with the
per-render work of a page made cheaper and the same output (issue 20).

A template's globals are a ``ChainMap`` of its own (almost always empty)
and the environment's some fifty. Jinja walked that ``ChainMap`` in Python
for every context it made: ``dict(globals, **vars)`` (a ``__getitem__``
through both maps per name) and ``set(globals)`` (its keys, for imports),
and again for every ``{% from ... import %}``, to find the importing
template's globals the imported one lacks (``ctx.globals_keys -
self.globals.keys()``, ``_collections_abc``'s Python loop). A product page
makes about five contexts and one import: some 0.08 ms of a 1.4 ms page.

Here:

- :meth:`JishiTemplate.new_context` builds the same dict (same keys, same
  order, the template's own globals over the environment's, the variables
  over both) from the two maps with dict unpacking;
- :class:`JishiContext` computes ``globals_keys`` only when it is read, and
  calls a plain function or a macro (``url_for``, ``_``, ``slot``, the
  image and stars macros: some thirty calls a page) without Jinja's
  look-ups for a ``__call__`` taking the context;
- :meth:`JishiTemplate._get_default_module` answers the cached module at
  once when the importing template's globals are the same environment's
  and its own ones are a subset of the imported template's (then Jinja's
  difference is empty: the cached module is what Jinja answers too);
  anything else goes through Jinja's own code.
"""

from __future__ import annotations

from collections import ChainMap
from functools import cached_property
from types import FunctionType
from typing import Any

from jinja2 import Template
from jinja2.runtime import Context, Macro
from jinja2.utils import _PassArg, internalcode


class JishiContext(Context):
    """Jinja's context with ``globals_keys`` made when first read (only an
    import asks for it)."""

    def __init__(self, environment, parent, name, blocks, globals=None):
        super().__init__(environment, parent, name, blocks, globals=None)
        self.__dict__.pop("globals_keys", None)  # set() by Jinja for globals=None: made from _jishi_globals instead
        self._jishi_globals = globals

    @cached_property
    def globals_keys(self) -> set[str]:  # type: ignore[override]
        globals_ = self._jishi_globals
        return set() if globals_ is None else set(globals_)

    @internalcode
    def call(__self, __obj, *args, **kwargs):
        """Jinja's ``Context.call``, with a plain function or a macro (their
        ``__call__`` never carries a ``pass_*`` mark) called directly, the
        evaluation context or environment handed over as Jinja does; a
        function taking the template context and anything else go
        through Jinja's own."""
        kind = __obj.__class__
        if kind is FunctionType:
            pass_arg = getattr(__obj, "jinja_pass_arg", None)
            if pass_arg is _PassArg.eval_context:
                args = (__self.eval_ctx, *args)
            elif pass_arg is _PassArg.environment:
                args = (__self.environment, *args)
            elif pass_arg is not None:
                return super().call(__obj, *args, **kwargs)
        elif kind is not Macro:
            return super().call(__obj, *args, **kwargs)
        if __debug__:
            __traceback_hide__ = True
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(
                "value was undefined because a callable raised a StopIteration exception"
            )


def _two_maps(globals_: Any) -> list | None:
    """The two maps of a template's globals as Jinja makes them
    (``ChainMap(own, environment.globals)``), else None."""
    if type(globals_) is ChainMap and len(globals_.maps) == 2:
        return globals_.maps
    return None


class JishiTemplate(Template):
    def new_context(self, vars=None, shared=False, locals=None):
        maps = None if shared or locals else _two_maps(self.globals)
        if maps is None:
            return super().new_context(vars, shared, locals)
        # what dict(self.globals, **vars) is: the environment's names, the
        # template's own over them, then the variables, in that order
        parent = {**maps[1], **maps[0], **vars} if vars else {**maps[1], **maps[0]}
        return self.environment.context_class(self.environment, parent, self.name, self.blocks, globals=self.globals)

    def _get_default_module(self, ctx=None):
        if ctx is not None and not self.environment.is_async:
            theirs = _two_maps(getattr(ctx, "_jishi_globals", None))
            mine = _two_maps(self.globals)
            if theirs is not None and mine is not None and theirs[1] is mine[1] and theirs[0].keys() <= mine[0].keys():
                # no global of the importer is missing here (Jinja's test finds none): the cached module
                if self._module is None:
                    self._module = self.make_module()
                return self._module
        return super()._get_default_module(ctx)
