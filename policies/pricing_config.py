"""The operator's `[pricing]` table: USD per million tokens, by model name.

Data only (`policies.config` embeds it, `policies.pricing` prices calls with it). The built-in
rows are a starting point; an operator's `[pricing.models."NAME"]` adds to them or overrides one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelPrice(_Strict):
    """USD per million tokens for one model."""

    input_per_mtok: float = Field(ge=0)
    """Price of one million prompt tokens."""
    output_per_mtok: float = Field(ge=0)
    """Price of one million completion tokens."""
    cached_input_per_mtok: float | None = Field(default=None, ge=0)
    """Price of one million cached prompt tokens; None bills them as ordinary input."""


BUILT_IN_PRICES: dict[str, ModelPrice] = {
    "offline-planner": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.60),
    "gpt-4o-mini": ModelPrice(
        input_per_mtok=0.15, output_per_mtok=0.60, cached_input_per_mtok=0.075
    ),
    "gpt-4o": ModelPrice(input_per_mtok=2.50, output_per_mtok=10.00, cached_input_per_mtok=1.25),
    "gpt-4.1": ModelPrice(input_per_mtok=2.00, output_per_mtok=8.00, cached_input_per_mtok=0.50),
    "gpt-4.1-mini": ModelPrice(
        input_per_mtok=0.40, output_per_mtok=1.60, cached_input_per_mtok=0.10
    ),
}
"""The prices every table starts from. No Claude or other provider's model is here: the operator
adds its row from the provider's price list (an unpriced name pays `unknown_model`)."""


class PricingConfig(_Strict):
    """The per-model price table, versioned so the audit log can say which prices applied."""

    version: str = "2026-11"
    """Identifier of this price table."""
    models: dict[str, ModelPrice] = Field(default_factory=lambda: dict(BUILT_IN_PRICES))
    """Known models and their prices: the built-in rows plus the operator's (which win)."""
    unknown_model: ModelPrice = ModelPrice(input_per_mtok=15.0, output_per_mtok=75.0)
    """Price used for any model not in the table: deliberately expensive, never free."""

    @field_validator("models", mode="before")
    @classmethod
    def _on_top_of_built_in(cls, value: object) -> object:
        """An operator's row adds to the table: naming one model must not unprice the others."""
        return {**BUILT_IN_PRICES, **value} if isinstance(value, dict) else value


__all__ = ["BUILT_IN_PRICES", "ModelPrice", "PricingConfig"]
