"""Verification: a file's evidence (gathered once), the registered checks (labels, trust, consent), the report."""
