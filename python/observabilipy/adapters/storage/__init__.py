"""Storage adapters that satisfy the ports in ``observabilipy.core.ports``."""
