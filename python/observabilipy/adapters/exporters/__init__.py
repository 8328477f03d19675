"""Exporters: where stored rows ship to (see ``runtime.outbox``)."""
