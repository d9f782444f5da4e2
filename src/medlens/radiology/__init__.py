"""Radiology reports family: ``radiology.labels`` (registered in ``medlens.registrations``). See CARD.md."""
