"""Published findings and the verdicts an experiment gives them.

One rule for every experiment (:func:`strict_verdict`): a claim is
*reproduced* only when the 95 % interval of every paired difference (or the
p-value of every test) that it rests on is significant in the claimed
direction, *refuted* when every one is significant the other way, and *not
shown* otherwise. The evidence of a finding names which of its parts passed,
so a claim that holds in one regime and not in another reads "not shown" with
the regimes listed, never "partly".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

VERDICTS = ("reproduced", "refuted", "not shown")
RULE = (
    "Verdict rule: reproduced only when every test is significant in the "
    "claimed direction (95 % interval of the paired difference excludes 0, or "
    "p < 0.05), refuted when every test is significant the other way, not "
    "shown otherwise."
)


def strict_verdict(signs: Sequence[int]) -> str:
    """The verdict of a claim from the signs of its tests.

    Args:
      signs: per test, +1 (significant in the claimed direction), -1
        (significant against it) or 0 (not significant).
    """
    signs = [int(s) for s in signs]
    if signs and all(s > 0 for s in signs):
        return "reproduced"
    if signs and all(s < 0 for s in signs):
        return "refuted"
    return "not shown"


def scope(signs: Mapping[str, int]) -> str:
    """``"holds for a, b; against: c; not significant: d"`` from named signs."""
    parts = []
    for label, wanted in (("holds for", 1), ("against", -1), ("not significant", 0)):
        names = [name for name, s in signs.items() if int(s) == wanted]
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class Finding:
    """One published finding and what this run measured.

    Attributes:
      claim: the finding as published.
      source: where it was published.
      reproduced: ``"reproduced"``, ``"refuted"`` or ``"not shown"`` (see
        :func:`strict_verdict`).
      evidence: the numbers behind the verdict, in words.
      partial: ``""`` when the verdict rests on every unit of the study, else
        what it rests on (``"3 of 6 units"``): a verdict to be read as
        provisional.
    """

    claim: str
    source: str
    reproduced: str
    evidence: str
    partial: str = ""

    def __post_init__(self):
        if self.reproduced not in VERDICTS:
            raise ValueError(
                f"reproduced: expected one of {VERDICTS}, got {self.reproduced!r}"
            )


def finding_dict(finding: Finding) -> dict:
    """The finding as written to ``results.json`` (``partial`` only when set)."""
    entry = dataclasses.asdict(finding)
    if not entry["partial"]:
        del entry["partial"]
    return entry


def findings_markdown(findings: Sequence[Finding]) -> str:
    """A numbered list: claim (source) -> verdict, evidence."""
    lines = []
    for i, f in enumerate(findings, start=1):
        lines.append(f"{i}. **{f.claim}** ({f.source})")
        note = f" (partial: {f.partial})" if f.partial else ""
        lines.append(f"   - verdict: **{f.reproduced}**{note}")
        lines.append(f"   - evidence: {f.evidence}")
    return "\n".join(lines)
