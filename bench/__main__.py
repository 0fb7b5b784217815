"""Runs every benchmark module in this package (``make bench``), or the ones named on the line."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main() -> None:
    found = pkgutil.iter_modules([str(Path(__file__).parent)])
    names = sys.argv[1:] or sorted(info.name for info in found if not info.name.startswith("_"))
    for name in names:
        print(f"== bench.{name}", flush=True)
        importlib.import_module(f"bench.{name}").main()


main()
