"""The operator's `[input.pii]` section: what happens to each kind of personal data or secret.

Data only (`policies.config` embeds it under `[input]`; `policies.pii` applies it). One field per
kind, so a misspelt kind is a config error instead of a rule that silently never applies. The
defaults keep what a tool may legitimately need (an address to write to, a card to refund) as a
stand-in token the model can copy but not read, and remove secrets for good: no tool needs the
user's API key, and a key pasted into a chat must not reach the provider.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

PiiAction = Literal["tokenize", "redact", "block", "allow"]
"""tokenize: the model sees `[[pii:<kind>:<tag>]]`, a tool gets the value back; redact: replaced
by the typed placeholder for good; block: the message is refused, naming the kind; allow: raw."""


class PiiConfig(BaseModel):
    """Per kind of data found in user input (and in tool results, see `tool_output`), one action."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    email: PiiAction = "tokenize"
    """E-mail addresses."""
    phone: PiiAction = "tokenize"
    """Phone numbers (international, US-style and local)."""
    card: PiiAction = "tokenize"
    """Payment card numbers (Luhn-valid digit runs only)."""
    ssn: PiiAction = "tokenize"
    """US social security numbers."""
    iban: PiiAction = "tokenize"
    """International bank account numbers."""
    ip: PiiAction = "tokenize"
    """IP addresses."""
    api_key: PiiAction = "redact"
    """Vendor API keys (OpenAI, AWS, GitHub, Slack...)."""
    jwt: PiiAction = "redact"
    """JSON web tokens."""
    bearer: PiiAction = "redact"
    """`Bearer ...` credentials."""
    private_key: PiiAction = "redact"
    """PEM private-key blocks."""
    secret: PiiAction = "redact"
    """Values of `password=`, `api_key: ...` and similar assignments."""
    token: PiiAction = "redact"
    """High-entropy tokens that look like credentials."""
    tool_output: bool = True
    """Tokenize every kind that is not "allow" in tool results before the model sees them (a
    result cannot be refused, and a value that looks secret may be an id the next call needs);
    False leaves tool results as they are."""

    def action(self, kind: str) -> PiiAction:
        """The action for `kind`; a kind this config does not know yet is redacted (fail closed)."""
        known = kind in type(self).model_fields and kind != "tool_output"
        found = getattr(self, kind) if known else None
        return found if isinstance(found, str) else "redact"  # type: ignore[return-value]
