"""Encoders: Prometheus text 0.0.4, OpenMetrics 1.0.0, NDJSON logs (pure Python reference)."""
