"""Times as shopdesk stores them, in one place: naive UTC datetimes in our tables, epoch
seconds in Rasa's events, and UTC days for the dashboard's ranges."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now, as our tables store times: UTC without a time zone (SQLite keeps none)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def utc_from_timestamp(timestamp: float) -> dt.datetime:
    """A Rasa event's epoch seconds as our tables' naive UTC datetime."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).replace(tzinfo=None)


def day_start(day: dt.date) -> float:
    """Epoch seconds of midnight UTC that starts `day` (the dashboard counts UTC days)."""
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp()
