from pages.common import not_built_yet

not_built_yet(
    "Patients",
    "the clinician-web-app issue",
    "follow each patient's severity trajectory and the trend between visits.",
)
