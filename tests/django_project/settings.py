"""A small Django project as users write one, for the tests (in-process and under gunicorn)."""

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.django_project.urls"
INSTALLED_APPS = ["observabilipy.django"]
MIDDLEWARE = [
    "observabilipy.django.ObservabilityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
USE_TZ = True
# The database file comes from $OBSERVABILIPY_DB; any other Engine option could go here.
OBSERVABILIPY = {"capture_logging": "INFO"}
