"""Injection rules in other languages, letters-only rules, and the jailbreak vocabulary.

Why: the public collections carry the same attacks in Spanish, French, German, Italian,
Portuguese, Dutch, Turkish, Russian, Chinese, Japanese, Korean, Arabic and Persian, spell them
with the letters split apart or reversed, or wrap them in long persona stories ("DAN") that no
single phrase gives away. Customers write in those languages too, so each rule needs the
attack's shape ("ignore ALL PREVIOUS instructions"), not a word such as "ignore".

Latin-script rules run on the accent-free skeleton, the others on the folded text.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import re

from safe_agent.policies.rule_table import ANCHORS, InjectionTable, make_table, word_stems

LATIN_PATTERNS: InjectionTable = make_table(
    (
        "ignore_instructions_es",
        ("ignor", "olvid"),
        r"(?:ignora|ignore|ignorar|ignorad|olvida|olvide)\s+(?:todas?\s+|todo\s+)?(?:las\s+|los\s+|tus\s+|sus\s+)?"
        r"(?:instrucciones|reglas|indicaciones|ordenes|directrices)(?:\s+(?:anteriores|previas)|\s+y\b)",
    ),
    (
        "ignore_instructions_fr",
        ("ignor", "oubli"),
        r"(?:ignore|ignorez|oublie|oubliez)\s+(?:toutes\s+|tous\s+)?(?:les|tes|vos)\s+(?:instructions|consignes"
        r"|regles|directives)(?:\s+(?:precedentes|anterieures)|\s*[.,;]|\s+et\b)",
    ),
    (
        "ignore_instructions_de",
        ("ignorier", "vergiss"),
        r"(?:ignorier\w*|vergiss|vergessen\s+sie)\s+(?:alle\s+)?(?:deine\s+|ihre\s+|die\s+)?(?:vorherigen\s+|bisherigen"
        r"\s+|fruheren\s+|obigen\s+|vorigen\s+)?(?:anweisungen|instruktionen|regeln|befehle|vorgaben)\b",
    ),
    (
        "ignore_instructions_it_pt_nl",
        ("ignor", "dimentic", "esquec", "negeer"),
        r"(?:ignora|ignore|dimentica)\s+(?:tutte\s+)?(?:le\s+)?(?:tue\s+)?(?:istruzioni|regole)\s+(?:precedenti"
        r"|anteriori)|(?:ignore|ignora|esqueca)\s+(?:todas\s+)?(?:as\s+)?(?:suas\s+)?(?:instrucoes|regras)\s+"
        r"(?:anteriores|previas)|negeer\s+(?:alle\s+)?(?:vorige|eerdere|voorgaande)\s+(?:instructies|regels)",
    ),
    (
        "ignore_instructions_tr",
        ("talimat", "kural", "mesaj", "yonerge", "rolunu", "sistem", "gizli"),
        r"(?:talimat|kural|mesaj|yonerge)\w*\s+(?:\w+\s+)?(?:unut|yok\s+say|gormezden\s+gel|dikkate\s+alma"
        r"|iptal|gecersiz)|rolunu\s+unut|(?:sistem|gizli|ic)\s+(?:istem|mesaj|talimat|yonerge|komut)\w*",
    ),
    (
        "no_limits_tr",
        (
            "kisitla",
            "filtre",
            "sansur",
            "sinirsiz",
            "guvenlik",
            "gelistirici",
            "kural",
            "redde",
            "dan mod",
        ),
        r"(?:kisitlama|filtre|sansur|guvenlik)\w*\s+(?:\w+\s+)?(?:kaldir|olmadan|olmayan|uygulama|devre\s+disi"
        r"|kapali|kapat|atla|gecersiz)|filtresiz|sinirsiz|sansursuz|kisitlamasiz|kural\s+tanimayan"
        r"|gelistirici\s+modu|redde(?:tme\s+hakk|demezsin|tme\s+kalib)|dan\s+mod\w*",
    ),
    (
        "reveal_prompt_latin",
        ("sistem", "system", "prompt"),
        r"(?:prompt|mensaje|instrucciones|consignes|instructions|message|eingabeaufforderung|anweisungen"
        r"|istruzioni|instrucoes)\s+(?:de\s+|del\s+|di\s+|do\s+)?(?:sistema|systeme|system)\b"
        r"|system-?(?:prompt|eingabeaufforderung|anweisungen)|prompt\s+(?:de\s+|di\s+)?(?:sistema|systeme)",
    ),
    (
        "no_limits_latin",
        ("sin ", "sans ", "ohne ", "senza ", "sem ", "keine regeln"),
        r"(?<![a-z])(?:sin|sans|ohne|senza|sem)\s+(?:ninguna\s+|ningun\s+|aucune?\s+|jede\s+|jegliche\s+|alcuna\s+|nenhuma\s+)?"
        r"(?:(?:de\s+)?tus\s+|tes\s+|deine\s+)?(?:restricciones|restrictions|einschrankung(?:en)?|restrizioni|restricoes"
        r"|filtro\s+de\s+seguridad|filtre|filter|limites|limits|censura|censure|zensur|regeln|reglas)"
        r"|(?:es\s+gibt|gibt\s+es)\s+keine\s+regeln|desormais\s+tu\s+obeis",
    ),
    (
        "address_the_agent_latin",
        ("assist", "agent", " ia", " ki"),
        r"(?:note|message|hinweis|nota|nachricht|remarque|mensaje|aviso)\s+(?:pour|fur|para|per|an|a|al)\s+"
        r"(?:l'|le\s+|la\s+|den\s+|die\s+|el\s+|il\s+|o\s+)?(?:assistant|assistente|asistente|ki-assistent\w*|ia|ki"
        r"|agent\w*|agente|modele|modell|modelo)\b|(?:^|\n)\s*(?:asistente|assistente|assistent)\s*:",
    ),
)
"""Rules for Latin-script languages other than English, run on the skeleton."""

NON_LATIN_PATTERNS: InjectionTable = make_table(
    (
        "ignore_instructions_ru",
        ("игнор", "забуд", "не обращай"),
        r"(?:игнорируй\w*|проигнорируй\w*|забудь\w*|не\s+обращай\s+внимания\s+на)\s+(?:все\s+)?(?:предыдущие"
        r"|прежние|прошлые|вышеуказанные|свои|твои|эти)\s+(?:\w+\s+)?(?:инструкции|указания|правила|команды)",
    ),
    (
        "reveal_prompt_ru",
        ("системн",),
        r"системн\w+\s+(?:промпт|подсказк\w*|инструкци\w*|сообщени\w*|запрос\w*)",
    ),
    (
        "no_limits_ru",
        ("без огранич", "без цензур", "без фильтр", "без каких", "без всяких", "без любых"),
        r"без\s+(?:каких-либо\s+|всяких\s+|любых\s+)?(?:ограничений|цензуры|фильтров)",
    ),
    (
        "ignore_instructions_zh",
        ("忽略", "无视", "忘记", "忘掉", "不要理会", "無視", "忽視", "忘記"),
        r"(?:忽略|无视|忘记|忘掉|不要理会|無視|忽視|忘記)(?:掉)?(?:你)?(?:之前|以前|上面|先前|前面|以上|此前|上述)?"
        r"(?:的)?(?:所有|全部|一切)?(?:的)?(?:指令|指示|说明|規則|规则|提示|命令|要求|設定|设定)",
    ),
    (
        "reveal_prompt_zh",
        ("系统提示", "系統提示", "系统指令", "系统消息"),
        r"系统提示|系統提示|系统指令|系统消息",
    ),
    (
        "no_limits_zh",
        ("限制", "审查", "審查"),
        r"(?:没有任何|没有|不受|无|沒有)(?:任何)?(?:限制|约束|約束)|不加审查|不受审查",
    ),
    (
        "ignore_instructions_ja",
        ("無視", "忘れ"),
        r"(?:以前|前|これまで|上記|先|今まで)の(?:すべての|全ての)?(?:指示|命令|ルール|指令|設定)(?:を)?(?:すべて|全て)?"
        r"(?:無視|忘れ)",
    ),
    (
        "reveal_prompt_ja",
        ("システムプロンプト", "システムメッセージ"),
        r"システム(?:プロンプト|メッセージ)",
    ),
    (
        "ignore_instructions_ko",
        ("무시",),
        r"이전\s*(?:의\s*)?(?:모든\s*)?(?:지시|명령|지침)\w*\s*(?:을|를)?\s*무시",
    ),
    (
        "ignore_instructions_ar_fa",
        ("تجاهل", "نادیده"),
        r"تجاهل\s+(?:كل|جميع)?\s*(?:التعليمات|الأوامر|القواعد)\s+السابقة|(?:دستورهای|دستورات|دستورالعمل\w*)\s+"
        r"قبلی\s+(?:را\s+)?نادیده\s+بگیر",
    ),
    ("reveal_prompt_ar_fa", ("النظام", "سیستمی"), r"موجه\s+النظام|تعليمات\s+النظام|پیام\s+سیستمی"),
    ("no_limits_ar", ("قيود",), r"(?:بلا|دون|بدون)\s+(?:أي\s+)?قيود"),
)
"""Rules for non-Latin scripts, run on the folded text (only when the text is not ASCII)."""

NON_LATIN_GATE = re.compile(
    "|".join(re.escape(a) for name, _ in NON_LATIN_PATTERNS for a in ANCHORS[name])
)
"""Any anchor of `NON_LATIN_PATTERNS`: one scan decides whether those rules need to run at all."""

SQUASHED_PATTERNS: InjectionTable = make_table(
    (
        "ignore_instructions_spaced",
        ("ignore", "disregard", "forget", "erongi"),
        r"(?:ignore|disregard|forget)(?:all|any|the|your)*(?:previous|prior|above|earlier)(?:instructions|rules"
        r"|prompts|directions)|snoitcurtsni(?:suoiverp|roirp)(?:lla|eht|ruoy)*(?:erongi|dragersid)",
    ),
    (
        "reveal_prompt_spaced",
        ("prompt", "tpmorp"),
        r"(?:reveal|show|print|output)(?:me)?(?:your|the)systemprompt|tpmorpmetsys(?:eht|ruoy)(?:laever|wohs)",
    ),
)
"""Rules for the letters-only view, which undoes "i g n o r e", "ig-nore" and reversed text."""

JAILBREAK_MARKERS: dict[str, tuple[str, ...]] = {
    "ai_self": ("openai", "chatgpt", "gpt-4", "gpt-3", "language model", "as an ai", "llm"),
    "policy": (
        "content polic",
        "usage polic",
        "openai polic",
        "ethical guidelines",
        "moral guidelines",
        "ethical or moral",
        "ethics",
        "guidelines",
        "restrictions",
    ),
    "unrestricted": (
        "unfiltered",
        "uncensored",
        "unrestricted",
        "amoral",
        "no restrictions",
        "without any",
        "no limits",
        "no limitations",
        "no filters",
        "no censorship",
        "not bound by",
        "free from",
        "without restrictions",
        "without limitations",
        "without censorship",
    ),
    "compliance": (
        "never refuse",
        "cannot refuse",
        "can't refuse",
        "won't refuse",
        "will not refuse",
        "doesn't refuse",
        "never say no",
        "always comply",
        "answer any",
        "do anything",
        "anything i ask",
        "no matter what",
        "never decline",
    ),
    "roleplay": (
        "stay in character",
        "break character",
        "breaking character",
        "out of character",
        "in character",
        "roleplay",
        "role-play",
        "role play",
        "pretend",
        "simulate",
        "persona",
    ),
    "jailbreak": ("jailbr", "developer mode", "dan mode", "do anything now"),
    "harm": (
        "illegal",
        "unethical",
        "immoral",
        "harmful",
        "offensive",
        "explicit",
        "nsfw",
        "profan",
    ),
    "dual": (
        "two responses",
        "two different",
        "two paragraphs",
        "both responses",
        "normal response",
        "classic response",
        "two ways",
    ),
}
"""Groups of words typical of persona jailbreaks; one hit per group counts."""

JAILBREAK_MIN_GROUPS = 3
"""A text hitting this many groups reads as a persona jailbreak (few customer messages hit two)."""


_MARKER_STEMS = {
    group: tuple((re.match("[a-z]*", m).group(0)[:4], m) for m in markers)  # type: ignore[union-attr]
    for group, markers in JAILBREAK_MARKERS.items()
}
"""Each marker with the stem of its first word: a marker is only looked for when its word occurs."""


def jailbreak_groups(skel: str) -> int:
    """How many marker groups occur in a text's Latin skeleton (stops once the answer is known)."""
    stems = word_stems(skel)
    hits, left = 0, len(JAILBREAK_MARKERS)
    for group in JAILBREAK_MARKERS:
        left -= 1
        hits += any(stem in stems and marker in skel for stem, marker in _MARKER_STEMS[group])
        if hits >= JAILBREAK_MIN_GROUPS or hits + left < JAILBREAK_MIN_GROUPS:
            break
    return hits
