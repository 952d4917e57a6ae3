"""Outputs of a monthly batch and of the year.

Committee shortlists, orientation notices, summary, HTML report and the annual bilan:

- :mod:`~fluxopt.report.tables`: the tidy unit and candidate tables every output reads;
- :mod:`~fluxopt.report.committee`: XLSX shortlists, one sheet per residence;
- :mod:`~fluxopt.report.notices`: one notice per holder (CSV and XLSX);
- :mod:`~fluxopt.report.summary`: ``summary.json`` figures and the terminal tables;
- :mod:`~fluxopt.report.html`: the self-contained ``report.html`` with inline SVG plots;
- :mod:`~fluxopt.report.bilan`: the annual bilan of article R441-5-1 (XLSX and CSV).
"""
