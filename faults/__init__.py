"""Fault injection: scripts that break the platform on purpose (kill workers, restart
Redis or PostgreSQL, deliver the same thing a thousand times, forge signatures) and
count what matters: messages lost, sent twice, debited twice, and the time to recover.

Each scenario is a module `faults/scenario_<name>.py` exposing `SCENARIO`; the runner
(`python -m faults`, `make faults`) finds them, runs them one after the other against
real PostgreSQL, Redis, Celery workers and, where named, Kannel, and prints one table.
Timings are reported, never asserted: a scenario fails on a count, not on a speed.
"""
