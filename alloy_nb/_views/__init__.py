"""Every HTML view of alloy_nb: functions that take data and return HTML, with one stylesheet
(`style.py`) and one palette (`palette.py`). A leaf, like `_trace/` and `_log/`: no IPython, no widgets,
nothing from the rooms above; the objects' `_repr_html_` methods call in here."""
