"""Exports of runs to other storage formats: Delta Lake (`trackwire.export.delta`)."""
