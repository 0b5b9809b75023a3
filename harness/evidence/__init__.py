"""Evidence: timelines, captures, records and reports."""
