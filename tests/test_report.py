"""The end-of-session report, built from grades alone."""

from __future__ import annotations

from coach.report import build_report, signal_for


def grade(overall, scores, evidence=None):
    return {
        "status": "done", "overall": overall, "scorer": "offline",
        "criteria": [{"id": cid, "name": cid.title(), "score": score, "evidence": (evidence or {}).get(cid, [])}
                     for cid, score in scores.items()],
    }


def test_signals_follow_the_score_bands():
    assert [signal_for(s) for s in (1.0, 2.0, 2.9, 3.0, 3.9, 4.0, 5.0)] == [
        "strong_no", "no", "no", "yes", "yes", "strong_yes", "strong_yes"]


def test_a_follow_up_grade_stands_for_its_question_and_skips_count_as_one(kb):
    answers = [
        {"stage": "phone_screen", "question_id": "q1", "skipped": False, "grade": grade(2.0, {"clear-communication": 2})},
        {"stage": "phone_screen", "question_id": "q1", "skipped": False, "grade": grade(4.0, {"clear-communication": 4})},
        {"stage": "phone_screen", "question_id": "q2", "skipped": True, "grade": None},
    ]
    report = build_report(kb, track="backend-developer", answers=answers)
    assert report.stages[0].score == 2.5 and report.stages[0].skipped == 1 and report.stages[0].answered == 1
    assert report.criteria[0].score == 4.0


def test_improvements_aim_one_level_up_and_link_the_stage_tips(kb):
    answers = [{"stage": "coding", "question_id": "q1", "skipped": False,
                "grade": grade(3.0, {"clear-communication": 2, "technical-accuracy": 4})}]
    report = build_report(kb, track="backend-developer", answers=answers)
    first = report.improvements[0]
    assert first.criterion == "clear-communication"
    assert first.advice == f"Aim for: {kb.criteria['clear-communication'].levels[3]}"
    assert first.tip in kb.track("backend-developer").stage("coding").preparation_tips


def test_strengths_quote_different_sentences_where_they_can(kb):
    evidence = {"clear-communication": ["First, I measure."], "technical-accuracy": ["First, I measure.", "Then I fix."]}
    answers = [{"stage": "technical", "question_id": "q1", "skipped": False,
                "grade": grade(4.5, {"clear-communication": 5, "technical-accuracy": 4}, evidence)}]
    strengths = build_report(kb, track="backend-developer", answers=answers).strengths
    assert [s.evidence for s in strengths] == ["First, I measure.", "Then I fix."]


def test_skipping_a_follow_up_keeps_the_answer_before_it(kb):
    answers = [
        {"stage": "behavioral", "question_id": "q1", "skipped": False, "grade": grade(4.0, {"star-result": 4})},
        {"stage": "behavioral", "question_id": "q1", "skipped": True, "grade": None},
    ]
    report = build_report(kb, track="backend-developer", answers=answers)
    assert report.stages[0].score == 4.0 and report.stages[0].skipped == 0
