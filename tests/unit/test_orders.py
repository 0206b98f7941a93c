"""The orders database: sample data and look-ups through SQLAlchemy."""

from __future__ import annotations

from bot.answers.orders import (
    SAMPLE_ORDER_EMAILS,
    SAMPLE_ORDERS,
    OrderBook,
    create_sample_orders,
    same_email,
)


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


def test_sample_orders_have_the_documented_emails_and_only_they_open_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    create_sample_orders(url, count=20)
    book = OrderBook(url)
    assert set(SAMPLE_ORDER_EMAILS) == set(SAMPLE_ORDERS)
    for number, email in SAMPLE_ORDER_EMAILS.items():
        assert book.find_owned(number, email) == book.find(number)
        assert book.find_owned(number, f"  {email.upper()}\t") == book.find(number)
    other = SAMPLE_ORDER_EMAILS["604731"]
    for wrong in (other, "", "anna.berg@example.org.evil", "anna.berg@example"):
        assert book.find_owned("482913", wrong) is None
    assert book.find_owned("000000", SAMPLE_ORDER_EMAILS["482913"]) is None


def test_emails_compare_trimmed_and_case_folded_never_empty():
    assert same_email(" Ana@Example.ORG ", "ana@example.org")
    assert same_email("STRASSE@example.org", "straße@example.org")  # case folding, not lower
    assert not same_email("", "")
    assert not same_email(None, "ana@example.org")
    assert not same_email("ana@example.org", "ana@example.org.")
