"""Which agent URLs the server may call: http(s), a sane host and port, and never a denied network.

restosync calls every registered ``agentUrl``, so a URL is a request to reach
into whatever network the server sits in. The rule refuses what no agent needs
(user info, queries, odd ports, legacy numeric hosts such as ``2852039166``)
and addresses in ``denied_networks``: by default link-local, cloud metadata,
unspecified, multicast and broadcast addresses (``AGENT_URL_DENIED_NETWORKS``
configures it; production also denies loopback and private ranges). A hostname
can only be checked against the networks when it is resolved: the agent client
does that before it connects (``denied_address``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from restosync_core.errors import ValidationFailed

MAX_URL_LENGTH = 2048
MAX_HOSTNAME_LENGTH = 253
PATH = "$.agentUrl"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Why each default network is denied, for the error message.
DENIED_BY_DEFAULT: dict[str, str] = {
    "169.254.0.0/16": "link-local (cloud metadata 169.254.169.254)",
    "fe80::/10": "link-local",
    "fd00:ec2::254/128": "cloud metadata (AWS)",
    "100.100.100.200/32": "cloud metadata (Alibaba)",
    "0.0.0.0/8": "unspecified ('this network')",
    "::/128": "unspecified",
    "224.0.0.0/4": "multicast",
    "ff00::/8": "multicast",
    "255.255.255.255/32": "broadcast",
}
PRIVATE_AND_LOOPBACK: dict[str, str] = {
    "127.0.0.0/8": "loopback",
    "::1/128": "loopback",
    "10.0.0.0/8": "private",
    "172.16.0.0/12": "private",
    "192.168.0.0/16": "private",
    "100.64.0.0/10": "shared address space (carrier-grade NAT)",
    "fc00::/7": "private (unique local)",
}
"""Also denied in production unless ``AGENT_URL_DENIED_NETWORKS`` says otherwise."""

METADATA_HOSTNAMES = frozenset({"metadata.google.internal", "metadata"})

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


def parse_networks(raw: str) -> tuple[Network, ...]:
    """A comma-separated CIDR list (``none`` for an empty one); ValueError names the bad entry."""
    if raw.strip().lower() == "none":
        return ()
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part))
        except ValueError as exc:
            raise ValueError(f"{part!r} is not a CIDR network ({exc})") from None
    return tuple(networks)


def networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(c) for c in cidrs)


DEFAULT_DENIED_NETWORKS = networks(DENIED_BY_DEFAULT)
PRODUCTION_DENIED_NETWORKS = networks([*DENIED_BY_DEFAULT, *PRIVATE_AND_LOOPBACK])
_WHY = {ipaddress.ip_network(c): why for c, why in {**DENIED_BY_DEFAULT, **PRIVATE_AND_LOOPBACK}.items()}


@dataclass(frozen=True, slots=True)
class AgentUrlPolicy:
    denied_networks: tuple[Network, ...] = DEFAULT_DENIED_NETWORKS
    denied_hostnames: frozenset[str] = METADATA_HOSTNAMES

    def check(self, url: str) -> None:
        """Raise ``ValidationFailed`` at ``$.agentUrl`` naming what is wrong with ``url``."""
        problem = self.problem(url)
        if problem is not None:
            raise ValidationFailed(f"agentUrl {problem}", path=PATH)

    def problem(self, url: str) -> str | None:
        """What is wrong with ``url`` (to follow "agentUrl "), or None when the server may call it."""
        if not url:
            return "must not be empty"
        if len(url) > MAX_URL_LENGTH:
            return f"must be at most {MAX_URL_LENGTH} characters"
        if any(ch <= " " or ch == "\x7f" for ch in url):
            return "must not contain spaces or control characters"
        if "\\" in url:
            return "must not contain backslashes"
        try:
            parts = urlsplit(url)
        except ValueError as exc:
            return f"is not a valid URL ({exc})"
        if parts.scheme not in ("http", "https"):
            return f"must use http or https, not {parts.scheme or 'no scheme'!r}"
        if not url[len(parts.scheme) :].startswith("://"):
            return "must be an absolute URL (scheme://host)"
        if "@" in parts.netloc:
            return "must not carry user info (user:password@)"
        if parts.query or parts.fragment or "?" in url or "#" in url:
            return "must not have a query or a fragment (it is the base the server adds paths to)"
        try:
            port = parts.port
        except ValueError:
            return "port must be a whole number of 1-65535"
        if port is not None and not 1 <= port <= 65535:
            return "port must be 1-65535"
        host = parts.hostname or ""
        if not host:
            return "has no host"
        return self.host_problem(host, bracketed=parts.netloc.startswith("["))

    def host_problem(self, host: str, *, bracketed: bool = False) -> str | None:
        """What is wrong with a URL's host (an IP literal or a hostname), or None."""
        host = host.lower()
        if "%" in host:
            return f"host {host!r} must not have a zone id or percent-escapes"
        address = _ip_literal(host)
        if address is not None:
            if address.version == 6 and not bracketed:
                return f"host {host!r} must be written in brackets ([{host}])"
            denied = self.denied_address(address)
            return None if denied is None else f"host {host} is in a denied network ({denied})"
        if bracketed or ":" in host:
            return f"host {host!r} is not a valid IP address"
        if not host.isascii():
            return f"host {host!r} must be ASCII (write an international name in its xn-- form)"
        name = host.removesuffix(".")
        labels = name.split(".")
        if len(name) > MAX_HOSTNAME_LENGTH or not all(_LABEL.match(label) for label in labels):
            return f"host {host!r} is not a valid hostname"
        if _NUMERIC_LABEL.match(labels[-1]):
            # Browsers and resolvers read '2852039166', '0x7f.1' or '127.1' as IPv4 addresses.
            return f"host {host!r} is not a valid IP address (write IPv4 as four decimal numbers)"
        if name in self.denied_hostnames:
            return f"host {host!r} is a cloud metadata service"
        if name == "localhost" or name.endswith(".localhost"):
            denied = self.denied_address(ipaddress.ip_address("127.0.0.1"))
            if denied is not None:
                return f"host {host!r} is in a denied network ({denied})"
        return None

    def denied_address(self, address: str | Address) -> str | None:
        """The denied network ``address`` lies in (with why), or None; IPv4-mapped IPv6 counts as IPv4."""
        ip = ipaddress.ip_address(address.split("%", 1)[0]) if isinstance(address, str) else address
        candidates: list[Address] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        for candidate in candidates:
            for network in self.denied_networks:
                if candidate.version == network.version and candidate in network:
                    why = _WHY.get(network)
                    return f"{network}: {why}" if why else str(network)
        return None


def _ip_literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
