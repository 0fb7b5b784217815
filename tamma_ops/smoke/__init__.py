"""The smoke core: bring a compose stack up, gate on real health, probe HTTP, keep evidence.

::

    source.py    StackSource: which compose files, env files, directory and project name
    compose.py   the `docker compose` v2 CLI: config, up, port, down (the stack's lifetime)
    override.py  the generated override file: pinned images, ephemeral host ports
    watcher.py   the engine's event stream: health, exits and restarts as they happen
    probes.py    HTTP probes with httpx and tenacity, inside the overall deadline
    evidence.py  per-service state, health log and logs; every probe; written on request
    junit.py     one test case per service and per probe
    runner.py    the order of it all, and the teardown on every exit path
"""
