"""Readers: text, JSONL, CSV and FHIR inputs -> Document records (or coded InputErrors)."""
