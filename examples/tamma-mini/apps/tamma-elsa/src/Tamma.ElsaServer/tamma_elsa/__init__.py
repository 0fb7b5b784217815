"""tamma-elsa: the example's stand-in for Tamma's ELSA workflow server (port 5000)."""
