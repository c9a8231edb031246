"""The audit log: who asked for or changed what, where, and with which outcome. Commands write
their entries here (a change writes its own with itself, bot/services/watches.py), and admins read
the newest (`/iamauth audit`, `iamauth audit`)."""

from __future__ import annotations

from bot.adapters.store.repo import AuditEntry, Store


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    def recent(self, n: int) -> list[AuditEntry]:
        """The newest `n` entries, newest first."""
        return self.store.recent_audit(n)

    def record(self, entry: AuditEntry) -> None:
        """Write one entry; while the database is unreachable the store holds it until it is
        back, and this raises the store's error (the caller logs it)."""
        self.store.record_audit(entry)

    @property
    def held(self) -> int:
        """Entries held in memory until the database is reachable again."""
        return len(self.store.held_audit)
