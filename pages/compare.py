from pages.common import not_built_yet

not_built_yet(
    "Compare",
    "the clinician-web-app issue",
    "show two images side by side and record which one shows more severe disease.",
)
