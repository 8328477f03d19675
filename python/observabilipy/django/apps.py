"""The Django app configuration: the engine is made when Django is ready."""

from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observabilipy.django"
    label = "observabilipy"
    verbose_name = "observabilipy"

    def ready(self) -> None:
        from observabilipy.django.engine import engine

        engine()
