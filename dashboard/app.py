"""The Streamlit app: one page per module of :mod:`dashboard.views` (``streamlit run dashboard/app.py``)."""

from __future__ import annotations

import streamlit as st

from assay.dashboard.views import (
    data_page,
    detect_page,
    forge_page,
    overview,
    provenance_page,
    scan_page,
)

#: (title, url path, icon, render): the pages in sidebar order
PAGES = (
    ("Overview", "overview", ":material/dashboard:", overview.render),
    ("Data", "data", ":material/photo_library:", data_page.render),
    ("Forge", "forge", ":material/auto_awesome:", forge_page.render),
    ("Detect", "detect", ":material/troubleshoot:", detect_page.render),
    ("Scan", "scan", ":material/document_scanner:", scan_page.render),
    ("Provenance", "provenance", ":material/verified:", provenance_page.render),
)


def main() -> None:
    st.set_page_config(page_title="assay", page_icon=":material/verified:", layout="wide")
    pages = [st.Page(render, title=title, url_path=path, icon=icon, default=i == 0)
             for i, (title, path, icon, render) in enumerate(PAGES)]
    st.navigation(pages).run()


if __name__ == "__main__":
    main()
