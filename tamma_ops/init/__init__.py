"""``init --full-stack``: a deployment directory that runs Tamma from pre-built images.

- ``templates``: the files of a deployment, where their templates are, and the renderer;
- ``envfile``: writing and reading ``.env`` exactly as ``docker compose`` reads it;
- ``settings``: the ``.env`` keys, where each value comes from, validation and generation;
- ``secrets``: asking for the user's secrets on a terminal, with typo checks;
- ``version``: which image version a new deployment pins;
- ``stack``: writing the files (refusal, backups, mode 0600, atomically);
- ``compose``: checking the result with ``docker compose config``;
- ``deployment``: the whole ``init`` run, from options to the written directory.
"""
