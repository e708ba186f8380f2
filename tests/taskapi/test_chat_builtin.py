"""The builtin interpreter against a table of utterances, with the real task tools.

Every row starts from the same seven tasks of one user (created over REST), on SQLite and
on PostgreSQL, with the clock fixed on Wednesday 2026-11-25 10:00 UTC. A row may say some
things first (a listing, an ambiguous command), then says its utterance and checks which
tools ran, what they acted on, what the listing showed and what the reply says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from taskapi.chat.builtin import EXAMPLES, WEEKDAYS, Add, BuiltinAssistant, parse, tasks_in
from taskapi.chat.protocol import Assistant, TextDelta, ToolCall
from tests.conftest import SignedInUser, TaskFactory, UserFactory
from tests.support_chat import Conversation, Turn

pytestmark = [pytest.mark.anyio, pytest.mark.fr("006-chat/FR-020")]

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # a Wednesday

# Created in this order; a plain listing shows the newest first.
SEED: tuple[dict[str, Any], ...] = (
    {"title": "file taxes", "status": "done", "priority": "low", "tags": ["home"]},
    {"title": "write report", "status": "in_progress", "tags": ["work", "team-a"]},
    {"title": "buy milk", "priority": "low", "tags": ["home"]},
    {"title": "buy milk chocolate"},
    {
        "title": "renew passport",
        "priority": "high",
        "due_at": "2026-12-04T00:00:00Z",
        "tags": ["travel", "team-a"],
    },
    {"title": "call the bank"},
    {"title": "call the plumber", "priority": "high"},
)
NEWEST_FIRST = [task["title"] for task in reversed(SEED)]
LIST = "list my tasks"


@dataclass(frozen=True)
class Row:
    say: str
    calls: tuple[str, ...] = ()  # the tools that ran, in order
    before: tuple[str, ...] = ()  # said first, in the same conversation
    task: dict[str, Any] | None = None  # fields of the task the last tool returned
    target: str | None = None  # the seeded task the last tool acted on
    gone: bool = False  # the target no longer exists over REST
    listed: tuple[str, ...] | None = None  # the titles the listing tools returned, in order
    reply: tuple[str, ...] = ()  # phrases the reply contains
    ok: bool = True  # whether the last tool call succeeded


ADD = ("add_task",)
FIND = ("list_tasks",)
OPEN = ("list_tasks", "list_tasks")
HELPFUL = ("not a language model", EXAMPLES[0])

TABLE: list[Row] = [
    # Adding, with due phrases, priority and tags.
    Row(
        "add 'renew passport' for Friday, high priority",
        ADD,
        task={"title": "renew passport", "priority": "high", "due": "2026-11-27", "tags": []},
        reply=("Added", "renew passport", "high priority", "due Fri 2026-11-27"),
    ),
    Row("add buy bread tomorrow", ADD, task={"title": "buy bread", "due": "2026-11-26"}),
    Row(
        "add call mom today #family",
        ADD,
        task={"title": "call mom", "due": "2026-11-25", "tags": ["family"]},
    ),
    Row(
        "create a task called water plants next week",
        ADD,
        task={"title": "water plants", "due": "2026-11-30", "priority": "medium"},
    ),
    Row(
        'add "file the taxes" due 2026-12-31 with tags finance, home',
        ADD,
        task={"title": "file the taxes", "due": "2026-12-31", "tags": ["finance", "home"]},
    ),
    Row(
        "remind me to book flights next friday, low priority",
        ADD,
        task={"title": "book flights", "due": "2026-12-04", "priority": "low"},
    ),
    Row(
        "add pay rent in 3 days tagged money",
        ADD,
        task={"title": "pay rent", "due": "2026-11-28", "tags": ["money"]},
    ),
    Row(
        "add urgent fix the roof",
        ADD,
        task={"title": "fix the roof", "priority": "high", "due": None},
    ),
    Row(
        "add task: clean garage on Saturday",
        ADD,
        task={"title": "clean garage", "due": "2026-11-28"},
    ),
    Row(
        "new task write summary priority medium tag work",
        ADD,
        task={"title": "write summary", "priority": "medium", "tags": ["work"]},
    ),
    Row("Add 'Plan Q1' on Wednesday", ADD, task={"title": "Plan Q1", "due": "2026-11-25"}),
    Row("add 'plan offsite' this monday", ADD, task={"title": "plan offsite", "due": "2026-11-30"}),
    Row(
        "I need to renew the car insurance in two weeks",
        ADD,
        task={"title": "renew the car insurance", "due": "2026-12-09"},
    ),
    Row("add 'team lunch' for next month", ADD, task={"title": "team lunch", "due": "2026-12-01"}),
    Row(
        "add 'the annual review' by 2027-01-15 #work #hr, low priority",
        ADD,
        task={"title": "the annual review", "due": "2027-01-15", "tags": ["work", "hr"]},
    ),
    Row("add", reply=("What should the task be called", *HELPFUL)),
    Row("add 'x' due 2026-02-30", reply=("2026-02-30 is not a date",)),
    Row("add '" + "x" * 201 + "'", ADD, ok=False, reply=("I could not add",)),
    # Listing and filtering by status, priority, tag and words.
    Row(LIST, FIND, listed=tuple(NEWEST_FIRST), reply=("1. “call the plumber”",)),
    Row(
        "what's still open for the team-a tag?",
        OPEN,
        listed=("renew passport", "write report"),
        reply=("open tasks tagged team-a", "1. “renew passport”", "2. “write report”"),
    ),
    Row("show high priority tasks", FIND, listed=("call the plumber", "renew passport")),
    Row("list done tasks", FIND, listed=("file taxes",)),
    Row("show tasks tagged home", FIND, listed=("buy milk", "file taxes")),
    Row("find tasks about milk", FIND, listed=("buy milk chocolate", "buy milk")),
    Row("search for passport", FIND, listed=("renew passport",)),
    Row("show in progress tasks", FIND, listed=("write report",)),
    Row("list todo tasks", FIND, listed=tuple(NEWEST_FIRST[:5])),
    Row("what do I have to do?", OPEN, listed=tuple(NEWEST_FIRST[:6])),
    Row("show completed tasks with the home tag", FIND, listed=("file taxes",)),
    Row("any low priority tasks?", FIND, listed=("buy milk", "file taxes")),
    Row("show #travel tasks", FIND, listed=("renew passport",)),
    Row("list open high priority tasks tagged team-a", OPEN, listed=("renew passport",)),
    Row(
        "find tasks about dentist",
        FIND,
        listed=(),
        reply=("You have no tasks matching “dentist”",),
    ),
    # Completing, starting and reopening, by title or by position in the last listing.
    Row(
        "complete buy milk",
        ("list_tasks", "complete_task"),
        target="buy milk",
        task={"status": "done"},
        reply=("Marked “buy milk” as done",),
    ),
    Row(
        "mark 'renew passport' as done",
        ("list_tasks", "complete_task"),
        target="renew passport",
    ),
    Row("done with call the bank", ("list_tasks", "complete_task"), target="call the bank"),
    Row("finish the second one", ("complete_task",), before=(LIST,), target="call the bank"),
    Row("complete 2", ("complete_task",), before=(LIST,), target="call the bank"),
    Row("check off #3", ("complete_task",), before=(LIST,), target="renew passport"),
    Row("mark task 1 done", ("complete_task",), before=(LIST,), target="call the plumber"),
    Row(
        "start the first one",
        ("update_task",),
        before=("show high priority tasks",),
        target="call the plumber",
        task={"status": "in_progress"},
    ),
    Row(
        "reopen 'file taxes'",
        ("list_tasks", "update_task"),
        target="file taxes",
        task={"status": "todo"},
    ),
    # Renaming.
    Row(
        "rename 'buy milk' to 'buy oat milk'",
        ("list_tasks", "update_task"),
        target="buy milk",
        task={"title": "buy oat milk"},
        reply=("Renamed “buy milk” to “buy oat milk”",),
    ),
    Row(
        "rename 2 to call the bank before noon",
        ("update_task",),
        before=(LIST,),
        target="call the bank",
        task={"title": "call the bank before noon"},
    ),
    Row(
        "change the title of write report to write the annual report",
        ("list_tasks", "update_task"),
        target="write report",
        task={"title": "write the annual report"},
    ),
    # Deleting, by title or by position.
    Row(
        "delete buy milk chocolate",
        ("list_tasks", "delete_task"),
        target="buy milk chocolate",
        gone=True,
        reply=("Deleted “buy milk chocolate”",),
    ),
    Row(
        "remove the second one", ("delete_task",), before=(LIST,), target="call the bank", gone=True
    ),
    Row("delete task 3", ("delete_task",), before=(LIST,), target="renew passport", gone=True),
    Row("delete the last one", ("delete_task",), before=(LIST,), target="file taxes", gone=True),
    Row(
        "delete the second one",
        ("delete_task",),
        before=("show tasks tagged home",),
        target="file taxes",
        gone=True,
    ),
    Row(
        "delete it",
        ("delete_task",),
        before=("show in progress tasks",),
        target="write report",
        gone=True,
    ),
    Row(
        "delete call",
        FIND,
        listed=("call the plumber", "call the bank"),
        reply=("More than one task matches “call”", "Which one?"),
    ),
    Row(
        "delete the second one",
        ("delete_task",),
        before=("delete call",),
        target="call the bank",
        gone=True,
    ),
    Row("delete 'no such task'", FIND, listed=(), reply=("I found no task called “no such task”",)),
    Row("delete the fifth one", reply=("There is no earlier list",)),
    Row("delete the ninth one", before=(LIST,), reply=("The last list had 7 tasks",)),
    # Anything else gets help with examples.
    Row("help", reply=HELPFUL),
    Row("hello", reply=HELPFUL),
    Row("?", reply=HELPFUL),
    Row("make me a sandwich", reply=("did not understand “make me a sandwich”", *HELPFUL)),
    Row("what is the meaning of life", reply=("did not understand", *HELPFUL)),
    Row("tell me a joke", reply=("did not understand", *HELPFUL)),
    Row("purple monkey dishwasher", reply=("did not understand", *HELPFUL)),
]


def _row_id(row: Row) -> str:
    said = " / ".join([*row.before, row.say])
    return said if len(said) <= 60 else said[:57] + "..."


def builtin() -> Assistant:
    return BuiltinAssistant(clock=lambda: NOW)


async def seed(make_task: TaskFactory, user: SignedInUser) -> dict[str, str]:
    ids = {}
    for body in SEED:
        created = await make_task(user, **body)
        ids[body["title"]] = created.json()["id"]
    return ids


def listed_titles(turn: Turn) -> list[str]:
    return [
        task["title"] for call in turn.calls_named("list_tasks") for task in tasks_in(call.result)
    ]


def acted_on(call: ToolCall) -> dict[str, Any]:
    if "deleted" in call.result:
        deleted: dict[str, Any] = call.result["deleted"]
        return deleted
    (task,) = tasks_in(call.result)
    return task


async def check(
    row: Row, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser, ids: dict[str, str]
) -> None:
    conversation = Conversation(app, user, builtin())
    await conversation.say_all(row.before)
    turn = await conversation.say(row.say)

    assert tuple(call.name for call in turn.tool_calls) == row.calls, turn.reply
    for phrase in row.reply:
        assert phrase in turn.reply, turn.reply
    if row.calls:
        last = turn.tool_calls[-1]
        assert (last.result["ok"] is True) is row.ok, last.result
    if row.listed is not None:
        assert listed_titles(turn) == list(row.listed)
    if row.target is not None:
        assert acted_on(turn.tool_calls[-1])["id"] == ids[row.target]
    if row.task is not None:
        task = acted_on(turn.tool_calls[-1])
        for key, expected in row.task.items():
            if key == "due":
                assert (task["due_at"] or "")[:10] == (expected or ""), task
            else:
                assert task[key] == expected, task
    if row.gone:
        assert row.target is not None
        found = await client.get(f"/api/v1/tasks/{ids[row.target]}", headers=user.headers)
        assert found.status_code == 404


class TestTheTable:
    def test_the_table_is_long_enough(self) -> None:
        assert len(TABLE) >= 40
        assert len({_row_id(row) for row in TABLE}) == len(TABLE)

    async def test_every_utterance(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        make_user: UserFactory,
        make_task: TaskFactory,
        subtests: pytest.Subtests,
    ) -> None:
        """Each row is a subtest with a user of its own: users share nothing but the app."""
        for row in TABLE:
            with subtests.test(_row_id(row)):
                user = await make_user()
                await check(row, app, client, user, await seed(make_task, user))


class TestTurns:
    async def test_the_story_add_then_list_shows_it_over_rest(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        conversation = Conversation(app, user, builtin())
        added = await conversation.say("add 'renew passport' for friday, high priority")
        listed = await conversation.say("list my tasks")

        (task,) = (await client.get("/api/v1/tasks", headers=user.headers)).json()["items"]
        assert task["title"] == "renew passport"
        assert task["priority"] == "high"
        assert task["due_at"].startswith("2026-11-27")
        assert task["id"] == acted_on(added.tool_calls[0])["id"]
        assert "1. “renew passport” (todo, high priority, due Fri 2026-11-27)" in listed.reply

    async def test_the_reply_streams_in_order_after_the_tool_calls(
        self, app: FastAPI, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        await seed(make_task, user)
        turn = await Conversation(app, user, builtin()).say("what's still open?")
        kinds = [type(event) for event in turn.events]
        assert kinds == [ToolCall, ToolCall] + [TextDelta] * (len(kinds) - 2)
        assert len(turn.deltas) == 1 + len(listed_titles(turn))  # one line each
        assert turn.reply.splitlines()[0] == "Your open tasks:"

    async def test_it_is_deterministic(
        self, app: FastAPI, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        await seed(make_task, user)
        first = await Conversation(app, user, builtin()).say("show high priority tasks")
        second = await Conversation(app, user, builtin()).say("show high priority tasks")
        assert first.reply == second.reply
        assert [c.arguments for c in first.tool_calls] == [c.arguments for c in second.tool_calls]

    async def test_a_command_needing_more_steps_than_allowed_stops_and_says_so(
        self, app: FastAPI, user: SignedInUser, make_task: TaskFactory
    ) -> None:
        ids = await seed(make_task, user)
        conversation = Conversation(app, user, builtin(), max_steps=1)
        turn = await conversation.say("complete buy milk")
        assert [call.name for call in turn.tool_calls] == ["list_tasks"]
        assert "more than the 1 tool steps" in turn.reply
        conversation.max_steps = 5
        assert (await conversation.say("complete buy milk")).calls_named("complete_task")
        assert ids["buy milk"]

    async def test_another_users_listing_positions_cannot_reach_their_tasks(
        self, app: FastAPI, make_user: Any, make_task: TaskFactory
    ) -> None:
        owner = await make_user()
        other = await make_user()
        await seed(make_task, owner)
        owners = Conversation(app, owner, builtin())
        await owners.say(LIST)
        # The other user's turn replays the owner's history: the ids are not theirs.
        intruder = Conversation(app, other, builtin(), history=list(owners.history))
        turn = await intruder.say("delete the first one")
        (call,) = turn.tool_calls
        assert call.result["ok"] is False
        assert call.result["error"]["status"] == 404
        assert "could not change" in turn.reply


def due_of(message: str, *, today: date) -> date | None:
    command = parse(message, today=today)
    assert isinstance(command, Add), command
    return command.due


class TestDates:
    """Due phrases against the clock, on every day of one week (no database needed)."""

    @pytest.mark.parametrize("day", range(23, 30))  # Monday 2026-11-23 .. Sunday 2026-11-29
    def test_weekday_names_mean_the_next_such_day_today_included(self, day: int) -> None:
        today = date(2026, 11, day)
        for offset, name in enumerate(WEEKDAYS):
            due = due_of(f"add x on {name}", today=today)
            assert due is not None
            assert due.weekday() == offset
            assert 0 <= (due - today).days <= 6
            assert due_of(f"add x next {name}", today=today) == due + timedelta(days=7)

    def test_next_week_is_the_coming_monday_and_next_month_its_first_day(self) -> None:
        today = date(2026, 12, 31)  # a Thursday
        assert due_of("add x next week", today=today) == date(2027, 1, 4)
        assert due_of("add x next month", today=today) == date(2027, 1, 1)

    async def test_the_clock_is_read_in_utc(self, app: FastAPI, user: SignedInUser) -> None:
        # 23:30 at UTC-5 on the 24th is already the 25th in UTC.
        late = datetime.fromisoformat("2026-11-24T23:30:00-05:00")
        conversation = Conversation(app, user, BuiltinAssistant(clock=lambda: late))
        turn = await conversation.say("add x today")
        assert acted_on(turn.tool_calls[0])["due_at"].startswith("2026-11-25T00:00:00")
