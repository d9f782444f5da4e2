"""Writers: JSONL results, FHIR R4 Bundle, OMOP NOTE_NLP and the HTML report."""
