"""The store's orders, read and changed through SQLAlchemy.

A real shop points `SHOPDESK_ORDERS_DB_URL` at (a read replica of) its own order database
with these tables; the demo creates a SQLite file of sample orders (`create_sample_orders`).
"""

from __future__ import annotations

import datetime as dt
import hmac
import random
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, declarative_base, relationship, selectinload

from bot.settings import orders_db_url
from bot.storage.database import engine_for

Base = declarative_base()

# Where an order is in its life; the answers explain each one.
PROCESSING, DISPATCHED, DELIVERED, CANCELLED, RETURNED = (
    "processing",
    "dispatched",
    "delivered",
    "cancelled",
    "returned",
)
# Where a refund is: asked for, parcel received at the warehouse, money sent.
REFUND_REQUESTED, REFUND_RECEIVED, REFUNDED = "requested", "received", "refunded"


class Order(Base):
    __tablename__ = "orders"

    number = Column(String(6), primary_key=True)
    customer_email = Column(String(254), nullable=False)
    placed_at = Column(DateTime, nullable=False)
    status = Column(String(16), nullable=False)
    shipping_method = Column(String(32), nullable=False)
    carrier = Column(String(32))
    tracking_code = Column(String(64))
    estimated_delivery = Column(Date)
    delivered_on = Column(Date)
    total = Column(Numeric(10, 2), nullable=False)
    currency = Column(String(3), nullable=False, default="EUR")
    refund_status = Column(String(16))
    refund_amount = Column(Numeric(10, 2))
    refund_updated_on = Column(Date)
    items = relationship("OrderItem", back_populates="order", order_by="OrderItem.id")


class OrderItem(Base):
    __tablename__ = "order_items"

    id = Column(Integer, primary_key=True)
    order_number = Column(String(6), ForeignKey("orders.number"), nullable=False)
    product = Column(String(120), nullable=False)
    size = Column(String(16))
    quantity = Column(Integer, nullable=False, default=1)
    price = Column(Numeric(10, 2), nullable=False)
    order = relationship("Order", back_populates="items")


@dataclass(frozen=True)
class OrderView:
    """An order as answers use it: plain values, no database session needed."""

    number: str
    status: str
    placed_on: dt.date
    shipping_method: str
    carrier: str | None
    tracking_code: str | None
    estimated_delivery: dt.date | None
    delivered_on: dt.date | None
    total: Decimal
    currency: str
    refund_status: str | None
    refund_amount: Decimal | None
    refund_updated_on: dt.date | None
    items: tuple[str, ...]

    @classmethod
    def of(cls, order: Order) -> OrderView:
        return cls(
            number=order.number,
            status=order.status,
            placed_on=order.placed_at.date(),
            shipping_method=order.shipping_method,
            carrier=order.carrier,
            tracking_code=order.tracking_code,
            estimated_delivery=order.estimated_delivery,
            delivered_on=order.delivered_on,
            total=order.total,
            currency=order.currency,
            refund_status=order.refund_status,
            refund_amount=order.refund_amount,
            refund_updated_on=order.refund_updated_on,
            items=tuple(
                f"{item.quantity} x {item.product}" + (f" ({item.size})" if item.size else "")
                for item in order.items
            ),
        )


def normalised_email(value: object) -> str:
    """An e-mail address as compared: trimmed and case-folded ("" for anything else)."""
    return value.strip().casefold() if isinstance(value, str) else ""


def same_email(given: object, on_order: object) -> bool:
    """Whether the customer's e-mail is the order's, compared in constant time."""
    given, on_order = normalised_email(given), normalised_email(on_order)
    return bool(given and on_order) and hmac.compare_digest(given.encode(), on_order.encode())


class OrderBook:
    """Looks orders up; every call uses its own short session."""

    def __init__(self, url: str | None = None) -> None:
        self.engine: Engine = engine_for(url or orders_db_url())

    def find(self, number: str) -> OrderView | None:
        with Session(self.engine) as session:
            order = session.get(Order, str(number), options=[selectinload(Order.items)])
            return OrderView.of(order) if order else None

    def find_owned(self, number: str, email: str) -> OrderView | None:
        """The order, only when `email` is the one it was placed with.

        None both for an unknown number and for a wrong e-mail: the caller cannot tell them
        apart, so neither can the customer it answers.
        """
        with Session(self.engine) as session:
            order = session.get(Order, str(number), options=[selectinload(Order.items)])
            on_order = order.customer_email if order is not None else ""
            matches = same_email(email, on_order)
            return OrderView.of(order) if order is not None and matches else None


# ----------------------------------------------------------------------------- sample data

_PRODUCTS = [
    ("Linen duvet cover, sage", ("single", "double", "king"), "89.00"),
    ("Merino wool cardigan", ("XS", "S", "M", "L", "XL"), "119.00"),
    ("Chelsea boots, brown leather", ("38", "39", "40", "41", "42", "43", "44"), "169.00"),
    ("Waffle bath towel set", (None,), "49.00"),
    ("Soy candle, fig and cedar", (None,), "24.00"),
    ("Organic cotton T-shirt", ("S", "M", "L"), "29.00"),
    ("Canvas weekender bag", (None,), "95.00"),
    ("Linen tea towels, set of 3", (None,), "22.00"),
    ("High-waisted wide-leg jeans", ("34", "36", "38", "40", "42"), "89.00"),
    ("Cashmere beanie", (None,), "59.00"),
    ("Suede ballet flats", ("37", "38", "39", "40", "41"), "99.00"),
    ("Stoneware breakfast bowl", (None,), "18.00"),
    ("Washed linen shirt", ("S", "M", "L", "XL"), "79.00"),
    ("Wool-blend coat, camel", ("XS", "S", "M", "L"), "249.00"),
]
_METHODS = [("Standard", 4), ("Express", 2), ("Next-day", 1), ("Click & Collect", 3)]
_CARRIERS = ["DHL", "DPD", "UPS", "PostNL"]
_NAMES = ["anna", "jonas", "sofia", "liam", "marta", "noah", "elena", "tom", "lea", "omar"]
_DOMAINS = ["gmail.com", "web.de", "outlook.com", "icloud.com", "gmx.net", "yahoo.co.uk"]

# Orders the docs and tests refer to: one in each state.
SAMPLE_ORDERS = {
    "482913": DISPATCHED,
    "604731": PROCESSING,
    "538214": DELIVERED,
    "338920": RETURNED,
    "447129": CANCELLED,
}
# ... and the e-mail addresses they were placed with, which customers give to see them.
SAMPLE_ORDER_EMAILS = {
    "482913": "anna.berg@example.org",
    "604731": "jonas.weber@example.org",
    "538214": "sofia.rossi@example.org",
    "338920": "liam.walsh@example.org",
    "447129": "marta.nowak@example.org",
}


def _sample_order(number: str, status: str, today: dt.date, rng: random.Random) -> Order:
    method, days = rng.choice(_METHODS)
    age = {PROCESSING: 0, DISPATCHED: 1, DELIVERED: 8, RETURNED: 20, CANCELLED: 3}[status]
    placed = dt.datetime.combine(
        today - dt.timedelta(days=age + rng.randint(0, 2)), dt.time(rng.randint(7, 22))
    )
    items = []
    for product, sizes, price in rng.sample(_PRODUCTS, rng.randint(1, 3)):
        items.append(
            OrderItem(
                product=product,
                size=rng.choice(sizes),
                quantity=rng.choice((1, 1, 1, 2)),
                price=Decimal(price),
            )
        )
    total = sum(item.price * item.quantity for item in items)
    order = Order(
        number=number,
        customer_email=f"{rng.choice(_NAMES)}.{rng.randint(10, 99)}@{rng.choice(_DOMAINS)}",
        placed_at=placed,
        status=status,
        shipping_method=method,
        total=total + (Decimal("0") if total >= 60 else Decimal("4.95")),
        currency="EUR",
        items=items,
    )
    if status in (DISPATCHED, DELIVERED, RETURNED):
        order.carrier = rng.choice(_CARRIERS)
        order.tracking_code = f"{order.carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}"
        order.estimated_delivery = placed.date() + dt.timedelta(days=days + 1)
    if status in (DELIVERED, RETURNED):
        order.delivered_on = order.estimated_delivery
    if status == RETURNED:
        order.refund_status = rng.choice((REFUND_REQUESTED, REFUND_RECEIVED, REFUNDED))
        order.refund_amount = items[0].price * items[0].quantity
        order.refund_updated_on = today - dt.timedelta(days=rng.randint(0, 4))
    if status == CANCELLED:
        order.refund_status, order.refund_amount = REFUNDED, order.total
        order.refund_updated_on = placed.date() + dt.timedelta(days=1)
    return order


def sample_orders_exist(url: str | None = None) -> bool:
    from sqlalchemy import inspect

    return inspect(OrderBook(url).engine).has_table(Order.__tablename__)


def create_sample_orders(url: str | None = None, count: int = 200, seed: int = 2024) -> int:
    """(Re)create the demo order tables with `count` orders, dated relative to today."""
    engine = OrderBook(url).engine
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    rng = random.Random(seed)
    today = dt.date.today()
    statuses = [PROCESSING, DISPATCHED, DELIVERED, DELIVERED, DELIVERED, RETURNED, CANCELLED]
    numbers = dict(SAMPLE_ORDERS)
    while len(numbers) < count:
        numbers.setdefault(str(rng.randint(100000, 999999)), rng.choice(statuses))
    orders = [_sample_order(number, status, today, rng) for number, status in numbers.items()]
    for order in orders:
        order.customer_email = SAMPLE_ORDER_EMAILS.get(order.number, order.customer_email)
    with Session(engine) as session, session.begin():
        session.add_all(orders)
    return len(numbers)
