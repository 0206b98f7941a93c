"""The orders database: sample data and look-ups through SQLAlchemy."""

from __future__ import annotations

from bot.orders import SAMPLE_ORDERS, OrderBook, create_sample_orders


def test_sample_orders_cover_every_state_and_are_found(tmp_path):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    assert create_sample_orders(url, count=50) == 50
    book = OrderBook(url)
    for number, status in SAMPLE_ORDERS.items():
        order = book.find(number)
        assert order is not None and order.status == status
        assert order.items and order.total > 0
    shipped = book.find("482913")
    assert shipped.carrier and shipped.tracking_code and shipped.estimated_delivery
    assert book.find("000000") is None


def test_sample_data_is_recreated_not_duplicated(tmp_path):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    create_sample_orders(url, count=20)
    assert create_sample_orders(url, count=20) == 20
    assert OrderBook(url).find("604731").status == "processing"
