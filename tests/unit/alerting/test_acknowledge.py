"""An acknowledged episode sends no repeat; its escalation or resolution ends the acknowledgement."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.domain.alerts import AlertState, NoticeKind, Threshold, observe, step
from bot.domain.records import Family

T0 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
FIVE = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))


def ticks(
    counts: list[int], *, acknowledge_at: int | None = None
) -> tuple[list[str | None], list[AlertState]]:
    """One count a minute, a repeat every 2 minutes; acknowledged (by U1) at that minute's end."""
    state, kinds, states = AlertState(), [], []
    for minute, count in enumerate(counts):
        at = T0 + timedelta(minutes=minute)
        state, notice = step(
            state, FIVE, observe(FIVE, [count], at), at, repeat=timedelta(minutes=2)
        )
        if minute == acknowledge_at:
            state = replace(state, acknowledged_by="U1", acknowledged_at=at)
        kinds.append(notice.kind.value if notice else None)
        states.append(state)
    return kinds, states


def test_acknowledged_episode_sends_no_repeat() -> None:
    assert ticks([5] * 6)[0] == ["firing", None, "still firing", None, "still firing", None]
    assert ticks([5] * 6, acknowledge_at=0)[0] == ["firing", None, None, None, None, None]


def test_escalation_ends_the_acknowledgement_and_repeats_resume() -> None:
    kinds, states = ticks([5, 5, 5, 10, 10, 10, 10], acknowledge_at=0)
    assert kinds == ["firing", None, None, NoticeKind.ESCALATED.value, None, "still firing", None]
    assert states[2].acknowledged_by == "U1"
    assert states[3].acknowledged_by is None
    assert states[3].acknowledged_at is None


def test_resolution_ends_the_acknowledgement() -> None:
    kinds, states = ticks([5, 5, 0], acknowledge_at=1)
    assert kinds == ["firing", None, "resolved"]
    assert states[1].acknowledged_by == "U1"
    assert states[2] == AlertState()
