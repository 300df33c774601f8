"""The value checks behind `policies.redaction_rules`: where a pattern alone would misfire.

A pattern finds what looks like a card, an IBAN, an address or a token; these say whether it is
one: Luhn and mod-97 checksums, whether an address is on the public internet, whether a string is
random enough to be a credential, and whether a digit run is really part of a hex digest the
audit and execution ledgers match on.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter

# "v1.2.3.4", "version 2.0.0.1": a version string, not an address.
_VERSION_BEFORE = re.compile(r"(?:\b(?:v|ver|version|release|build)\.?\s*)$", re.IGNORECASE)
# Example ranges (RFC 5737, RFC 3849) stand in for real public addresses, so they are hidden too.
_DOC_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")

_WORDISH = re.compile(r"[A-Z]?[a-z]{3,}")
# Ids of model providers and LangChain (`call_...`, `toolu_...`, `run-...`): matched on, not secret.
_ID_PREFIX = re.compile(r"(?:call|toolu|msg|chatcmpl|run|req|resp|fc|lc_run)[_-]")
TOKEN_MIN_ENTROPY = 3.5
"""Shannon entropy (bits per character) a token must reach; repetitive strings stay below."""
TOKEN_MAX_WORDISH = 0.5
"""Share of a token that may be made of words (`Hello`, `refund`) before it counts as prose."""


def luhn_valid(digits: str) -> bool:
    """Say whether a digit string passes the Luhn checksum, so random long numbers are not cards.

    Args:
        digits: the number; spaces and dashes are ignored, any other non-digit makes it invalid.

    Returns:
        True when the string holds at least two digits and the Luhn sum is a multiple of ten.
    """
    cleaned = digits.replace(" ", "").replace("-", "")
    if len(cleaned) < 2 or not cleaned.isascii() or not cleaned.isdigit():
        return False
    doubled = (int(c) * (2 if i % 2 else 1) for i, c in enumerate(reversed(cleaned)))
    return sum(d - 9 if d > 9 else d for d in doubled) % 10 == 0


_HEX = frozenset("0123456789abcdefABCDEF")


def card_is_hex_id(text: str, start: int, end: int) -> bool:
    """Say whether a digit run sits inside a longer hex string (a sha256, a uuid4 hex), not a card.

    A 64-character digest holds a Luhn-valid run of sixteen digits often enough to matter, and a
    rewritten digest no longer matches its ledger row.
    """
    if any(not ch.isdigit() for ch in text[start:end]):
        return False  # spaced or dashed: written for a person, so a card
    left, right = start, end
    while left > 0 and text[left - 1] in _HEX:
        left -= 1
    while right < len(text) and text[right] in _HEX:
        right += 1
    return (left, right) != (start, end) and right - left >= 24


def iban_valid(candidate: str) -> bool:
    """Say whether an IBAN passes the ISO 13616 mod-97 check, so a random code is no IBAN."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34 or not compact.isascii() or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def iban_prefix(candidate: str) -> int:
    """Return how many characters of a match are a valid IBAN (0 if none).

    The pattern may run on into a following upper-case word ("DE89 3704 0044 0532 0130 00 OK"), so
    shorter prefixes that end at a group boundary are tried too.
    """
    ends = [len(candidate)] + [i for i in range(len(candidate) - 1, 14, -1) if candidate[i] == " "]
    return next((end for end in ends if iban_valid(candidate[:end])), 0)


def ip_is_public(candidate: str, text: str, start: int) -> bool:
    """Say whether an address names a machine on the internet (personal data), not a LAN host.

    Private, loopback, link-local and reserved addresses identify no one outside the operator's
    own network, and logs are full of them, so they stay; a number after "v" or "version" is a
    version string.
    """
    if _VERSION_BEFORE.search(text[max(0, start - 12) : start]):
        return False
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in net for net in _DOC_NETS if net.version == address.version):
        return True
    if isinstance(address, ipaddress.IPv6Address):  # global unicast is 2000::/3; "a::b" is no host
        return address in _GLOBAL_UNICAST and address.is_global
    return address.is_global


def shannon_entropy(text: str) -> float:
    """Return the Shannon entropy of a string in bits per character (0.0 for an empty string)."""
    if not text:
        return 0.0
    total = len(text)
    return -sum(n / total * math.log2(n / total) for n in Counter(text).values())


def is_high_entropy(text: str) -> bool:
    """Say whether a string looks like a random credential rather than an id, a path or a word.

    It must be at least 24 characters, mix upper case, lower case and digits (so hex digests,
    uuids, `idem-...` keys and other ids, which are lower-case hex, never qualify), reach
    `TOKEN_MIN_ENTROPY` and be mostly not words (`HelloWorldFromTheDesk2024` is an identifier).
    """
    core = text.rstrip("=")
    if len(core) < 24 or _ID_PREFIX.match(core):
        return False
    if not (
        any(c.isupper() for c in core)
        and any(c.islower() for c in core)
        and any(c.isdigit() for c in core)
    ):
        return False
    wordish = sum(len(m.group(0)) for m in _WORDISH.finditer(core)) / len(core)
    return wordish < TOKEN_MAX_WORDISH and shannon_entropy(core) >= TOKEN_MIN_ENTROPY
