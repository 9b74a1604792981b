"""Kernel tests. Fixtures come from ``jishi.testing`` (the pytest11 plugin).

The fixture plugin ``jishi-hello`` is installed for the test session only:
its folder (holding a committed ``*.dist-info`` with the entry point) goes
on ``sys.path``, so entry-point discovery finds it exactly as if pip had
installed it, while ``jishi demo`` and ``JISHI_PLUGINS=all`` outside the
tests never see it.
"""

import os
import sys
from pathlib import Path

# Apps the tests build outside the ``app`` fixture (the command line, the
# configuration tests, subprocesses) are not TESTING: the documented default
# sandbox secret would be refused there (test_config checks the refusal).
os.environ.setdefault("JISHI_SANDBOX_SECRET", "jishi-tests-sandbox-secret")
# Likewise a missing SECRET_KEY is refused outside tests, debug and demo (issue 15).
os.environ.setdefault("JISHI_SECRET_KEY", "jishi-tests-secret-key")

HELLO = str(Path(__file__).parent / "fixture_plugins" / "hello")
if HELLO not in sys.path:
    sys.path.insert(0, HELLO)
