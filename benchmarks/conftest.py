"""Let the benchmark tests import their sibling modules (``peers``, ``benchdata``) and the
``gpu_mmnist`` checkout under any pytest import mode and from any working directory."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
if str(_HERE.parent) not in sys.path:
    sys.path.append(str(_HERE.parent))  # after site-packages: an installed gpu_mmnist wins
