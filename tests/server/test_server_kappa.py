from __future__ import annotations

import pytest

from medlens.server.agreement import cohen_kappa, task_agreement


def test_kappa_matches_a_hand_computed_two_by_two_table() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15.
    # p_o = 35/50 = 0.70; A yes 25/50, B yes 30/50 -> p_e = 0.5*0.6 + 0.5*0.4 = 0.50; kappa = 0.20/0.50 = 0.40.
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    assert cohen_kappa(pairs) == pytest.approx(0.4)


def test_kappa_matches_a_hand_computed_three_category_table() -> None:
    # 10 items over accept/reject/edit:
    #   (acc, acc) x4, (rej, rej) x2, (edit, edit) x1, (acc, rej) x1, (rej, edit) x1, (edit, acc) x1
    # p_o = 7/10. A marginals: acc 5, rej 3, edit 2; B marginals: acc 5, rej 3, edit 2.
    # p_e = (5*5 + 3*3 + 2*2) / 100 = 0.38; kappa = (0.70 - 0.38) / 0.62 = 0.516129...
    pairs = (
        [("accept", "accept")] * 4
        + [("reject", "reject")] * 2
        + [("edit", "edit")]
        + [("accept", "reject"), ("reject", "edit"), ("edit", "accept")]
    )
    assert cohen_kappa(pairs) == pytest.approx(0.32 / 0.62)


def test_perfect_agreement_is_one() -> None:
    assert cohen_kappa([("a", "a"), ("r", "r"), ("a", "a")]) == pytest.approx(1.0)


def test_systematic_disagreement_is_negative() -> None:
    assert cohen_kappa([("a", "r"), ("r", "a")]) == pytest.approx(-1.0)


def test_kappa_is_undefined_when_both_use_one_category() -> None:
    assert cohen_kappa([("a", "a"), ("a", "a")]) is None


def test_kappa_of_no_items_is_none() -> None:
    assert cohen_kappa([]) is None


def test_task_agreement_pairs_the_first_two_votes_per_result() -> None:
    import datetime as dt
    from collections import Counter

    from medlens.store.models import AgreementVote

    t0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    def vote(result: str, who: str, decision: str, minute: int) -> AgreementVote:
        return AgreementVote(
            id=f"{result}{who}",
            result_id=result,
            reviewer_id=who,
            task="notes.extract",
            decision=decision,
            reason_code="other",
            decided_at=t0 + dt.timedelta(minutes=minute),
        )

    votes = [
        vote("r1", "a", "accept", 0),
        vote("r1", "b", "accept", 1),
        vote("r1", "c", "reject", 2),  # a third vote is ignored
        vote("r2", "a", "reject", 0),
        vote("r2", "b", "accept", 1),
        vote("r3", "a", "accept", 0),  # one vote: not paired
    ]
    (row,) = task_agreement(votes, Counter({"notes.extract": 3}))
    assert (row.sampled, row.paired, row.observed) == (3, 2, 0.5)
