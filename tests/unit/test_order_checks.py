"""Orders only to their owner, the parts below the actions: the shop's signed order tokens
(bot/answers/order_tokens.py, `shopdesk orders token`) and the limits on failed look-ups
(bot/answers/order_lookups.py, migration 0004), on an injected clock."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pytest

from tests.helpers.project import PROJECT_ROOT

SECRET = b"order-token-secret-for-tests"
NOW = 1_900_000_000.0


# ------------------------------------------------------------------------ order tokens


def test_a_token_vouches_for_its_own_order_until_it_expires() -> None:
    from bot.answers.order_tokens import mint, vouches_for

    token = mint("482913", ttl_seconds=600, secret=SECRET, now=NOW)
    number, expiry, signature = token.split(".")
    assert (number, int(expiry), len(signature)) == ("482913", int(NOW) + 600, 64)
    assert vouches_for(token, "482913", secret=SECRET, now=NOW + 599)
    assert not vouches_for(token, "482913", secret=SECRET, now=NOW + 600)  # expired
    assert not vouches_for(token, "604731", secret=SECRET, now=NOW)  # another order's
    assert not vouches_for(token, "482913", secret=b"another secret", now=NOW)
    later = f"{number}.{int(expiry) + 3600}.{signature}"  # a longer life, same signature
    flipped = token[:-1] + ("0" if token[-1] != "0" else "1")
    for bad in (later, flipped, token.upper(), f"604731.{expiry}.{signature}", token + "."):
        assert not vouches_for(bad, "482913", secret=SECRET, now=NOW), bad
    for junk in (None, 482913, "", "482913", "a.b.c", "x" * 10_000, ["482913"]):
        assert not vouches_for(junk, "482913", secret=SECRET, now=NOW)
    assert not vouches_for(token, "四八二九一三", secret=SECRET, now=NOW)


def test_without_the_secret_no_token_is_accepted_or_minted(monkeypatch) -> None:
    from bot.answers.order_tokens import SECRET_VARIABLE, OrderTokenError, mint, vouches_for

    token = mint("482913", secret=SECRET)
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    assert not vouches_for(token, "482913")
    with pytest.raises(OrderTokenError, match=SECRET_VARIABLE):
        mint("482913")
    monkeypatch.setenv(SECRET_VARIABLE, "   ")
    assert not vouches_for(token, "482913")
    monkeypatch.setenv(SECRET_VARIABLE, SECRET.decode())
    assert vouches_for(token, "482913")
    with pytest.raises(OrderTokenError):
        mint("48.2913")  # a dot would make the token ambiguous


def test_the_cli_mints_a_token_the_actions_accept(monkeypatch) -> None:
    from bot.answers.order_tokens import SECRET_VARIABLE, vouches_for

    env = {"PATH": "/usr/bin:/bin", "RASA_TELEMETRY_ENABLED": "false"}
    command = [sys.executable, "-m", "bot.cli", "orders", "token", "482913", "--ttl", "120"]
    refused = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and SECRET_VARIABLE in refused.stderr and not refused.stdout
    minted = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**env, SECRET_VARIABLE: SECRET.decode()},
        capture_output=True,
        text=True,
        check=True,
    )
    token = minted.stdout.strip()
    assert vouches_for(token, "482913", secret=SECRET)
    assert int(token.split(".")[1]) - time.time() <= 120


# ----------------------------------------------------------------- the look-up limiter


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 12, 1, 12, 0)

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture()
def limiter(db_url):
    from bot.answers.order_lookups import LookupLimits, OrderLookups

    clock = Clock()
    lookups = OrderLookups(db_url, LookupLimits(3, 10, dt.timedelta(minutes=15)), clock)
    yield lookups, clock
    lookups.engine.dispose()


def test_three_failures_stop_a_conversation_for_the_window(limiter) -> None:
    lookups, clock = limiter
    for _ in range(3):
        assert not lookups.refused("c-1", "198.51.100.7")
        lookups.record_failure("c-1", "198.51.100.7")
    assert lookups.refused("c-1", "198.51.100.7")
    assert lookups.refused("c-1", None)  # another address changes nothing for c-1
    assert not lookups.refused("c-2", "198.51.100.7")  # 3 of the address's 10
    clock.now += dt.timedelta(minutes=15, seconds=1)
    assert not lookups.refused("c-1", "198.51.100.7")


def test_ten_failures_from_one_address_stop_every_conversation_from_it(limiter) -> None:
    lookups, _ = limiter
    for index in range(10):
        lookups.record_failure(f"c-{index // 2}", "203.0.113.9")  # never 3 in one chat
    assert lookups.refused("a-new-one", "203.0.113.9")
    assert not lookups.refused("a-new-one", "203.0.113.10")
    assert not lookups.refused("a-new-one", None)  # no address: only the chat's own count


def test_old_failures_are_deleted_when_one_is_recorded(limiter) -> None:
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from bot.answers.order_lookups import OrderLookupFailure

    lookups, clock = limiter
    lookups.record_failure("old", "192.0.2.1")
    clock.now += dt.timedelta(hours=1)
    lookups.record_failure("new", "192.0.2.1")
    with Session(lookups.engine) as session:
        rows = session.scalars(select(OrderLookupFailure.conversation_id)).all()
        assert rows == ["new"]
        assert session.scalar(select(func.count(OrderLookupFailure.id))) == 1


def test_limits_come_from_the_environment_and_a_bad_one_is_named() -> None:
    from bot.answers.order_lookups import LookupLimits, LookupLimitsError

    assert LookupLimits.from_environment({}) == LookupLimits(3, 10, dt.timedelta(minutes=15))
    assert LookupLimits.from_environment(
        {
            "SHOPDESK_ORDER_LOOKUP_MAX_PER_CONVERSATION": "5",
            "SHOPDESK_ORDER_LOOKUP_MAX_PER_ADDRESS": " 50 ",
            "SHOPDESK_ORDER_LOOKUP_WINDOW_SECONDS": "60",
        }
    ) == LookupLimits(5, 50, dt.timedelta(seconds=60))
    for wrong in ("0", "-1", "three", "1.5"):
        with pytest.raises(LookupLimitsError, match="SHOPDESK_ORDER_LOOKUP_WINDOW_SECONDS"):
            LookupLimits.from_environment({"SHOPDESK_ORDER_LOOKUP_WINDOW_SECONDS": wrong})


def test_migration_0004_builds_exactly_the_limiters_table(db_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import bot.answers.order_lookups  # noqa: F401
    import bot.storage.conversation_index  # noqa: F401
    import bot.storage.handoffs_and_feedback  # noqa: F401
    import bot.storage.reviews  # noqa: F401
    import bot.storage.staff  # noqa: F401
    from bot.storage.database import (
        VERSION_TABLE,
        Base,
        current_revision,
        head_revision,
        open_database,
    )

    engine = open_database(db_url)
    assert current_revision(engine) == head_revision()  # 0004 and every later revision
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()
