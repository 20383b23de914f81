"""Presenters: the shapes pages, the JSON API, exports and the terminal show, built from stored rows.

Each is a pure function of what `records.read_records` reads, so every place that shows a
session (candidate report, reviewer transcript, exports) shows it the same way.
"""
