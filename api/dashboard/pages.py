"""The dashboard's routes under ``/ui``: the login form, the pages (overview, a job, a run) and the
buttons (approve, reject, run now, pause, resume), each a POST answered with a redirect back to the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from clawsched.sched import approvals, jobs
from clawsched.sched.errors import ClawschedError
from clawsched.sched.store.tables import utcnow

from .. import state
from ..resources.common import wake
from ..sending import start_now
from ..state import runtime, store
from . import session, views

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(prefix="/ui", include_in_schema=False)
pages = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(session.signed_in)])
HEADERS = {"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "Cache-Control": "no-store",
           "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                      "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"}


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    context = {"csrf": session.form_token(request) if name != "login.html" else "",
               "notice": request.query_params.get("notice", ""), **context}
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def _shown(request: Request, name: str, read: Callable[[], dict[str, Any]]) -> HTMLResponse:
    try:
        return page(request, name, **read())
    except ClawschedError as exc:
        return page(request, "error.html", status=exc.http_status, message=str(exc))


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return page(request, "login.html")


async def _form(request: Request) -> dict[str, str]:
    raw = (await request.body()).decode(errors="replace")
    return {key: values[-1] for key, values in parse_qs(raw, max_num_fields=20).items()}


@router.post("/login")
async def login(request: Request) -> Response:
    token = (await _form(request)).get("token", "").strip()
    if not session.valid(request, token):
        return page(request, "login.html", status=401, message="That is not the API token.")
    response = RedirectResponse("/ui/", status_code=303)
    response.set_cookie(session.COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    session.check_form(request, (await _form(request)).get("csrf", ""))
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(session.COOKIE, path="/")
    return response


@pages.get("/")
def overview(request: Request) -> HTMLResponse:
    return _shown(request, "overview.html", lambda: views.overview(store(request)))


@pages.get("/jobs/{job_id}")
def job(request: Request, job_id: str) -> HTMLResponse:
    return _shown(request, "job.html", lambda: views.job_page(store(request), job_id))


@pages.get("/runs/{run_id}")
def run(request: Request, run_id: str) -> HTMLResponse:
    return _shown(request, "run.html", lambda: views.run_page(store(request), run_id))


@pages.get("/messages")
def messages(request: Request) -> HTMLResponse:
    return _shown(request, "messages.html", lambda: views.messages_page(store(request)))


async def _act(request: Request, action: Callable[[], str]) -> Response:
    """Run a button's action after checking its form; back to the page it came from, with what happened."""
    form = await _form(request)
    session.check_form(request, form.get("csrf", ""))
    back = form.get("back", "/ui/")
    if not back.startswith("/ui/") or "//" in back or "\\" in back:
        back = "/ui/"
    try:
        notice = action()
    except ClawschedError as exc:
        notice = str(exc)
    return RedirectResponse(f"{back.split('?')[0]}?notice={quote(notice)}", status_code=303)


@pages.post("/approvals/{approval_id}/{verdict}")
async def decide(request: Request, approval_id: str, verdict: str) -> Response:
    rt = runtime(request)

    def act() -> str:
        job_id = approvals.get(rt.store, approval_id).job_id
        if verdict == "approve":
            approvals.approve(rt.store, job_id, by="dashboard", approval_id=approval_id,
                              wake=lambda: wake(rt, "approved"))
            return "approved: the run starts now"
        if verdict == "reject":
            approvals.reject(rt.store, job_id, by="dashboard", reason="rejected on the dashboard",
                             approval_id=approval_id)
            return "rejected"
        return f"unknown decision {verdict!r}: approve or reject"

    return await _act(request, act)


@pages.post("/jobs/{job_id}/{verb}")
async def job_action(request: Request, job_id: str, verb: str) -> Response:
    rt = runtime(request)

    def act() -> str:
        if verb == "run":
            now = utcnow()
            run_id = jobs.run_now(rt.store, job_id, now=now)
            start_now(rt, run_id, now, "run now")
            return f"run {run_id} queued"
        if verb in ("pause", "resume"):
            jobs.set_enabled(rt.store, job_id, verb == "resume", actor=state.actor(request))
            wake(rt, "job toggled")
            return "paused: no more fires until resumed" if verb == "pause" else "resumed"
        return f"unknown action {verb!r}: run, pause or resume"

    return await _act(request, act)


async def _to_login(request: Request, exc: Exception) -> Response:
    return RedirectResponse("/ui/login", status_code=303)


async def _bad_form(request: Request, exc: Exception) -> Response:
    return page(request, "error.html", status=403, message=str(exc))


def install(app: FastAPI) -> None:
    """Serve the dashboard from ``app``: its routes, and a redirect to the login form for a missing token."""
    app.include_router(router)
    app.include_router(pages)
    app.add_exception_handler(session.LoginRequired, _to_login)
    app.add_exception_handler(session.BadForm, _bad_form)
    app.add_api_route("/ui", lambda: RedirectResponse("/ui/", status_code=307), include_in_schema=False)
