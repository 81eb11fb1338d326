"""Reading the Prometheus text the bridge's ``/metrics`` answers, as a scraper would."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Series = tuple[str, tuple[tuple[str, str], ...]]


def samples(text: str) -> dict[Series, float]:
    """Every sample: ``(name, sorted labels)`` → value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def series_of(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples named ``name``, by their labels."""
    return {labels: value for (sample, labels), value in samples(text).items()
            if sample == name}
