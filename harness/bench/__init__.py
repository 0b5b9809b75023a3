"""The bench: a rig's roles wired together, with assertions, deadlines and evidence."""
