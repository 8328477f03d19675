"""``observabilipy bench``: capacity measured on this machine, and the planning answer."""

from observabilipy.bench.run import add_arguments, run

__all__ = ["add_arguments", "run"]
