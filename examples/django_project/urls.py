from django.urls import include, path

from examples.django_project import views

urlpatterns = [
    path("users/<int:user_id>/", views.user),
    path("async/<int:n>/", views.async_view),
    path("boom/", views.boom),
    path("observability/", include("observabilipy.django.urls")),
]
