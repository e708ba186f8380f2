# GENERATED from openapi/openapi.yaml by datamodel-code-generator. Do not edit.
# Regenerate with `make generate`; CI fails when this file is stale (`datamodel-codegen --check`).

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import MISSING, AwareDatetime, ConfigDict, Field, RootModel
from taskapi.contract.base import ContractModel


class UserCreate(ContractModel):
    """
    A registration: what a client sends to `registerUser`. The server-owned fields (`id`,
    `created_at`) are not part of it, and `password` appears in no response.

    """

    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[
        str,
        Field(
            description="An email address; compared case-insensitively.",
            examples=["ada@example.com"],
            max_length=254,
            min_length=3,
            pattern="^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$",
        ),
    ]
    full_name: Annotated[
        str | None | MISSING,
        Field(
            description="How the user likes to be addressed.",
            max_length=200,
            min_length=1,
            pattern="^[^\\x00]*$",
        ),
    ] = MISSING
    password: Annotated[
        str,
        Field(
            description="Between 8 and 128 characters; stored only as an Argon2 hash.",
            max_length=128,
            min_length=8,
        ),
    ]


class User(ContractModel):
    """
    A registered user, as the server returns it. Its password is never returned.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    id: Annotated[UUID, Field(description="Assigned by the server at registration.")]
    email: Annotated[
        str,
        Field(
            description="An email address; compared case-insensitively.",
            examples=["ada@example.com"],
            max_length=254,
            min_length=3,
            pattern="^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$",
        ),
    ]
    full_name: Annotated[
        str | None,
        Field(
            description="How the user likes to be addressed.",
            max_length=200,
            min_length=1,
            pattern="^[^\\x00]*$",
        ),
    ]
    created_at: Annotated[
        AwareDatetime, Field(description="When the account was registered (UTC).")
    ]


class GrantType(StrEnum):
    password = "password"


class TokenRequest(ContractModel):
    """
    OAuth2 password grant form (RFC 6749 §4.3.2).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    grant_type: GrantType | MISSING = MISSING
    username: Annotated[str, Field(description="The email address.", max_length=254, min_length=1)]
    password: Annotated[str, Field(max_length=128, min_length=1)]
    scope: Annotated[
        str | MISSING,
        Field(description="Accepted for compatibility; no scopes are defined.", max_length=1000),
    ] = MISSING
    client_id: Annotated[
        str | MISSING, Field(description="Accepted for compatibility; ignored.", max_length=200)
    ] = MISSING
    client_secret: Annotated[
        str | MISSING, Field(description="Accepted for compatibility; ignored.", max_length=200)
    ] = MISSING


class TokenType(StrEnum):
    bearer = "bearer"


class Token(ContractModel):
    """
    An OAuth2 access token response (RFC 6749 §5.1).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    access_token: Annotated[
        str, Field(description="A signed JWT; send it as `Authorization: Bearer <token>`.")
    ]
    refresh_token: Annotated[
        str,
        Field(
            description="Opaque; exchange it at `POST /api/v1/auth/refresh` for new tokens. Single use: each\nexchange returns the next one. Keep it secret; it is not a bearer token for the API.\n"
        ),
    ]
    token_type: TokenType
    expires_in: Annotated[int, Field(description="Seconds until the token expires.", ge=1)]


class Role(StrEnum):
    """
    `admin` may use the operations under `/api/v1/admin/`.
    """

    user = "user"
    admin = "admin"


class RefreshRequest(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    refresh_token: Annotated[
        str,
        Field(
            description="The `refresh_token` of the last token response.",
            max_length=200,
            min_length=1,
        ),
    ]


class Session(ContractModel):
    """
    One sign-in of the account, on one device.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID
    created_at: Annotated[AwareDatetime, Field(description="When the session was signed in.")]
    last_used_at: Annotated[
        AwareDatetime,
        Field(description="When the session last obtained tokens (sign-in or refresh)."),
    ]
    expires_at: Annotated[
        AwareDatetime,
        Field(description="When the session ends if its refresh token is not used before."),
    ]
    user_agent: Annotated[
        str | None, Field(description="The `User-Agent` that signed in, if it sent one.")
    ]
    current: Annotated[
        bool,
        Field(description="Whether this is the session of the access token making the request."),
    ]


class SessionList(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    items: list[Session]


class PasswordChange(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    current_password: Annotated[str, Field(max_length=128, min_length=1)]
    new_password: Annotated[
        str,
        Field(
            description="Between 8 and 128 characters. It must not be or contain the email's local part, and\nmust be rated hard enough to guess by a strength estimator (the server says what to\nchange when it is not).\n",
            max_length=128,
            min_length=8,
        ),
    ]


class PasswordResetRequest(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    email: Annotated[
        str,
        Field(
            description="An email address; compared case-insensitively.",
            examples=["ada@example.com"],
            max_length=254,
            min_length=3,
            pattern="^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$",
        ),
    ]


class PasswordResetConfirmation(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    token: Annotated[
        str, Field(description="The token from the emailed link.", max_length=200, min_length=1)
    ]
    new_password: Annotated[
        str,
        Field(
            description="Between 8 and 128 characters. It must not be or contain the email's local part, and\nmust be rated hard enough to guess by a strength estimator (the server says what to\nchange when it is not).\n",
            max_length=128,
            min_length=8,
        ),
    ]


class AccountDeletion(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    password: Annotated[
        str, Field(description="The account's current password.", max_length=128, min_length=1)
    ]


class AdminUser(ContractModel):
    """
    An account as administrators see it (never its tasks).
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID
    email: Annotated[
        str,
        Field(
            description="An email address; compared case-insensitively.",
            examples=["ada@example.com"],
            max_length=254,
            min_length=3,
            pattern="^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}$",
        ),
    ]
    full_name: Annotated[
        str | None,
        Field(
            description="How the user likes to be addressed.",
            max_length=200,
            min_length=1,
            pattern="^[^\\x00]*$",
        ),
    ]
    role: Role
    active: Annotated[bool, Field(description="`false` while the account is suspended.")]
    created_at: AwareDatetime


class AdminUserPage(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    items: list[AdminUser]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as `cursor` for the next page; `null` on the last page."),
    ]


class RoleChange(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    role: Role


class TaskStatus(StrEnum):
    todo = "todo"
    in_progress = "in_progress"
    done = "done"


class TaskPriority(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class TaskSort(StrEnum):
    created_at = "created_at"
    field_created_at = "-created_at"
    due_at = "due_at"
    field_due_at = "-due_at"
    priority = "priority"
    field_priority = "-priority"
    title = "title"
    field_title = "-title"


class Tag(RootModel[str]):
    root: Annotated[str, Field(max_length=50, min_length=1, pattern="^[^\\x00]*$")]


class TaskCreate(ContractModel):
    """
    A new task. Only `title` is required.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    title: Annotated[
        str,
        Field(
            description="At least one non-blank character.",
            max_length=200,
            min_length=1,
            pattern="^[^\\x00]*[^\\s\\x00][^\\x00]*$",
        ),
    ]
    description: Annotated[str | None | MISSING, Field(max_length=10000, pattern="^[^\\x00]*$")] = (
        MISSING
    )
    status: TaskStatus | MISSING = MISSING
    priority: TaskPriority | MISSING = MISSING
    due_at: Annotated[
        AwareDatetime | None | MISSING,
        Field(description="When the task is due; always returned in UTC."),
    ] = MISSING
    tags: Annotated[list[Tag] | MISSING, Field(max_length=20)] = MISSING


class TaskUpdate(ContractModel):
    """
    A partial update. Absent fields stay as they are; `null` clears a nullable field.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    title: Annotated[
        str | MISSING,
        Field(
            description="At least one non-blank character.",
            max_length=200,
            min_length=1,
            pattern="^[^\\x00]*[^\\s\\x00][^\\x00]*$",
        ),
    ] = MISSING
    description: Annotated[str | None | MISSING, Field(max_length=10000, pattern="^[^\\x00]*$")] = (
        MISSING
    )
    status: TaskStatus | MISSING = MISSING
    priority: TaskPriority | MISSING = MISSING
    due_at: Annotated[
        AwareDatetime | None | MISSING,
        Field(description="When the task is due; always returned in UTC."),
    ] = MISSING
    tags: Annotated[list[Tag] | MISSING, Field(max_length=20)] = MISSING


class Task(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID
    title: Annotated[
        str,
        Field(
            description="At least one non-blank character.",
            max_length=200,
            min_length=1,
            pattern="^[^\\x00]*[^\\s\\x00][^\\x00]*$",
        ),
    ]
    description: Annotated[str | None, Field(max_length=10000, pattern="^[^\\x00]*$")]
    status: TaskStatus
    priority: TaskPriority
    due_at: Annotated[
        AwareDatetime | None, Field(description="When the task is due; always returned in UTC.")
    ]
    tags: Annotated[list[Tag], Field(max_length=20)]
    created_at: AwareDatetime
    updated_at: AwareDatetime


class TaskPage(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    items: list[Task]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as `cursor` for the next page; `null` on the last page."),
    ]


class ChatRequest(ContractModel):
    """
    One message of a turn; without `conversation_id` a new conversation starts.
    """

    model_config = ConfigDict(
        extra="forbid",
    )
    conversation_id: Annotated[
        UUID | MISSING, Field(description="The conversation to continue (one of the caller's).")
    ] = MISSING
    message: Annotated[
        str,
        Field(
            description="What the person says: 1 to 4000 characters, at least one of them not blank. A server\nmay be configured with a lower limit (422 past it).\n",
            max_length=4000,
            min_length=1,
            pattern="^[^\\x00]*[^\\s\\x00][^\\x00]*$",
        ),
    ]


class ChatToolCall(ContractModel):
    """
    A tool the assistant ran: its name, the arguments it was given, and its result,
    either the tool's data (`"ok": true`) or a structured error (`"ok": false` with an
    `error` object). A long result is cut short and says so (`"truncated": true`).

    """

    model_config = ConfigDict(
        extra="forbid",
    )
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]


class ChatReply(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    conversation_id: UUID
    message_id: Annotated[UUID, Field(description="The stored assistant message of this turn.")]
    reply: str
    tool_calls: list[ChatToolCall]


class Conversation(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID
    title: Annotated[str, Field(description="The start of the conversation's first message.")]
    created_at: AwareDatetime
    updated_at: Annotated[AwareDatetime, Field(description="When its last turn was stored.")]


class ConversationPage(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    items: list[Conversation]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as `cursor` for the next page; `null` on the last page."),
    ]


class ChatRole(StrEnum):
    user = "user"
    assistant = "assistant"


class ChatMessage(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    id: UUID
    role: ChatRole
    content: str
    tool_calls: Annotated[
        list[ChatToolCall],
        Field(
            description="The tools an assistant message's turn ran, in order (empty for a user message)."
        ),
    ]
    interrupted: Annotated[
        bool,
        Field(
            description="True for the assistant message of a streamed turn whose client went away: it\nholds the tool calls that finished, and no reply.\n"
        ),
    ]
    created_at: AwareDatetime


class ChatMessagePage(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    items: list[ChatMessage]
    next_cursor: Annotated[
        str | None,
        Field(description="Pass as `cursor` for the next page; `null` on the last page."),
    ]


class Status(StrEnum):
    ok = "ok"


class Health(ContractModel):
    model_config = ConfigDict(
        extra="forbid",
    )
    status: Status


class ValidationIssue(ContractModel):
    loc: Annotated[
        list[str | int], Field(description='Where the problem is, for example `["body", "title"]`.')
    ]
    message: str
    type: Annotated[str, Field(description="A machine-readable error code.")]


class Problem(ContractModel):
    """
    An RFC 9457 problem details document.
    """

    type: Annotated[
        str,
        Field(description="Identifies the kind of problem; `about:blank` for plain HTTP errors."),
    ]
    title: str
    status: Annotated[int, Field(ge=100, le=599)]
    detail: Annotated[str, Field(description="What went wrong in this occurrence, for a human.")]
    instance: str | MISSING = MISSING
    request_id: Annotated[
        str, Field(description="Also sent as `X-Request-ID`; quote it when reporting a problem.")
    ]
    errors: Annotated[
        list[ValidationIssue] | MISSING,
        Field(description="Present on 422; one entry per invalid input."),
    ] = MISSING


class ApiV1TasksGetParametersQuery(ContractModel):
    status: TaskStatus | MISSING = MISSING
    priority: TaskPriority | MISSING = MISSING
    tag: Annotated[str | MISSING, Field(max_length=50, min_length=1, pattern="^[^\\x00]*$")] = (
        MISSING
    )
    q: Annotated[str | MISSING, Field(max_length=200, min_length=1, pattern="^[^\\x00]*$")] = (
        MISSING
    )
    due_before: AwareDatetime | MISSING = MISSING
    due_after: AwareDatetime | MISSING = MISSING
    sort: TaskSort | None = "-created_at"
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[
        str | MISSING, Field(max_length=2048, min_length=1, pattern="^[A-Za-z0-9_-]+$")
    ] = MISSING


class ApiV1ConversationsGetParametersQuery(ContractModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[
        str | MISSING, Field(max_length=2048, min_length=1, pattern="^[A-Za-z0-9_-]+$")
    ] = MISSING


class ApiV1ConversationsConversationIdMessagesGetParametersQuery(ContractModel):
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[
        str | MISSING, Field(max_length=2048, min_length=1, pattern="^[A-Za-z0-9_-]+$")
    ] = MISSING


class ApiV1AdminUsersGetParametersQuery(ContractModel):
    email_prefix: Annotated[
        str | MISSING, Field(max_length=254, min_length=1, pattern="^[^\\x00]*$")
    ] = MISSING
    role: Role | MISSING = MISSING
    active: bool | MISSING = MISSING
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[
        str | MISSING, Field(max_length=2048, min_length=1, pattern="^[A-Za-z0-9_-]+$")
    ] = MISSING
