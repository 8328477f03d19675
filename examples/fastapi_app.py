"""FastAPI with observabilipy: request metrics and logs, and the endpoints mounted.

Run it: OBSERVABILIPY_DB=app.db granian --interface asgi --workers 2 examples.fastapi_app:app
Then: curl localhost:8000/users/7; curl localhost:8000/observability/metrics
"""

import os

from fastapi import FastAPI

import observabilipy as obs

engine = obs.Engine(os.environ.get("OBSERVABILIPY_DB", "app.db"))
engine.capture_logging("INFO")  # stdlib logging from the app and its libraries, too
log = engine.logger("users")

app = FastAPI()


@app.get("/users/{user_id}")
async def user(user_id: int) -> dict[str, int]:
    obs.bind(user=user_id)  # on every entry logged for the rest of this request
    log.info("looked up")
    return {"id": user_id}


app.mount("/observability", engine.asgi_app())
app.add_middleware(obs.ASGIMiddleware, engine=engine)
