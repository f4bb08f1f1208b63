"""Connects the shop's signals to the behaviour log (see tracking.py)."""
