"""``python -m observabilipy``: the same command line as the ``observabilipy`` script."""

from observabilipy.cli import main

if __name__ == "__main__":  # not when a spawned worker process re-imports this module
    raise SystemExit(main())
