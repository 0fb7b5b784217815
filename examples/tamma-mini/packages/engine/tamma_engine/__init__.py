"""tamma-engine: the example's stand-in for Tamma's long-running engine (no port)."""
