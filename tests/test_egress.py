"""Webhook egress: only public addresses, unless the operator allows a host; the request goes to the
address that was checked (``workers/egress.py``)."""

from __future__ import annotations

import pytest

from clawsched.workers.outbound import egress


@pytest.mark.parametrize(("url", "kind"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://10.1.2.3/hook", "private"),
    ("https://192.168.1.10/hook", "private"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://100.64.0.1/hook", "non-public"),
    ("http://224.0.0.1/hook", "multicast"),
])
def test_a_webhook_to_a_non_public_address_is_refused_naming_it_and_the_setting(url, kind):
    with pytest.raises(egress.EgressRefused) as refused:
        egress.vet(url)
    message = str(refused.value)
    assert f"({kind})" in message, message
    assert "CLAWSCHED_WEBHOOK_ALLOWED_HOSTS=" in message


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http:///nohost", "file:///etc/passwd", "http://h:99999/"])
def test_a_url_that_is_not_http_with_a_host_and_port_is_refused(url):
    with pytest.raises(egress.EgressRefused):
        egress.vet(url)


def test_an_allowed_host_may_be_reached_though_it_is_loopback():
    target = egress.vet("http://localhost:8080/hook?x=1", allowed=("LOCALHOST",))
    assert target.url in ("http://127.0.0.1:8080/hook?x=1", "http://[::1]:8080/hook?x=1")
    assert target.headers == {"Host": "localhost:8080"}
    assert egress.vet("http://127.0.0.1/hook", allowed=("127.0.0.1",)).url == "http://127.0.0.1/hook"


def test_the_request_goes_to_the_vetted_address_with_the_original_host_and_tls_name():
    target = egress.vet("https://user:pw@93.184.216.34:8443/a/b?c=d")
    assert target.url == "https://user:pw@93.184.216.34:8443/a/b?c=d"
    assert target.headers == {"Host": "93.184.216.34:8443"}
    assert target.extensions == {"sni_hostname": "93.184.216.34"}
    six = egress.vet("http://[2606:4700:4700::1111]/hook")
    assert six.url == "http://[2606:4700:4700::1111]/hook" and six.headers == {"Host": "[2606:4700:4700::1111]"}
    assert six.extensions == {}


def test_a_host_that_does_not_resolve_is_a_transient_failure():
    with pytest.raises(egress.Unresolved):
        egress.vet("http://no-such-host.invalid/hook")


def test_the_allowed_hosts_come_from_the_environment():
    from clawsched.sched.settings import Settings

    settings = Settings.from_env({"CLAWSCHED_WEBHOOK_ALLOWED_HOSTS": " 127.0.0.1, Hooks.Internal ,"})
    assert settings.webhook_allowed_hosts == ("127.0.0.1", "hooks.internal")
    assert Settings.from_env({}).webhook_allowed_hosts == ()
