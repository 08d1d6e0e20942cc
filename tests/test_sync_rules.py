"""The sync's pure rules, without a server or a database: windows, rows, SQL, URLs."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lemlist_async import Activity, ExportedLead, Team, converter
from lemlist_async._sync._ops import PutState, Retire, Upsert, state_text
from lemlist_async._sync._rows import activity_row, lead_row, scrub, team_row
from lemlist_async._sync._schema import ACTIVITIES, DATA_TABLES, LEADS, SENDERS
from lemlist_async._sync._sql import (
    Dialect,
    create_statements,
    retire_sql,
    statement,
    upsert_sql,
)
from lemlist_async._sync._store import check_schema_version, open_store
from lemlist_async._sync._windows import Window, frontier, plan, split, to_ms
from lemlist_async.sync import PostgresStore, SQLiteStore, SyncError

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)

moments = st.datetimes(
    min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1), timezones=st.just(dt.UTC)
)


def covers(pieces: list[Window], start: dt.datetime, end: dt.datetime) -> bool:
    """The windows follow each other, sharing boundaries, from start to end."""
    return (
        pieces[0].start == start
        and pieces[-1].end == end
        and all(a.end == b.start for a, b in itertools.pairwise(pieces))
        and all(w.end > w.start for w in pieces)
    )


@given(moments, st.integers(min_value=1, max_value=10**10), st.integers(1, 300))
def test_a_plan_covers_its_span_with_windows_no_wider_than_asked(
    lower: dt.datetime, span_ms: int, count: int
) -> None:
    upper = lower + dt.timedelta(milliseconds=span_ms)
    width = dt.timedelta(milliseconds=-(-span_ms // count))
    windows = plan(lower, upper, width)
    assert covers(windows, to_ms(lower), to_ms(upper))
    assert all(w.end - w.start <= width for w in windows)


def test_nothing_to_read_when_the_span_is_empty() -> None:
    assert plan(T0, T0, DAY) == []
    assert plan(T0, T0 - SECOND, DAY) == []


@given(
    st.integers(min_value=1, max_value=10**8),
    st.integers(min_value=0, max_value=10**8),
    st.integers(2, 64),
)
def test_a_split_covers_the_whole_window_in_bounded_pieces(
    width_s: int, spanned_ms: int, most: int
) -> None:
    window = Window(T0, T0 + dt.timedelta(seconds=width_s))
    oldest = max(window.start, window.end - dt.timedelta(milliseconds=spanned_ms))
    page = [window.end, oldest]
    pieces = split(window, page, 2, above=8, target=4, most=most, narrowest=SECOND)
    if pieces is None:
        return
    assert covers(pieces, window.start, window.end)
    assert 2 <= len(pieces) <= most
    assert all(p.end - p.start >= SECOND for p in pieces[:-1])


def test_the_split_rule_s_arithmetic() -> None:
    window = Window(T0, T0 + 30 * DAY)
    options: dict[str, Any] = {"above": 8, "target": 4, "most": 32, "narrowest": SECOND}
    one_day = [window.end - dt.timedelta(minutes=14 * i) for i in range(100)]  # ~1 day a page
    pieces = split(window, one_day, 100, **options)
    assert pieces is not None
    assert len(pieces) == 8  # ~30 pages, 4 a piece
    sparse = [window.end - dt.timedelta(hours=5 * i) for i in range(100)]  # ~21 days a page
    assert split(window, sparse, 100, **options) is None
    assert split(window, one_day[:99], 100, **options) is None  # a short page: the last
    resumed = Window(window.start, window.end, offset=100)
    assert split(resumed, one_day, 100, **options) is None  # offsets only from 0
    narrow = Window(T0, T0 + SECOND)
    assert split(narrow, [narrow.end] * 100, 100, **options) is None


def test_the_frontier_is_the_end_of_the_windows_finished_from_the_start() -> None:
    a, b, c = plan(T0, T0 + 3 * DAY, DAY)
    assert frontier([a, b, c]) is None
    done = Window(a.start, a.end, done=True)
    assert frontier([c, done, b]) == a.end
    assert frontier([done, b, Window(c.start, c.end, done=True)]) == a.end
    assert frontier([Window(w.start, w.end, done=True) for w in (a, b, c)]) == c.end


@given(moments, st.integers(1, 10**9), st.integers(0, 10**6), st.booleans())
def test_a_window_s_state_brings_it_back(
    start: dt.datetime, width_ms: int, offset: int, done: bool
) -> None:
    window = Window(to_ms(start), to_ms(start) + dt.timedelta(milliseconds=width_ms), offset, done)
    back = Window.from_state(window.scope, window.state())
    assert back == (Window(window.start, window.end, done=True) if done else window)


def test_secrets_are_scrubbed_at_any_depth_and_the_input_is_left_alone() -> None:
    team = {
        "_id": "tea_1",
        "apiKey": "k",
        "slackWebhook": {"url": "https://hooks.slack.com/x", "failCounter": 0},
        "hooks": [{"_id": "hoo_1", "secret": "s", "targetUrl": "https://x.test"}],
        "nested": {"accessToken": "t", "kept": 1},
    }
    original = json.loads(json.dumps(team))
    assert scrub(team) == {
        "_id": "tea_1",
        "slackWebhook": {"failCounter": 0},
        "hooks": [{"_id": "hoo_1", "targetUrl": "https://x.test"}],
        "nested": {"kept": 1},
    }
    assert team == original
    row = team_row(converter.structure(team, Team))
    assert "https://hooks.slack.com/x" not in row[-2]
    assert '"apiKey"' not in row[-2]


def test_a_row_keeps_lemlist_s_object_and_its_digest_ignores_member_order() -> None:
    payload = {
        "_id": "act_1",
        "type": "emailsOpened",
        "createdAt": "2024-05-01T10:00:00.123Z",
        "campaignId": "cam_1",
        "leadId": "lea_1",
        "isFirst": True,
        "custom": {"b": 1, "a": 2},
    }
    row = activity_row(converter.structure(payload, Activity))
    assert row[:2] == ("act_1", "emailsOpened")
    assert row[7] is True
    assert json.loads(row[-2]) == payload
    reordered = dict(reversed(list(payload.items())))
    assert activity_row(converter.structure(reordered, Activity))[-1] == row[-1]
    changed = activity_row(converter.structure({**payload, "type": "emailsClicked"}, Activity))
    assert changed[-1] != row[-1]
    lead = converter.structure({"_id": "lea_1", "email": "a@b.c", "lastState": "x"}, ExportedLead)
    assert lead_row("cam_1", lead)[:3] == ("cam_1", "lea_1", "a@b.c")
    assert len(lead_row("cam_1", lead)) == LEADS.width


def test_both_dialects_share_the_conditional_upsert() -> None:
    for table in DATA_TABLES:
        sqlite = upsert_sql(table, Dialect.SQLITE)
        postgres = upsert_sql(table, Dialect.POSTGRES)
        tail = sqlite[sqlite.index(" ON CONFLICT") :]
        assert postgres.endswith(tail)
        assert f"ON CONFLICT ({', '.join(table.key)})" in tail
        assert f"WHERE {table.name}._raw_hash <> excluded._raw_hash" in tail
        assert sqlite.count("?") == table.width + 2
        assert "unnest(" in postgres
        assert f"${table.width + 1}" in postgres


def test_the_retire_statement_keeps_the_listed_keys() -> None:
    assert retire_sql(LEADS, ("campaign_id",), Dialect.POSTGRES) == (
        "UPDATE lemlist_leads SET _deleted_at = $1 WHERE _deleted_at IS NULL"
        " AND campaign_id = $2 AND (campaign_id, id) NOT IN (SELECT * FROM unnest($3::text[],"
        " $4::text[]))"
    )
    assert "(campaign_id, user_id) NOT IN" in retire_sql(SENDERS, (), Dialect.SQLITE)


def test_the_sqlite_statements_run_and_an_unchanged_row_is_not_written(
    request: pytest.FixtureRequest,
) -> None:
    db = sqlite3.connect(":memory:")
    request.addfinalizer(db.close)
    for sql in create_statements(Dialect.SQLITE):
        db.execute(sql)
    payload = {"_id": "act_1", "type": "emailsOpened", "createdAt": "2024-05-01T10:00:00.000Z"}
    row = activity_row(converter.structure(payload, Activity))
    values = [v.isoformat() if isinstance(v, dt.datetime) else v for v in row]
    sql = upsert_sql(ACTIVITIES, Dialect.SQLITE)
    assert db.executemany(sql, [(*values, "t1", "t1")]).rowcount == 1
    assert db.executemany(sql, [(*values, "t2", "t2")]).rowcount == 0
    changed = activity_row(converter.structure({**payload, "type": "x"}, Activity))
    values = [v.isoformat() if isinstance(v, dt.datetime) else v for v in changed]
    assert db.executemany(sql, [(*values, "t3", "t3")]).rowcount == 1
    stamps = db.execute("SELECT _first_seen_at, _changed_at FROM lemlist_activities").fetchone()
    assert stamps == ("t1", "t3")
    retire = retire_sql(ACTIVITIES, (), Dialect.SQLITE)
    assert db.execute(retire, ("t4", json.dumps(["act_1"]))).rowcount == 0
    assert db.execute(retire, ("t4", json.dumps([]))).rowcount == 1


def test_state_values_are_canonical() -> None:
    assert state_text({"run": 3, "a": 1}) == state_text({"a": 1, "run": 3}) == '{"a":1,"run":3}'


def test_a_schema_version_is_written_once_and_a_newer_one_refused() -> None:
    assert check_schema_version(None) is True
    assert check_schema_version("1") is False
    with pytest.raises(SyncError, match="upgrade lemlist-async"):
        check_schema_version("2")
    with pytest.raises(SyncError):
        check_schema_version("garbage")


def test_store_urls() -> None:
    relative = open_store("sqlite:///data/lemlist.db")
    assert isinstance(relative, SQLiteStore)
    assert relative.path == "data/lemlist.db"
    absolute = open_store("sqlite:////var/lib/lemlist.db")
    assert isinstance(absolute, SQLiteStore)
    assert absolute.path == "/var/lib/lemlist.db"
    postgres = open_store("postgresql://me:pa55word@db.internal/lemlist")
    assert isinstance(postgres, PostgresStore)
    assert "pa55word" not in repr(postgres)
    for bad in ("sqlite://host/x.db", "sqlite:///", "mysql://me:pa55word@db/x", "lemlist.db"):
        with pytest.raises(ValueError, match="sqlite:///") as info:
            open_store(bad)
        assert "pa55word" not in str(info.value)


def test_each_operation_becomes_one_statement_shaped_for_its_driver() -> None:
    at = dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
    keep = frozenset({("cam_1", "lea_2"), ("cam_1", "lea_1")})
    retire = Retire(LEADS, (("campaign_id", "cam_1"),), keep)
    sqlite = statement(retire, at, Dialect.SQLITE)
    postgres = statement(retire, at, Dialect.POSTGRES)
    assert sqlite is not None
    assert postgres is not None
    assert sqlite.params == (
        "2024-05-01T10:00:00.000000Z",
        "cam_1",
        '[["cam_1", "lea_1"], ["cam_1", "lea_2"]]',
    )
    assert postgres.params == (at, "cam_1", ["cam_1", "cam_1"], ["lea_1", "lea_2"])
    assert sqlite.counts
    assert postgres.counts
    assert statement(Upsert(LEADS, ()), at, Dialect.SQLITE) is None
    row = lead_row("cam_1", converter.structure({"_id": "lea_1"}, ExportedLead))
    many = statement(Upsert(LEADS, (row,)), at, Dialect.SQLITE)
    assert many is not None
    assert many.many
    assert many.params[0][-2:] == ("2024-05-01T10:00:00.000000Z",) * 2
    arrays = statement(Upsert(LEADS, (row,)), at, Dialect.POSTGRES)
    assert arrays is not None
    assert not arrays.many
    assert arrays.params[-1] == at
    assert len(arrays.params) == LEADS.width + 1
    state = statement(PutState("leads.pending", "cam_1", "{}"), at, Dialect.POSTGRES)
    assert state is not None
    assert state.params == ("leads.pending", "cam_1", "{}")
    assert not state.counts
