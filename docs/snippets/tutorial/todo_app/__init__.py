"""The todo service of the tutorial (docs/tutorial.md)."""
