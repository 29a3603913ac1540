"""Consent: the hash-chained ledger, the workspace's policy and takedowns, bulk import, the consent commands."""
