"""Adapters: storage, frameworks and exporters around the pure core."""
