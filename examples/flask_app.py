"""Flask under gunicorn, instrumented in one line.

Run it: OBSERVABILIPY_DB=app.db gunicorn examples.flask_app:app --workers 4
Every worker records into the same file; any worker's /observability/metrics shows
the totals of all of them, with no multiprocess set-up.
"""

import os

from flask import Flask

import observabilipy as obs
from observabilipy.flask import instrument

engine = obs.Engine(os.environ.get("OBSERVABILIPY_DB", "app.db"))
app = Flask(__name__)


@app.get("/users/<int:user_id>")
def user(user_id: int) -> dict[str, int]:
    engine.logger("users").info("looked up", user=user_id)
    return {"id": user_id}


instrument(app, engine)  # request metrics and logs; the endpoints at /observability
