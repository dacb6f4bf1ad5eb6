"""The examples run as scripts from their own folder, where they import their sibling modules
(``risk_cv``, ``address_activity``...): the tests import them the same way."""

import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "onchain"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))
