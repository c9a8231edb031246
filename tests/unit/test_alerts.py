from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.alerts import (
    AlertState,
    NoticeKind,
    Observation,
    Status,
    Threshold,
    observe,
    step,
)
from bot.domain.records import Family

T0 = datetime(2025, 8, 11, 4, 0, tzinfo=UTC)
FIVE = Threshold(Family.INVALID_TOKEN, 5, timedelta(minutes=5))


def obs(count: int, threshold: Threshold = FIVE, minute: int = 0) -> Observation:
    return observe(threshold, [count], T0 + timedelta(minutes=minute))


def run(counts: list[int], **kwargs: object) -> list[str | None]:
    """Feed one count per minute; return the notice kind (or None) of each tick."""
    state = AlertState()
    kinds: list[str | None] = []
    for minute, count in enumerate(counts):
        silenced = bool(kwargs.get("silenced_at") and minute in kwargs["silenced_at"])  # type: ignore[operator]
        state, notice = step(
            state,
            FIVE,
            obs(count, minute=minute),
            T0 + timedelta(minutes=minute),
            repeat=kwargs.get("repeat", timedelta(hours=4)),  # type: ignore[arg-type]
            send_resolved=bool(kwargs.get("send_resolved", True)),
            silenced=silenced,
        )
        kinds.append(notice.kind.value if notice else None)
    return kinds


def test_fires_once_then_stays_quiet_then_resolves() -> None:
    assert run([0, 5, 6, 7, 6, 0, 0]) == [None, "firing", None, None, None, "resolved", None]


def test_repeats_after_the_repeat_interval() -> None:
    kinds = run([5, 5, 5, 5, 5], repeat=timedelta(minutes=2))
    assert kinds == ["firing", None, "still firing", None, "still firing"]


def test_escalates_when_the_count_at_least_doubles() -> None:
    assert run([5, 9, 10, 12, 20]) == ["firing", None, "escalated", None, "escalated"]


def test_resolved_notice_can_be_turned_off() -> None:
    assert run([5, 0], send_resolved=False) == ["firing", None]


def test_silenced_evaluates_but_does_not_notify_and_notifies_after() -> None:
    # Fires during the silence (minutes 0-2), still firing when it ends: notified then.
    assert run([5, 6, 5, 5, 0], silenced_at={0, 1, 2}) == [None, None, None, "firing", "resolved"]


def test_an_episode_entirely_under_silence_is_never_announced() -> None:
    assert run([5, 6, 0, 0], silenced_at={0, 1, 2}) == [None, None, None, None]


def test_notice_carries_what_a_person_needs() -> None:
    state, notice = step(AlertState(), FIVE, obs(8), T0)
    assert notice is not None
    assert notice.kind is NoticeKind.FIRING
    assert (notice.family, notice.count, notice.since) == (Family.INVALID_TOKEN, 8, T0)
    assert notice.window_end == T0
    assert state.status is Status.FIRING
    assert state.notified_count == 8


def test_m_of_n() -> None:
    two_of_three = Threshold(
        Family.INSUFFICIENT_PERMISSIONS, 1, timedelta(minutes=15), periods=3, breaching=2
    )
    assert observe(two_of_three, [1, 0, 1], T0).breaching
    assert not observe(two_of_three, [0, 0, 3], T0).breaching
    assert observe(two_of_three, [0, 0, 3], T0).count == 3
    assert two_of_three.lookback == timedelta(minutes=45)
    assert two_of_three.describe() == "≥ 1 in 15m (2 of 3 windows)"


def test_an_announced_alert_that_ends_during_a_silence_is_resolved_when_the_silence_ends() -> None:
    # Announced at minute 0, ends at minute 2 under the silence (1-3): told at minute 4, once.
    kinds = run([5, 5, 0, 0, 0, 0], silenced_at={1, 2, 3})
    assert kinds == ["firing", None, None, None, "resolved", None]


def test_the_owed_resolution_is_kept_in_the_state_until_it_is_sent() -> None:
    state, _ = step(AlertState(), FIVE, obs(8), T0)
    owed, notice = step(state, FIVE, obs(0, minute=1), T0 + timedelta(minutes=1), silenced=True)
    assert notice is None
    assert owed.resolution_owed
    assert (owed.status, owed.since, owed.notified_count) == (Status.OK, T0, 8)
    same, notice = step(owed, FIVE, obs(0, minute=2), T0 + timedelta(minutes=2), silenced=True)
    assert (same, notice) == (owed, None)
    done, notice = step(owed, FIVE, obs(1, minute=3), T0 + timedelta(minutes=3))
    assert notice is not None
    assert (notice.kind, notice.count, notice.since, notice.previous_count) == (
        NoticeKind.RESOLVED,
        1,
        T0,
        8,
    )
    assert done == AlertState()


def test_breaching_again_before_the_owed_resolution_continues_the_announced_episode() -> None:
    # The channel never heard it end: no second "firing"; repeats and escalations as usual.
    assert run([5, 0, 5, 5, 0], silenced_at={1, 2}) == ["firing", None, None, None, "resolved"]
    assert run([5, 0, 12], silenced_at={1}) == ["firing", None, "escalated"]
    kinds = run([5, 0, 5, 5, 5], silenced_at={1, 2}, repeat=timedelta(minutes=3))
    assert kinds == ["firing", None, None, "still firing", None]


def test_nothing_is_owed_when_resolved_notices_are_off() -> None:
    assert run([5, 0, 0], silenced_at={1}, send_resolved=False) == ["firing", None, None]
