"""The `coach` command."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from coach.config import get_settings
from coach.knowledge import KnowledgeBase, KnowledgeError, load_knowledge

EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"


class KnowledgeChoices:
    """An option's choices, read from the knowledge base when argparse first checks a value or prints
    help: the ids are data, and commands that never look at them never load it."""

    def __init__(self, knowledge: Callable[[], KnowledgeBase], ids: Callable[[KnowledgeBase], list[str]]):
        self.knowledge, self.ids = knowledge, ids

    def __contains__(self, value: object) -> bool:
        return value in self.ids(self.knowledge())

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids(self.knowledge()))


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    return args.run(args) or 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coach", description="Mock interviews for backend developers.")
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser("serve", help="run the web app")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(run=_serve)

    interview = commands.add_parser("interview", help="run a mock interview in this terminal")
    kb_once = functools.cache(lambda: load_knowledge(get_settings().knowledge_dir))  # loaded once, if at all
    # A metavar keeps argparse from listing the choices (and loading the knowledge base) while it builds.
    interview.add_argument("--track", metavar="TRACK", help="%(choices)s; default: the default track",
                           choices=KnowledgeChoices(kb_once, lambda kb: list(kb.tracks)))
    interview.add_argument("--seniority", metavar="LEVEL", help="%(choices)s; default: the track's own",
                           choices=KnowledgeChoices(kb_once, lambda kb: list(kb.seniorities)))
    interview.add_argument("--stages", default=None, help="comma-separated stage ids (default: the track's default stages)")
    interview.add_argument("--mode", default="coach", choices=["coach", "interview"])
    interview.add_argument("--seed", type=int, default=None, help="fix the questions asked")
    interview.add_argument(
        "--length", metavar="LENGTH", choices=KnowledgeChoices(kb_once, lambda kb: kb.formats.length_ids()),
        help="%(choices)s (knowledge/interview/formats.yaml describes each); default: the default length",
    )
    interview.set_defaults(run=_interview, knowledge=kb_once)

    drill = commands.add_parser("drill", help="retry one question or one stage of a finished session in this terminal")
    drill.add_argument("session", help="the session's id (printed when it started)")
    target = drill.add_mutually_exclusive_group(required=True)
    target.add_argument("--question", help="a question id the session asked (listed under its report's answers)")
    target.add_argument("--stage", help="a stage id the session had")
    drill.set_defaults(run=_drill)

    grade = commands.add_parser("grade", help="grade answers from a JSONL file of {stage, question, answer}")
    grade.add_argument("file", type=Path)
    grade.set_defaults(run=_grade)

    evaluate = commands.add_parser("eval", help="measure the grader against human labels in a JSONL file")
    evaluate.add_argument("file", type=Path, nargs="*",
                          help="labeled JSONL files (default: the shipped tuning and held-out sets in eval/)")
    evaluate.add_argument("--from-reviews", action="store_true",
                          help="measure the stored grades against the reviewers' overrides instead of a file")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")
    evaluate.set_defaults(run=_eval)

    injections = commands.add_parser("eval-injection", help="how often the injection detector flags a labelled set")
    injections.add_argument("file", type=Path, nargs="?", default=EVAL_DIR / "injections.jsonl")
    injections.set_defaults(run=_eval_injection)

    matching = commands.add_parser("eval-matching", help="how well free-text questions find their knowledge-base twin")
    matching.add_argument("file", type=Path, nargs="?", default=EVAL_DIR / "paraphrases.jsonl")
    matching.set_defaults(run=_eval_matching)

    knowledge = commands.add_parser("knowledge", help="the knowledge base").add_subparsers(title="commands")
    check = knowledge.add_parser("check", help="validate knowledge/ and print its counts")
    check.set_defaults(run=_knowledge_check)

    _reviewer_commands(commands)

    db = commands.add_parser("db", help="the database").add_subparsers(title="commands")
    upgrade = db.add_parser("upgrade", help="apply the migrations")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _reviewer_commands(commands) -> None:
    from coach import reviewers

    group = commands.add_parser("reviewers", help="reviewer accounts").add_subparsers(title="commands")
    add = group.add_parser("add", help="create a reviewer account and print its generated password")
    add.add_argument("email")
    add.add_argument("--password-prompt", action="store_true", help="type the password instead of generating one")
    add.set_defaults(run=reviewers.cli_add)
    group.add_parser("list", help="list the reviewer accounts").set_defaults(run=reviewers.cli_list)
    remove = group.add_parser("remove", help="delete a reviewer account and its API tokens")
    remove.add_argument("email")
    remove.set_defaults(run=reviewers.cli_remove)
    token = group.add_parser("token", help="issue an API token for /api/review/* (shown once)")
    token.add_argument("email")
    token.set_defaults(run=reviewers.cli_token)


def _serve(args) -> int:
    import uvicorn

    settings = get_settings()
    host, port = args.host or settings.host, args.port or settings.port
    if args.workers > 1 and settings.database_url is None:
        # The default SQLite file migrates itself at start-up; do it once here rather than in
        # every worker at the same moment.
        from coach.migrations import upgrade
        from coach.store import make_engine

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(make_engine(settings.sqlalchemy_url))
    if args.workers > 1:
        _share_metrics(settings.data_dir / "metrics")
    print(f"coach is running at http://{host}:{port}/  (grading: {_grading_label(settings)})", flush=True)
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from any local client;
    # the app reads those headers itself, from COACH_TRUSTED_PROXIES only.
    uvicorn.run("coach.main:app", host=host, port=port, workers=args.workers, log_level="warning",
                proxy_headers=False)
    return 0


def _share_metrics(directory: Path) -> None:
    """Workers write their metrics to files here, so /metrics on any worker shows them all."""
    import os
    import shutil

    shutil.rmtree(directory, ignore_errors=True)  # counters start from zero with the server
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def _terminal_service(kb: KnowledgeBase | None = None):
    """The service on the configured database, for an interview in this terminal."""
    from coach.migrations import prepare_database
    from coach.store import make_engine
    from coach.wiring import build_service

    settings = get_settings()
    db_engine = make_engine(settings.sqlalchemy_url)
    prepare_database(db_engine, settings)
    print(f"grading: {_grading_label(settings)}")
    return build_service(settings, db_engine, kb=kb)


def _typed_answers(service) -> Iterator[str]:
    from coach.terminal import read_answers, typed_lines

    # At a terminal: line editing and history; from a pipe or file: the lines as they are.
    lines = typed_lines(service.settings.data_dir / "interview_history") if sys.stdin.isatty() else sys.stdin
    return read_answers(lines)


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")  # https://no-color.org


def _print_report(service, session_id: str, report, color: bool) -> None:
    from coach.terminal import format_answers, format_report

    print(f"\nReport for session {session_id}\n{format_report(report, color=color)}")
    answers = format_answers(service, session_id, color=color)
    if answers:
        print(f"\n{answers}\n(Retry one: coach drill {session_id} --question ID, or --stage ID)")


def _interview(args) -> int:
    from coach.engine import PlanError
    from coach.terminal import run_interview

    service = _terminal_service(args.knowledge())
    stages = [s.strip() for s in args.stages.split(",")] if args.stages else None
    color = _color()
    try:
        session_id, report = run_interview(
            service, _typed_answers(service), lambda text: print(text, flush=True),
            track=args.track, seniority=args.seniority, stages=stages, mode=args.mode, seed=args.seed,
            length=args.length, color=color,
        )
    except PlanError as exc:
        print(f"coach interview: {exc}", file=sys.stderr)
        return 2
    _print_report(service, session_id, report, color)
    return 0


def _drill(args) -> int:

    from coach.drills import DrillError
    from coach.engine import DrillTarget
    from coach.presenters.drills import comparisons, original_of
    from coach.service import SessionNotFound, SessionStillActive
    from coach.terminal import format_comparisons, run_drill

    service = _terminal_service()
    color = _color()
    try:
        drill_id, report = run_drill(
            service, _typed_answers(service), lambda text: print(text, flush=True), session_id=args.session,
            target=DrillTarget(question_id=args.question, stage=args.stage), color=color,
        )
    except (DrillError, SessionStillActive) as exc:
        print(f"coach drill: {exc}", file=sys.stderr)
        return 2
    except SessionNotFound:
        print(f"coach drill: no session {args.session!r}", file=sys.stderr)
        return 2
    _print_report(service, drill_id, report, color)
    original = original_of(service.session(drill_id))
    attempts = comparisons(service.kb, service.records(original), service.drill_records(original))
    print("\nYour attempts:\n" + format_comparisons(attempts))
    return 0


def _grading_label(settings) -> str:
    return f"LLM {settings.effective_judge_model}" if settings.llm_enabled else "offline rubric scorer (no API key set)"


def _knowledge_check(_args) -> int:
    try:
        kb = load_knowledge(get_settings().knowledge_dir)
    except KnowledgeError as exc:
        print(f"knowledge check failed:\n{exc}", file=sys.stderr)
        return 1
    from coach.prompts import PromptError
    from coach.wiring import check_prompts

    try:
        check_prompts(kb, get_settings())
    except PromptError as exc:
        print(f"prompt check failed:\n{exc}", file=sys.stderr)
        return 1
    print("knowledge ok: " + ", ".join(f"{n} {what}" for what, n in kb.counts().items()) + "; every prompt renders")
    return 0


def _db_upgrade(_args) -> int:
    from coach.migrations import upgrade
    from coach.store import make_engine

    settings = get_settings()
    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(make_engine(settings.sqlalchemy_url))
    print("database is at the latest migration")
    return 0


def _grader():
    from coach.wiring import build_grader

    return build_grader(get_settings())


TEXT_FIELDS = ("stage", "question", "answer")


def _jsonl_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a file with their numbers; a missing or non-UTF-8 file is a clear exit."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


def _parse_row(line: str) -> dict:
    """One JSONL line as a row whose stage, question and answer are strings; ValueError says what is wrong."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc}") from exc
    if not isinstance(row, dict):
        raise ValueError("not a JSON object")
    missing = [key for key in TEXT_FIELDS if key not in row]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    not_text = [key for key in TEXT_FIELDS if not isinstance(row[key], str)]
    if not_text:
        raise ValueError(f"{', '.join(not_text)} must be a string")
    return row


def _grade(args) -> int:
    """Grade each line; a bad line is reported with its number and skipped, and the exit status is 1."""
    from coach.engine import PlanError

    grade_one, bad = _grader(), 0
    for number, line in _jsonl_lines(args.file):
        try:
            row = _parse_row(line)
        except ValueError as exc:
            bad += _report_bad_line(args.file, number, exc)
            continue
        try:
            grade = grade_one(row["stage"], row["question"], row["answer"])
        except PlanError as exc:  # an unknown stage
            bad += _report_bad_line(args.file, number, exc)
            continue
        print(json.dumps({**row, "grade": grade.model_dump(mode="json")}), flush=True)
    if bad:
        print(f"{args.file}: {bad} line(s) not graded", file=sys.stderr)
    return 1 if bad else 0


def _report_bad_line(path: Path, number: int, problem: Exception) -> int:
    print(f"{path}: line {number}: {problem}", file=sys.stderr, flush=True)
    return 1


SHIPPED_SETS = (("tuning part", "calibration.jsonl"), ("held-out part, never used for tuning", "holdout.jsonl"))


def _eval(args) -> int:
    from coach.evaluation import agreement, format_agreement, read_labeled, score_rows

    if args.from_reviews:
        from coach.reviewers import calibration_rows

        parts = [("stored grades against reviewers' scores", agreement(calibration_rows()))]
    else:
        files = [(str(path), path) for path in args.file] or _shipped_sets()
        grade_one = _grader()
        parts = [(title, agreement(score_rows(read_labeled(path), grade_one))) for title, path in files]
    if args.json:
        payload = {title: figures.model_dump() for title, figures in parts}
        print(json.dumps(payload if len(parts) > 1 else parts[0][1].model_dump()))
        return 0
    print(f"grader: {_grading_label(get_settings()) if not args.from_reviews else parts[0][0]}")
    for title, figures in parts:
        print(format_agreement(figures, f"{title}:"))
    return 0


def _shipped_sets() -> list[tuple[str, Path]]:
    """The labeled sets shipped in eval/: the tuning part and the held-out part."""
    found = [(f"{name} ({EVAL_DIR.name}/{file})", EVAL_DIR / file) for name, file in SHIPPED_SETS
             if (EVAL_DIR / file).exists()]
    if not found:
        raise SystemExit("coach eval: give a JSONL FILE of labelled answers, or --from-reviews")
    return found


def _eval_injection(args) -> int:
    from coach.evaluation import read_labeled
    from coach.scoring.injection import looks_like_injection

    rows = read_labeled(args.file, ("split", "attack", "text"))
    for split in dict.fromkeys(r["split"] for r in rows):
        part = [r for r in rows if r["split"] == split]
        flagged = sum(looks_like_injection(r["text"]) for r in part)
        what = "attacks flagged" if part[0]["attack"] else "genuine answers flagged (false positives)"
        print(f"{split}: {flagged} of {len(part)} {what} ({flagged / len(part):.0%})")
    return 0


def _eval_matching(args) -> int:
    from coach.evaluation import read_labeled
    from coach.matching import match_figures

    matcher = load_knowledge(get_settings().knowledge_dir).matcher
    rows = read_labeled(args.file, ("stage", "question", "expected"))
    for split in dict.fromkeys(r.get("split", "all") for r in rows):
        figures = match_figures(matcher, [r for r in rows if r.get("split", "all") == split])
        print(f"{split}: {figures.matched} of {figures.total} matched ({figures.rate:.0%}), "
              f"{figures.missed} mapped to none, {figures.wrong} wrong matches")
    return 0


if __name__ == "__main__":
    sys.exit(main())
