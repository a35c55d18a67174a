"""Digest text as a person reads it: LaTeX and markup left in scraped abstracts shown as the
characters they stand for.

Abstracts are stored as the listing gave them (`4\\%`, `$\\leq$ 11%`, `{\\em entropy collapse}`,
`\\footnote{Our code is at ...}`); every place a person reads one (answers, cards, the Papers
tab, comparisons, exports) shows `readable(text)` instead. Pure and idempotent: readable text
passes through unchanged.
"""

from __future__ import annotations

import re

# Commands that stand for one character.
SYMBOLS = {
    "leq": "≤", "le": "≤", "geq": "≥", "ge": "≥", "neq": "≠", "approx": "≈", "sim": "~",
    "times": "×", "pm": "±", "cdot": "·", "infty": "∞", "to": "→", "rightarrow": "→",
    "leftarrow": "←", "Rightarrow": "⇒", "alpha": "α", "beta": "β", "gamma": "γ",
    "delta": "δ", "epsilon": "ε", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π",
    "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ",
    "ell": "ℓ", "eg": "e.g.", "ie": "i.e.", "etal": "et al.", "ldots": "…", "dots": "…",
}  # fmt: skip
_SYMBOL = re.compile(r"\\(" + "|".join(sorted(SYMBOLS, key=len, reverse=True)) + r")(?![A-Za-z])")
# "leq 11%": a symbol's name left after its backslash was lost.
_BARE = re.compile(r"(?<![\w\\])(leq|geq|neq)(?=\s*[\d$])")
_ESCAPED = re.compile(r"\\([%&_$#{}])")
# Formatting whose argument is the text: \textbf{x}, \emph{x}, {\em x}, \href{url}{text}.
_HREF = re.compile(r"\\href\{[^}]*\}\{([^}]*)\}")
_WRAPPED = re.compile(
    r"\\(?:text\w*|emph|mathrm|mathbf|mathit|mathcal|url|operatorname)\{([^}]*)\}"
)
_GROUPED = re.compile(r"\{\\(?:em|bf|it|sc|tt|rm)\s+([^}]*)\}")
_FOOTNOTE = re.compile(r"\s*\\footnote\{([^}]*)(\}|$)")
# Inline math ("$\\times 3$", "$k$"), not prices ("$5 and $10").
_MATH = re.compile(r"\$([^$]{0,80}[\\^_{}][^$]{0,80}|[A-Za-z])\$")
# A backslash before a space ("e.g.\ the") and a tie ("Fig.~3") are spacing.
_SPACING = re.compile(r"\\ |(?<=\S)~(?=\S)")
_ARXIV_URL = re.compile(r"\s*\bthis https? URL\b", re.I)
_DOUBLE_SPACE = re.compile(r"[ \t]{2,}")


def readable(text: str) -> str:
    """`text` with LaTeX escapes, symbols and formatting as the characters a reader expects."""
    if "\\" not in text and "$" not in text and "URL" not in text and "eq" not in text:
        return text
    text = _FOOTNOTE.sub(lambda m: f" ({m.group(1).strip()})", text)
    text = _HREF.sub(r"\1", text)
    text = _WRAPPED.sub(r"\1", text)
    text = _GROUPED.sub(r"\1", text)
    text = _MATH.sub(lambda m: m.group(1).strip(), text)
    text = _SYMBOL.sub(lambda m: SYMBOLS[m.group(1)], text)
    text = _BARE.sub(lambda m: SYMBOLS[m.group(1)], text)
    text = _ESCAPED.sub(r"\1", text)
    text = _SPACING.sub(" ", text)
    text = _ARXIV_URL.sub(" a link given in the paper", text)
    return _DOUBLE_SPACE.sub(" ", text)
