"""Published findings and the verdicts an experiment gives them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

VERDICTS = ("yes", "partly", "no")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One published finding and what this run measured.

    Attributes:
      claim: the finding as published.
      source: where it was published.
      reproduced: ``"yes"``, ``"partly"`` or ``"no"``.
      evidence: the numbers behind the verdict, in words.
    """

    claim: str
    source: str
    reproduced: str
    evidence: str

    def __post_init__(self):
        if self.reproduced not in VERDICTS:
            raise ValueError(
                f"reproduced: expected one of {VERDICTS}, got {self.reproduced!r}"
            )


def findings_markdown(findings: Sequence[Finding]) -> str:
    """A numbered list: claim (source) -> verdict, evidence."""
    lines = []
    for i, f in enumerate(findings, start=1):
        lines.append(f"{i}. **{f.claim}** ({f.source})")
        lines.append(f"   - reproduced: **{f.reproduced}**")
        lines.append(f"   - evidence: {f.evidence}")
    return "\n".join(lines)
