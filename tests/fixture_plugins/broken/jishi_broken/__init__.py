"""A plugin that cannot be imported: the app must refuse to start, naming it."""

raise ImportError("jishi_broken needs the 'imaginary' library")
