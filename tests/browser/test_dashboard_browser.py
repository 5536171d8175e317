"""The dashboard in a real headless Chromium, against ``clawsched up``: sign in with the token, see a job
and its next fire, run it and watch the run turn ``ok`` without reloading, approve its gated child from
the page and watch that run go through, read its output. Saves docs/dashboard.png, which the README shows."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import up_stack

pytestmark = [pytest.mark.browser, pytest.mark.services]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
WAIT_MS = 30_000
PARENT = {"id": "nightly-backup", "name": "Nightly backup", "schedule_cron": "30 2 * * *",
          "schedule_tz": "Europe/Berlin", "session_target": "shell", "run_timeout_ms": 20000,
          "payload_message": "echo backed up 42 files", "env": {"BACKUP_KEY": "not-for-your-eyes"}}
CHILD = {"id": "prune-old", "name": "Prune old backups", "parent_id": "nightly-backup", "trigger_on": "success",
         "approval_required": True, "approval_timeout_s": 3600, "session_target": "shell",
         "run_timeout_ms": 20000, "payload_message": "echo pruned 7 backups"}


def _add(stack: up_stack.Stack, spec: dict) -> None:
    answer = httpx.post(f"{stack.api}/v1/jobs", json=spec, headers={"Authorization": f"Bearer {stack.token}"},
                        trust_env=False)
    assert answer.status_code == 201, answer.text


def test_sign_in_run_a_job_approve_its_child_and_read_the_output(browser, tmp_path):
    from playwright.sync_api import expect

    with up_stack.up(tmp_path / "home") as stack:
        _add(stack, PARENT)
        _add(stack, CHILD)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{stack.api}/ui/")
        expect(page).to_have_url(f"{stack.api}/ui/login")  # no token, no dashboard
        page.fill("input[name=token]", "wrong")
        page.click("button[type=submit]")
        expect(page.get_by_role("alert")).to_contain_text("not the API token")
        page.fill("input[name=token]", stack.token)
        page.click("button[type=submit]")
        backup = page.locator("table.jobs tr[data-job=nightly-backup]")
        expect(backup).to_contain_text("Nightly backup")
        expect(backup).to_contain_text("CET")  # the next fire, in the job's own zone (Europe/Berlin)

        backup.get_by_role("button", name="Run now").click()
        expect(page.get_by_role("status")).to_contain_text("queued")
        first = page.locator("table.runs tr", has_text="Nightly backup").first
        expect(first).to_contain_text("ok", timeout=WAIT_MS)  # the live view updates the table by itself
        waiting = page.locator("table.approvals tr", has_text="Prune old backups")
        expect(waiting).to_be_visible(timeout=WAIT_MS)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        waiting.get_by_role("button", name="Approve").click()
        expect(page.get_by_role("status")).to_contain_text("approved")
        pruned = page.locator("table.runs tr", has_text="Prune old backups").first
        expect(pruned).to_contain_text("ok", timeout=WAIT_MS)
        expect(page.locator("table.approvals")).to_have_count(0)

        pruned.get_by_role("link").first.click()
        expect(page.locator("pre.stdout")).to_contain_text("pruned 7 backups")
        expect(page.locator("ul.tree").first).to_contain_text("Nightly backup")  # its lineage: triggered by the backup
        page.goto(f"{stack.api}/ui/jobs/nightly-backup")
        expect(page.locator("dl")).to_contain_text("BACKUP_KEY")
        assert "not-for-your-eyes" not in page.content()
