"""The end-of-session report, built from grades alone."""

from __future__ import annotations

from types import SimpleNamespace

from coach.report import aim_for, build_report, effective_scores, session_overall, signal_for


def grade(overall, scores, evidence=None):
    return {
        "status": "done", "overall": overall, "scorer": "offline",
        "criteria": [{"id": cid, "name": cid.title(), "score": score, "evidence": (evidence or {}).get(cid, [])}
                     for cid, score in scores.items()],
    }


def test_signals_follow_the_score_bands():
    assert [signal_for(s) for s in (1.0, 2.0, 2.9, 3.0, 3.9, 4.0, 5.0)] == [
        "strong_no", "no", "no", "yes", "yes", "strong_yes", "strong_yes"]


def test_a_follow_up_grade_stands_for_its_question_and_a_skip_is_unanswered_not_a_one(kb):
    answers = [
        {"stage": "phone_screen", "question_id": "q1", "skipped": False, "grade": grade(2.0, {"clear-communication": 2})},
        {"stage": "phone_screen", "question_id": "q1", "skipped": False, "grade": grade(4.0, {"clear-communication": 4})},
        {"stage": "phone_screen", "question_id": "q2", "skipped": True, "grade": None},
    ]
    report = build_report(kb, track="backend-developer", answers=answers)
    assert report.stages[0].score == 4.0 and report.stages[0].skipped == 1 and report.stages[0].answered == 1
    assert [(q.question_id, q.status, q.score) for q in report.questions] == [
        ("q1", "answered", 4.0), ("q2", "unanswered", None)]
    assert report.criteria[0].score == 4.0 and report.overall == 4.0


def test_a_stage_with_every_question_skipped_is_unanswered_with_no_score(kb):
    answers = [
        {"stage": "phone_screen", "question_id": "q1", "skipped": False, "grade": grade(3.0, {"clear-communication": 3})},
        {"stage": "coding", "question_id": "q2", "skipped": True, "grade": None},
    ]
    report = build_report(kb, track="backend-developer", answers=answers, planned=["phone_screen", "coding"])
    coding = report.stages[1]
    assert (coding.status, coding.score, coding.signal, coding.skipped) == ("unanswered", None, None, 1)
    assert report.overall == 3.0  # the unanswered stage does not drag the overall to 1


def test_stages_not_reached_give_no_signal_and_the_overall_says_what_it_covers(kb):
    answers = [{"stage": "phone_screen", "question_id": "q1", "skipped": False,
                "grade": grade(4.4, {"clear-communication": 5})}]
    planned = ["phone_screen", "coding", "system_design", "behavioral"]
    report = build_report(kb, track="backend-developer", answers=answers, planned=planned, ended_early=True)
    assert [s.status for s in report.stages] == ["scored", "not_reached", "not_reached", "not_reached"]
    assert all(s.score is None and s.signal is None for s in report.stages[1:])
    assert report.incomplete and report.signal is None and report.overall == 4.4
    coverage = report.coverage
    assert (coverage.stages_planned, coverage.stages_reached, coverage.answered) == (4, 1, 1)
    assert coverage.summary.startswith("Incomplete interview. Covers 1 of 4 stages")
    assert all(kb.track("backend-developer").stage(s).title in coverage.summary for s in planned[1:])


def test_a_complete_interview_has_a_signal(kb):
    answers = [{"stage": "coding", "question_id": "q1", "skipped": False, "grade": grade(3.4, {"clear-communication": 3})}]
    report = build_report(kb, track="backend-developer", answers=answers, planned=["coding"])
    assert not report.incomplete and report.signal == "yes" and report.coverage.complete


def test_the_candidates_own_questions_are_not_graded_as_answers(kb):
    answers = [
        {"stage": "system_design", "question_id": "q1", "kind": "candidate_question", "skipped": False, "grade": None},
        {"stage": "system_design", "question_id": "q1", "kind": "answer", "skipped": False,
         "grade": grade(3.0, {"trade-offs": 3})},
    ]
    report = build_report(kb, track="backend-developer", answers=answers)
    stage = report.stages[0]
    assert (stage.score, stage.answered, stage.not_graded) == (3.0, 1, 1)
    assert [q.status for q in report.questions] == ["answered"]


def test_a_reviewers_score_counts_and_the_machines_is_kept(kb):
    reviewed = {**grade(2.0, {"clear-communication": 2}), "machine_overall": 2.0, "overall": 4.0, "reviewed": True}
    answers = [
        {"stage": "coding", "question_id": "q1", "skipped": False, "grade": reviewed},
        {"stage": "behavioral", "question_id": "q2", "skipped": False, "grade": grade(3.0, {"star-result": 3})},
    ]
    report = build_report(kb, track="backend-developer", answers=answers)
    assert report.reviewed and report.overall == 3.5 and report.machine_overall == 2.5
    assert session_overall(answers) == report.overall and session_overall(answers, machine=True) == 2.5


def test_a_criterion_override_recomputes_the_overall_and_an_overall_override_wins():
    stored = SimpleNamespace(overall=2.0, criteria=[{"id": "a", "score": 2}, {"id": "b", "score": 2}],
                             mistakes=[], flags=[])
    on_criterion = [SimpleNamespace(id=1, criterion="a", score=4)]
    assert effective_scores(stored, on_criterion) == {None: 3.0, "a": 4, "b": 2}
    both = [*on_criterion, SimpleNamespace(id=2, criterion=None, score=2.5)]
    assert effective_scores(stored, both)[None] == 2.5
    assert effective_scores(stored, [])[None] == 2.0


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


def test_strengths_never_quote_a_weak_sentence(kb):
    weak = "I usually just do whatever seems most important at the time."
    answers = [
        {"stage": "behavioral", "question_id": "q1", "skipped": False,
         "grade": grade(2.0, {"prioritisation": 2}, {"prioritisation": [weak]})},
        {"stage": "behavioral", "question_id": "q2", "skipped": False,
         "grade": {**grade(4.5, {"prioritisation": 5}, {"prioritisation": [weak, "I rank work by impact and cost."]}),
                   "mistakes": []}},
        {"stage": "behavioral", "question_id": "q3", "skipped": False,
         "grade": {**grade(4.0, {"ownership": 4}, {"ownership": ["I blamed the other team."]}),
                   "mistakes": [{"id": "m", "name": "Blames others", "evidence": ["I blamed the other team."]}]}},
    ]
    strengths = build_report(kb, track="backend-developer", answers=answers).strengths
    quotes = {s.criterion: s.evidence for s in strengths}
    assert quotes["prioritisation"] == "I rank work by impact and cost."
    assert quotes["ownership"] is None  # its only quote shows a mistake


def test_advice_never_aims_for_a_level_that_describes_a_shortfall(kb):
    shortfalls = {c.levels[n] for c in kb.criteria.values() for n in (1, 2)}
    mistakes = {m.name for m in kb.mistakes.values()} | {m.looks_like for m in kb.mistakes.values()}
    for criterion_id in kb.criteria:
        for score in (1.0, 1.5, 2.0, 2.9, 3.0, 4.2):
            advice = aim_for(kb, criterion_id, score).removeprefix("Aim for: ")
            assert advice not in shortfalls and advice not in mistakes, (criterion_id, score, advice)
