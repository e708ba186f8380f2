"""Liveness never touches the database; readiness asks it one trivial question."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter

from taskapi.contract.models import Health, Status
from taskapi.core.db import ReadPoolDep
from taskapi.core.errors import ServiceUnavailable

router = APIRouter(prefix="/health", tags=["health"])
logger = logging.getLogger("taskapi.health")
_READINESS_TIMEOUT_SECONDS = 2.0


@router.get("/live", operation_id="liveness", response_model=Health)
async def liveness() -> Health:
    return Health(status=Status.ok)


@router.get("/ready", operation_id="readiness", response_model=Health)
async def readiness(reads: ReadPoolDep) -> Health:
    try:
        async with asyncio.timeout(_READINESS_TIMEOUT_SECONDS):
            await reads.ping()
    except Exception as exc:
        logger.warning("readiness check failed: %s", exc.__class__.__name__)
        raise ServiceUnavailable("The database is not answering.") from exc
    return Health(status=Status.ok)
