"""Safeguards that run as pipeline stages: de-identification first (DESIGN.md section 4)."""
