"""The password policy: not the email's local part, and hard enough to guess (zxcvbn)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anyio
from zxcvbn import zxcvbn

from taskapi.users.errors import WeakPassword

# zxcvbn's cost grows steeply with length (about 90 ms at 64 random characters, a second at
# 128), so only this much of a password is rated; a longer one is rated by its beginning.
RATED_CHARACTERS = 64
# A local part shorter than this ("jo@...") is too common a substring to forbid inside a
# password; equality is still refused.
MIN_LOCAL_PART_TO_MATCH = 3


@dataclass(frozen=True, slots=True)
class PolicyViolation:
    type: str
    message: str


class PasswordPolicy:
    """Judges new passwords; the rating runs in a worker thread, at most `concurrency` at once."""

    def __init__(self, *, min_score: int, concurrency: int) -> None:
        self.min_score = min_score
        self._limiter = anyio.CapacityLimiter(concurrency)

    def violation(
        self, password: str, *, email: str, full_name: str | None = None
    ) -> PolicyViolation | None:
        """Why `password` is refused for this account, or None. CPU-bound: call it off the loop."""
        local_part = email.rpartition("@")[0].casefold()
        folded = password.casefold()
        if local_part and (
            folded == local_part
            or (len(local_part) >= MIN_LOCAL_PART_TO_MATCH and local_part in folded)
        ):
            return PolicyViolation(
                "password_contains_email",
                "The password contains the name part of your email address; "
                "choose one that has nothing to do with your address",
            )
        hints = [email, local_part, *(full_name.split() if full_name else [])]
        rated = password[:RATED_CHARACTERS]
        result = zxcvbn(rated, user_inputs=hints, max_length=RATED_CHARACTERS)
        if int(result["score"]) >= self.min_score:
            return None
        feedback = result["feedback"]
        advice = [feedback["warning"], *feedback["suggestions"]] if feedback else []
        advice = [text.rstrip(".") for text in advice if text] or [
            "Add another word or two. Uncommon words are better"
        ]
        return PolicyViolation(
            "password_too_weak", "The password is too easy to guess. " + ". ".join(advice)
        )

    async def check(
        self,
        password: str,
        *,
        email: str,
        full_name: str | None = None,
        loc: Sequence[str],
    ) -> None:
        """Raise WeakPassword naming `loc` when the policy refuses `password`."""
        found = await anyio.to_thread.run_sync(
            lambda: self.violation(password, email=email, full_name=full_name),
            limiter=self._limiter,
        )
        if found is not None:
            raise WeakPassword(loc=list(loc), message=found.message, type=found.type)
