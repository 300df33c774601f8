"""Turn token counts into USD with the operator's price table; unknown models are never free."""

from __future__ import annotations

from dataclasses import dataclass

from policies.config import ModelPrice, PricingConfig


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


def estimate_tokens(text: str) -> int:
    """Estimate tokens for a worst-case reservation: about four characters a token, rounded up."""
    return len(text) // 4 + 1
