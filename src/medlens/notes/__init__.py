"""Clinical notes family: ``notes.extract`` (registered in ``medlens.registrations``). See CARD.md."""
