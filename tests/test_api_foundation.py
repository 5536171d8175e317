"""The API's foundation: probes without a token, everything else behind it, errors in one shape."""

from __future__ import annotations

import stat

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from clawsched.api import routes
from clawsched.api.app import create_app
from clawsched.api.auth import resolve_token, token_path
from clawsched.sched.errors import NotFound


@pytest.fixture
def client(settings, redis, monkeypatch):
    probe = APIRouter()

    @probe.get("/v1/_probe")
    def protected() -> dict[str, bool]:
        return {"ok": True}

    @probe.get("/v1/_missing")
    def missing() -> dict[str, bool]:
        raise NotFound("job 'x' not found; list jobs with `clawsched jobs list`")

    @probe.get("/v1/_boom")
    def boom() -> dict[str, bool]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(routes, "ROUTERS", (*routes.ROUTERS, (probe, True)))
    app = create_app(settings.with_(api_token="s3cret-token"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_probes_answer_without_a_token(client):
    assert client.get("/health").json() == {"ok": True}
    assert client.get("/version").json()["ok"] is True
    ready = client.get("/readyz")  # no beat or worker runs here: 503, naming them
    assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is True
    assert ready.json()["missing"] == ["beat", "worker"]


def test_without_or_with_a_wrong_token_is_the_same_401(client):
    missing = client.get("/v1/_probe")
    wrong = client.get("/v1/_probe", headers={"Authorization": "Bearer nope"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.json() == wrong.json()
    assert client.get("/v1/_probe", headers={"Authorization": "Bearer s3cret-token"}).json() == {"ok": True}


def test_errors_have_one_shape_and_never_leak_internals(client):
    auth = {"Authorization": "Bearer s3cret-token"}
    nf = client.get("/v1/_missing", headers=auth)
    assert nf.status_code == 404 and nf.json()["error"]["code"] == "NotFound"
    boom = client.get("/v1/_boom", headers=auth)
    assert boom.status_code == 500 and "secret internals" not in boom.text
    assert boom.json() == {"ok": False, "error": {"code": "internal", "field": None,
                                                  "message": "internal error; the server log has the details"}}


def test_request_bodies_are_bounded(client):
    big = client.post("/v1/_probe", content=b"x" * 2_000_000, headers={"Authorization": "Bearer s3cret-token"})
    assert big.status_code == 413


def test_the_token_is_generated_once_into_the_home_with_mode_0600(tmp_path, settings):
    home = settings.with_(home=tmp_path / "home", api_token=None)
    first = resolve_token(home)
    assert first and resolve_token(home) == first
    assert stat.S_IMODE(token_path(home).stat().st_mode) == 0o600
