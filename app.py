"""Severity Studio: the Streamlit entry point. Navigation only; each page is a file."""

import streamlit as st

st.set_page_config(page_title="Severity Studio", page_icon="👁️", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon="🗂️", default=True),
        st.Page("pages/compare.py", title="Compare", icon="⚖️"),
        st.Page("pages/latent.py", title="Latent space", icon="🌌"),
        st.Page("pages/patients.py", title="Patients", icon="📈"),
        st.Page("pages/training.py", title="Training", icon="🏋️"),
    ]
)
navigation.run()
