"""Indirect-injection rules: instructions planted in data that a tool fetched for the agent.

Why these shapes: planted text must address the agent (a fake "assistant:" turn, "note to the
AI", AgentDojo's "<INFORMATION> This is an important message from me ... to you"), or ask it to
act ("TODO: send ...", "Send as much money as possible to the account US13...", "Forward all
emails to ...", "Change the password of the user to ..."). Ordinary tool data also gives orders,
to customers: "send photos of the damage to warranty@example.com", "please pay the amount by
bank transfer to IBAN ...", "click here to reset your password". So an imperative alone is not
enough: the rule needs what attackers want (other people's data, money to a given account, a
changed credential) together with where it should go.

Pure: no I/O, no clock.
"""

from __future__ import annotations

from safe_agent.policies.rule_table import InjectionTable, make_table

_EMAIL = r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
_TARGET = rf"(?:{_EMAIL}|https?://\S+|www\.\S+)"
_IBAN = r"(?:[a-z]{2}\d{2}[a-z0-9]{8,30}|\d{8,18})\b"
_LABEL = (
    r"(?:(?:my|the|this|our|their|his|her)\s+(?:\w+'s\s+)?(?:new\s+)?(?:e-?mail(?:\s+address)?"
    r"|address|website|web\s*site|server|url|endpoint|inbox)\s*[,:]?\s*)?"
)
_SENSITIVE = (
    r"(?:e-?mails?|messages?|conversations?|chat|history|transcripts?|contacts?|customers?\b|users?\b"
    r"|personal\s+(?:data|information|details)|data(?:base)?|records|files|documents|credentials?"
    r"|passwords?|passcodes?|security\s+codes?|codes?|tokens?|api\s+keys?|keys|secrets?|card\s+(?:numbers?"
    r"|details)|bank\s+(?:account|details)|iban|passport|ssn|social\s+security|phone\s+numbers?"
    r"|system\s+prompt|inbox|body|transactions?|ibans?)"
)
_SEND = (
    r"(?:send|forward|e-?mail|upload|post|transfer|share|leak|copy|export|submit|mail|paste"
    r"|publish)"
)

TOOL_OUTPUT_PATTERNS: InjectionTable = make_table(
    (
        "fake_assistant_turn",
        ("assistant", "ai:", "ai :", "model", "gpt", "<!--"),
        r"(?:^|\n)\s*(?:assistant|ai|model|chatgpt|gpt)\s*:\s*\S|<!--[^>]{0,200}?\b(?:ai|assistant|agent|model|llm"
        r"|ignore|system)\b",
    ),
    (
        "important_instructions",
        ("information>", "message from me", "before you", "after you"),
        r"<\s*/?\s*information\s*>|this\s+is\s+an?\s+(?:very\s+)?(?:important|urgent)\s+message\s+from\s+me\b"
        r"|message\s+from\s+me,?\s+[^,.\n]{1,40},?\s+to\s+you\b"
        r"|before\s+you\s+(?:can\s+)?(?:solve|complete|do|continue|start|answer|finish|proceed\s+with|work\s+on)\s+"
        r"(?:the|your|this|any|my)\s+(?:\w+\s+)?(?:task|request|question|job)"
        r"|after\s+you\s+(?:do|did|have\s+done|complete|finish)\s+(?:that|this|it),?\s+you\s+can\s+(?:solve|complete"
        r"|do|continue|return)",
    ),
    (
        "todo_line",
        ("todo", "to-do", "to do", "action", "task"),
        r"(?:^|\n|[.!?:]\s)\s*(?:todo|to-do|to\s+do|action\s+(?:item|required)|task)\s*:\s*(?:please\s+)?(?:send"
        r"|forward|transfer|wire|pay|e-?mail|post|upload|delete|remove|change|modify|reset|invite|grant"
        r"|visit|concatenate|share|leak|say|tell|give|copy|create|make|book|get\s+(?:all|me|the\s+user))\b",
    ),
    (
        "money_transfer",
        (
            "send",
            "transfer",
            "wire",
            "move",
            "remit",
            "modify",
            "change",
            "update",
            "redirect",
            "set",
        ),
        r"(?:send|transfer|wire|move|remit)(?<!bank\stransfer)(?<!wire\stransfer)(?<!a\stransfer)(?<!by\stransfer)"
        r"\s+(?:(?:as\s+much\s+(?:money\s+)?as\s+possible"
        r"|all\s+(?:the\s+)?(?:money|funds|balance)|the\s+(?:entire\s+|whole\s+|full\s+|remaining\s+)?(?:balance"
        r"|funds)|(?:a\s+)?(?:transaction|payment|transfer)s?|money|funds|[$€£]\s?\d[\d,.]*\s*[km]?|\d[\d,.]*\s*"
        r"(?:usd|eur|gbp|dollars|euros|pounds))(?:\s+\S+){0,10}?\s+)to\s+(?:the\s+)?(?:(?:bank\s+)?account|iban"
        rf"|recipient|wallet)?\s*(?:number\s+)?:?\s*['\"]?{_IBAN}"
        r"|(?:modify|change|update|set|redirect)\s+(?:the\s+)?(?:recipient|payee|beneficiary|iban|destination)\b"
        rf".{{0,60}}?\bto\s+(?:be\s+)?(?:to\s+)?(?:the\s+)?(?:account\s+)?{_IBAN}",
    ),
    (
        "exfiltrate",
        (
            "send",
            "forward",
            "mail",
            "upload",
            "post",
            "transfer",
            "share",
            "leak",
            "copy",
            "export",
            "submit",
            "paste",
            "publish",
            "concatenate",
            "information",
        ),
        rf"{_SEND}\s+(?:(?:all|the|every|any|this|these|those|my|our|their|each)\s+)+(?:\S+\s+){{0,10}}?"
        rf"{_SENSITIVE}(?:\s+\S+){{0,8}}?\s+to\s+['\"`(<]?{_LABEL}['\"`(<]?{_TARGET}"
        rf"|(?:e-?mail|send)\s+(?:the\s+)?(?:text|message|following(?:\s+text)?)\s*:?\s*['\"“].{{1,200}}?['\"”]\s+to\s+"
        rf"['\"]?{_EMAIL}|concatenate\b.{{0,80}}?\b(?:post|send|upload|forward)\b.{{0,60}}?{_TARGET}"
        r"|(?:(?:user|personal|customer|account)\s+(?:information|info|data|details)|passport|bank\s+account"
        r"|password|security\s+code|credit\s+card)\b.{0,160}?\bsend\s+(?:it|them|this(?:\s+information)?|that"
        rf"|everything)\s+to\s+{_LABEL}{_TARGET}",
    ),
    (
        "account_takeover",
        (
            "password",
            "passcode",
            "pin",
            "mail",
            "phone",
            "2fa",
            "mfa",
            "address",
            "invite",
            "add",
            "grant",
            "delete",
            "remove",
            "erase",
            "wipe",
            "event",
        ),
        r"(?:change|reset|update|set|modify)\s+(?:the\s+)?(?:(?:user'?s?|account|login|admin)\s+)?(?:password|passcode"
        r"|pin|e-?mail(?:\s+address)?|phone\s+number|recovery\s+e-?mail|2fa|mfa)\s+(?:of\s+(?:the\s+)?(?:user"
        r"|account|customer)\s+)?to\s+\S"
        r"|(?:update|change|modify|set)\s+(?:the\s+)?(?:shipping|delivery|billing)\s+address\s+(?:of|for|on)\s+"
        r"(?:every|all|each|any)\b"
        r"|(?:invite|add)\s+(?:the\s+)?(?:user|member|person|account)\s+\S+(?:\s+\S+){0,6}?\s+to\s+(?:the\s+)?"
        r"(?:\S+\s+){0,2}(?:workspace|channel|team|group|organi[sz]ation|admins?|administrators?)"
        r"|grant\s+(?:\S+\s+){0,3}?(?:admin|administrator|administrative|root|owner|full)\s+(?:access|rights|role"
        r"|privileges|permissions)"
        r"|(?:delete|remove|erase|wipe|destroy)\s+(?:all\s+|the\s+|every\s+)?(?:files?|e-?mails?|messages?|customers?"
        r"|accounts?|records?|users?|data|backups?|database|channels?)\s+(?:with\s+(?:the\s+)?id\b|['\"]?[a-z]?-?\d+"
        r"|from\s+the\b)"
        rf"|create\s+(?:a|an)\s+(?:[\w-]+\s+){{0,4}}(?:event|meeting|invite|invitation)\s+with\s+(?:the\s+)?"
        rf"participants?\s+['\"]?{_EMAIL}",
    ),
    (
        "visit_link",
        ("visit", "open", "click", "go to", "browse", "navigate", "load", "link"),
        r"(?:visit|open|click|go\s+to|browse\s+to|navigate\s+to|load)\s+(?:a\s+|the\s+)?(?:website|web\s*site|site"
        r"|page|link|url)\s+(?:at\s+)?(?:the\s+)?(?:link\s+|url\s+|address\s+)?(?:https?://|www\.)"
        r"|send\s+(?:a|the|this)\s+link\s+(?:https?://|www\.)\S+\s+to\b",
    ),
    (
        "address_the_agent",
        (
            "llm",
            "assistant",
            "agent",
            "model",
            "bot",
            "gpt",
            "automated",
            "invisible",
            " ai",
            "ai:",
            "ai,",
            "ai ",
            "when summar",
            "when read",
            "when process",
            "when answer",
            "when respond",
            "when reply",
        ),
        r"(?:ai|llm)\s+(?:agents?|assistants?|models?)\s*[,:]\s*(?:you\s+must|please|you\s+should|ignore|do\s+not)\b"
        r"|(?:note|message|instructions?)\s+(?:to|for)\s+(?:the\s+|any\s+)?(?:automated\s+)?(?:ai|llm|assistant"
        r"|agent|model|bot)(?:\s+(?:ai|llm|assistant|agent|model|bot|analysis\s+software))?s?\s*:"
        r"|if\s+you\s+are\s+an?\s+(?:ai|llm|language\s+model|ai\s+assistant|ai\s+agent|assistant|bot)\b"
        r"|(?:to|for)\s+(?:the|any)\s+(?:ai|assistant|agent|model|llm|bot|automated\s+\w+)\s+(?:summari[sz]ing"
        r"|reading|processing|parsing|analy[sz]ing|handling)"
        r"|dear\s+(?:llm|ai|assistant|model|chatbot|gpt|claude|bot|agent)\b"
        r"|(?:attention|hey|hello|hi|psst|p\.s\.)\s*,?\s*(?:ai|llm|agent|assistant|model|bot|chatgpt|gpt)\b\s*[:,-]"
        r"|(?:model|assistant|agent|ai|llm)\s*,\s*(?:your\s+next\s+step|you\s+(?:must|should|need\s+to|will)"
        r"|please|now)\b|when\s+(?:summari[sz]ing|reading|processing|answering|responding|replying)\b.{0,60}?"
        r"\b(?:give|tell|say|send|include|recommend|show|add|reply|respond|output|insert)\b"
        r"|(?:for|to)\s+automated\s+(?:screening|analysis|agents?|systems?|processing|review)|invisible\s+to\s+humans",
    ),
    (
        "tool_call_request",
        ("call", "invoke", "execute"),
        r"\b(?:call|invoke|execute)\s+(?:the\s+|this\s+)?(?:[\w.`-]+\s+)?(?:tool|function)\b",
    ),
    (
        "override_the_task",
        (
            "if the user",
            "if user",
            "if you are",
            "if asked",
            "if questioned",
            "if anyone",
            "disregard",
            "ignor",
            "overrid",
            "bypass",
            "focus",
            "your response",
            "your reply",
            "your answer",
            "your output",
            "your summary",
        ),
        r"\bif\s+(?:the\s+)?(?:user|you\s+are|asked|questioned|anyone\s+asks)\b.{0,80}?\b(?:simply\s+|only\s+"
        r"|just\s+)?(?:reply|respond|answer|say|report|output|print|state)\s+(?:with\s+|that\s+)?(?:only|that"
        r"|simply|exactly|the\s+following|[\"'<])|disregard\s+(?:all|any)\s+(?:other\s+)?(?:info|information"
        r"|content|data|text)\b|ignore\s+(?:all\s+)?(?:negative|other|the\s+rest\s+of|this|these)\s+(?:\w+\s+)?"
        r"(?:indicators|content|data|text|information|info|documents?|snippets?)\b|(?:override|ignore|bypass)\s+"
        r"(?:the\s+)?(?:manual\s+)?(?:scoring|evaluation|assessment|review\s+process)|focus\s+(?:only|exclusively)"
        r"\s+on\s+the\s+(?:following|information)|(?:repeat|append|insert|print|output)\b.{0,120}?\b(?:at\s+the\s+"
        r"(?:end|start|beginning)\s+of|in|into|to)\s+your\s+(?:response|reply|answer|output|summary)",
    ),
)
"""Rules for tool output only, checked after the direct rules; customer-facing imperatives pass."""
