"""Evaluation: question sets, metrics, the staff report, comparison, tuning and the benchmark."""
