import logging

from django.http import HttpRequest, JsonResponse

import observabilipy as obs

log = logging.getLogger("shop")  # stdlib logging, captured by OBSERVABILIPY


def user(request: HttpRequest, user_id: int) -> JsonResponse:
    obs.bind(user=user_id)
    log.info("looked up %s", user_id)
    return JsonResponse({"id": user_id})


async def async_view(request: HttpRequest, n: int) -> JsonResponse:
    log.info("async %s", n)
    return JsonResponse({"n": n})


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("the app's own failure")
