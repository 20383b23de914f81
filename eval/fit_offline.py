"""Fit the offline scorer's linear model on eval/calibration.jsonl and write its coefficients.

    .venv/bin/python eval/fit_offline.py

Only the tuning set is read: eval/holdout.jsonl stays out of every fit. Answers the scorer flags
(tricks, non-answers, other languages) are left out too, because their flags cap them whatever the
model says; the model learns from genuine answers of every quality. The target is the label plus
the mistake penalty the shared overall rule subtracts again, so overall lands on the label.
Ridge regression, solved exactly in plain Python: the same data gives the same coefficients.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.evaluation import grading_items, read_labeled  # noqa: E402
from coach.knowledge import load_knowledge  # noqa: E402
from coach.scoring import offline  # noqa: E402

RIDGE = 0.5


def training_rows(kb) -> tuple[list[list[float]], list[float]]:
    rows = read_labeled(ROOT / "eval" / "calibration.jsonl")
    features, targets = [], []
    for row, item in zip(rows, grading_items(rows, kb), strict=True):
        reading = offline.read_answer(item, kb)
        if offline.answer_flags(item, reading, kb) or not reading.credited:
            continue
        found = offline._mistakes(item.rubric.mistakes, reading.credited, item.question is not None)
        values = offline.answer_features(item, reading)
        features.append([values[name] for name in offline.FEATURES])
        targets.append(row["label"] + min(1.0, 0.25 * len(found)))
    return features, targets


def ridge(features: list[list[float]], targets: list[float], penalty: float) -> tuple[float, list[float]]:
    """Least squares with an L2 penalty on the weights (not the intercept), via the normal equations."""
    n = len(features[0])
    design = [[1.0, *row] for row in features]
    size = n + 1
    gram = [[sum(r[i] * r[j] for r in design) + (penalty if i == j and i > 0 else 0.0) for j in range(size)]
            for i in range(size)]
    rhs = [sum(r[i] * y for r, y in zip(design, targets, strict=True)) for i in range(size)]
    solution = solve(gram, rhs)
    return solution[0], solution[1:]


def solve(matrix: list[list[float]], rhs: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting."""
    size = len(rhs)
    aug = [row[:] + [value] for row, value in zip(matrix, rhs, strict=True)]
    for col in range(size):
        pivot = max(range(col, size), key=lambda r: abs(aug[r][col]))
        aug[col], aug[pivot] = aug[pivot], aug[col]
        for r in range(size):
            if r != col and aug[col][col]:
                factor = aug[r][col] / aug[col][col]
                aug[r] = [a - factor * b for a, b in zip(aug[r], aug[col], strict=True)]
    return [aug[i][size] / aug[i][i] for i in range(size)]


def main() -> None:
    kb = load_knowledge()
    features, targets = training_rows(kb)
    intercept, weights = ridge(features, targets, RIDGE)
    model = {
        "fitted_by": "eval/fit_offline.py",
        "fitted_on": "eval/calibration.jsonl (answers without flags)",
        "answers": len(targets),
        "ridge": RIDGE,
        "intercept": round(intercept, 4),
        "weights": {name: round(w, 4) for name, w in zip(offline.FEATURES, weights, strict=True)},
    }
    offline.MODEL_PATH.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(model, indent=2))


if __name__ == "__main__":
    main()
