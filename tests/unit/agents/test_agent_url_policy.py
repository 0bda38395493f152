"""The agent URL rule: http(s), a sane host and port, never a denied network (link-local, metadata ...)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restosync_core.errors import ValidationFailed
from restosync_core.policies.agent_url import (
    DEFAULT_DENIED_NETWORKS,
    PRODUCTION_DENIED_NETWORKS,
    AgentUrlPolicy,
    parse_networks,
)

DEFAULT = AgentUrlPolicy()
PRODUCTION = AgentUrlPolicy(denied_networks=PRODUCTION_DENIED_NETWORKS)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/agent",
        "http://localhost:8000",
        "https://agent.example.com/base/",
        "https://agent.example.com.",
        "http://[::1]:8080/erp",
        "http://[2001:db8::1]/",
        "http://10.1.2.3:65535/",
        "http://erp_agent:8000/",
        "https://xn--bcher-kva.example/",
    ],
)
def test_ordinary_agent_urls_are_accepted_by_default(url: str) -> None:
    assert DEFAULT.problem(url) is None
    DEFAULT.check(url)


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("http://exa mple.com:99999/", "spaces"),
        ("http://example.com:99999/", "port"),
        ("http://example.com:0/", "port must be 1-65535"),
        ("http://example.com:http/", "port"),
        ("ftp://example.com/", "http or https, not 'ftp'"),
        ("javascript:alert(1)", "http or https"),
        ("http:example.com", "absolute"),
        ("http:///path", "no host"),
        ("http://:80/", "no host"),
        ("http://user:pass@example.com/", "user info"),
        ("http://user@example.com/", "user info"),
        ("http://example.com/?next=x", "query"),
        ("http://example.com/#x", "fragment"),
        ("http://exa\tmple.com/", "control characters"),
        ("http://example.com\\@evil/", "backslash"),
        ("http://-bad-.example/", "not a valid hostname"),
        ("http://bücher.example/", "ASCII"),
        ("http://" + "a" * 64 + ".example/", "not a valid hostname"),
        ("http://example.com/" + "p" * 2048, "at most 2048"),
        ("", "empty"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "fe80::/10"),
        ("http://[fe80::1%25eth0]/", "zone id"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://100.100.100.200/", "cloud metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
        ("http://METADATA/", "cloud metadata"),
        ("http://0.0.0.0:8000/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://255.255.255.255/", "broadcast"),
        ("http://[::ffff:169.254.169.254]/", "169.254.0.0/16"),
        ("http://2852039166/", "not a valid IP address"),
        ("http://0xa9fea9fe/", "not a valid IP address"),
        ("http://169.254.43518/", "not a valid IP address"),
        ("http://127.1/", "not a valid IP address"),
        ("http://[1.2.3.4]/", "not a valid URL"),
        ("http://[not-an-ip]/", "not a valid"),
    ],
)
def test_bad_agent_urls_are_refused_naming_the_field_and_the_rule(url: str, named: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        DEFAULT.check(url)
    assert caught.value.path == "$.agentUrl"
    assert caught.value.message.startswith("agentUrl ")
    assert named in caught.value.message


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/", "http://localhost/", "http://10.0.0.5/", "http://192.168.1.1/",
            "http://172.16.0.1/", "http://[::1]/", "http://[fd12:3456::1]/", "http://100.64.0.1/"]
)
def test_production_also_denies_loopback_and_private_networks(url: str) -> None:
    assert DEFAULT.problem(url) is None
    problem = PRODUCTION.problem(url)
    assert problem is not None and "denied network" in problem


def test_the_denied_networks_are_configurable_and_none_denies_nothing() -> None:
    assert parse_networks("none") == ()
    assert AgentUrlPolicy(denied_networks=parse_networks("none")).problem("http://169.254.169.254/") is None
    custom = AgentUrlPolicy(denied_networks=parse_networks("10.0.0.0/8, 2001:db8::/32"))
    assert "10.0.0.0/8" in (custom.problem("http://10.9.9.9/") or "")
    assert "2001:db8::/32" in (custom.problem("http://[2001:db8::5]/") or "")
    assert custom.problem("http://169.254.169.254/") is None
    assert custom.problem("http://metadata.google.internal/") is not None, "metadata names stay refused"


def test_a_bad_network_list_names_the_bad_entry() -> None:
    with pytest.raises(ValueError, match=r"'10\.0\.0\.1/8' is not a CIDR network"):
        parse_networks("169.254.0.0/16,10.0.0.1/8")
    with pytest.raises(ValueError, match="'banana'"):
        parse_networks("banana")


def _hosts_in(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy[str]:
    first, last = int(network.network_address), int(network.broadcast_address)
    return st.integers(first, last).map(lambda n: str(ipaddress.ip_address(n) if network.version == 4
                                                        else ipaddress.IPv6Address(n)))


def _url_of(host: str, port: int | None = None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}{'' if port is None else f':{port}'}/erp"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(DEFAULT_DENIED_NETWORKS).flatmap(_hosts_in))
def test_every_address_of_a_denied_network_is_refused(host: str) -> None:
    problem = DEFAULT.problem(_url_of(host))
    assert problem is not None and "denied network" in problem
    assert DEFAULT.denied_address(host) is not None


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([n for n in DEFAULT_DENIED_NETWORKS if n.version == 4]).flatmap(_hosts_in))
def test_an_ipv4_mapped_ipv6_address_is_judged_as_its_ipv4_address(host: str) -> None:
    assert DEFAULT.problem(_url_of(f"::ffff:{host}")) is not None


@settings(max_examples=300, deadline=None)
@given(
    st.ip_addresses(v=4).filter(lambda ip: DEFAULT.denied_address(ip) is None),
    st.none() | st.integers(1, 65535),
    st.sampled_from(["http", "https"]),
)
def test_any_allowed_ipv4_with_any_valid_port_is_accepted(ip: ipaddress.IPv4Address, port: int | None,
                                                          scheme: str) -> None:
    url = _url_of(str(ip), port).replace("http", scheme, 1)
    assert DEFAULT.problem(url) is None


@settings(max_examples=200, deadline=None)
@given(st.integers().filter(lambda p: not 1 <= p <= 65535))
def test_a_port_out_of_range_is_refused(port: int) -> None:
    problem = DEFAULT.problem(f"http://agent.example:{port}/")
    assert problem is not None and "port" in problem


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(labels, min_size=1, max_size=4), st.from_regex(r"[a-z][a-z0-9]{1,10}", fullmatch=True))
def test_any_valid_hostname_is_accepted(parts: list[str], tld: str) -> None:
    host = ".".join([*parts, tld])
    if host in ("metadata", "metadata.google.internal") or tld == "localhost":
        return
    assert DEFAULT.problem(f"https://{host}/agent") is None


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=80) | st.text(max_size=60).map(lambda t: "http://" + t))
def test_any_text_is_judged_without_crashing(text: str) -> None:
    problem = DEFAULT.problem(text)
    if problem is None:
        assert text.startswith(("http://", "https://"))
        assert not any(ch.isspace() for ch in text) and "@" not in text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=" \t\r\n\x00\x7f", min_size=1, max_size=3), st.integers(0, 20))
def test_whitespace_or_control_characters_anywhere_are_refused(bad: str, at: int) -> None:
    url = "https://agent.example.com/erp"
    at = min(at, len(url))
    problem = DEFAULT.problem(url[:at] + bad + url[at:])
    assert problem is not None
