"""The kinds of evidence: for each, where its entries are (`<kind>_rows`) and how one page of them
is read (`<kind>_load`), grouped by area in this package's modules. KINDS is the registry, in
the order the filter offers them.

To add a kind: a module here with `<kind>_rows()` returning `timeline_rows(queryset, kind=…,
workflow=…, at=…)` and `<kind>_load(pks)` returning {pk: EvidenceEntry} in a fixed number of
queries (reviews.py is the shortest example), then an EvidenceKind in KINDS. The timeline, its
filter, the exports and the board pack pick it up.
"""

from rollout.selectors.evidence.entries import EvidenceKind
from rollout.selectors.evidence.kinds.communication import (
    notice_load,
    notice_rows,
    ownership_load,
    ownership_rows,
)
from rollout.selectors.evidence.kinds.configuration import configuration_load, configuration_rows
from rollout.selectors.evidence.kinds.plan import (
    override_load,
    override_rows,
    phase_load,
    phase_rows,
    promotion_load,
    promotion_rows,
)
from rollout.selectors.evidence.kinds.quality import (
    breach_load,
    breach_rows,
    pause_load,
    pause_rows,
)
from rollout.selectors.evidence.kinds.response import (
    escalation_load,
    escalation_rows,
    incident_load,
    incident_rows,
)
from rollout.selectors.evidence.kinds.reviews import review_load, review_rows

KINDS: tuple[EvidenceKind, ...] = (
    EvidenceKind("phase", "Phase changes", phase_rows, phase_load),
    EvidenceKind("promotion", "Promotions", promotion_rows, promotion_load),
    EvidenceKind("override", "Gate overrides", override_rows, override_load),
    EvidenceKind("breach", "Threshold breaches", breach_rows, breach_load),
    EvidenceKind("pause", "Pauses", pause_rows, pause_load),
    EvidenceKind(
        "configuration", "AI configuration changes", configuration_rows, configuration_load
    ),
    EvidenceKind("incident", "Incidents", incident_rows, incident_load),
    EvidenceKind("notice", "Notices published", notice_rows, notice_load),
    EvidenceKind("ownership", "Ownership changes", ownership_rows, ownership_load),
    EvidenceKind("escalation", "Escalations exhausted", escalation_rows, escalation_load),
    EvidenceKind("review", "Reviews", review_rows, review_load),
)
KINDS_BY_KEY = {kind.key: kind for kind in KINDS}
