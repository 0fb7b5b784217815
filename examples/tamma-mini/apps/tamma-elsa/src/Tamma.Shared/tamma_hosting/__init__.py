"""Hosting shared by the two .NET services' stand-ins (upstream: a shared class library)."""
