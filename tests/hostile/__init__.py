"""Regression tests for attacks: one file per attack, each docstring says the attack and the promised behaviour."""
