"""FastAPI's native OpenTelemetry: off by default (no per-request cost), on when asked for.

Each case runs in its own interpreter: OpenTelemetry's global tracer provider can be set
once per process, and the rest of the suite must not inherit one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_JWT_SECRET

_SCRIPT = """
import json, sys
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)

from taskapi.core.config import Settings
from taskapi.main import create_app

with TestClient(create_app(Settings())) as client:
    status = client.get("/health/live").status_code
print(json.dumps({"status": status, "spans": [s.name for s in exporter.get_finished_spans()]}))
"""


def _spans_with(tmp_path: Path, **env: str) -> list[str]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TASKAPI_")},
        "TASKAPI_ENV": "test",
        "TASKAPI_JWT_SECRET": TEST_JWT_SECRET,
        "TASKAPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'telemetry.db'}",
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    spans: list[str] = result["spans"]
    return spans


@pytest.mark.fr("007-read-path/FR-010")
def test_off_by_default_even_with_a_global_tracer(tmp_path: Path) -> None:
    assert _spans_with(tmp_path) == []


@pytest.mark.fr("007-read-path/FR-010")
def test_on_when_asked_for(tmp_path: Path) -> None:
    spans = _spans_with(tmp_path, TASKAPI_TELEMETRY="true")
    assert any("/health/live" in name for name in spans), spans
