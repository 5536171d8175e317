"""Where a webhook may go: public addresses only, unless the operator allows a host.

A job's ``delivery_to`` is written by whoever may create jobs (the API, the CLI, an importer). Without a
guard, a webhook could reach the worker host's own loopback services, the private network, or a cloud
metadata endpoint (169.254.169.254). So every attempt resolves the URL's host, and every address the
host resolves to must be public (``ipaddress``'s ``is_global``). The request then goes to that vetted
address, with the original Host header and TLS server name. A DNS answer that changes between the
check and the connect (rebinding) therefore cannot redirect it. As with the OpenClaw gateway's guard,
loopback is refused unless the operator allows it: ``CLAWSCHED_WEBHOOK_ALLOWED_HOSTS=127.0.0.1``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from clawsched.sched.errors import ClawschedError

ALLOW_SETTING = "CLAWSCHED_WEBHOOK_ALLOWED_HOSTS"


class EgressRefused(ClawschedError):
    """The URL may not be called from here; retrying will not change that."""


class Unresolved(Exception):
    """The host did not resolve now; a later attempt may succeed."""


@dataclass(frozen=True)
class Target:
    """A vetted request target: the URL with its host replaced by the address that was checked."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, Any] = field(default_factory=dict)


def vet(url: str, allowed: Collection[str] = ()) -> Target:
    """Resolve and check ``url``'s host; raises ``EgressRefused`` (permanent) or ``Unresolved`` (transient)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressRefused(f"webhook URL {url!r}: use an http:// or https:// URL with a host")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise EgressRefused(f"webhook URL {url!r}: the port is not a number from 1 to 65535") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolved(f"webhook host {host!r} did not resolve: {exc}") from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    permitted = {a.strip().lower() for a in allowed}
    if host.lower() not in permitted:
        for address in addresses:
            kind = _not_public(address)
            if kind is not None and address not in permitted:
                raise EgressRefused(
                    f"webhook {url}: {host} resolves to {address} ({kind}); webhooks go to public "
                    f"addresses only. To allow this host, set {ALLOW_SETTING}={host} for the workers")
    return _pinned(parts, addresses[0])


def _not_public(address: str) -> str | None:
    """None for a public address, else what it is (loopback, private, link-local, ...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    for kind in ("unspecified", "loopback", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"


def _pinned(parts: Any, address: str) -> Target:
    ip_host = f"[{address}]" if ":" in address else address
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo + '@' if userinfo else ''}{ip_host}{f':{parts.port}' if parts.port else ''}"
    original = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    headers = {"Host": f"{original}{f':{parts.port}' if parts.port else ''}"}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return Target(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), headers, extensions)
