"""assay dashboard: Review the workspace in a Streamlit app."""
