"""What each validation figure of a version is called and means: the Training page's
column titles and the model card's rows say the same."""

# metric key -> (column title, what it means), in the order the table shows them
METRICS = {
    "macro_f1": ("Grade F1 (test)", "Macro-F1 of a small probe predicting the grade, test split."),
    "maee": ("Grade MAE (test)", "Mean absolute grade error per grade, averaged over grades."),
    "maee_bayes": ("Grade MAE, Bayes (test)", "The same, with the probe's expected grade."),
    "qwk": ("Grade kappa (test)", "Quadratic-weighted kappa between predicted and true grade."),
    "tau": ("Severity order, all (test)", "Kendall tau of the severity score with the grade."),
    "auc_abnormal": ("Normal vs abnormal AUC", "How well the score separates grade 0 from others."),
    "tau_abnormal": (
        "Severity order, abnormal (test)",
        "Kendall tau of the score with the grade among abnormal images only: the ordering "
        "that matters clinically.",
    ),
    "tau_truth": (
        "Severity order vs truth (test)",
        "Kendall tau with the synthetic cohort's known severity (demo data only).",
    ),
    "val_macro_f1": ("Grade F1 (validation)", "Macro-F1 on the validation split."),
    "val_tau": ("Severity order (validation)", "Kendall tau with the grade, validation split."),
    "val_judgment_agreement": (
        "Agreement with judgments (validation)",
        "Share of expert answers about two validation images that the score orders the same way.",
    ),
    "trend_test_macro_f1": (
        "Trend F1 (new patients)",
        "Macro-F1 of improved / same / deteriorated calls on test-split patients.",
    ),
    "trend_test_accuracy": ("Trend accuracy (new patients)", "Share of trend calls right."),
    "trend_test_majority_accuracy": (
        "Trend accuracy, always the commonest",
        "The baseline: always answering the commonest trend.",
    ),
}
