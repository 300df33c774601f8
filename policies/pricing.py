"""Turn token counts into USD with the operator's price table; unknown models are never free.

Three prices matter to the budget: the worst case of a call (reserved before it), the charge of
a failed attempt that reached the provider (its prompt, since a provider may bill a request it
then fails), and the configured price of a tool call.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.config import ModelPrice, PricingConfig, ToolConfig

FAILED_ATTEMPT_KINDS = frozenset({"timeout", "http", "bad_response", "error"})
"""Failure kinds that reached the provider and are charged; a connection failure never left us."""


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The price that applies to one model, and whether it came from the table."""

    model: str
    price: ModelPrice
    known: bool
    table_version: str


def price_for(*, model: str, pricing: PricingConfig) -> PriceQuote:
    """Look a model up, falling back to the conservative unknown-model price."""
    price = pricing.models.get(model)
    if price is None:
        return PriceQuote(model, pricing.unknown_model, False, pricing.version)
    return PriceQuote(model, price, True, pricing.version)


def cost_usd(*, quote: PriceQuote, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0) -> float:
    """Price one call; cached prompt tokens use their own rate when the table has one."""
    price = quote.price
    cached = max(0, min(cached_input_tokens, input_tokens))
    cached_rate = price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
    total = (
        (input_tokens - cached) * price.input_per_mtok
        + cached * cached_rate
        + max(0, output_tokens) * price.output_per_mtok
    )
    return round(total / 1_000_000, 8)


def worst_case_usd(*, quote: PriceQuote, prompt_tokens: int, max_output_tokens: int) -> float:
    """Price the most one call can cost: its whole prompt uncached plus the full output allowance."""
    return cost_usd(quote=quote, input_tokens=prompt_tokens, output_tokens=max_output_tokens)


def failed_attempt_usd(*, quote: PriceQuote, prompt_tokens: int, failure_kind: str) -> float:
    """Price a failed attempt: its prompt if the request reached the provider, else nothing.

    Charging the prompt is the conservative choice: a timed-out request may still be processed
    and billed, and a retry storm must show up in the budget rather than hide in it.
    """
    if failure_kind not in FAILED_ATTEMPT_KINDS:
        return 0.0
    return cost_usd(quote=quote, input_tokens=prompt_tokens, output_tokens=0)


def tool_cost_usd(*, tool_name: str, tools: ToolConfig) -> float:
    """Return the configured USD price of one call of `tool_name` (0 for a tool without a price)."""
    return float(tools.cost_usd.get(tool_name, 0.0))


def estimate_tokens(text: str) -> int:
    """Estimate tokens for a worst-case reservation: about four characters a token, rounded up."""
    return len(text) // 4 + 1
