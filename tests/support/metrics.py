"""Scraping a /metrics endpoint over HTTP and reading it with prometheus_client's parser."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(body: str) -> Samples:
    """Every sample in Prometheus text ``body``, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def scrape(url: str, timeout: float = 5) -> Samples:
    """GET ``url`` (as Prometheus does) and parse the page."""
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/plain")
        return parse(reply.read().decode())


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample ``name`` with exactly ``labels``; None when there is none."""
    return samples.get((name, tuple(sorted(labels.items()))))
