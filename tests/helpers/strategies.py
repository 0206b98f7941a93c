"""Hypothesis strategies for shop data."""

from __future__ import annotations

from hypothesis import strategies as st


def orders():
    import datetime as dt
    from decimal import Decimal

    from bot.answers.orders import CANCELLED, DELIVERED, DISPATCHED, PROCESSING, RETURNED, OrderView

    dates = st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
    # Shop data may say anything but "None": the test looks for a None value leaking out.
    text = st.text(max_size=60).filter(lambda value: "None" not in value)
    return st.builds(
        OrderView,
        number=st.from_regex(r"\A\d{6}\Z"),
        status=st.sampled_from([PROCESSING, DISPATCHED, DELIVERED, CANCELLED, RETURNED]),
        placed_on=dates,
        shipping_method=text,
        carrier=st.none() | text,
        tracking_code=st.none() | text,
        estimated_delivery=dates,
        delivered_on=dates,
        total=st.decimals(0, 100_000, places=2).map(Decimal),
        currency=st.sampled_from(["EUR", "GBP", "USD"]),
        refund_status=st.sampled_from([None, "requested", "received", "refunded"]),
        refund_amount=st.none() | st.decimals(0, 100_000, places=2).map(Decimal),
        refund_updated_on=st.none() | dates,
        items=st.lists(text, max_size=4).map(tuple),
    )
