"""gunicorn's settings for the dashboard; the Procfile's web line reads this file (its own flags come after and win).

Worker class and count were chosen from `python -m bench.load` (bench/RESULTS.md, "Serving many analysts at
once"): a callback is CPU-bound Python, so one sync worker per core answered the most callbacks per second
with the lowest p99, on the seed data and on 100,000 facts. More workers than cores only add a copy of the
data each (about 0.8 GB per 100,000 facts) and a longer tail; threads (gthread) let quick callbacks overtake
but made the slow ones wait about twice as long under the GIL. So: sync workers, WEB_CONCURRENCY = the number
of cores, behind a load balancer or proxy that buffers slow clients (sync workers must not wait on a network).
"""

worker_class = "sync"
control_socket_disable = True  # no admin socket beside HTTP (a setting of gunicorn 25.1+; older ones ignore it)
