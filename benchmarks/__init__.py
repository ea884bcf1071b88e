"""The benchmarks (``make bench``, ``make bench-hw``): scripts that measure and write figures, never
asserted by the tests. Importable as ``pezo.bench`` (their tested logic; the sweeps submit them
as jobs); run as ``python benchmarks/<name>.py`` or ``python -m pezo.bench.<name>``."""
