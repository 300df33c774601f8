"""Direct prompt-injection rules (English) for user messages, and for tool output too.

Each rule is (name, anchors, pattern); `policies.rule_table` compiles it and decides when it
needs to run (the anchors are literal substrings every match of its slower clauses contains).
The rules were written from public attack collections (docs/input_guard.md names them) and from
hand-written hard negatives: customers who write "ignore my previous email" or "new instructions
for delivery: leave at the door". Every rule is matched on folded text (lower case, collapsed
spaces, one "\\n" per line break); English and Latin-script rules on the accent-free skeleton.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from safe_agent.policies.rule_table import ANCHORS, InjectionTable, first_match, make_table

__all__ = ["ANCHORS", "INJECTION_PATTERNS", "InjectionTable", "first_match", "make_table"]

_DET = r"(?:(?:all|any|the|your|of|these|those|every|its|fucking|damn|stupid|bloody|goddamn)\s+)*"
_MOD = (
    r"(?:previous|prior|above|earlier|preceding|initial|original|system|old|former|existing"
    r"|pre-?existing|given|other|standing|current|following|last)"
)
_NOUN = (
    r"(?:\w{0,3}structions?|rules?|prompts?|directives?|guidelines?|commands?|programming"
    r"|directions?|guidance|requests?|constraints|restrictions|context|limitations|boundaries)"
)
_CUSTOMER_CONTEXT = (
    r"(?!\s+(?:on|for|about|regarding|in|from)\s+(?:this|the|that|my|your|our)\s+"
    r"(?:order|delivery|parcel|package|shipment|return|label|box|account|address|"
    r"invoice|courier|form|website|site|slip))"
)
_VERB_IGNORE = (
    r"(?:ignore|disregard|forget|skip|set\s+aside|stop\s+following|do\s+not\s+follow"
    r"|don'?t\s+follow|no\s+longer\s+follow|abandon|discard|overlook|bypass)"
)
_LEAK = (
    r"(?:reveal|print|show|display|output|repeat|leak|dump|tell|share|give|provide|write"
    r"|translate|summari[sz]e|spell\s*check|encode|copy|paste|list|return|echo|recite|expose"
    r"|disclose)"
)
_LIMITS = (
    r"(?:restrictions?|limits|limitations|filters?|rules|guidelines|censorship|ethics|ethical"
    r"|moral\w*|guardrails?|safety|polic(?:y|ies)|boundaries|constraints|content\s+polic\w+)"
)

INJECTION_PATTERNS: InjectionTable = make_table(
    (
        "ignore_instructions",
        (
            "ignor",
            "disregard",
            "forget",
            "skip",
            "aside",
            "follow",
            "abandon",
            "discard",
            "overlook",
            "bypass",
        ),
        rf"{_VERB_IGNORE}\s+{_DET}(?:(?:{_MOD}\s+(?:(?:and|or|&)\s+)?)+{_NOUN}|your\s+(?:system\s+)?{_NOUN}"
        rf"|(?:the\s+)?{_NOUN}\s+(?:you(?:'ve|\s+have|\s+were|\s+got|\s+received|\s+had)|given\s+to\s+you|so\s+far)"
        rf"|(?:all|any|every)\s+(?:(?:of\s+)?(?:your|the|its)\s+)?{_NOUN})\b{_CUSTOMER_CONTEXT}",
    ),
    (
        "ignore_above",
        ("ignor", "disregard", "forget", "stop everything"),
        r"(?:ignore|disregard|forget)\s+(?:(?:all|any)\s+(?:of\s+)?)?(?:everything\s+|the\s+text\s+|the\s+)?"
        r"(?:above|before\s+this|written\s+above|said\s+(?:above|before))\b(?:\s*[,.;:!-]*\s*(?:and|then|instead"
        r"|now|just|from\s+now|say|print|tell|output|write|respond|reply|answer|do|follow)\b|\s*$)"
        r"|stop\s+everything\b.{0,20}?\b(?:just\s+)?(?:print|say|output|write)\b"
        r"|(?:ignore|disregard|forget)\s+(?:everything|all|anything|what)\s+(?:(?:that\s+)?you(?:'ve|\s+have|\s+were"
        r"|\s+had)?\s+(?:been\s+)?(?:told|taught|learned|learnt|instructed|given|know)|they\s+told\s+you)",
    ),
    (
        "instructions_void",
        (
            "instruc",
            "rules",
            "guidelines",
            "programming",
            "directives",
            "regardless",
            "forgot",
            "neglected",
            "prompt",
            "restrictions",
        ),
        rf"(?:your|the|all|any)\s+(?:{_MOD}\s+)*(?:instructions|rules|guidelines|directives|programming"
        r"|restrictions|prompts?)\s+(?:(?:you\s+(?:were|have\s+been)\s+given|you\s+got)\s+)?(?:(?:are|is|have\s+been"
        r"|has\s+been|were)\s+(?:now\s+)?(?:cancel+ed|void|revoked|lifted|removed|suspended|disabled|overridden"
        r"|replaced|null|no\s+longer\s+valid|updated\s+by)|(?:no\s+longer|don'?t|do\s+not)\s+apply)"
        r"|regardless\s+of\s+(?:any|all|your)\s+(?:previous|prior|pre-?existing|other|earlier)\s+(?:input|instructions"
        r"|guidelines|rules|restrictions|requests)|(?:forgot|neglected)\s+to\s+(?:ask|tell|instruct)\s+you\s+to"
        r"|when\s+i\s+gave\s+you\s+your\s+instructions",
    ),
    (
        "role_override",
        (
            "mode",
            "dan",
            "stan",
            "jailbroken",
            "amoral",
            "no limit",
            "unrestricted",
            "unfiltered",
            "uncensored",
            "anything",
            "from now on",
            "going to",
        ),
        r"you(?:\s+are|'re)\s+(?:now\s+|going\s+to\s+(?:be|act\s+as|pretend\s+to\s+be)\s+)?(?:a\s+|an\s+|the\s+)?"
        r"(?:dan|stan|jailbroken|amoral|no\s+limits?\s+ai|unrestricted|unfiltered|uncensored)\b"
        r"|you(?:\s+are|'re)\s+(?:now\s+)?(?:in|operating\s+in|running\s+in)\s+(?:developer|dev|god|jailbreak"
        r"|unrestricted|debug|maintenance|admin|sudo|dan|evil|opposite)\s+mode"
        r"|(?:enable|enter|activate|switch\s+to|turn\s+on|unlock)\s+(?:the\s+)?(?:developer|dev|god|jailbreak|dan"
        r"|sudo|unrestricted)\s+mode|(?:dan|jailbreak|god|stan)\s+mode"
        r"|developer\s+mode\s+(?:(?:has\s+been|is)\s+)?(?:enabled|activated|output|on\b)"
        r"|opposite\s+mode|anti-?dan\b|\bdan\b.{0,40}do\s+anything\s+now|do\s+anything\s+now\W{0,5}\(?\s*dan\b"
        r"|from\s+now\s+on,?\s+you\s+(?:(?:are\s+going\s+to|will|must|shall|should)\s+(?:now\s+)?)?(?:act|pretend"
        r"|roleplay|simulate|behave|be\s+(?:a|an|in)\b|respond\s+as|answer\s+(?:as|without|with\s+no)|ignore"
        r"|disregard|no\s+longer|have\s+no|never\s+refuse|always\s+(?:answer|comply|obey))"
        r"|you\s+are\s+going\s+to\s+(?:act|pretend|roleplay|simulate)\s+(?:as|to\s+be)\b",
    ),
    (
        "reveal_prompt",
        (
            "prompt",
            "instruc",
            "message",
            "above",
            "before",
            "told",
            "programmed",
            "configur",
            "directives",
            "rules",
            "guidelines",
            "context",
            "initiali",
            "system",
            "given",
            "beginning",
            "starting",
            "start with",
        ),
        rf"{_LEAK}[\s:]+(?:(?:me|us|out|back)\s+)?(?:(?:all|the|your|of|its)\s+)*(?:(?:full|entire|exact|complete"
        r"|whole|first|previous|above|preceding|prior)\s+)*(?:original|initial|hidden|secret|system|developer"
        r"|starting)\s+(?:\w+\s+)?(?:prompt|instructions|message|configuration|directives|rules|guidelines"
        r"|context)\b"
        rf"|{_LEAK}\s+(?:(?:me|us|out|back)\s+)?(?:(?:all|the|your|of|its)\s+)*(?:full|entire|exact|complete"
        r"|whole|first|previous|above|preceding|prior)\s+(?:prompt|instructions|directives|configuration)\b"
        r"(?!\s+(?:for|on|about|to)\b)"
        r"|your\s+(?:system|hidden|secret|developer)\s+(?:prompt|instructions|message|rules|configuration)"
        r"|(?:reveal|print|output|dump|leak|recite|disclose|expose)\s+(?:me\s+)?(?:all\s+)?your\s+(?:instructions"
        r"|prompt|rules|directives|guidelines)\b(?!\s+(?:for|on|about|to|regarding)\b)"
        r"|your\s+(?:initial|original)\s+prompt|(?:text|instructions|prompt|rules|message)\s+you\s+(?:were|have"
        r"\s+been)\s+given\s+(?:initially|at\s+the|before|by)|(?:beginning|starting|start)\s+with\s+(?:the\s+"
        r"(?:phrase|words?)\s+)?[\"']?you\s+are\b"
        rf"|{_LEAK}\s+(?:me\s+|us\s+)?(?:your|the)\s+(?:instructions|prompt|rules)\s+(?:you\s+(?:were|have\s+been)"
        r"\s+given|(?:given|provided)\s+to\s+you|above|at\s+the\s+(?:beginning|start))"
        r"|\bwhat\s+(?:are|were|is|was)\s+your\s+(?:(?:initial|original|system|hidden|secret|first|exact"
        r"|starting)\s+)+(?:prompt|instructions|rules|message)"
        r"|system\s*prompt|initial(?:ization)?\s+(?:prompt|string)|(?:system|developer)\s+(?:message|instructions)"
        r"\s+(?:in|as|between|verbatim|word)|what\s+(?:were|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed)"
        r"\s+(?:before|at\s+the\s+(?:start|beginning)|initially|by\s+(?:the\s+company|your))"
        r"|(?:repeat|print|output|copy|show|reveal|write|paste|summari[sz]e|translate|echo|recite)\s+(?:back\s+"
        r"|out\s+)?(?:(?:all|everything|the|of)\s+)*(?:(?:text|words|content|lines?|conversation)\s+)?(?:above"
        r"|before\s+(?:this|my\s+first|the\s+first)|(?:written|shown)\s+above)\b"
        r"|(?:repeat|print|output|copy|show|write|paste|echo|recite)\s+(?:the\s+)?above\s+(?:text|words|content"
        r"|lines?|prompt|instructions|message)|my\s+instructions\s+are|i\s+was\s+instructed\s+to"
        r"|share\s+your\s+configuration|(?:first|initial)\s+(?:line|sentence|words?)\s+of\s+your\s+(?:prompt"
        r"|instructions|system)",
    ),
    (
        "unrestricted_roleplay",
        (
            "without",
            "with no",
            "free of",
            "free from",
            "unfiltered",
            "uncensored",
            "unrestricted",
            "amoral",
            "jailbroken",
            "no limit",
            "ignoring",
        ),
        r"(?:act|behave|respond|answer|roleplay|speak|write|talk|reply)\s+(?:as|like)\b.{0,60}?"
        rf"(?:\b(?:without|with\s+no|free\s+(?:of|from))\s+(?:any\s+)?{_LIMITS}|\b(?:unfiltered|uncensored"
        r"|unrestricted|amoral|jailbroken|no\s+limits?)\b)"
        r"|(?:answer|respond|reply|generate|continue|write)\w*\s+(?:\w+\s+){0,4}?(?:without|with\s+no|free\s+"
        rf"(?:of|from)|ignoring)\s+(?:any\s+|all\s+)?(?:(?:of\s+)?(?:your|the|its)\s+)?{_LIMITS}",
    ),
    (
        "pretend_no_rules",
        ("pretend", "imagine", "assume", "suppose", "say", "hypothetical"),
        r"(?:pretend|imagine|assume|suppose|let'?s\s+say|hypothetically)\b.{0,40}?\byou\s+(?:have|had|are|were)\s+"
        r"(?:no|free\s+(?:of|from)|not\s+bound\s+by|without)\s+(?:any\s+)?(?:rules|restrictions|limits|limitations"
        r"|guidelines|filters|guardrails|ethics|policies|restraints|boundaries|programming)"
        r"|pretend\s+(?:that\s+)?you\s+(?:are|were)\s+(?:unrestricted|unfiltered|uncensored|jailbroken|evil|dan)",
    ),
    (
        "new_instructions",
        ("new", "task", "real", "actual", "true", "strictly", "adhere", "obey", "told", "asked"),
        r"\bnew\s+(?:system\s+|important\s+)?(?:instructions?|rules?|task|directives?|orders)\s*[:!*-]"
        r"|\*+\s*new\s+(?:important\s+)?instructions|(?:urgent|priority)\s+(?:new\s+)?task\b"
        r"|(?:your|the)\s+(?:new|real|actual|only|true)\s+task\s+(?:now\s+)?is\b|(?:then|now|instead),?\s+your"
        r"\s+task\s+is\s+to\b"
        r"|you'?ve\s+been\s+assigned\s+a\s+(?:new\s+)?task|(?:the\s+)?(?:real|actual|true)\s+instructions?\s+"
        r"(?:follow|are|is|below)|strictly\s+(?:adhere|follow|obey|comply)"
        r"|(?:adhere|obey)\s+(?:only\s+)?(?:to\s+)?(?:the|these|my)\s+(?:following|new)\s+instructions?"
        r"|if\s+you\s+are\s+(?:told|asked)\s+to\s+(?:summari[sz]e|answer|translate|respond)",
    ),
    (
        "role_markers",
        ("<", "[", "#", "system", "{", "--", "endoftext"),
        r"<\|(?:im_start|im_end|system|assistant|user|endoftext|start_header_id|eot_id)\|>|\[/?(?:system|inst"
        r"|sys|admin(?:\s+request)?|developer|instructions?)(?:\]|::|:)|<</?sys>>|<\s*/?\s*(?:system|instruction"
        r"|admin|sys|developer)(?:_prompt|_message)?\s*>|#{2,}\s*\(?\s*system\b|\(system_message\)"
        r"|\{\s*[\"']role[\"']\s*:\s*[\"']system|-{2,}\s*(?:core\s+instruction|system\b|legal\s+amendment"
        r"|end\s+of\s+(?:user\s+message|session))|<end\s+of\s+session>|system\s+(?:override|message"
        r"|instruction|directive|command|alert)s?\s*[:!-]|\[rest-of-document\]",
    ),
    (
        "override_safety",
        (
            "overrid",
            "bypass",
            "circumvent",
            "disabl",
            "turn",
            "deactivat",
            "evade",
            "around",
            "switch",
            "drop",
            "lift",
        ),
        r"(?:override|bypass|circumvent|disable|turn\s+off|deactivate|evade|get\s+around|switch\s+off|drop|lift)"
        r"\s+(?:(?:all|any|the|your|its|of|these)\s+)*(?:safety\s+(?:checks?|filters?|rules|guidelines|protocols"
        r"|measures|settings|systems?|mode|features?|restrictions)|safeguards?|guardrails?|content\s+(?:polic(?:y"
        r"|ies)|moderation)|moderation|ethical\s+(?:guidelines|constraints|restrictions)|alignment|censorship"
        r"|(?:your|all|any)\s+(?:content\s+)?filters?|(?:all|any|your)\s+(?:restrictions|limitations|programming))",
    ),
    (
        "safety_disabled",
        ("safety", "content", "moderation"),
        r"(?:safety|content|moderation)\s+(?:mode|filters?|checks?|protocols?|restrictions?|guidelines)\s+"
        r"(?:(?:is|are|have\s+been|has\s+been)\s+)?(?:now\s+)?(?:disabled|off|deactivated|removed|lifted"
        r"|suspended)",
    ),
    (
        "reversed_text",
        ("snoitcurtsni", "tpmorp"),
        r"snoitcurtsni\s+(?:suoiverp|roirp|lla)|tpmorp\s+metsys",
    ),
    (
        "jailbreak",
        ("jailbr",),
        r"jailbreak(?:ing)?\s+(?:mode|prompt|enabled|activated)|(?:this\s+is\s+a|start\s+(?:the|a)|begin\s+"
        r"(?:the|a)|activate\s+(?:the\s+)?|enable\s+(?:the\s+)?)\s*jailbreak\b|\bjailbroken\b|\[\W*jailbreak\]",
    ),
    (
        "markdown_exfil",
        ("](", "]:", "!["),
        r"!\[[^\]\n]{0,100}\]\(\s*\S*?(?:=\s*[\[{<]|[\[{<][a-z_ ]{2,40}[\]}>])"
        r"|(?:^|\n)\s*\[[^\]\n]{1,60}\]:\s*"
        r"\S*?(?:=\s*[\[{<]|[\[{<][a-z_ ]{2,40}[\]}>])"
        r"|(?:print|render|include|display|output|show|insert"
        r"|add|append|generate|respond\s+with|reply\s+with|embed)\b.{0,80}?!\[[^\]\n]{0,100}\](?:\(|\[)",
    ),
    (
        "html_payload",
        ("<", "javascript:", "include"),
        r"<\s*(?:img|svg|script|iframe|body|object)\b[^>]{0,200}?(?:onerror|onload|javascript:|src\s*=)"
        r"|javascript:\s*[a-z]|include\s+in\s+your\s+(?:response|reply|answer|output|summary)\s+the\s+following",
    ),
    (
        "decode_and_follow",
        ("decode", "base64", "rot13", "rot-", "hex"),
        r"decode\s+(?:this|the\s+following|it|and)\b.{0,40}?\b(?:follow|obey|execute|do|run|act\s+on|comply)"
        r"|(?:base64|rot-?13|hex)\b.{0,30}?\b(?:follow|obey|execute|and\s+do\s+(?:it|what)|comply|new\s+instruction)",
    ),
)
"""Direct prompt-injection rules for user messages, run on the folded skeleton."""
