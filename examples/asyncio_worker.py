"""A plain asyncio worker (no web framework): logs, a counter and a histogram, all in
one file that `observabilipy serve --db jobs.db` can then serve, or `observabilipy logs`
read.

Run it: python -m examples.asyncio_worker jobs.db
"""

import asyncio
import random
import sys

import observabilipy as obs


async def work(engine: obs.Engine, job: int) -> None:
    done = engine.counter("jobs_total", "Jobs finished", labels=["outcome"])
    took = engine.histogram("job_seconds", "Time per job")
    log = engine.logger("worker").bind(job=job)
    with took.time():
        await asyncio.sleep(random.random() / 100)
    outcome = "ok" if job % 10 else "retried"
    done.labels(outcome=outcome).inc()
    log.info("job finished", outcome=outcome)


async def main(path: str) -> None:
    with obs.Engine(path) as engine:
        await asyncio.gather(*(work(engine, job) for job in range(100)))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "jobs.db"))
