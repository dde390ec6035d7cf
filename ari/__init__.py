"""Asterisk REST Interface client and the Asterisk simulator (next issue)."""
