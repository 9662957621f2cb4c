"""The supervisor console's workload model: difficulty of a contact, the board, controls, alerts
(docs/workload.md)."""
