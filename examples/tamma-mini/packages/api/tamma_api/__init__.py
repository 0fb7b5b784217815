"""tamma-api: the example's stand-in for Tamma's TypeScript API (port 3100)."""
