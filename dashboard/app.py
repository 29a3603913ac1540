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


#: the url path of the first page, served at ``/`` (its own path, as the sidebar names it, is a hidden alias)
HOME = "home"


def navigation_pages() -> list[st.Page]:
    """The pages in sidebar order, the first one the default at ``/``, and a hidden copy of it at its own path
    (``/overview``), so a link to every page by its name works."""
    first_title, first_path, first_icon, first_render = PAGES[0]
    pages = [st.Page(render, title=title, url_path=HOME if i == 0 else path, icon=icon, default=i == 0)
             for i, (title, path, icon, render) in enumerate(PAGES)]
    return pages + [st.Page(first_render, title=first_title, url_path=first_path, icon=first_icon,
                            visibility="hidden")]


def main() -> None:
    st.set_page_config(page_title="assay", page_icon=":material/verified:", layout="wide")
    st.navigation(navigation_pages()).run()


if __name__ == "__main__":
    main()
