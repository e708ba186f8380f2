"""Password hashing: Argon2id only, off the event loop, bounded, and a dummy hash for strangers."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import FrameType

import anyio
import anyio.lowlevel
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from taskapi.core.config import Settings
from taskapi.core.security import HashingBusy, PasswordHasher
from taskapi.main import create_app
from tests.api_helpers import assert_problem
from tests.conftest import SignedInUser, make_settings

pytestmark = pytest.mark.anyio

TOKEN = "/api/v1/auth/token"
PASSWORD = "correct horse battery"


def production_hasher(concurrency: int = 2, queue: int = 8) -> PasswordHasher:
    """The hasher at the shipped default cost (the app's tests use a cheap one)."""
    fields = Settings.model_fields
    return PasswordHasher(
        time_cost=fields["argon2_time_cost"].default,
        memory_cost_kib=fields["argon2_memory_cost_kib"].default,
        concurrency=concurrency,
        queue=queue,
    )


def cheap_hasher(concurrency: int = 2, queue: int = 8) -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost_kib=1024, concurrency=concurrency, queue=queue)


def _in_argon2(frame: FrameType | None) -> bool:
    while frame is not None:
        filename = frame.f_code.co_filename.replace("\\", "/")
        if "/argon2/" in filename or filename.endswith("pwdlib/hashers/argon2.py"):
            return True
        frame = frame.f_back
    return False


@dataclass
class Argon2Watch:
    """What a sampling thread saw: which threads ran Argon2 code, and how many at once."""

    threads: set[int] = field(default_factory=set)
    most_at_once: int = 0


@contextmanager
def watch_argon2() -> Iterator[Argon2Watch]:
    """Sample every thread's stack from a side thread; observes the real hasher, changes nothing."""
    watch = Argon2Watch()
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            hashing = {ident for ident, frame in sys._current_frames().items() if _in_argon2(frame)}
            watch.threads |= hashing
            watch.most_at_once = max(watch.most_at_once, len(hashing))
            stop.wait(0.0005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield watch
    finally:
        stop.set()
        sampler.join()


@pytest.mark.fr("001-auth/FR-004")
class TestHash:
    async def test_is_argon2id(self) -> None:
        password_hash = await cheap_hasher().hash(PASSWORD)

        assert password_hash.startswith("$argon2id$")
        assert PASSWORD not in password_hash

    async def test_uses_the_configured_cost(self) -> None:
        password_hash = await cheap_hasher().hash(PASSWORD)

        assert "$m=1024,t=1," in password_hash

    async def test_default_cost_is_pwdlibs_recommended_one(self) -> None:
        password_hash = await production_hasher().hash(PASSWORD)

        assert "$m=65536,t=3," in password_hash

    async def test_is_salted(self) -> None:
        hasher = cheap_hasher()

        assert await hasher.hash(PASSWORD) != await hasher.hash(PASSWORD)


@pytest.mark.fr("001-auth/FR-004")
class TestVerify:
    async def test_accepts_the_right_password(self) -> None:
        hasher = cheap_hasher()
        password_hash = await hasher.hash(PASSWORD)

        assert await hasher.verify(PASSWORD, password_hash) is True

    async def test_rejects_a_wrong_password(self) -> None:
        hasher = cheap_hasher()
        password_hash = await hasher.hash(PASSWORD)

        assert await hasher.verify("correct horse battery!", password_hash) is False

    async def test_without_a_stored_hash_is_false_even_for_the_dummy_password(self) -> None:
        assert await cheap_hasher().verify(PASSWORD, None) is False

    async def test_lets_the_event_loop_run_meanwhile(self) -> None:
        hasher = production_hasher()
        password_hash = await hasher.hash(PASSWORD)
        ticks = 0

        async def heartbeat() -> None:
            nonlocal ticks
            while True:
                await anyio.sleep(0.001)
                ticks += 1

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(heartbeat)
            await anyio.sleep(0.01)
            before = ticks
            assert await hasher.verify(PASSWORD, password_hash)
            during = ticks - before
            tasks.cancel_scope.cancel()

        # A verify on the event loop would leave the heartbeat at 0 or 1 ticks.
        assert during >= 10

    async def test_runs_in_a_worker_thread(self) -> None:
        hasher = production_hasher()
        password_hash = await hasher.hash(PASSWORD)

        with watch_argon2() as watch:
            assert await hasher.verify(PASSWORD, password_hash)

        assert watch.threads
        assert threading.get_ident() not in watch.threads

    async def test_unknown_user_verification_runs_in_a_worker_thread_too(self) -> None:
        # The first unknown user also makes the hasher compute its dummy hash.
        hasher = production_hasher()

        with watch_argon2() as watch:
            assert await hasher.verify(PASSWORD, None) is False

        assert watch.threads
        assert threading.get_ident() not in watch.threads


@pytest.mark.fr("001-auth/FR-004")
class TestConcurrencyBound:
    async def test_one_permit_runs_hashes_one_at_a_time(self) -> None:
        hasher = production_hasher(concurrency=1)

        with watch_argon2() as watch:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(hasher.hash, "first password")
                tasks.start_soon(hasher.hash, "second password")

        assert watch.most_at_once == 1

    async def test_two_permits_let_two_hashes_overlap(self) -> None:
        # The control for the test above: the watch does see overlapping hashes.
        hasher = production_hasher(concurrency=2)

        with watch_argon2() as watch:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(hasher.hash, "first password")
                tasks.start_soon(hasher.hash, "second password")

        assert watch.most_at_once == 2


@pytest.mark.fr("001-auth/FR-004", "001-auth/FR-010")
class TestStoredPassword:
    async def test_only_an_argon2id_hash_is_stored(
        self, app: FastAPI, user: SignedInUser, database_url: str
    ) -> None:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                stored = (await connection.execute(text("SELECT password_hash FROM users"))).all()
        finally:
            await engine.dispose()

        assert len(stored) == 1
        password_hash = stored[0][0]
        assert password_hash.startswith("$argon2id$")
        assert user.password not in password_hash
        assert await app.state.password_hasher.verify(user.password, password_hash)


@pytest.mark.fr("001-auth/FR-006")
class TestSignInCost:
    """Every sign-in attempt costs exactly one verification, whether the email exists or not."""

    async def test_unknown_email_costs_one_verification_against_the_dummy_hash(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        hasher: PasswordHasher = app.state.password_hasher
        before = hasher.verifications

        response = await client.post(
            TOKEN, data={"username": f"{uuid.uuid4().hex}@example.com", "password": PASSWORD}
        )

        assert response.status_code == 401
        assert hasher.verifications - before == 1
        assert hasher.dummy_hash.startswith("$argon2id$")

    async def test_known_email_with_a_wrong_password_costs_one_verification(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        hasher: PasswordHasher = app.state.password_hasher
        before = hasher.verifications

        response = await client.post(TOKEN, data={"username": user.email, "password": "wrong!!!"})

        assert response.status_code == 401
        assert hasher.verifications - before == 1

    async def test_successful_sign_in_costs_one_verification(
        self, app: FastAPI, client: httpx.AsyncClient, user: SignedInUser
    ) -> None:
        hasher: PasswordHasher = app.state.password_hasher
        before = hasher.verifications

        response = await client.post(
            TOKEN, data={"username": user.email, "password": user.password}
        )

        assert response.status_code == 200
        assert hasher.verifications - before == 1

    async def test_the_dummy_hash_never_verifies(self, app: FastAPI) -> None:
        hasher: PasswordHasher = app.state.password_hasher
        assert not await hasher.verify(PASSWORD, None)


@pytest.mark.fr("001-auth/FR-004")
class TestSignInWhileOthersRead:
    async def test_a_read_started_during_a_sign_in_finishes_first(self, database_url: str) -> None:
        """The sign-in hands its connection back before Argon2 runs (one pooled connection)."""
        fields = Settings.model_fields
        application = create_app(
            make_settings(
                database_url,
                argon2_time_cost=fields["argon2_time_cost"].default,
                argon2_memory_cost_kib=fields["argon2_memory_cost_kib"].default,
                db_pool_size=1,
                db_max_overflow=0,
            )
        )
        transport = httpx.ASGITransport(app=application)
        finished: list[str] = []
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                email = f"{uuid.uuid4().hex}@example.com"
                await client.post(
                    "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
                )
                token = await client.post(TOKEN, data={"username": email, "password": PASSWORD})
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

                async def sign_in() -> None:
                    response = await client.post(
                        TOKEN, data={"username": email, "password": "not the password"}
                    )
                    assert response.status_code == 401
                    finished.append("sign-in")

                async def read() -> None:
                    await anyio.sleep(0.03)  # the sign-in is hashing by now
                    response = await client.get("/api/v1/users/me", headers=headers)
                    assert response.status_code == 200
                    finished.append("read")

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(sign_in)
                    tasks.start_soon(read)
        finally:
            await application.state.database.close()

        assert finished == ["read", "sign-in"]


@pytest.mark.fr("008-abuse-resistance/FR-008")
class TestWaitingRoom:
    """Past `concurrency` running and `queue` waiting, a hash is refused at once (503)."""

    async def test_a_full_waiting_room_refuses_while_the_others_are_still_hashing(self) -> None:
        hasher = production_hasher(concurrency=1, queue=1)
        outcomes: list[str] = []

        async def hash_one(name: str) -> None:
            try:
                await hasher.hash(name)
            except HashingBusy:
                outcomes.append(f"{name} refused")
            else:
                outcomes.append(f"{name} hashed")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(hash_one, "running")
            tasks.start_soon(hash_one, "waiting")
            await anyio.lowlevel.checkpoint()  # both have taken their places
            await hash_one("third")

        assert outcomes == ["third refused", "running hashed", "waiting hashed"]

    async def test_places_are_given_back(self) -> None:
        hasher = cheap_hasher(concurrency=1, queue=0)

        for _ in range(3):
            assert (await hasher.hash(PASSWORD)).startswith("$argon2id$")

    async def test_a_failed_hash_gives_its_place_back(self) -> None:
        hasher = cheap_hasher(concurrency=1, queue=0)

        with pytest.raises(TypeError):
            await hasher.verify(PASSWORD, 12345)  # type: ignore[arg-type]

        assert await hasher.verify(PASSWORD, await hasher.hash(PASSWORD))


@pytest.mark.fr("008-abuse-resistance/FR-008")
class TestBusyAnswers:
    @pytest.fixture
    async def busy_client(self, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
        """One worker, no waiting room, the production cost: a second sign-in finds it full."""
        fields = Settings.model_fields
        application = create_app(
            make_settings(
                database_url,
                argon2_time_cost=fields["argon2_time_cost"].default,
                argon2_memory_cost_kib=fields["argon2_memory_cost_kib"].default,
                password_hash_concurrency=1,
                password_hash_queue=0,
                # Shorter than one verify: the refusal must come while the first still hashes.
                password_busy_refusal_delay_seconds=0.01,
            )
        )
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                yield client
        finally:
            await application.state.engine.dispose()

    @pytest.mark.parametrize("second", ["sign-in", "registration"])
    async def test_is_503_with_retry_after_while_the_worker_is_busy(
        self, busy_client: httpx.AsyncClient, second: str
    ) -> None:
        finished: list[str] = []

        async def first_sign_in() -> None:
            response = await busy_client.post(
                TOKEN, data={"username": "first@example.com", "password": PASSWORD}
            )
            assert response.status_code == 401
            finished.append("first")

        with watch_argon2() as watch:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(first_sign_in)
                with anyio.fail_after(10):
                    # Polled: a sampling thread sees the hashing, nothing signals it.
                    while not watch.threads:  # noqa: ASYNC110
                        await anyio.sleep(0.001)
                if second == "sign-in":
                    refused = await busy_client.post(
                        TOKEN, data={"username": "second@example.com", "password": PASSWORD}
                    )
                else:
                    refused = await busy_client.post(
                        "/api/v1/auth/register",
                        json={"email": "second@example.com", "password": PASSWORD},
                    )
                finished.append("refused")

        body = assert_problem(refused, 503)
        assert body["type"] == "urn:taskapi:problem:hashing-busy"
        assert refused.headers["retry-after"] == "1"
        assert finished == ["refused", "first"]

    async def test_the_refusal_comes_before_the_body_is_read(
        self, busy_client: httpx.AsyncClient
    ) -> None:
        """A flood is refused before parsing: even a malformed or wrongly typed body gets 503."""
        with watch_argon2() as watch:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(
                    partial(
                        busy_client.post, TOKEN, data={"username": "a@example.com", "password": "x"}
                    )
                )
                with anyio.fail_after(10):
                    # Polled: a sampling thread sees the hashing, nothing signals it.
                    while not watch.threads:  # noqa: ASYNC110
                        await anyio.sleep(0.001)
                answers = [
                    await busy_client.post(TOKEN, content=b"\xff\xfe not a form"),
                    await busy_client.post(
                        TOKEN, content=b"{}", headers={"Content-Type": "application/json"}
                    ),
                ]

        assert [r.status_code for r in answers] == [503, 503]
        assert all(r.headers["retry-after"] == "1" for r in answers)


def thread_niceness(native_id: int) -> int:
    """A thread's nice value as the kernel reports it (field 19 of /proc/self/task/N/stat)."""
    stat = Path(f"/proc/self/task/{native_id}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def native_ids(python_idents: set[int]) -> set[int]:
    return {t.native_id for t in threading.enumerate() if t.ident in python_idents and t.native_id}


@pytest.mark.fr("008-abuse-resistance/FR-008")
@pytest.mark.skipif(sys.platform != "linux", reason="threads have their own nice value on Linux")
class TestHashingPriority:
    """Argon2 runs on threads the OS schedules after everything else (nice 19 by default)."""

    async def test_the_threads_that_hash_run_at_the_lowest_priority(self) -> None:
        hasher = production_hasher(concurrency=2)
        own = thread_niceness(threading.get_native_id())

        with watch_argon2() as watch:
            async with anyio.create_task_group() as tasks:
                for _ in range(2):
                    tasks.start_soon(hasher.verify, "not the password", None)

        hashing = native_ids(watch.threads)
        assert hashing, "no thread was seen running Argon2"
        assert {thread_niceness(tid) for tid in hashing} == {19}
        assert thread_niceness(threading.get_native_id()) == own  # the event loop's is untouched

    async def test_a_niceness_of_zero_hashes_at_the_callers_priority(self) -> None:
        hasher = PasswordHasher(
            time_cost=1, memory_cost_kib=1024, concurrency=1, queue=0, niceness=0
        )
        own = thread_niceness(threading.get_native_id())

        await hasher.hash(PASSWORD)

        assert [thread_niceness(tid) for tid in hasher.worker_thread_ids] == [own]

    async def test_the_app_hashes_at_the_configured_niceness(self, database_url: str) -> None:
        application = create_app(make_settings(database_url, password_hash_niceness=7))
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.post(
                    TOKEN, data={"username": "nobody@example.com", "password": PASSWORD}
                )
        finally:
            await application.state.engine.dispose()
        hasher: PasswordHasher = application.state.password_hasher

        assert response.status_code == 401
        assert hasher.verifications == 1
        assert [thread_niceness(tid) for tid in hasher.worker_thread_ids] == [7]


@pytest.mark.fr("008-abuse-resistance/FR-008")
class TestWorkers:
    async def test_outlive_a_finished_lifespan(self, database_url: str) -> None:
        """One app may run its lifespan more than once (a test client per test)."""
        application = create_app(make_settings(database_url))
        for _ in range(2):
            async with application.router.lifespan_context(application):
                pass
        transport = httpx.ASGITransport(app=application)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.post(
                    TOKEN, data={"username": "nobody@example.com", "password": PASSWORD}
                )
        finally:
            await application.state.database.close()

        assert response.status_code == 401
