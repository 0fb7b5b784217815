"""TaskLog, the live output of builds running side by side (tamma_ops.output)."""

from __future__ import annotations

import io
import threading
import time

from tamma_ops.output import TaskLog

GHA = {"GITHUB_ACTIONS": "true"}


def test_lines_are_prefixed_with_the_task_name_aligned():
    out = io.StringIO()
    log = TaskLog(["api", "dashboard"], {}, stream=out)
    log.started("api")
    log.line("api", "Step 1/2 : FROM x")
    log.line("dashboard", "Step 1/1 : FROM y")
    log.finished("api", 1.25, ok=True)
    log.finished("dashboard", 0.5, ok=False)
    assert out.getvalue().splitlines() == [
        "==> api",
        "api       | Step 1/2 : FROM x",
        "dashboard | Step 1/1 : FROM y",
        "✓ api (1.2s)",
        "✗ dashboard (0.5s)",
    ]


def test_quiet_keeps_one_line_at_the_start_and_one_at_the_end():
    out = io.StringIO()
    log = TaskLog(["api"], {}, quiet=True, stream=out)
    log.started("api")
    log.line("api", "noise")
    log.finished("api", 2.0, ok=True)
    assert out.getvalue().splitlines() == ["==> api", "✓ api (2.0s)"]


def test_on_github_actions_each_task_is_one_group_printed_when_it_ends():
    out = io.StringIO()
    log = TaskLog(["api", "web"], GHA, stream=out)
    log.started("api")
    log.started("web")
    log.line("api", "a1")
    log.line("web", "w1")
    log.line("api", "a2")
    log.finished("web", 1.0, ok=True)
    log.finished("api", 3.0, ok=False)
    assert out.getvalue().splitlines() == [
        "::group::web",
        "w1",
        "::endgroup::",
        "✓ web (1.0s)",
        "::group::api",
        "a1",
        "a2",
        "::endgroup::",
        "✗ api (3.0s)",
    ]


class YieldingStream(io.StringIO):
    """Hands the processor to other threads after every write, as a slow terminal or pipe
    would: a line printed as two writes (text, newline) without a lock gets split."""

    def write(self, text: str) -> int:
        written = super().write(text)
        time.sleep(0.0005)
        return written


def test_lines_from_threads_never_interleave_within_a_line():
    out = YieldingStream()
    log = TaskLog(["a", "b"], {}, stream=out)

    def write(name: str) -> None:
        for number in range(40):
            log.line(name, f"{name}-{number}-" + name * 50)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 80
    assert all(line.endswith(line[0] * 50) for line in lines), lines
