"""Billing-period arithmetic."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta


def add_interval(timestamp: int, interval: str, count: int = 1) -> int:
    """``timestamp`` moved ``count`` ``interval``s later, with calendar months like Stripe.

    Stripe keeps the anchor day and clamps to the month's last day (Jan 31 -> Feb 28).
    """
    start = datetime.fromtimestamp(timestamp, tz=UTC)
    if interval == "day":
        return int((start + timedelta(days=count)).timestamp())
    if interval == "week":
        return int((start + timedelta(weeks=count)).timestamp())
    months = count * (12 if interval == "year" else 1)
    if interval not in ("month", "year"):
        raise ValueError(f"unknown interval: {interval}")
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())
