"""Helpers shared by the tests (and the benchmark in bench/): fakes, answers, servers."""
