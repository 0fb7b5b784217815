"""How long `tamma-ops --help` takes, against an empty Python start (`python -c pass`).

The target is under 0.3 s: heavy imports (docker, httpx, pydantic) must load lazily.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 30


def _median_seconds(argv: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _heavy_modules_loaded(python: str) -> list[str]:
    probe = (
        "import sys, tamma_ops.cli as c\n"
        "from click.testing import CliRunner\n"
        "CliRunner().invoke(c.cli, ['--help'], obj=c.Settings())\n"
        "heavy = ('docker', 'httpx', 'pydantic', 'tenacity')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True)
    return result.stdout.split()


def main() -> None:
    python = sys.executable
    script = str(Path(python).with_name("tamma-ops"))
    baseline = _median_seconds([python, "-c", "pass"])
    help_time = _median_seconds([script, "--help"])
    heavy = _heavy_modules_loaded(python)
    print(f"median of {RUNS} runs each")
    print(f"  python -c pass      {baseline * 1000:7.1f} ms")
    print(f"  tamma-ops --help    {help_time * 1000:7.1f} ms   ratio {help_time / baseline:.2f}x")
    print(f"  heavy modules imported by --help: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
