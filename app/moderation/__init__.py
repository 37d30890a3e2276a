"""Moderation: triage of what a round received, search, tags, bulk actions, internal notes."""
