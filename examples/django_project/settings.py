"""A small Django project with observabilipy: the three settings that matter are the
app in INSTALLED_APPS, the middleware first in MIDDLEWARE, and OBSERVABILIPY.

Run it: OBSERVABILIPY_DB=app.db gunicorn examples.django_project.wsgi --workers 4
"""

SECRET_KEY = "example-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "examples.django_project.urls"
INSTALLED_APPS = ["observabilipy.django"]
MIDDLEWARE = [
    "observabilipy.django.ObservabilityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
USE_TZ = True
# The file comes from $OBSERVABILIPY_DB here; "db": "app.db" would set it, and any
# other Engine option (buffer_size, retention...) can go beside it.
OBSERVABILIPY = {"capture_logging": "INFO"}
