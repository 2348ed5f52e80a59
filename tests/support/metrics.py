"""A Prometheus exposition read back: every sample by its name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str | bytes) -> Samples:
    """(sample name, labels) -> value of an exposition."""
    if isinstance(text, bytes):
        text = text.decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float:
    """The sample's value; a KeyError where the exposition has no such sample (a gauge
    that is not exported at all reads as a failure, not as 0)."""
    return found[(name, frozenset(labels.items()))]


def counted(found: Samples, name: str, **labels: str) -> float:
    """A counter's (or histogram's) value; 0 where it has no sample yet: the exposition
    leaves a labelled series out until it is first incremented. For deltas."""
    return found.get((name, frozenset(labels.items())), 0.0)
