"""Key material and identity: signing keys and trust anchors, the workspace secret, the provenance settings."""
