from __future__ import annotations

from tamma_ops.cli import main

main()
