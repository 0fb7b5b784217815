"""tamma-api-dotnet: the example's stand-in for Tamma's .NET API (port 3000)."""
