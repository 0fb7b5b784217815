"""Code shared by tamma-api and tamma-engine (the `deps` stage of docker/Dockerfile.ts)."""
