"""The builtin assistant: a deterministic, offline command interpreter (not a language model).

It reads short imperative English commands with regular expressions and turns each into
calls of the task tools: add (with due phrases, priority and tags), list and filter, start,
complete, reopen, rename and delete, a task named by its title or by its position in the
last listing. The last listing is found in the conversation's history: the `list_tasks`
results of the most recent assistant message that listed tasks. Dates are resolved against
an injectable clock, in UTC; a due date is stored as the start of that day in UTC.

Nothing here guesses: what it does not recognise gets a helpful answer with examples.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from taskapi.chat.protocol import (
    AssistantEvent,
    HistoryMessage,
    JsonObject,
    TextDelta,
    ToolBox,
    ToolCall,
)

Clock = Callable[[], datetime]

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
# What "open" means for a listing: every status but done, listed in this order.
OPEN_STATUSES = ("todo", "in_progress")
MAX_TAG_LENGTH = 50

EXAMPLES = (
    "add 'renew passport' for Friday, high priority #travel",
    "add buy milk tomorrow",
    "list my open tasks tagged travel",
    "show high priority tasks",
    "find tasks about passport",
    "complete 'renew passport'",
    "rename 'buy milk' to 'buy oat milk'",
    "delete the second one (a position in the last list)",
)
HELP = (
    "I am the built-in command interpreter, not a language model: I understand short "
    "commands like these:\n" + "\n".join(f"- {example}" for example in EXAMPLES)
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# --- Reading the words -------------------------------------------------------------------

_QUOTES = "\"'\u201c\u201d\u2018\u2019"  # straight and typographic quotation marks
_QUOTED = re.compile(rf"(?<!\w)[{_QUOTES}](?P<text>[^{_QUOTES}]+?)[{_QUOTES}](?=\s|$|[,.;:!?])")
_WEEKDAY = "|".join(WEEKDAYS)
_DUE_LEAD = r"(?:(?:due|on|by|for|before|until)\s+)?"
_ISO_DATE = re.compile(_DUE_LEAD + r"\b(?P<iso>\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
_RELATIVE_DAY = re.compile(_DUE_LEAD + r"\b(?P<day>today|tonight|tomorrow)\b", re.IGNORECASE)
_WEEKDAY_DUE = re.compile(
    _DUE_LEAD + rf"\b(?:(?P<next>next|this)\s+)?(?P<weekday>{_WEEKDAY})\b", re.IGNORECASE
)
_NEXT_PERIOD = re.compile(_DUE_LEAD + r"\bnext\s+(?P<period>week|month)\b", re.IGNORECASE)
_IN_PERIOD = re.compile(
    _DUE_LEAD + r"\bin\s+(?P<count>\d+|a|an|one|two|three|four|five)\s+(?P<unit>days?|weeks?)\b",
    re.IGNORECASE,
)
_PRIORITY = re.compile(
    r"(?:,?\s*(?:with\s+|at\s+)?(?:a\s+)?)"
    r"(?:\b(?P<p1>high|medium|low|normal)[\s-]+priority\b"
    r"|\bpriority\s*[:=]?\s*(?P<p2>high|medium|low|normal)\b"
    r"|\b(?P<urgent>urgent|important)\b)",
    re.IGNORECASE,
)
_HASH_TAG = re.compile(r"(?<![\w#])#(?P<tag>[A-Za-z][\w-]*)")
_WORD_TAGS = re.compile(
    r"\b(?:with\s+(?:the\s+)?tags?|tagged(?:\s+with)?|tags?|labell?ed)\s*:?\s+"
    r"(?P<tags>[A-Za-z][\w-]*(?:\s*(?:,|\band\b)\s*[A-Za-z][\w-]*)*)",
    re.IGNORECASE,
)
_TAG_SUFFIX = re.compile(
    r"\b(?:for|with|in|under)\s+(?:the\s+)?(?P<tag>[A-Za-z][\w-]*)\s+(?:tag|label)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Extracted:
    """What was found in a phrase, and the phrase with it taken out."""

    rest: str
    due: date | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    not_a_date: str | None = None  # an ISO-looking date that is not one (2026-02-30)


def _cut(text: str, match: re.Match[str]) -> str:
    return (text[: match.start()] + " " + text[match.end() :]).strip()


def _tidy(text: str) -> str:
    """Collapse spaces and drop connectors a removed phrase left dangling at either end."""
    text = re.sub(r"\s+", " ", text).strip()
    dangling = r"(?:,|;|:|-|and|with|for|due|by|on|at|a|the)"
    previous = None
    while previous != text:
        previous = text
        text = re.sub(rf"(?:^|\s){dangling}$", "", text, flags=re.IGNORECASE).strip(" ,;:")
        text = re.sub(rf"^{dangling}(?:\s|$)", "", text, flags=re.IGNORECASE).strip(" ,;:")
    return text


def _weekday_on_or_after(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _due_from(match: re.Match[str], today: date) -> date | None:  # noqa: PLR0911 - one per phrase
    groups = {key: value.lower() for key, value in match.groupdict().items() if value}
    if groups.get("iso"):
        try:
            return date.fromisoformat(groups["iso"])
        except ValueError:
            return None
    if groups.get("day"):
        return today + timedelta(days=0 if groups["day"] in {"today", "tonight"} else 1)
    if groups.get("weekday"):
        day = _weekday_on_or_after(today, WEEKDAYS.index(groups["weekday"]))
        return day + timedelta(days=7) if groups.get("next") == "next" else day
    if groups.get("period") == "week":
        return today + timedelta(days=7 - today.weekday())
    if groups.get("period") == "month":
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    if groups.get("count"):
        count = groups["count"]
        number = int(count) if count.isdigit() else NUMBER_WORDS[count]
        return today + timedelta(days=number * (7 if groups["unit"].startswith("week") else 1))
    return None


def extract(text: str, *, today: date, dates: bool = True) -> Extracted:
    """Take due phrases, priority and tags out of `text` (matched without regard to case)."""
    due: date | None = None
    not_a_date = None
    if dates:
        for pattern in (_ISO_DATE, _RELATIVE_DAY, _NEXT_PERIOD, _IN_PERIOD, _WEEKDAY_DUE):
            match = pattern.search(text)
            if match:
                due = _due_from(match, today)
                not_a_date = match.group("iso") if due is None else None
                text = _cut(text, match)
                break
    priority = None
    match = _PRIORITY.search(text)
    if match:
        word = (match.group("p1") or match.group("p2") or "high").lower()
        priority = "medium" if word == "normal" else word
        text = _cut(text, match)
    tags: list[str] = []
    for pattern in (_WORD_TAGS, _TAG_SUFFIX):
        match = pattern.search(text)
        if match:
            found = match.groupdict().get("tags") or match.group("tag")
            tags += [t for t in re.split(r"\s*(?:,|\band\b)\s*", found) if t]
            text = _cut(text, match)
    for match in reversed(list(_HASH_TAG.finditer(text))):
        tags.insert(0, match.group("tag"))
        text = _cut(text, match)
    unique = tuple(dict.fromkeys(t.lower()[:MAX_TAG_LENGTH] for t in tags))
    return Extracted(_tidy(text), due, priority, unique, not_a_date)


# --- Commands ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Add:
    title: str
    due: date | None
    priority: str | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListTasks:
    statuses: tuple[str, ...] = ()  # empty: any status
    priority: str | None = None
    tag: str | None = None
    text: str | None = None
    open_only: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """Complete, start, reopen, rename or delete the task a reference names."""

    action: str  # complete | start | reopen | rename | delete
    reference: str
    new_title: str | None = None


@dataclass(frozen=True, slots=True)
class Help:
    not_understood: str | None = None
    note: str | None = None


Command = Add | ListTasks | Change | Help

_HELP = re.compile(
    r"^(?:help|\?|commands|examples|what can you do|how does (?:this|it) work|hi|hello|hey)\b"
)
_RENAME = re.compile(
    r"^(?:rename|retitle)\s+(?P<ref>.+?)\s+(?:to|as|into)\s+(?P<new>.+)$"
    r"|^change\s+the\s+(?:title|name)\s+of\s+(?P<ref2>.+?)\s+to\s+(?P<new2>.+)$",
    re.IGNORECASE,
)
_COMPLETE = re.compile(
    r"^(?:complete|finish|check\s+off|tick\s+off|close)\s+(?P<ref>.+)$"
    r"|^mark\s+(?P<ref2>.+?)\s+(?:as\s+)?(?:done|complete|completed|finished)$"
    r"|^(?:i\s+)?(?:have\s+)?(?:finished|completed|did)\s+(?P<ref3>.+)$"
    r"|^done\s+(?:with\s+)?(?P<ref4>.+)$",
    re.IGNORECASE,
)
_START = re.compile(
    r"^(?:start|begin)\s+(?:working\s+on\s+)?(?P<ref>.+)$"
    r"|^mark\s+(?P<ref2>.+?)\s+(?:as\s+)?(?:in\s+progress|started)$",
    re.IGNORECASE,
)
_REOPEN = re.compile(
    r"^(?:reopen|re-open|undo)\s+(?P<ref>.+)$"
    r"|^mark\s+(?P<ref2>.+?)\s+(?:as\s+)?(?:not\s+done|todo|to\s+do|open)$",
    re.IGNORECASE,
)
_DELETE = re.compile(
    r"^(?:delete|remove|drop|trash|erase|get\s+rid\s+of)\s+(?P<ref>.+)$", re.IGNORECASE
)
_ADD = re.compile(
    r"^(?:add|create|new|remember\s+to|remind\s+me\s+to|todo:|to-do:|i\s+(?:need|have)\s+to)"
    r"(?:\s+(?:a\s+)?(?:new\s+)?(?:task|todo|to-do|item)s?)?"
    r"(?:\s*(?::|called|named|titled))?(?:\s+|$)(?P<rest>.*)$",
    re.IGNORECASE,
)
# A listing starts with a listing verb, or asks a question about tasks.
_LIST_VERB = re.compile(r"^(?:list|show|display|find|search|look\s+for|give\s+me)\b")
_LIST_QUESTION = re.compile(
    r"^(?:what|what's|whats|which|any|do\s+i\s+have|how\s+many|tasks|my\s+tasks|todos)\b"
    r".*\b(?:tasks?|todos?|to-dos?|items?|open|left|pending|remaining|outstanding|to\s+do"
    r"|due|priority|tag|tagged|done|completed|finished|in\s+progress)\b"
)
_TEXT_FILTER = re.compile(
    r"\b(?:about|containing|mentioning|matching|called|named|titled|with\s+the\s+words?)\s+"
    r"(?P<text>.+)$",
    re.IGNORECASE,
)
_SEARCH = re.compile(r"^(?:find|search|look\s+for)\s+(?:for\s+)?(?P<text>.+)$", re.IGNORECASE)
_OPEN = re.compile(
    r"\b(?:open|still\s+open|remaining|pending|left|unfinished|outstanding|not\s+done"
    r"|incomplete|to\s+do|still\s+to\s+do)\b"
)
_STATUS = (
    ("todo", re.compile(r"\b(?:todo|to-do|not\s+started|to\s+do\s+(?:tasks|items))\b")),
    ("in_progress", re.compile(r"\b(?:in\s+progress|started|ongoing|doing)\b")),
    ("done", re.compile(r"\b(?:done|completed|complete|finished|closed)\b")),
)
_LIST_FILLER = frozenset(
    [
        "list",
        "show",
        "display",
        "get",
        "give",
        "me",
        "what",
        "what's",
        "whats",
        "which",
        "any",
        "find",
        "search",
        "look",
        "for",
        "do",
        "does",
        "i",
        "have",
        "has",
        "my",
        "all",
        "the",
        "a",
        "task",
        "tasks",
        "todo",
        "todos",
        "item",
        "items",
        "are",
        "is",
        "there",
        "still",
        "please",
        "with",
        "of",
        "in",
        "to",
    ]
)


def _reference(match: re.Match[str]) -> str:
    return next(
        value for key, value in match.groupdict().items() if key.startswith("ref") and value
    )


def parse(message: str, *, today: date) -> Command:  # noqa: PLR0911 - one per command
    """Turn one message into a command; `Help` when it is not one of the known forms."""
    text = re.sub(r"\s+", " ", message).strip()
    text = text.rstrip(" .!?")  # trailing punctuation carries no meaning for a command
    lower = text.lower()
    if not lower or _HELP.match(lower):
        return Help()
    if match := _RENAME.match(text):
        groups = match.groupdict()
        reference = groups["ref"] or groups["ref2"]
        new_title = _unquote(groups["new"] or groups["new2"])
        return Change("rename", reference, new_title)
    for action, pattern in (("complete", _COMPLETE), ("start", _START), ("reopen", _REOPEN)):
        if match := pattern.match(text):
            return Change(action, _reference(match))
    if match := _DELETE.match(text):
        return Change("delete", match.group("ref"))
    if (match := _ADD.match(text)) and not lower.startswith(("what", "which")):
        return _parse_add(match.group("rest"), today=today)
    if _LIST_VERB.match(lower) or _LIST_QUESTION.match(lower):
        return _parse_list(text)
    return Help(not_understood=message.strip())


def _unquote(text: str) -> str:
    text = text.strip()
    match = _QUOTED.fullmatch(text)
    return match.group("text").strip() if match else text


def _parse_add(rest: str, *, today: date) -> Command:
    quoted = _QUOTED.search(rest)
    if quoted:
        title = quoted.group("text").strip()
        found = extract(_cut(rest, quoted), today=today)
    else:
        found = extract(rest, today=today)
        title = found.rest
    if not title:
        return Help(note="What should the task be called? For example: add 'buy milk' tomorrow.")
    if found.not_a_date:
        return Help(note=f"{found.not_a_date} is not a date; write dates like 2026-12-31.")
    return Add(title=title, due=found.due, priority=found.priority, tags=found.tags)


def _without_filler(text: str) -> str:
    """The words of a search phrase without the list words around them ("my", "tasks")."""
    words = text.split()
    while words and words[0].lower() in _LIST_FILLER:
        words.pop(0)
    while words and words[-1].lower() in _LIST_FILLER:
        words.pop()
    return " ".join(words)


def _parse_list(text: str) -> ListTasks:
    quoted = _QUOTED.search(text)
    search_text = quoted.group("text").strip() if quoted else None
    if quoted:
        text = _cut(text, quoted)
    found = extract(text, today=date.min, dates=False)
    rest = found.rest
    match = _TEXT_FILTER.search(rest) or _SEARCH.match(rest)
    if search_text is None and match and (words := _without_filler(match.group("text"))):
        search_text = words
        rest = rest[: match.start("text")]
    lower = rest.lower()
    statuses: tuple[str, ...] = ()
    open_only = False
    for status, pattern in _STATUS:
        if pattern.search(lower):
            statuses = (status,)
            break
    if not statuses and _OPEN.search(lower):
        statuses, open_only = OPEN_STATUSES, True
    return ListTasks(
        statuses=statuses,
        priority=found.priority,
        tag=found.tags[0] if found.tags else None,
        text=search_text or None,
        open_only=open_only,
    )


# --- Running a command with the tools ----------------------------------------------------


class OutOfSteps(Exception):
    """The command needs more tool calls than the turn allows."""


@dataclass(slots=True)
class _Turn:
    tools: ToolBox
    max_steps: int
    history: Sequence[HistoryMessage]
    steps: int = 0
    id_argument: str = field(default="task_id")

    async def call(self, name: str, arguments: JsonObject) -> ToolCall:
        if self.steps >= self.max_steps:
            raise OutOfSteps
        self.steps += 1
        return await self.tools.call(name, arguments)


def _ok(call: ToolCall) -> bool:
    return call.result.get("ok") is True


def _error_detail(call: ToolCall) -> str:
    error = call.result.get("error")
    if isinstance(error, Mapping):
        return str(error.get("detail") or error.get("title") or "the tool failed")
    return "the tool failed"


def tasks_in(result: Mapping[str, Any]) -> list[JsonObject]:
    """The tasks a tool result carries: a listing's items, or the one task it returned."""
    for key in ("items", "tasks"):
        value = result.get(key)
        if isinstance(value, list):
            return [item for item in value if isinstance(item, dict)]
    task = result.get("task")
    if isinstance(task, dict):
        return [task]
    return [dict(result)] if "id" in result and "title" in result else []


def _id_argument(tools: ToolBox) -> str:
    """The name the tools give a task's id (read from get_task's schema, not assumed)."""
    for definition in tools.definitions():
        if definition.name == "get_task":
            properties = definition.parameters.get("properties", {})
            for candidate in ("task_id", "id"):
                if candidate in properties:
                    return candidate
    return "task_id"


def _last_listing(history: Sequence[HistoryMessage]) -> list[JsonObject] | None:
    """The tasks the most recent listing showed, in the order it numbered them."""
    for message in reversed(history):
        listed = [c for c in message.tool_calls if c.name == "list_tasks" and _ok(c)]
        if message.role == "assistant" and listed:
            return [task for call in listed for task in tasks_in(call.result)]
    return None


def _last_touched(history: Sequence[HistoryMessage]) -> JsonObject | None:
    """The task the most recent turn acted on or showed alone ("it", "that one")."""
    for message in reversed(history):
        for call in reversed(message.tool_calls):
            found = tasks_in(call.result) if _ok(call) else []
            if len(found) == 1:
                return found[0]
    return None


_POSITION = re.compile(
    r"^(?:the\s+)?(?:(?P<ordinal>" + "|".join(ORDINALS) + r"|last)|(?P<number>\d+)(?:st|nd|rd|th)?)"
    r"(?:\s+(?:one|task|item|on\s+the\s+list))?$"
    r"|^(?:task|item|number|no\.?|#)\s*(?P<number2>\d+)$"
)
_PRONOUN = re.compile(r"^(?:it|that|this|that\s+one|this\s+one|that\s+task|this\s+task)$")


def _title_words(reference: str) -> str:
    """The title a reference names: quoted text as it is, else without "the task" around it."""
    if _QUOTED.fullmatch(reference.strip()):
        return _unquote(reference)
    text = reference.strip()
    text = re.sub(r"^(?:the\s+)?(?:task|todo|item)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+(?:task|todo|item)$", "", text, flags=re.IGNORECASE)
    return _unquote(text)


@dataclass(frozen=True, slots=True)
class Resolved:
    task: JsonObject | None
    problem: str | None = None


def _describe(task: Mapping[str, Any]) -> str:
    parts = [str(task.get("status", "todo")).replace("_", " ")]
    if task.get("priority") and task.get("priority") != "medium":
        parts.append(f"{task['priority']} priority")
    due = task.get("due_at")
    if isinstance(due, str) and due:
        try:
            when = datetime.fromisoformat(due.replace("Z", "+00:00")).astimezone(UTC)
            parts.append(f"due {when:%a %Y-%m-%d}")
        except ValueError:
            parts.append(f"due {due}")
    tags = task.get("tags") or []
    if tags:
        parts.append(" ".join(f"#{tag}" for tag in tags))
    return f"“{task.get('title', '?')}” ({', '.join(parts)})"


def _numbered(tasks: Sequence[Mapping[str, Any]]) -> str:
    return "\n".join(f"{n}. {_describe(task)}" for n, task in enumerate(tasks, start=1))


class BuiltinAssistant:
    """The default assistant: commands in, tool calls and a plain-English reply out."""

    def __init__(self, *, clock: Clock = _utc_now) -> None:
        self._clock = clock

    async def run(
        self,
        *,
        history: Sequence[HistoryMessage],
        message: str,
        tools: ToolBox,
        max_steps: int,
    ) -> AsyncIterator[AssistantEvent]:
        today = self._clock().astimezone(UTC).date()
        command = parse(message, today=today)
        turn = _Turn(tools, max_steps, history, id_argument=_id_argument(tools))
        reply: list[str] = []
        try:
            async for event in self._execute(command, turn, reply):
                yield event
        except OutOfSteps:
            reply.append(
                f"That needs more than the {max_steps} tool steps a turn may take; "
                "try a simpler command."
            )
        for line in "\n".join(reply).splitlines(keepends=True):
            yield TextDelta(line)

    async def _execute(
        self, command: Command, turn: _Turn, reply: list[str]
    ) -> AsyncIterator[AssistantEvent]:
        match command:
            case Help(not_understood=None, note=None):
                reply.append(HELP)
            case Help(not_understood=None, note=note):
                reply.append(f"{note}\n\n{HELP}")
            case Help(not_understood=text):
                reply.append(f"Sorry, I did not understand “{text}”. {HELP}")
            case Add():
                async for event in self._add(command, turn, reply):
                    yield event
            case ListTasks():
                async for event in self._list(command, turn, reply):
                    yield event
            case Change():
                async for event in self._change(command, turn, reply):
                    yield event

    async def _add(self, command: Add, turn: _Turn, reply: list[str]) -> AsyncIterator[ToolCall]:
        arguments: JsonObject = {"title": command.title}
        if command.priority:
            arguments["priority"] = command.priority
        if command.due:
            arguments["due_at"] = datetime.combine(command.due, time(0), UTC).isoformat()
        if command.tags:
            arguments["tags"] = list(command.tags)
        call = await turn.call("add_task", arguments)
        yield call
        if not _ok(call):
            reply.append(f"I could not add “{command.title}”: {_error_detail(call)}")
            return
        added = tasks_in(call.result)
        reply.append(f"Added {_describe(added[0] if added else arguments)}.")

    async def _list(
        self, command: ListTasks, turn: _Turn, reply: list[str]
    ) -> AsyncIterator[ToolCall]:
        base: JsonObject = {}
        if command.priority:
            base["priority"] = command.priority
        if command.tag:
            base["tag"] = command.tag
        if command.text:
            base["q"] = command.text
        tasks: list[JsonObject] = []
        more = False
        for status in command.statuses or (None,):
            arguments = {**base, "status": status} if status else dict(base)
            call = await turn.call("list_tasks", arguments)
            yield call
            if not _ok(call):
                reply.append(f"I could not list your tasks: {_error_detail(call)}")
                return
            tasks += tasks_in(call.result)
            more = more or bool(call.result.get("next_cursor"))
        what = self._listing_name(command)
        if not tasks:
            reply.append(f"You have no {what}.")
            return
        reply.append(f"Your {what}:\n{_numbered(tasks)}")
        if more:
            reply.append(
                "There are more: narrow the list with a status, a priority, a tag or words."
            )

    @staticmethod
    def _listing_name(command: ListTasks) -> str:
        words = []
        if command.open_only:
            words.append("open")
        elif command.statuses:
            status = command.statuses[0]
            words.append({"todo": "to-do", "in_progress": "in-progress"}.get(status, status))
        if command.priority:
            words.append(f"{command.priority}-priority")
        name = " ".join([*words, "tasks"])
        if command.tag:
            name += f" tagged {command.tag}"
        if command.text:
            name += f" matching “{command.text}”"
        return name

    async def _resolve(
        self, reference: str, turn: _Turn, found: list[Resolved]
    ) -> AsyncIterator[ToolCall]:
        """Find the task a reference names into `found`; tool calls it needs are yielded."""
        lower = reference.strip().lower()
        position = _POSITION.match(lower)
        if position or _PRONOUN.match(lower):
            found.append(self._from_history(position, turn.history))
            return
        title = _title_words(reference)
        call = await turn.call("list_tasks", {"q": title})
        yield call
        found.append(self._pick(title, call))

    @staticmethod
    def _from_history(
        position: re.Match[str] | None, history: Sequence[HistoryMessage]
    ) -> Resolved:
        if position is None:
            task = _last_touched(history)
            if task is None:
                return Resolved(None, "I don't know which task you mean; name it by its title.")
            return Resolved(task)
        listing = _last_listing(history)
        if listing is None:
            return Resolved(None, "There is no earlier list to count in; ask me to list tasks.")
        groups = position.groupdict()
        number = groups["number"] or groups["number2"]
        if groups["ordinal"] == "last":
            index = len(listing)
        else:
            index = int(number) if number else ORDINALS[groups["ordinal"]]
        if not 1 <= index <= len(listing):
            return Resolved(
                None, f"The last list had {len(listing)} tasks; there is no number {index}."
            )
        return Resolved(listing[index - 1])

    @staticmethod
    def _pick(title: str, call: ToolCall) -> Resolved:
        if not _ok(call):
            return Resolved(None, f"I could not look for it: {_error_detail(call)}")
        candidates = tasks_in(call.result)
        exact = [t for t in candidates if str(t.get("title", "")).lower() == title.lower()]
        if len(exact) == 1 or (not exact and len(candidates) == 1):
            return Resolved((exact or candidates)[0])
        if not candidates:
            return Resolved(None, f"I found no task called “{title}”.")
        return Resolved(
            None,
            f"More than one task matches “{title}”:\n{_numbered(exact or candidates)}\n"
            "Which one? Say, for example, “the first one”.",
        )

    async def _change(
        self, command: Change, turn: _Turn, reply: list[str]
    ) -> AsyncIterator[ToolCall]:
        found: list[Resolved] = []
        async for call in self._resolve(command.reference, turn, found):
            yield call
        resolved = found[0]
        if resolved.task is None:
            reply.append(resolved.problem or "I could not find that task.")
            return
        task = resolved.task
        ident = {turn.id_argument: task["id"]}
        if command.action == "rename" and not command.new_title:
            reply.append("What should the new title be? For example: rename 'x' to 'y'.")
            return
        name, arguments, done = {
            "complete": ("complete_task", ident, "Marked {task} as done."),
            "delete": ("delete_task", ident, "Deleted {task}."),
            "start": ("update_task", {**ident, "status": "in_progress"}, "Started {task}."),
            "reopen": ("update_task", {**ident, "status": "todo"}, "Reopened {task}."),
            "rename": (
                "update_task",
                {**ident, "title": command.new_title},
                "Renamed {task} to “" + str(command.new_title) + "”.",
            ),
        }[command.action]
        call = await turn.call(name, arguments)
        yield call
        label = f"“{task.get('title', '?')}”"
        if _ok(call):
            reply.append(done.format(task=label))
        else:
            reply.append(f"I could not change {label}: {_error_detail(call)}")
