"""Turn token counts into USD with the operator's price table; unknown models are never free.

Three prices matter to the budget: the worst case of a call (reserved before it, and charged
when its usage cannot be measured), the charge of a failed attempt (nothing for an error
response, the worst case when the provider may have billed a call we could not measure), and
the configured price of a tool call.
"""

from __future__ import annotations

from dataclasses import dataclass

from safe_agent.policies.config import ModelPrice, PricingConfig, ToolConfig

UNMEASURED_KINDS = frozenset({"timeout", "bad_response", "error"})
"""Failures after which the provider may have done (and billed) the whole call, but told us no
usage: a timeout, a broken body, an unknown error. They are charged the call's worst case."""


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


def usage_measured(*, input_tokens: int, output_tokens: int) -> bool:
    """Say whether a reply's usage can be billed as reported, or must be charged the worst case.

    Every prompt has tokens, so a reply that reports none for its input did not report its
    usage (a stream whose input count the client never read, a gateway that drops it):
    billing only its output would undercharge the call, so it counts as unmeasured.
    """
    return input_tokens > 0 and output_tokens >= 0


def cost_usd(
    *, quote: PriceQuote, input_tokens: int, output_tokens: int, cached_input_tokens: int = 0
) -> float:
    """Price one call; cached prompt tokens use their own rate when the table has one."""
    price = quote.price
    cached = max(0, min(cached_input_tokens, input_tokens))
    cached_rate = (
        price.cached_input_per_mtok
        if price.cached_input_per_mtok is not None
        else price.input_per_mtok
    )
    total = (
        (input_tokens - cached) * price.input_per_mtok
        + cached * cached_rate
        + max(0, output_tokens) * price.output_per_mtok
    )
    return round(total / 1_000_000, 8)


def worst_case_usd(*, quote: PriceQuote, prompt_tokens: int, max_output_tokens: int) -> float:
    """Price the most one call can cost: its whole prompt uncached plus all the output allowance."""
    return cost_usd(quote=quote, input_tokens=prompt_tokens, output_tokens=max_output_tokens)


def failed_attempt_usd(
    *, quote: PriceQuote, prompt_tokens: int, failure_kind: str, max_output_tokens: int
) -> float:
    """Price a failed attempt: nothing if the provider refused it, the worst case if we cannot tell.

    An error response (any HTTP status: 401, 429, 5xx) means the provider answered without doing
    the work, and providers do not bill those; a connection failure never reached it. After a
    timeout or a broken body the provider may have processed and billed the whole call while we
    measured nothing, so it is charged the worst case: never $0, and a retry storm shows up in
    the budget rather than hiding in it.
    """
    if failure_kind not in UNMEASURED_KINDS:
        return 0.0
    return worst_case_usd(
        quote=quote, prompt_tokens=prompt_tokens, max_output_tokens=max_output_tokens
    )


def tool_cost_usd(*, tool_name: str, tools: ToolConfig) -> float:
    """Return the configured USD price of one call of `tool_name` (0 for a tool without a price)."""
    return float(tools.cost_usd.get(tool_name, 0.0))


def estimate_tokens(text: str) -> int:
    """Estimate tokens for a worst-case reservation: about four characters a token, rounded up."""
    return len(text) // 4 + 1
