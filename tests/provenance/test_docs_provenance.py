"""docs/provenance.md's config block is valid and does what the page says."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from safe_agent import build_services
from safe_agent.policies.config import SafetyConfig

DOC = Path(__file__).resolve().parents[2] / "docs" / "provenance.md"


def test_the_config_block_loads_and_applies_to_the_desk_tools(tmp_path: Path) -> None:
    [block] = re.findall(r"```toml\n(.*?)```", DOC.read_text(), re.S)
    config = SafetyConfig.model_validate(tomllib.loads(block))
    services = build_services(config=config, root=tmp_path)
    assert services.tools["update_shipping_address"].sinks == ("order_id", "new_address")
    assert services.tools["get_order"].policy.trusted_fields == (
        "order_id",
        "status",
        "customer_email",
    )
    assert config.approval.provenance.approver_role.value == "write"
