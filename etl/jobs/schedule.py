"""When the refresh runs by itself: the cron expression in REFRESH_CRON (in REFRESH_TZ) and the scheduler.

Kept apart from the job so that the dashboard can say when the next refresh is due without importing the
ETL; APScheduler itself is imported only when a trigger is built.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

log = logging.getLogger("etl.refresh")

DEFAULT_CRON = "0 6 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
OFF_WORDS = ("off", "none", "disabled")


def refresh_cron() -> str:
    return os.environ.get("REFRESH_CRON", "").strip() or DEFAULT_CRON


def refresh_timezone() -> ZoneInfo:
    return ZoneInfo(os.environ.get("REFRESH_TZ", "").strip() or DEFAULT_TIMEZONE)


def cron_trigger(cron: str | None = None, timezone: ZoneInfo | None = None):
    """APScheduler trigger for a five-field cron expression; raises ValueError when it is not one."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger.from_crontab(cron or refresh_cron(), timezone=timezone or refresh_timezone())


def next_run_time(now: datetime | None = None) -> datetime | None:
    """When the scheduled refresh fires next (REFRESH_CRON in REFRESH_TZ); None if it is off or invalid."""
    if os.environ.get("REFRESH_CRON", "").strip().lower() in OFF_WORDS:
        return None
    try:
        trigger = cron_trigger()
    except (ValueError, KeyError):
        return None
    return trigger.get_next_fire_time(None, now or datetime.now(refresh_timezone()))


def schedule(job: Callable[[], object], cron: str | None = None, run_now: bool = False) -> None:
    """Run `job` on the cron schedule until SIGINT (Ctrl-C) or SIGTERM (a process manager stopping the clock);
    one run at a time, missed runs coalesced into one. A refresh under way finishes before the process ends."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    trigger = cron_trigger(cron)
    scheduler = BlockingScheduler(timezone=refresh_timezone())
    first = {"next_run_time": datetime.now(refresh_timezone())} if run_now else {}
    scheduler.add_job(job, trigger, id="refresh", max_instances=1, coalesce=True, misfire_grace_time=3600,
                      **first)
    log.info("refresh scheduled: %s (%s); next at %s", cron or refresh_cron(), refresh_timezone(),
             trigger.get_next_fire_time(None, datetime.now(refresh_timezone())))
    _stop_on_signals(scheduler)
    scheduler.start()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _stop_on_signals(scheduler) -> None:
    """Stop the schedule on the first SIGINT or SIGTERM; a second one ends the process at once.

    Set here rather than left to Python's default, which ignores SIGINT in a process started in the background
    and lets SIGTERM kill a refresh mid-way (harmless, it is one transaction, but needless)."""
    def stop(signum: int, _frame: object) -> None:
        log.info("%s: the schedule stops once any refresh under way has finished", signal.Signals(signum).name)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        scheduler.shutdown(wait=False)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
