"""Severity Studio: the Streamlit entry point. Navigation only; each page is a file."""

from pathlib import Path

import streamlit as st

# A file the app serves itself: a ":material/..." icon is fetched from a public font host
# on every page load, which a hospital network blocks and which tells a third party.
FAVICON = Path(__file__).resolve().parent / "assets" / "favicon.png"

st.set_page_config(page_title="Severity Studio", page_icon=str(FAVICON), layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/folder_open:", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("pages/latent.py", title="Latent space", icon=":material/scatter_plot:"),
    st.Page("pages/patients.py", title="Patients", icon=":material/timeline:"),
    st.Page("pages/training.py", title="Training", icon=":material/model_training:"),
    st.Page("pages/raters.py", title="Raters", icon=":material/groups:"),
]

navigation = st.navigation(PAGES, position="hidden")
with st.sidebar:
    st.markdown("### Severity Studio")
    for page in PAGES:
        st.page_link(page)
    st.divider()
navigation.run()
